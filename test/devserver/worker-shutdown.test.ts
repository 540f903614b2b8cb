// What DescribeNamespace advertises (namespaceInfo.capabilities), and ShutdownWorker with the real server's
// frontend.enableCancelWorkerPollsOnShutdown: the worker's held polls are answered empty, and its new polls for 30 s,
// so an SDK told workerPollCompleteOnShutdown lets its polls finish at shutdown instead of cancelling them (and no task
// is handed to a worker on its way out). Raw calls pin the protocol; the real SDK worker then shuts down mid-work.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../devserver';
import { parseLaunchArgs } from '../../devserver/cli-args';
import { quietRuntime, workflowBundle } from './helpers';
import { replayAll } from './replay-all';
import { pendingAfter, wait, within } from './workflow-helpers';

const Kind = temporal.api.enums.v1.TaskQueueKind;
const TaskQueueType = temporal.api.enums.v1.TaskQueueType;
const EventType = temporal.api.enums.v1.EventType;
const WORKFLOWS = require.resolve('./fixtures/worker-shutdown-workflows');

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await wait(5);
  assert.ok(cond(), what);
}

function useServer(options: Parameters<typeof startDevServer>[0]): () => { server: DevServer; connection: Connection } {
  let server: DevServer | undefined;
  let connection: Connection | undefined;
  before(async () => {
    server = await startDevServer({ port: 0, ...options });
    connection = await Connection.connect({ address: server.address });
  });
  after(async () => {
    await connection?.close();
    await server?.close();
  });
  return () => ({ server: server!, connection: connection! });
}

/** Held polls of one worker (normal and sticky workflow queues, activity queue), as the SDK worker keeps them. */
function pollsOf(ws: Connection['workflowService'], key: string, queue: string) {
  const base = { namespace: 'default', identity: `worker-${key}`, workerInstanceKey: key };
  return [
    ws.pollWorkflowTaskQueue({ ...base, taskQueue: { name: queue, kind: Kind.TASK_QUEUE_KIND_NORMAL } }),
    ws.pollWorkflowTaskQueue({ ...base, taskQueue: { name: `${queue}-sticky-${key}`, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: queue } }),
    ws.pollActivityTaskQueue({ ...base, taskQueue: { name: queue, kind: Kind.TASK_QUEUE_KIND_NORMAL } }),
  ] as const;
}

const shutdownRequest = (key: string, queue: string) => ({
  namespace: 'default',
  stickyTaskQueue: `${queue}-sticky-${key}`,
  identity: `worker-${key}`,
  reason: 'graceful shutdown',
  workerInstanceKey: key,
  taskQueue: queue,
  taskQueueTypes: [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW], // the real server ends the key's polls of every type
});

const startRequest = (workflowId: string, queue: string) => ({
  namespace: 'default',
  workflowId,
  workflowType: { name: 'tickLoop' },
  taskQueue: { name: queue },
  requestId: `${workflowId}-start`,
});

