// The dev-server launch form: TestWorkflowEnvironment.createLocal starts its server executable as it would start the
// Temporal CLI (`server start-dev --port … --namespace … --headless …`), without time skipping (unlike the shared
// harness, which runs the test-server form). The SDK gives a launched server a fixed 5 s to answer (no option to
// change it), which loading the TypeScript server can exceed on a loaded machine; so the test starts
// bin/temporal-devserver itself with the SDK's dev-server arguments and waits until it listens, and the SDK launches a
// stand-in that records the arguments it was given: the first test checks they are exactly those the server runs
// with. A hello workflow with an activity, then signals, a query and a short real-time timer run through the real SDK
// worker and client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { freePort, spawnDevServer, workflowBundle, type Harness } from './helpers';
import * as activities from './fixtures/core-activities';
import { CORE_WORKFLOWS, eventMs, events, replay, typeName, types } from './workflow-helpers';
import { replaysEveryRun } from './replay-all';

const RECORD_LAUNCH = require.resolve('./fixtures/record-launch');

/** The arguments sdk-core's ephemeral_server passes a dev-server executable (createLocal's defaults). */
function devServerArgs(port: number): string[] {
  return [
    'server', 'start-dev', '--port', String(port), '--namespace', 'default', '--ip', '127.0.0.1',
    '--log-format', 'pretty', '--log-level', 'warn',
    '--dynamic-config-value', 'frontend.enableServerVersionCheck=false',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    '--headless',
  ];
}

let harness: Harness | undefined;
let running: Promise<void> | undefined;
let server: ChildProcess | undefined;
let expectedArgs: string[] = [];
let launchedArgs: string[] = [];
const recordDir = mkdtempSync(join(tmpdir(), 'retrain-launch-'));
before(async () => {
  const bundle = workflowBundle(CORE_WORKFLOWS);
  const port = await freePort();
  expectedArgs = devServerArgs(port);
  server = (await spawnDevServer(expectedArgs)).child;
  const record = join(recordDir, 'args');
  process.env.RETRAIN_LAUNCH_RECORD = record;
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: RECORD_LAUNCH }, port } });
  delete process.env.RETRAIN_LAUNCH_RECORD;
  launchedArgs = readFileSync(record, 'utf8').split('\n').slice(0, -1);
  const taskQueue = `local-${process.pid}-${port}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: await bundle, activities });
  running = worker.run();
  let n = 0;
  harness = { env, worker, taskQueue, nextId: (p) => `${p}-${++n}` };
});
after(async () => {
  if (harness) {
    harness.worker.shutdown();
    await running?.catch(() => undefined);
    await harness.env.teardown();
  }
  server?.kill('SIGKILL');
  rmSync(recordDir, { recursive: true, force: true });
});
const h = () => {
  if (!harness) throw new Error('environment not started');
  return harness;
};

test('createLocal launches its executable in dev-server form, which the devserver runs with, and a hello workflow with an activity completes', async () => {
  const { env, taskQueue, nextId } = h();
  // The SDK launched its executable with exactly the arguments the devserver answering on the port was started with.
  assert.deepEqual(launchedArgs, expectedArgs);
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
  const done = Date.now();
  // The server's clock is this machine's wall clock: every time it recorded falls between the test's own readings
  // before the start and after the result, in order, with the timer's 300 ms between its start and its firing.
  const evs = await events(sleeper);
  const started = eventMs(evs.find((e) => typeName(e) === 'TIMER_STARTED')!);
  const fired = eventMs(evs.find((e) => typeName(e) === 'TIMER_FIRED')!);
  const times = [wall, eventMs(evs[0]), started, fired, wokeAt, done];
  assert.deepEqual([...times].sort((a, b) => a - b), times, `wall before, start, timer started, fired, woke, wall after: ${times.join(', ')}`);
  assert.ok(fired - started >= 300, `the timer fired ${fired - started} ms after it started`);
  await replay(sleeper);

  const collector = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('local-signals'), args: [0] });
  await collector.signal('add', 'local');
  assert.deepEqual(await collector.query('signals'), ['local']);
  await collector.signal('done');
  assert.deepEqual(await collector.result(), ['local']);
  await replay(collector);
});

replaysEveryRun(h, CORE_WORKFLOWS);
