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

test('list and count find executions by status and custom search attributes', async () => {
  const { env, taskQueue } = h();
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: { ModelName: 2 /* KEYWORD */ },
  });
  const started = [];
  for (const model of ['churn', 'fraud', 'churn']) {
    started.push(
      await env.client.workflow.start('counter', { taskQueue, workflowId: h().nextId(`vis-${model}`), searchAttributes: { ModelName: [model] } }),
    );
  }
  await started[0].signal('done');
  await started[0].result();
  const ids = [];
  for await (const e of env.client.workflow.list({ query: `ModelName = 'churn' AND ExecutionStatus = 'Running'` })) ids.push(e.workflowId);
  assert.deepEqual(ids, [started[2].workflowId]);
  const count = await env.client.workflow.count(`ModelName = 'churn' GROUP BY ExecutionStatus`);
  assert.equal(count.count, 2);
  await assert.rejects(env.client.workflow.count(`ModelName = `), (e: Error & { cause?: { code?: number; details?: string } }) => {
    assert.equal(e.cause?.code, 3 /* INVALID_ARGUMENT */);
    assert.match(e.cause?.details ?? '', /position 12/);
    return true;
  });
  for (const s of started.slice(1)) await s.terminate();
});
