import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { DEVSERVER_EXECUTABLE } from '../../devserver';
import * as activities from './fixtures/activities';
import { replayAll } from './replay-all';

test('smoke: a workflow with a day-long timer, an activity, a signal and a query completes under time skipping', async () => {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: DEVSERVER_EXECUTABLE } },
  });
  try {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'smoke',
      workflowsPath: require.resolve('./fixtures/workflows'),
      activities,
    });
    await worker.runUntil(async () => {
      const r = await env.client.workflow.execute('hello', { taskQueue: 'smoke', workflowId: 'hello-1', args: ['Temporal'] });
      assert.equal(r, 'Hello, Temporal!');
      const t0 = await env.currentTimeMs();
      const h = await env.client.workflow.start('timerSignalQuery', { taskQueue: 'smoke', workflowId: 'tsq-1' });
      await env.sleep('2 days');
      assert.equal(await h.query('state'), 'waiting-signal');
      await h.signal('finish', 'done');
      assert.equal(await h.result(), 'x:done');
      assert.ok((await env.currentTimeMs()) - t0 >= 86_400_000);
      // Both runs' histories replay with the real SDK.
      assert.deepEqual(await replayAll(env.client.workflowService, require.resolve('./fixtures/workflows')), ['hello-1', 'tsq-1']);
    });
  } finally {
    await env.teardown();
  }
});