describe('DescribeNamespace capabilities', () => {
  const s = useServer({});

  test('advertises what this server does; workerPollCompleteOnShutdown is off by default, as on the real server', async () => {
    const ns = await s().connection.workflowService.describeNamespace({ namespace: 'default' });
    const caps = ns.namespaceInfo?.capabilities;
    assert.ok(caps, 'namespaceInfo.capabilities is set');
    assert.equal(caps.eagerWorkflowStart, true);
    assert.equal(caps.syncUpdate, true);
    assert.equal(caps.asyncUpdate, true);
    assert.equal(caps.workerPollCompleteOnShutdown, false);
    for (const k of ['workerHeartbeats', 'pollerAutoscaling', 'workerCommands', 'workflowPause', 'standaloneActivities', 'workflowTaskCompletionPagination'] as const) {
      assert.equal(caps[k], false, `${k} is not implemented`);
    }
    assert.equal(ns.namespaceInfo?.supportsSchedules, true);
    assert.equal(ns.namespaceInfo?.limits, null, 'no payload limits for the SDK to enforce');
  });

  test('--dynamic-config-value frontend.enableCancelWorkerPollsOnShutdown sets it; a bad value is refused', () => {
    const launch = (...kv: string[]) => parseLaunchArgs(['server', 'start-dev', ...kv.flatMap((v) => ['--dynamic-config-value', v])]);
    assert.equal(launch('frontend.enableCancelWorkerPollsOnShutdown=true').cancelWorkerPollsOnShutdown, true);
    assert.equal(launch('frontend.enableCancelWorkerPollsOnShutdown=false').cancelWorkerPollsOnShutdown, false);
    assert.equal(launch().cancelWorkerPollsOnShutdown, undefined);
    assert.throws(() => launch('frontend.enableCancelWorkerPollsOnShutdown=1'), /frontend\.enableCancelWorkerPollsOnShutdown: expected true or false, got "1"/);
    assert.throws(() => launch('novalue'), /--dynamic-config-value: expected KEY=VALUE, got "novalue"/);
  });

  test('without cancelWorkerPollsOnShutdown, ShutdownWorker leaves the worker\'s polls held', async () => {
    const { server, connection } = s();
    const ws = connection.workflowService;
    const polls = pollsOf(ws, 'off-1', 'off-q');
    for (const p of polls) p.catch(() => undefined);
    await until(() => server.engine.workflowTasks.waiting === 2 && server.engine.activityTasks.waiting === 1, 'the three polls are held');
    await ws.shutdownWorker(shutdownRequest('off-1', 'off-q'));
    assert.ok(await pendingAfter(polls[0]), 'the normal-queue poll is still held');
    assert.equal(server.engine.activityTasks.waiting, 1);
    // Still a live poll: a new task goes to it.
    await ws.startWorkflowExecution(startRequest('off-wf', 'off-q'));
    const task = await within(polls[0], 'the held poll gets the task');
    assert.equal(task.workflowExecution?.workflowId, 'off-wf');
  });

  test("every run this file's server holds replays with the real SDK", async () => {
    quietRuntime();
    assert.deepEqual(await replayAll(s().connection.workflowService, WORKFLOWS), ['off-wf']);
  });
});

describe('ShutdownWorker with cancelWorkerPollsOnShutdown (raw calls)', () => {
  const s = useServer({ cancelWorkerPollsOnShutdown: true });

  test('DescribeNamespace advertises workerPollCompleteOnShutdown', async () => {
    const ns = await s().connection.workflowService.describeNamespace({ namespace: 'default' });
    assert.equal(ns.namespaceInfo?.capabilities?.workerPollCompleteOnShutdown, true);
  });

  test("answers the worker's held polls empty (every queue and type), not other workers' polls, and its new polls at once", async () => {
    const { server, connection } = s();
    const ws = connection.workflowService;
    const mine = pollsOf(ws, 'k-1', 'sd-q');
    const other = ws.pollWorkflowTaskQueue({ namespace: 'default', identity: 'worker-k-2', workerInstanceKey: 'k-2', taskQueue: { name: 'sd-q' } });
    for (const p of [...mine, other]) p.catch(() => undefined);
    await until(() => server.engine.workflowTasks.waiting === 3 && server.engine.activityTasks.waiting === 1, 'the four polls are held');
    await ws.shutdownWorker(shutdownRequest('k-1', 'sd-q'));
    const answers = await within(Promise.all(mine), "the shut-down worker's polls are answered");
    for (const a of answers) assert.equal(a.taskToken?.length ?? 0, 0, 'an empty response');
    assert.ok(await pendingAfter(other), "another worker's poll stays held");
    // A poll the worker sends after its shutdown (a zombie re-poll) is answered empty at once and gets no task.
    const again = await within(ws.pollWorkflowTaskQueue({ namespace: 'default', identity: 'worker-k-1', workerInstanceKey: 'k-1', taskQueue: { name: 'sd-q' } }), 'a new poll');
    assert.equal(again.taskToken?.length ?? 0, 0);
    assert.equal(server.engine.workflowTasks.waiting, 1, 'only the other worker polls');
    await ws.startWorkflowExecution(startRequest('sd-wf', 'sd-q'));
    const task = await within(other, 'the other worker gets the task');
    assert.equal(task.workflowExecution?.workflowId, 'sd-wf');
  });

  test('a request without workerInstanceKey or taskQueue ends no poll (as the real server)', async () => {
    const { server, connection } = s();
    const ws = connection.workflowService;
    const polls = pollsOf(ws, 'k-3', 'nk-q');
    for (const p of polls) p.catch(() => undefined);
    await until(() => server.engine.activityTasks.waiting === 1, 'the polls are held');
    await ws.shutdownWorker({ ...shutdownRequest('k-3', 'nk-q'), workerInstanceKey: '' });
    await ws.shutdownWorker({ ...shutdownRequest('k-3', 'nk-q'), taskQueue: '' });
    assert.ok(await pendingAfter(polls[2]), 'the activity poll is still held');
    await ws.shutdownWorker(shutdownRequest('k-3', 'nk-q'));
    await within(Promise.all(polls), 'the polls are answered');
  });

  test("every run this file's server holds replays with the real SDK", async () => {
    quietRuntime();
    assert.deepEqual(await replayAll(s().connection.workflowService, WORKFLOWS), ['sd-wf']);
  });
});

