// Eager workflow start, the real server's default (system.enableEagerWorkflowStart): a StartWorkflowExecution with
// requestEagerExecution gets the run's first workflow task, already started, in its response (eagerWorkflowTask), and
// history has WorkflowTaskScheduled and WorkflowTaskStarted (with the starter's identity and request id) before any
// poll. Raw calls pin the protocol (retried starts, conflict policies, a task never completed, a restart); the SDK's
// client and worker sharing one NativeConnection (as the eager-workflow-start sample) check the end-to-end path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { startDevServer, type DevServer } from '../../devserver';
import { parseLaunchArgs } from '../../devserver/cli-args';
import { RETRIED_FIRST_TASK, assertReplays, useHarness, useInProcessServer } from './helpers';
import { RAW_WORKFLOWS, replayAll, replaysEveryRun } from './replay-all';
import * as activities from './fixtures/activities';

const ET = temporal.api.enums.v1.EventType;
const CommandType = temporal.api.enums.v1.CommandType;
type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;
type StartRequest = temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest;
type StartResponse = temporal.api.workflowservice.v1.IStartWorkflowExecutionResponse;
type WorkflowService = Connection['workflowService'];

const names = (events: IHistoryEvent[] | null | undefined) => (events ?? []).map((e) => String(ET[e.eventType as number]).replace(/^EVENT_TYPE_/, ''));
const json = (v: unknown) => ({ payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(v)) }] });
const complete = { commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: { result: json('done') } };

function startRequest(workflowId: string, taskQueue: string, extra: StartRequest = {}): StartRequest {
  return {
    namespace: 'default',
    workflowId,
    // Workflow types of fixtures/raw-workflows.ts, whose commands match the raw workers here (for replayAll).
    workflowType: { name: 'rawCompletes' },
    taskQueue: { name: taskQueue },
    identity: 'eager-starter',
    requestId: `${workflowId}-start`,
    requestEagerExecution: true,
    ...extra,
  };
}

/** A poll on `taskQueue` that gives up (null) after `ms`. */
function pollFor(ws: WorkflowService, taskQueue: string, ms: number, identity = 'queue-poller') {
  return Promise.race([
    ws.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, identity }),
    new Promise<null>((r) => setTimeout(() => r(null), ms)),
  ]);
}

async function historyOf(ws: WorkflowService, workflowId: string, runId?: string | null): Promise<IHistoryEvent[]> {
  return (await ws.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId, runId: runId ?? undefined } })).history?.events ?? [];
}

