import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError, WorkflowUpdateStage } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { useHarness } from './helpers';

const WF = require.resolve('./fixtures/ext-workflows');
const h = useHarness({ worker: { workflowsPath: WF } });

async function replay(handle: { fetchHistory(): Promise<unknown>; workflowId: string }) {
  await Worker.runReplayHistory({ workflowsPath: WF }, (await handle.fetchHistory()) as never, handle.workflowId);
}

test('updates complete, validators reject, signals interleave', async () => {
  const { env, taskQueue } = h();
  const handle = await env.client.workflow.start('counter', { taskQueue, workflowId: 'counter-1' });
  await handle.signal('ping', 5);
  // The handler sleeps an hour; time skips only while the test waits on the environment.
  const add = await handle.startUpdate('add', { args: [10], waitForStage: WorkflowUpdateStage.ACCEPTED });
  await env.sleep('2 hours');
  assert.equal(await add.result(), 15);
  await assert.rejects(handle.executeUpdate('approve', { args: [{ approver: '' }] }), WorkflowUpdateFailedError);
  assert.equal(await handle.executeUpdate('approve', { args: [{ approver: 'ops' }] }), 'approved by ops');
  await handle.signal('done');
  assert.equal(await handle.result(), 15);
  await replay(handle);
});

test('children run and report to the parent', async () => {
  const { env, taskQueue } = h();
  const handle = await env.client.workflow.start('parent', { taskQueue, workflowId: 'parent-1', args: [[1, 2, 3]] });
  assert.deepEqual(await handle.result(), [2, 4, 6]);
  await replay(handle);
});

test('continue-as-new keeps the chain and result follows it', async () => {
  const { env, taskQueue } = h();
  const handle = await env.client.workflow.start('monitor', { taskQueue, workflowId: 'monitor-1', args: [5, 0] });
  assert.equal(await handle.result(), 0);
  const d = await handle.describe();
  assert.equal(d.status.name, 'COMPLETED');
  assert.equal(d.raw.workflowExecutionInfo?.firstRunId, handle.firstExecutionRunId);
  assert.notEqual(d.runId, handle.firstExecutionRunId);
  await replay(env.client.workflow.getHandle('monitor-1'));
});