describe('SDK worker shutdown with workerPollCompleteOnShutdown', () => {
  // A poll the server never answers would hold the worker's graceful shutdown for the whole poll timeout: 10 minutes.
  const s = useServer({ cancelWorkerPollsOnShutdown: true, pollTimeoutMs: 600_000 });
  before(() => quietRuntime());

  test('a worker shut down mid-work returns once the server ends its polls, and hands no task to itself on the way out', async () => {
    const { server, connection } = s();
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address: server.address });
    const taskQueue = `shutdown-${process.pid}-${Date.now()}`;
    const bundle = await workflowBundle(WORKFLOWS);
    const makeWorker = (identity: string) =>
      Worker.create({
        connection: native,
        taskQueue,
        identity,
        workflowBundle: bundle,
        activities: { async noop() {} },
        stickyQueueScheduleToStartTimeout: '1s',
      });
    try {
      const a = await makeWorker('worker-a');
      const runningA = a.run();
      const handles = await Promise.all(
        Array.from({ length: 5 }, (_, i) => client.workflow.start('tickLoop', { taskQueue, workflowId: `${taskQueue}-${i}`, args: [40], workflowTaskTimeout: '5s' })),
      );
      // As the features test: every run is mid-loop (an activity scheduled) when the worker is told to stop.
      for (const h of handles) {
        for (let i = 0; ; i++) {
          const evs = (await h.fetchHistory()).events ?? [];
          if (evs.some((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)) break;
          assert.ok(i < 200, `${h.workflowId} scheduled an activity`);
          await wait(50);
        }
      }
      a.shutdown();
      await within(runningA, 'worker A shut down', 60_000);
      for (const h of handles) {
        const evs = (await h.fetchHistory()).events ?? [];
        const problem = evs.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED || e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
        assert.equal(problem, undefined, `${h.workflowId}: no workflow task failed or timed out (none was handed to the worker on its way out)`);
      }
      assert.equal(server.engine.workflowTasks.waiting + server.engine.activityTasks.waiting, 0, 'the server holds no poll');
      // Another worker finishes every run.
      const b = await makeWorker('worker-b');
      const results = await b.runUntil(Promise.all(handles.map((h) => h.result())));
      assert.deepEqual(results, [40, 40, 40, 40, 40]);
      // Every run the server holds (these five) replays with the real SDK.
      assert.deepEqual(await replayAll(connection.workflowService, WORKFLOWS), handles.map((h) => h.workflowId).sort());
    } finally {
      await native.close().catch(() => undefined); // a worker stuck in shutdown (a failed run) still holds it
    }
  });
});