describe('eager workflow start (raw calls, in-process server)', () => {
  const workflowService = useInProcessServer();
  let n = 0;
  const ids = (prefix: string) => ({ workflowId: `${prefix}-${++n}`, taskQueue: `${prefix}-q-${n}` });

  test('the start response carries the first task, started for the starter; history has it before any poll', async () => {
    const ws = workflowService();
    const { workflowId, taskQueue } = ids('eager');
    const res: StartResponse = await ws.startWorkflowExecution(startRequest(workflowId, taskQueue, { input: json('x') }));
    assert.equal(res.started, true);
    const task = res.eagerWorkflowTask!;
    assert.ok(task, 'eagerWorkflowTask is set');
    assert.deepEqual({ ...task.workflowExecution }, { workflowId, runId: res.runId });
    assert.equal(task.workflowType?.name, 'rawCompletes');
    assert.equal(Number(task.previousStartedEventId), 0);
    assert.equal(Number(task.startedEventId), 3);
    assert.equal(task.attempt, 1);
    assert.equal(task.workflowExecutionTaskQueue?.name, taskQueue);
    assert.deepEqual(names(task.history?.events), ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    const startedEvent = task.history!.events![0].workflowExecutionStartedEventAttributes!;
    assert.equal(startedEvent.eagerExecutionAccepted, true);
    assert.equal(Buffer.from(startedEvent.input!.payloads![0].data!).toString(), '"x"');

    // Already in history, with the starter's identity and request id on the started event; the queue has nothing.
    const events = await historyOf(ws, workflowId);
    assert.deepEqual(names(events), ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    const wftStarted = events[2].workflowTaskStartedEventAttributes!;
    assert.equal(Number(wftStarted.scheduledEventId), 2);
    assert.equal(wftStarted.identity, 'eager-starter');
    assert.equal(wftStarted.requestId, `${workflowId}-start`);
    assert.equal(await pollFor(ws, taskQueue, 300), null);

    // The worker completes it like a polled task.
    await ws.respondWorkflowTaskCompleted({ taskToken: task.taskToken, identity: 'eager-worker', commands: [complete] });
    const after = await historyOf(ws, workflowId);
    assert.deepEqual(names(after).slice(3), ['WORKFLOW_TASK_COMPLETED', 'WORKFLOW_EXECUTION_COMPLETED']);
    assert.equal(Number(after[3].workflowTaskCompletedEventAttributes?.startedEventId), 3);
  });

  test('a start retried with the same request id gets the same task while it is started, then a plain answer', async () => {
    const ws = workflowService();
    const { workflowId, taskQueue } = ids('retried');
    const start = () => ws.startWorkflowExecution(startRequest(workflowId, taskQueue, { workflowType: { name: 'neverRuns' } }));
    const first: StartResponse = await start();
    const again: StartResponse = await start();
    assert.equal(again.runId, first.runId);
    assert.equal(again.started, true);
    assert.ok(again.eagerWorkflowTask, 'the retry is given the task again');
    assert.deepEqual(Buffer.from(again.eagerWorkflowTask!.taskToken!), Buffer.from(first.eagerWorkflowTask!.taskToken!));
    assert.deepEqual(names(again.eagerWorkflowTask!.history?.events), ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    assert.equal((await historyOf(ws, workflowId)).length, 3, 'no second task was written');

    await ws.respondWorkflowTaskCompleted({ taskToken: again.eagerWorkflowTask!.taskToken, commands: [] });
    const late: StartResponse = await start();
    assert.equal(late.runId, first.runId);
    assert.equal(late.started, true);
    assert.equal(late.eagerWorkflowTask, null, 'the task was completed: nothing to hand out');
  });

  test('USE_EXISTING reuses the running run without a task; the default policy refuses a second start', async () => {
    const ws = workflowService();
    const { workflowId, taskQueue } = ids('conflict');
    const first: StartResponse = await ws.startWorkflowExecution(startRequest(workflowId, taskQueue));
    assert.ok(first.eagerWorkflowTask);
    const reused: StartResponse = await ws.startWorkflowExecution(
      startRequest(workflowId, taskQueue, {
        requestId: `${workflowId}-other`,
        workflowIdConflictPolicy: temporal.api.enums.v1.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
      }),
    );
    assert.equal(reused.runId, first.runId);
    assert.equal(reused.started, false);
    assert.equal(reused.eagerWorkflowTask, null);
    await assert.rejects(ws.startWorkflowExecution(startRequest(workflowId, taskQueue, { requestId: `${workflowId}-third` })), /already running/);

    // TERMINATE_EXISTING starts a new run, eagerly again.
    const replaced: StartResponse = await ws.startWorkflowExecution(
      startRequest(workflowId, taskQueue, {
        requestId: `${workflowId}-fourth`,
        workflowIdConflictPolicy: temporal.api.enums.v1.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING,
      }),
    );
    assert.notEqual(replaced.runId, first.runId);
    assert.equal(replaced.eagerWorkflowTask?.workflowExecution?.runId, replaced.runId);
    assert.equal(names(await historyOf(ws, workflowId, first.runId)).at(-1), 'WORKFLOW_EXECUTION_TERMINATED');
  });

  test('an eager task never completed times out and its retry is dispatched through the task queue', async () => {
    const ws = workflowService();
    const { workflowId, taskQueue } = ids('abandoned');
    const res: StartResponse = await ws.startWorkflowExecution(startRequest(workflowId, taskQueue, { workflowTaskTimeout: { seconds: Long.fromNumber(1) } }));
    assert.ok(res.eagerWorkflowTask);
    // The starter's worker is gone; a worker on the queue gets attempt 2 once the task has timed out.
    const retry = await pollFor(ws, taskQueue, 15_000);
    assert.ok(retry, 'the retry reached the queue');
    assert.equal(retry.attempt, 2);
    assert.deepEqual(names(retry.history?.events), RETRIED_FIRST_TASK);
    await assert.rejects(
      ws.respondWorkflowTaskCompleted({ taskToken: res.eagerWorkflowTask!.taskToken, commands: [complete] }),
      /not found/i,
      'the timed-out eager task token is stale',
    );
    await ws.respondWorkflowTaskCompleted({ taskToken: retry.taskToken, identity: 'queue-poller', commands: [complete] });
    const events = await historyOf(ws, workflowId);
    assert.deepEqual(names(events).slice(3), [
      'WORKFLOW_TASK_TIMED_OUT',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
    assert.equal(events[2].workflowTaskStartedEventAttributes?.identity, 'eager-starter');
    assert.equal(events[5].workflowTaskStartedEventAttributes?.identity, 'queue-poller');
    assert.equal(events[4].workflowTaskScheduledEventAttributes?.attempt, 2);
    // A retried start now finds the task past its first attempt: no task.
    const late: StartResponse = await ws.startWorkflowExecution(startRequest(workflowId, taskQueue));
    assert.equal(late.eagerWorkflowTask, null);
  });

  test('a start delay declines eager start: the task goes through the queue after the delay', async () => {
    const ws = workflowService();
    const { workflowId, taskQueue } = ids('delayed');
    const res: StartResponse = await ws.startWorkflowExecution(startRequest(workflowId, taskQueue, { workflowStartDelay: { nanos: 200_000_000 } }));
    assert.equal(res.started, true);
    assert.equal(res.eagerWorkflowTask, null);
    const task = await pollFor(ws, taskQueue, 10_000);
    assert.equal(task?.attempt, 1);
    assert.equal(task?.history?.events?.[0].workflowExecutionStartedEventAttributes?.eagerExecutionAccepted, false);
  });

  test('update-with-start refuses requestEagerExecution, naming it', async () => {
    const ws = workflowService();
    const { workflowId, taskQueue } = ids('multi');
    await assert.rejects(
      ws.executeMultiOperation({
        namespace: 'default',
        operations: [
          { startWorkflow: startRequest(workflowId, taskQueue) },
          { updateWorkflow: { namespace: 'default', workflowExecution: { workflowId }, request: { meta: { updateId: 'u1' }, input: { name: 'u' } } } },
        ],
      }),
      /RequestEagerExecution/,
    );
  });

  test('the server advertises eager workflow start', async () => {
    const info = await workflowService().getSystemInfo({});
    assert.equal(info.capabilities?.eagerWorkflowStart, true);
  });

  test('every history above replays with the real SDK', async () => {
    const replayed = await replayAll(workflowService(), RAW_WORKFLOWS);
    assert.deepEqual(replayed, ['abandoned-4', 'conflict-3', 'conflict-3', 'delayed-5', 'eager-1', 'retried-2']);
  });
});

describe('eager workflow start turned off, and across a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'retrain-eager-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('--dynamic-config-value system.enableEagerWorkflowStart sets it; a bad value is refused; other keys are ignored', () => {
    const launch = (...kv: string[]) => parseLaunchArgs(['server', 'start-dev', ...kv.flatMap((v) => ['--dynamic-config-value', v])]);
    assert.equal(launch('system.enableEagerWorkflowStart=false').eagerWorkflowStart, false);
    assert.equal(launch('system.enableEagerWorkflowStart=true').eagerWorkflowStart, true);
    assert.equal(launch('frontend.enableUpdateWorkflowExecution=true').eagerWorkflowStart, undefined);
    assert.throws(() => launch('system.enableEagerWorkflowStart=no'), /system\.enableEagerWorkflowStart: expected true or false, got "no"/);
  });

  test('with system.enableEagerWorkflowStart=false the request is declined and the task is queued', async () => {
    const server = await startDevServer({ port: 0, eagerWorkflowStart: false });
    const connection = await Connection.connect({ address: server.address });
    try {
      const ws = connection.workflowService;
      assert.equal((await ws.getSystemInfo({})).capabilities?.eagerWorkflowStart, false);
      const res: StartResponse = await ws.startWorkflowExecution(startRequest('off-1', 'off-q'));
      assert.equal(res.eagerWorkflowTask, null);
      const task = await pollFor(ws, 'off-q', 10_000);
      assert.equal(task?.workflowExecution?.runId, res.runId);
      assert.equal(task?.history?.events?.[2].workflowTaskStartedEventAttributes?.identity, 'queue-poller');
      assert.deepEqual(await replayAll(ws, RAW_WORKFLOWS), ['off-1'], 'its history replays');
    } finally {
      await connection.close();
      await server.close();
    }
  });

  test('a restarted server times out an eager task left started and retries it through the queue', async () => {
    const db = join(dir, 'eager.db');
    let server: DevServer = await startDevServer({ port: 0, dbFilename: db });
    let connection = await Connection.connect({ address: server.address });
    const res: StartResponse = await connection.workflowService.startWorkflowExecution(startRequest('restart-1', 'restart-q'));
    assert.ok(res.eagerWorkflowTask);
    await connection.close();
    await server.close();

    server = await startDevServer({ port: 0, dbFilename: db });
    connection = await Connection.connect({ address: server.address });
    try {
      const ws = connection.workflowService;
      // The same start retried after the restart finds the run, but no task to hand out.
      const again: StartResponse = await ws.startWorkflowExecution(startRequest('restart-1', 'restart-q'));
      assert.equal(again.runId, res.runId);
      assert.equal(again.eagerWorkflowTask, null);
      const task = await pollFor(ws, 'restart-q', 10_000);
      assert.ok(task, 'the task is back on the queue');
      await assert.rejects(ws.respondWorkflowTaskCompleted({ taskToken: res.eagerWorkflowTask!.taskToken, commands: [complete] }), /not found/i);
      await ws.respondWorkflowTaskCompleted({ taskToken: task.taskToken, commands: [complete] });
      const events = await historyOf(ws, 'restart-1');
      assert.deepEqual(names(events), [...RETRIED_FIRST_TASK, 'WORKFLOW_TASK_COMPLETED', 'WORKFLOW_EXECUTION_COMPLETED']);
      assert.equal(events[2].workflowTaskStartedEventAttributes?.identity, 'eager-starter');
      assert.equal(events[5].workflowTaskStartedEventAttributes?.identity, 'queue-poller');
      assert.deepEqual(await replayAll(ws, RAW_WORKFLOWS), ['restart-1'], 'its history, read back from the journal, replays');
    } finally {
      await connection.close();
      await server.close();
    }
  });
});

describe('eager workflow start with the SDK (client and worker sharing a NativeConnection)', () => {
  const h = useHarness({ local: true, activities });
  let client: Client;
  before(() => {
    const { env } = h();
    client = new Client({ connection: env.nativeConnection, namespace: env.namespace ?? 'default', identity: 'eager-sdk-starter' });
  });

  test('requestEagerStart: the worker runs the task from the start response, and the handle says so', async () => {
    const { taskQueue, nextId } = h();
    const handle = await client.workflow.start('hello', { taskQueue, workflowId: nextId('sdk-eager'), args: ['eager'], requestEagerStart: true });
    assert.equal(handle.eagerlyStarted, true);
    assert.equal(await handle.result(), 'Hello, eager!');
    const events = (await handle.fetchHistory()).events ?? [];
    assert.deepEqual(names(events).slice(0, 4), ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED', 'WORKFLOW_TASK_COMPLETED']);
    assert.equal(events[0].workflowExecutionStartedEventAttributes?.eagerExecutionAccepted, true);
    // Started for the starter, not through a poll: the client's identity is on the started event.
    assert.equal(events[2].workflowTaskStartedEventAttributes?.identity, 'eager-sdk-starter');
    assert.notEqual(events[3].workflowTaskCompletedEventAttributes?.identity, 'eager-sdk-starter');
    await assertReplays(handle);
  });

  test('without requestEagerStart the start is not eager and the worker polls the task', async () => {
    const { taskQueue, nextId } = h();
    const handle = await client.workflow.start('hello', { taskQueue, workflowId: nextId('sdk-plain'), args: ['plain'] });
    assert.equal(handle.eagerlyStarted, false);
    assert.equal(await handle.result(), 'Hello, plain!');
    const events = (await handle.fetchHistory()).events ?? [];
    assert.notEqual(events[2].workflowTaskStartedEventAttributes?.identity, 'eager-sdk-starter');
    assert.equal(events[0].workflowExecutionStartedEventAttributes?.eagerExecutionAccepted, false);
  });

  test('an eager task its starter abandons times out and the SDK worker runs the retry from the queue', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('sdk-abandoned');
    // A raw starter that asks for the task and never works on it (a worker killed right after the start).
    const res: StartResponse = await env.connection.workflowService.startWorkflowExecution({
      ...startRequest(workflowId, taskQueue, { workflowTaskTimeout: { seconds: Long.fromNumber(1) } }),
      workflowType: { name: 'hello' },
      input: json('abandoned'),
      namespace: env.namespace ?? 'default',
    });
    assert.ok(res.eagerWorkflowTask);
    const handle = client.workflow.getHandle(workflowId, res.runId!);
    assert.equal(await handle.result(), 'Hello, abandoned!');
    const events = (await handle.fetchHistory()).events ?? [];
    assert.deepEqual(names(events).slice(0, 7), [...RETRIED_FIRST_TASK, 'WORKFLOW_TASK_COMPLETED']);
    assert.equal(events[2].workflowTaskStartedEventAttributes?.identity, 'eager-starter');
    assert.notEqual(events[5].workflowTaskStartedEventAttributes?.identity, 'eager-starter');
    await assertReplays(handle);
  });

  replaysEveryRun(h);
});
