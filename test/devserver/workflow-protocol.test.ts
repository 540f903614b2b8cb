// Workflow-task protocol details that the SDK's timing rarely exposes, driven with raw WorkflowService calls against
// an in-process server (startDevServer) so each interleaving is deterministic: when legacy query tasks are handed
// out, the UnhandledCommand rejection, stale task tokens, and failing fast on queries while a workflow task fails.
// Each test starts its own workflow type, which fixtures/raw-workflows.ts defines with the same commands as the raw
// calls here; the last test replays every history the file made against those definitions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { DeterminismViolationError } from '@temporalio/workflow';
import { RETRIED_FIRST_TASK, useInProcessServer } from './helpers';
import { RAW_WORKFLOWS, ReplayFailures, allHistories, replayAll, replayHistories } from './replay-all';

const ET = temporal.api.enums.v1.EventType;
const CommandType = temporal.api.enums.v1.CommandType;
const json = (v: unknown) => ({ payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(v)) }] });
const names = (res: { history?: { events?: temporal.api.history.v1.IHistoryEvent[] | null } | null }) =>
  (res.history?.events ?? []).map((e) => String(ET[e.eventType as number]).replace(/^EVENT_TYPE_/, ''));

describe('workflow task protocol (raw calls, in-process server)', () => {
  const workflowService = useInProcessServer();
  let n = 0;

  /** Starts a workflow on its own queue and returns helpers bound to it. */
  async function begin(prefix: string, workflowType: string, extra: { workflowTaskTimeout?: { seconds: Long } } = {}) {
    const ws = workflowService();
    const workflowId = `${prefix}-${++n}`;
    const taskQueue = { name: `${prefix}-q-${n}` };
    const { runId } = await ws.startWorkflowExecution({
      namespace: 'default',
      workflowId,
      workflowType: { name: workflowType },
      taskQueue,
      requestId: `${workflowId}-start`,
      ...extra,
    });
    const poll = () => ws.pollWorkflowTaskQueue({ namespace: 'default', taskQueue, identity: 'raw-worker' });
    const execution = { workflowId, runId };
    const history = async () => names(await ws.getWorkflowExecutionHistory({ namespace: 'default', execution }));
    return { ws, workflowId, execution, poll, history };
  }

  test('a query arriving while a workflow task is scheduled is handed out only after that task completes', async () => {
    const { ws, execution, poll, history } = await begin('query-order', 'rawWaitsForSignals');
    const first = await poll();
    await ws.respondWorkflowTaskCompleted({ taskToken: first.taskToken, commands: [] });
    // No poller is waiting: the signal's task is scheduled, not started, when the query comes in.
    await ws.signalWorkflowExecution({ namespace: 'default', workflowExecution: execution, signalName: 'sig', requestId: 'q-sig' });
    const query = ws.queryWorkflow({ namespace: 'default', execution, query: { queryType: 'state' } });
    const second = await poll();
    assert.ok(!second.query, 'the workflow task comes first');
    assert.deepEqual(names(second).slice(-3), ['WORKFLOW_EXECUTION_SIGNALED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    // While that task is in flight a second poller must not receive the query (it would miss the signal).
    const held = poll();
    const early = await Promise.race([held, new Promise<null>((r) => setTimeout(() => r(null), 300))]);
    assert.equal(early, null, 'no query task while a workflow task is in flight');
    await ws.respondWorkflowTaskCompleted({ taskToken: second.taskToken, commands: [] });
    const qt = await held; // the held poll receives the query once the task completed
    assert.equal(qt.query?.queryType, 'state');
    assert.equal(Number(qt.startedEventId), 0, 'a legacy query task');
    assert.equal(Number(qt.previousStartedEventId), 7, 'it follows the completed task that saw the signal');
    assert.equal(names(qt).at(-1), 'WORKFLOW_TASK_COMPLETED');
    await ws.respondQueryTaskCompleted({
      taskToken: qt.taskToken,
      completedType: temporal.api.enums.v1.QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
      queryResult: json('after-signal'),
    });
    const answer = await query;
    assert.equal(Buffer.from(answer.queryResult!.payloads![0].data!).toString(), '"after-signal"');
    assert.deepEqual(await history(), [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
    ]);
    await ws.terminateWorkflowExecution({ namespace: 'default', workflowExecution: execution, reason: 'done' });
  });

  test('completing with a close command while a signal is buffered answers UnhandledCommand and hands out a new task', async () => {
    const { ws, execution, poll, history } = await begin('unhandled', 'rawCompletesOnSignal');
    const first = await poll();
    await ws.signalWorkflowExecution({ namespace: 'default', workflowExecution: execution, signalName: 'late', requestId: 'u-sig' });
    await assert.rejects(
      ws.respondWorkflowTaskCompleted({
        taskToken: first.taskToken,
        commands: [{ commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: { result: json('too early') } }],
      }),
      (e: { code: number; details: string }) => {
        assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
        assert.equal(e.details, 'UnhandledCommand', 'core matches this exact message');
        return true;
      },
    );
    const retry = await poll();
    assert.deepEqual(names(retry), [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_FAILED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
    ]);
    assert.equal(Number(retry.previousStartedEventId), 0, 'no task has completed yet');
    assert.equal(retry.attempt, 1);
    await ws.respondWorkflowTaskCompleted({
      taskToken: retry.taskToken,
      commands: [{ commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: { result: json('saw it') } }],
    });
    assert.equal((await history()).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    // The rejected task's token is stale now.
    await assert.rejects(ws.respondWorkflowTaskCompleted({ taskToken: first.taskToken, commands: [] }), (e: { code: number }) => e.code === grpc.status.NOT_FOUND);
  });

  test('a task completed after the workflow was terminated answers NOT_FOUND and writes nothing', async () => {
    const { ws, execution, poll, history } = await begin('stale', 'rawStartsTimer');
    const task = await poll();
    await ws.terminateWorkflowExecution({ namespace: 'default', workflowExecution: execution, reason: 'gone' });
    const before = await history();
    await assert.rejects(
      ws.respondWorkflowTaskCompleted({
        taskToken: task.taskToken,
        commands: [{ commandType: CommandType.COMMAND_TYPE_START_TIMER, startTimerCommandAttributes: { timerId: 't', startToFireTimeout: { seconds: Long.fromNumber(1) } } }],
      }),
      (e: { code: number }) => e.code === grpc.status.NOT_FOUND,
    );
    assert.deepEqual(await history(), before);
    assert.deepEqual(before.slice(-2), ['WORKFLOW_TASK_FAILED', 'WORKFLOW_EXECUTION_TERMINATED']);
  });

  test('a workflow task not answered within its timeout is timed out and retried as attempt 2, persisted on success', async () => {
    const { ws, poll, history } = await begin('wft-timeout', 'rawCompletes', { workflowTaskTimeout: { seconds: Long.fromNumber(1) } });
    const first = await poll();
    assert.equal(first.attempt, 1);
    const t0 = Date.now();
    const second = await poll(); // held until the first attempt times out
    const waited = Date.now() - t0;
    assert.ok(waited >= 900, `the retry came after ${waited} ms, before the one-second timeout`);
    assert.equal(second.attempt, 2);
    assert.deepEqual(names(second), RETRIED_FIRST_TASK);
    const timedOut = second.history!.events![3].workflowTaskTimedOutEventAttributes!;
    assert.equal(Number(timedOut.scheduledEventId), 2);
    assert.equal(Number(timedOut.startedEventId), 3);
    assert.equal(timedOut.timeoutType, temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);
    assert.deepEqual(await history(), names(second).slice(0, 4), 'the second attempt is transient until it completes');
    // The late answer to the first attempt is refused.
    await assert.rejects(ws.respondWorkflowTaskCompleted({ taskToken: first.taskToken, commands: [] }), (e: { code: number }) => e.code === grpc.status.NOT_FOUND);
    await ws.respondWorkflowTaskCompleted({
      taskToken: second.taskToken,
      commands: [{ commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: { result: json(2) } }],
    });
    const final = await ws.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: second.workflowExecution!.workflowId } });
    assert.deepEqual(names(final), [...names(second), 'WORKFLOW_TASK_COMPLETED', 'WORKFLOW_EXECUTION_COMPLETED']);
    assert.equal(final.history!.events![4].workflowTaskScheduledEventAttributes!.attempt, 2);
    // The retry's events went into history exactly as the worker saw them: ids, times and task ids.
    const plain = (events: unknown[]) => JSON.parse(JSON.stringify(events));
    assert.deepEqual(plain(final.history!.events!.slice(4, 6)), plain(second.history!.events!.slice(4, 6)));
  });

  test('a history read with waitNewEvent past the last event is held until the next event is written', async () => {
    const { ws, execution, poll } = await begin('history-wait', 'neverRuns');
    const page = await ws.getWorkflowExecutionHistory({ namespace: 'default', execution, waitNewEvent: true });
    assert.equal(page.history?.events?.length, 2, 'Started and WorkflowTaskScheduled');
    assert.ok(page.nextPageToken?.length, 'an open run always hands out a token to wait on');
    let settled = false;
    const next = ws
      .getWorkflowExecutionHistory({ namespace: 'default', execution, waitNewEvent: true, nextPageToken: page.nextPageToken })
      .finally(() => {
        settled = true;
      });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(settled, false, 'held while nothing new happens');
    await poll(); // writes WorkflowTaskStarted
    const more = await next;
    assert.deepEqual(names(more), ['WORKFLOW_TASK_STARTED']);
    assert.equal(Number(more.history!.events![0].eventId), 3);
    await ws.terminateWorkflowExecution({ namespace: 'default', workflowExecution: execution, reason: 'done' });
    const last = await ws.getWorkflowExecutionHistory({ namespace: 'default', execution, waitNewEvent: true, nextPageToken: more.nextPageToken });
    assert.deepEqual(names(last), ['WORKFLOW_TASK_FAILED', 'WORKFLOW_EXECUTION_TERMINATED']);
    assert.equal(last.nextPageToken?.length ?? 0, 0, 'no token once the run is closed and read to the end');
  });

  test('a query while the workflow task keeps failing (attempt 3 or more) fails fast with FAILED_PRECONDITION', async () => {
    const { ws, execution, poll, history } = await begin('failing', 'neverRuns');
    const fail = (taskToken: Uint8Array) =>
      ws.respondWorkflowTaskFailed({
        taskToken,
        cause: temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
        failure: { message: 'boom' },
      });
    const t1 = await poll();
    assert.equal(t1.attempt, 1);
    await fail(t1.taskToken);
    const t2 = await poll();
    assert.equal(t2.attempt, 2);
    assert.deepEqual(names(t2).slice(-3), ['WORKFLOW_TASK_FAILED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED'], 'transient events ride on the task');
    await fail(t2.taskToken);
    assert.deepEqual(await history(), ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED', 'WORKFLOW_TASK_FAILED']);
    // Answered with the task's failed state rather than held for a task (which no worker would ever complete here).
    await assert.rejects(
      ws.queryWorkflow({ namespace: 'default', execution, query: { queryType: 'state' } }),
      (e: { code: number; details: string }) => {
        assert.equal(e.code, grpc.status.FAILED_PRECONDITION);
        assert.match(e.details, /Workflow Task in failed state/);
        return true;
      },
    );
    await ws.terminateWorkflowExecution({ namespace: 'default', workflowExecution: execution, reason: 'done' });
  });

  test('every history above replays with the real SDK against workflows issuing the same commands', async () => {
    const ids = await replayAll(workflowService(), RAW_WORKFLOWS);
    assert.deepEqual(ids, ['failing-6', 'history-wait-5', 'query-order-1', 'stale-3', 'unhandled-2', 'wft-timeout-4']);
  });

  test('the replay check fails a history replayed against a workflow issuing different commands', async () => {
    // wft-timeout's run completed in its first task; rawStartsTimer starts a timer there instead.
    const [h] = (await allHistories(workflowService())).filter((x) => x.workflowId === 'wft-timeout-4');
    const started = h.history.events![0].workflowExecutionStartedEventAttributes!;
    assert.equal(started.workflowType!.name, 'rawCompletes');
    started.workflowType = { name: 'rawStartsTimer' };
    await assert.rejects(replayHistories([h], RAW_WORKFLOWS), (e: unknown) => {
      assert.ok(e instanceof ReplayFailures, String(e));
      assert.deepEqual(e.failures.map((f) => f.workflowId), ['wft-timeout-4']);
      assert.ok(e.failures[0].error instanceof DeterminismViolationError, `${e.failures[0].error.name}: ${e.failures[0].error.message}`);
      return true;
    });
  });
});
