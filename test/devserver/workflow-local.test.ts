// The dev-server launch form: TestWorkflowEnvironment.createLocal itself starts bin/temporal-devserver as it would
// start the Temporal CLI (`server start-dev --port … --namespace … --headless …`), without time skipping (unlike the
// shared harness, which starts the executable on its own). A hello workflow with an activity, then signals, a query
// and a short real-time timer run through the real SDK worker and client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { DEVSERVER_EXECUTABLE } from '../../devserver';
import { workflowBundle, type Harness } from './helpers';
import * as activities from './fixtures/core-activities';
import { CORE_WORKFLOWS, eventMs, events, replay, typeName, types } from './workflow-helpers';
import { replaysEveryRun } from './replay-all';

let harness: Harness | undefined;
let running: Promise<void> | undefined;
before(async () => {
  const bundle = workflowBundle(CORE_WORKFLOWS);
  let env: TestWorkflowEnvironment | undefined;
  // The SDK gives a launched server 5 s to answer; loading TypeScript can take longer on a loaded machine.
  for (let attempt = 1; !env; attempt++) {
    try {
      env = await TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'existing-path', path: DEVSERVER_EXECUTABLE } },
      });
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
  const taskQueue = `local-${process.pid}-${Date.now()}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await bundle, activities });
  running = worker.run();
  let n = 0;
  harness = { env, worker, taskQueue, nextId: (p) => `${p}-${++n}` };
});
after(async () => {
  if (!harness) return;
  harness.worker.shutdown();
  await running?.catch(() => undefined);
  await harness.env.teardown();
});
const h = () => {
  if (!harness) throw new Error('environment not started');
  return harness;
};

test('createLocal launches the executable in dev-server form and a hello workflow with an activity completes', async () => {
  const { env, taskQueue, nextId } = h();
  assert.equal(env.supportsTimeSkipping, false);
  const handle = await env.client.workflow.start('greet', { taskQueue, workflowId: nextId('hello'), args: ['devserver'] });
  assert.equal(await handle.result(), 'Hello, devserver!');
  assert.deepEqual(await types(handle), [
    'WORKFLOW_EXECUTION_STARTED',
    'WORKFLOW_TASK_SCHEDULED',
    'WORKFLOW_TASK_STARTED',
    'WORKFLOW_TASK_COMPLETED',
    'ACTIVITY_TASK_SCHEDULED',
    'ACTIVITY_TASK_STARTED',
    'ACTIVITY_TASK_COMPLETED',
    'WORKFLOW_TASK_SCHEDULED',
    'WORKFLOW_TASK_STARTED',
    'WORKFLOW_TASK_COMPLETED',
    'WORKFLOW_EXECUTION_COMPLETED',
  ]);
  const d = await handle.describe();
  assert.equal(d.status.name, 'COMPLETED');
  assert.equal(d.taskQueue, taskQueue);
  await replay(handle);
});

test('without time skipping the server runs on wall time: a 300 ms timer takes 300 ms, and signals and queries work', async () => {
  const { env, taskQueue, nextId } = h();
  const wall = Date.now();
  const sleeper = await env.client.workflow.start('sleeper', { taskQueue, workflowId: nextId('wall-timer'), args: [300] });
  const wokeAt = await sleeper.result();
  const elapsed = Date.now() - wall;
  assert.ok(elapsed >= 300, `a 300 ms timer completed after ${elapsed} ms of wall time`);
  const evs = await events(sleeper);
  const started = evs.find((e) => typeName(e) === 'TIMER_STARTED')!;
  const fired = evs.find((e) => typeName(e) === 'TIMER_FIRED')!;
  assert.ok(eventMs(fired) - eventMs(started) >= 300);
  assert.ok(Math.abs(wokeAt - Date.now()) < 60_000, 'workflow time is wall time');
  assert.ok(Math.abs((await env.currentTimeMs()) - Date.now()) < 1_000);
  await replay(sleeper);

  const collector = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('local-signals'), args: [0] });
  await collector.signal('add', 'local');
  assert.deepEqual(await collector.query('signals'), ['local']);
  await collector.signal('done');
  assert.deepEqual(await collector.result(), ['local']);
  await replay(collector);
});

replaysEveryRun(h, CORE_WORKFLOWS);
