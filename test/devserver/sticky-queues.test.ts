// Sticky task queues: after a completion naming the worker's sticky queue, the run's next workflow task goes there
// with only the events the worker has not seen, while that queue is polled; otherwise (nobody polled it for 10 s, or its
// worker sent ShutdownWorker) it is offered on the normal queue with the whole history, its scheduled event still naming
// the sticky queue, as on the real server; after a failure, a timeout or ResetStickyTaskQueue the run is no longer
// sticky. Raw WorkflowService calls
// against an in-process server pin each interleaving; the real SDK worker then runs on sticky queues end to end.
// Every history, raw ones included, replays with the real SDK (the raw runs drive `collectSignals` by hand).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import Long from 'long';
import { quietRuntime, useHarness, useInProcessServer, workflowBundle } from './helpers';
import { CORE_WORKFLOWS, eventMs, events, replay, pendingAfter, startWithTaskInFlight, typeName, wait, within } from './workflow-helpers';
import { replayAll, replaysEveryRun } from './replay-all';

type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;
type PollResponse = temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse;
const Kind = temporal.api.enums.v1.TaskQueueKind;
const CommandType = temporal.api.enums.v1.CommandType;
const TimeoutType = temporal.api.enums.v1.TimeoutType;
const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;

const json = (v: unknown) => ({ payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(v)) }] });
const taskEvents = (res: PollResponse | null | undefined): IHistoryEvent[] => res?.history?.events ?? [];
const names = (evs: IHistoryEvent[]) => evs.map(typeName);
const ids = (evs: IHistoryEvent[]) => evs.map((e) => Number(e.eventId));
const byId = (evs: IHistoryEvent[], id: number) => {
  const e = evs.find((x) => Number(x.eventId) === id);
  assert.ok(e, `event ${id} exists`);
  return e;
};
/** The queue a WorkflowTaskScheduled event names, as {name, kind, normalName}. */
const scheduledOn = (e: IHistoryEvent) => {
  const tq = e.workflowTaskScheduledEventAttributes?.taskQueue;
  assert.ok(tq, `event ${e.eventId} is a WorkflowTaskScheduled with a task queue`);
  return { name: tq.name, kind: tq.kind, normalName: tq.normalName || '' };
};

describe('sticky task queues (raw calls, in-process server)', () => {
  const workflowService = useInProcessServer();
  before(() => quietRuntime()); // the replays below create the SDK runtime; install it quiet before anything else does
  let n = 0;

  /** Starts `collectSignals` on its own normal queue, with a sticky queue name for the test's raw "worker". */
  async function begin(prefix: string, extra: { workflowTaskTimeout?: { seconds: Long } } = {}) {
    const ws = workflowService();
    const matcher = workflowService.server().engine.workflowTasks;
    const workflowId = `${prefix}-${++n}`;
    const normal = `${prefix}-q-${n}`;
    const sticky = `${prefix}-sticky-${n}`;
    const { runId } = await ws.startWorkflowExecution({
      namespace: 'default',
      workflowId,
      workflowType: { name: 'collectSignals' },
      taskQueue: { name: normal },
      requestId: `${workflowId}-start`,
      ...extra,
    });
    const execution = { workflowId, runId };
    const pollNormal = () =>
      within(
        ws.pollWorkflowTaskQueue({ namespace: 'default', taskQueue: { name: normal, kind: Kind.TASK_QUEUE_KIND_NORMAL }, identity: 'raw-normal' }),
        'poll on the normal queue',
      );
    const pollSticky = () =>
      within(
        ws.pollWorkflowTaskQueue({
          namespace: 'default',
          taskQueue: { name: sticky, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: normal },
          identity: 'raw-sticky',
        }),
        'poll on the sticky queue',
      );
    /** Starts a poll and returns once the server holds it (so a task scheduled next can be matched to it). */
    const held = async (poll: () => Promise<PollResponse>): Promise<{ task: Promise<PollResponse> }> => {
      const before = matcher.waiting;
      const task = poll();
      task.catch(() => undefined); // a failing test may leave it held until the server closes
      for (let i = 0; i < 400 && matcher.waiting <= before; i++) await wait(5);
      assert.equal(matcher.waiting, before + 1, 'the poll is held by the server');
      return { task };
    };
    const stickyAttributes = (scheduleToStartSeconds = 5) => ({
      workerTaskQueue: { name: sticky, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: normal },
      scheduleToStartTimeout: { seconds: Long.fromNumber(scheduleToStartSeconds) },
    });
    /** Completes a task; `sticky` (the schedule-to-start seconds) names the sticky queue, `false` leaves it out. */
    const complete = (
      task: PollResponse,
      opts: { sticky?: number | false; commands?: temporal.api.command.v1.ICommand[]; returnNewWorkflowTask?: boolean } = {},
    ) =>
      ws.respondWorkflowTaskCompleted({
        taskToken: task.taskToken,
        identity: 'raw-worker',
        commands: opts.commands ?? [],
        stickyAttributes: opts.sticky === false ? undefined : stickyAttributes(opts.sticky),
        returnNewWorkflowTask: opts.returnNewWorkflowTask ?? false,
      });
    const completeWorkflow = (task: PollResponse, result: string[]) =>
      complete(task, {
        sticky: false,
        commands: [{ commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: { result: json(result) } }],
      });
    const fail = (task: PollResponse) =>
      ws.respondWorkflowTaskFailed({
        taskToken: task.taskToken,
        cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
        failure: { message: 'lost the run' },
        identity: 'raw-worker',
      });
    let signals = 0;
    const signal = (name: 'add' | 'done', value?: string) =>
      ws.signalWorkflowExecution({
        namespace: 'default',
        workflowExecution: execution,
        signalName: name,
        input: value === undefined ? undefined : json(value),
        requestId: `${workflowId}-sig-${++signals}`,
        identity: 'raw-client',
      });
    const history = async () => (await ws.getWorkflowExecutionHistory({ namespace: 'default', execution })).history?.events ?? [];
    /** Replays the run's history with the real SDK against the `collectSignals` the raw calls played. */
    const replays = async () => {
      const h = await ws.getWorkflowExecutionHistory({ namespace: 'default', execution });
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle(CORE_WORKFLOWS) }, h.history, workflowId);
    };
    /** Polls the first task on the normal queue and completes it naming the sticky queue. */
    const firstTaskSticky = async (scheduleToStartSeconds = 5) => {
      const first = await pollNormal();
      assert.deepEqual(ids(taskEvents(first)), [1, 2, 3]);
      await complete(first, { sticky: scheduleToStartSeconds });
      return first;
    };
    /** With a sticky poll held, a signal's task goes to it; returns that (partial-history) task. */
    const stickyTaskFor = async (value: string) => {
      const sp = await held(pollSticky);
      await signal('add', value);
      return sp.task;
    };
    /**
     * The sticky worker takes its first two tasks (both naming the sticky queue, `scheduleToStartSeconds`), then
     * stops polling: the next signal ('b') leaves its task waiting on the sticky queue, which nobody polls any more.
     */
    const taskLeftOnStickyQueue = async (scheduleToStartSeconds: number) => {
      await firstTaskSticky(scheduleToStartSeconds);
      await complete(await stickyTaskFor('a'), { sticky: scheduleToStartSeconds });
      await signal('add', 'b');
    };
    return {
      ws,
      workflowId,
      execution,
      normal,
      sticky,
      held,
      pollNormal,
      pollSticky,
      complete,
      completeWorkflow,
      fail,
      signal,
      history,
      replays,
      firstTaskSticky,
      stickyTaskFor,
      taskLeftOnStickyQueue,
    };
  }

  test('with a sticky poll held, the next task goes to the sticky queue with only the events after previousStartedEventId', async () => {
    const r = await begin('sticky-partial');
    await r.firstTaskSticky();
    const sp = await r.held(r.pollSticky);
    const np = await r.held(r.pollNormal);
    await r.signal('add', 'a');
    const task = await sp.task;
    assert.equal(Number(task.previousStartedEventId), 3, 'the completed first task was started at 3');
    assert.equal(Number(task.startedEventId), 7);
    assert.equal(task.attempt, 1);
    const evs = taskEvents(task);
    assert.equal(Number(evs[0].eventId), Number(task.previousStartedEventId) + 1, 'the history starts right after previousStartedEventId');
    assert.deepEqual(ids(evs), [4, 5, 6, 7]);
    assert.deepEqual(names(evs), ['WORKFLOW_TASK_COMPLETED', 'WORKFLOW_EXECUTION_SIGNALED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    assert.deepEqual(scheduledOn(evs[2]), { name: r.sticky, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: r.normal });
    assert.equal(evs[3].workflowTaskStartedEventAttributes?.identity, 'raw-sticky');
    assert.equal(task.workflowExecutionTaskQueue?.name, r.normal, "the run's own queue is still the normal one");
    assert.ok(await pendingAfter(np.task), 'the normal-queue poll does not get the sticky task');
    assert.deepEqual(ids(await r.history()), [1, 2, 3, 4, 5, 6, 7], 'the stored history has every event');

    // A completion without stickyAttributes clears stickiness: the next task goes to the held normal poll, whole.
    await r.complete(task, { sticky: false });
    await r.signal('done');
    const whole = await np.task;
    assert.equal(Number(whole.previousStartedEventId), 7);
    assert.deepEqual(ids(taskEvents(whole)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(scheduledOn(taskEvents(whole)[9]), { name: r.normal, kind: Kind.TASK_QUEUE_KIND_NORMAL, normalName: '' });
    await r.completeWorkflow(whole, ['a']);
    assert.equal(names(await r.history()).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    await r.replays();
  });

  test('a sticky queue nobody has polled gets no task: it goes to the normal queue with the whole history', async () => {
    const r = await begin('sticky-unpolled');
    await r.firstTaskSticky();
    await r.signal('add', 'a');
    const evs = await r.history();
    // As the real server: the run is sticky, so the scheduled event names the sticky queue; matching answers
    // StickyWorkerUnavailable and the task is offered on the normal queue.
    assert.deepEqual(scheduledOn(byId(evs, 6)), { name: r.sticky, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: r.normal });
    const task = await r.pollNormal();
    assert.equal(Number(task.previousStartedEventId), 3);
    assert.deepEqual(ids(taskEvents(task)), [1, 2, 3, 4, 5, 6, 7]);
    // The run stays sticky: once its worker polls the sticky queue, the following task goes there.
    await r.complete(task);
    const next = await r.stickyTaskFor('b');
    assert.deepEqual(ids(taskEvents(next)), [8, 9, 10, 11]);
    assert.equal(scheduledOn(taskEvents(next)[2]).kind, Kind.TASK_QUEUE_KIND_STICKY);
    await r.complete(next, { sticky: false });
    await r.signal('done');
    await r.completeWorkflow(await r.pollNormal(), ['a', 'b']);
    await r.replays();
  });

  test('a sticky task not started within its scheduleToStartTimeout times out (SCHEDULE_TO_START) and goes to the normal queue whole', async () => {
    const r = await begin('sticky-timeout');
    // The sticky worker takes one task, then dies silently: its queue still counts as polled for 10 s, so 'b' is
    // scheduled on the sticky queue, which nobody polls any more.
    await r.taskLeftOnStickyQueue(1);
    assert.deepEqual(scheduledOn(byId(await r.history(), 10)), { name: r.sticky, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: r.normal });
    const task = await r.pollNormal();
    const evs = taskEvents(task);
    assert.deepEqual(ids(evs), Array.from({ length: 13 }, (_, i) => i + 1), 'the whole history');
    assert.deepEqual(names(evs).slice(7), [
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_TIMED_OUT',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
    ]);
    const timedOut = evs[10].workflowTaskTimedOutEventAttributes!;
    assert.equal(Number(timedOut.scheduledEventId), 10);
    assert.equal(Number(timedOut.startedEventId), 0, 'never started');
    assert.equal(timedOut.timeoutType, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
    // The server timed the sticky task out no sooner than its 1 s schedule-to-start timeout (its own event times).
    const sinceScheduled = eventMs(evs[10]) - eventMs(evs[9]);
    assert.ok(sinceScheduled >= 1000, `the sticky task timed out ${sinceScheduled} ms after it was scheduled, before the 1 s timeout`);
    assert.deepEqual(scheduledOn(evs[11]), { name: r.normal, kind: Kind.TASK_QUEUE_KIND_NORMAL, normalName: '' });
    assert.equal(evs[11].workflowTaskScheduledEventAttributes!.attempt, 1);
    assert.equal(task.attempt, 1);
    assert.equal(Number(task.previousStartedEventId), 7);
    await r.complete(task, { sticky: false });
    await r.signal('done');
    const last = await r.pollNormal();
    await r.completeWorkflow(last, ['a', 'b']);
    await r.replays();
  });

  test('after ShutdownWorker, a task waiting on its sticky queue waits out the sticky timeout; later tasks go to the normal queue at once', async () => {
    const r = await begin('sticky-shutdown');
    await r.taskLeftOnStickyQueue(1); // 'b' waits on the sticky queue (polled a moment ago, nobody polls now)
    const np = await r.held(r.pollNormal);
    await r.ws.shutdownWorker({ namespace: 'default', stickyTaskQueue: r.sticky, identity: 'raw-sticky', reason: 'graceful shutdown' });
    // As the real server (the sticky partition is unloaded, the task stays in it): it reaches the normal queue only
    // when its 1 s sticky schedule-to-start timeout passes, which writes WORKFLOW_TASK_TIMED_OUT.
    assert.ok(await pendingAfter(np.task), 'the task still waits on the sticky queue');
    const task = await np.task;
    const evs = taskEvents(task);
    assert.deepEqual(names(evs).slice(9), ['WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_TIMED_OUT', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    assert.equal(evs[10].workflowTaskTimedOutEventAttributes!.timeoutType, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
    assert.deepEqual(scheduledOn(evs[11]), { name: r.normal, kind: Kind.TASK_QUEUE_KIND_NORMAL, normalName: '' });
    // The worker names its sticky queue again, but it no longer counts as polled: the next task is scheduled there
    // (the run is sticky) and offered on the normal queue at once, where another worker takes it whole.
    await r.complete(task, { sticky: 30 });
    await r.signal('done');
    const last = await r.pollNormal();
    const lastEvs = taskEvents(last);
    assert.equal(lastEvs[0].eventId?.toString(), '1', 'the whole history');
    assert.deepEqual(scheduledOn(lastEvs.at(-2)!), { name: r.sticky, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: r.normal });
    await r.completeWorkflow(last, ['a', 'b']);
    assert.equal(names(await r.history()).filter((n) => n === 'WORKFLOW_TASK_TIMED_OUT').length, 1, 'only the task that waited on the sticky queue timed out');
    await r.replays();
  });

  test('ResetStickyTaskQueue moves the task waiting on the sticky queue to the normal queue without writing an event', async () => {
    const r = await begin('sticky-reset');
    await r.taskLeftOnStickyQueue(30); // 'b' waits on the sticky queue (polled a moment ago, nobody polls now)
    const np = await r.held(r.pollNormal);
    assert.ok(await pendingAfter(np.task), 'the task waits on the sticky queue');
    const before = await r.history();
    assert.equal(names(before).at(-1), 'WORKFLOW_TASK_SCHEDULED');
    assert.equal(scheduledOn(before.at(-1)!).kind, Kind.TASK_QUEUE_KIND_STICKY);
    await r.ws.resetStickyTaskQueue({ namespace: 'default', execution: r.execution });
    const task = await np.task;
    const evs = taskEvents(task);
    assert.deepEqual(ids(evs), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'the whole history, and no event between Scheduled and Started');
    assert.equal(Number(evs[10].workflowTaskStartedEventAttributes!.scheduledEventId), 10);
    assert.equal(evs[10].workflowTaskStartedEventAttributes!.identity, 'raw-normal');
    assert.equal(task.attempt, 1);
    await r.complete(task, { sticky: false });
    await r.signal('done');
    const last = await r.pollNormal();
    assert.equal(scheduledOn(taskEvents(last).at(-2)!).kind, Kind.TASK_QUEUE_KIND_NORMAL);
    await r.completeWorkflow(last, ['a', 'b']);
    assert.ok(!names(await r.history()).includes('WORKFLOW_TASK_TIMED_OUT'));
    await r.replays();
  });

  test('a sticky task that fails is retried at attempt 1 on the normal queue with the whole history; a second failure is transient attempt 2', async () => {
    const r = await begin('sticky-fail');
    await r.firstTaskSticky();
    const second = await r.stickyTaskFor('a');
    const sp = await r.held(r.pollSticky); // a live sticky poll must not get the retry
    await r.fail(second);
    const retry = await r.pollNormal();
    assert.equal(retry.attempt, 1, 'a failure while sticky does not count as an attempt');
    const evs = taskEvents(retry);
    assert.deepEqual(ids(evs), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(names(evs).slice(7), ['WORKFLOW_TASK_FAILED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    assert.deepEqual(scheduledOn(evs[8]), { name: r.normal, kind: Kind.TASK_QUEUE_KIND_NORMAL, normalName: '' });
    assert.equal(evs[8].workflowTaskScheduledEventAttributes!.attempt, 1);
    assert.deepEqual(ids(await r.history()), ids(evs), 'the attempt-1 retry is written, not transient');
    assert.ok(await pendingAfter(sp.task, 100));

    await r.fail(retry);
    const third = await r.pollNormal();
    assert.equal(third.attempt, 2);
    assert.deepEqual(names(taskEvents(third)).slice(10), ['WORKFLOW_TASK_FAILED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    assert.deepEqual(ids(await r.history()), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'attempt 2 is transient');
    // Completing attempt 2 with stickyAttributes makes the run sticky again: the held sticky poll gets the next task.
    await r.complete(third);
    await r.signal('done');
    const last = await sp.task;
    assert.equal(Number(last.previousStartedEventId), 13);
    assert.deepEqual(ids(taskEvents(last)), [14, 15, 16, 17]);
    await r.completeWorkflow(last, ['a']);
    const final = await r.history();
    assert.equal(final[11].workflowTaskScheduledEventAttributes!.attempt, 2);
    assert.equal(names(final).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    await r.replays();
  });

  test('a sticky task that times out (start-to-close) is retried at attempt 1 on the normal queue with the whole history', async () => {
    const r = await begin('sticky-wft-timeout', { workflowTaskTimeout: { seconds: Long.fromNumber(1) } });
    await r.firstTaskSticky();
    await r.stickyTaskFor('a'); // started, never answered
    const retry = await r.pollNormal();
    assert.equal(retry.attempt, 1);
    const evs = taskEvents(retry);
    assert.deepEqual(ids(evs), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(names(evs).slice(7), ['WORKFLOW_TASK_TIMED_OUT', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    assert.equal(evs[7].workflowTaskTimedOutEventAttributes!.timeoutType, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);
    assert.equal(Number(evs[7].workflowTaskTimedOutEventAttributes!.startedEventId), 7);
    assert.deepEqual(scheduledOn(evs[8]), { name: r.normal, kind: Kind.TASK_QUEUE_KIND_NORMAL, normalName: '' });
    await r.complete(retry, { sticky: false });
    await r.signal('done');
    await r.completeWorkflow(await r.pollNormal(), ['a']);
    await r.replays();
  });

  test('the UnhandledCommand rejection of a sticky task clears stickiness: the new task goes to the normal queue whole', async () => {
    const r = await begin('sticky-unhandled');
    await r.firstTaskSticky();
    const second = await r.stickyTaskFor('a');
    await r.signal('done'); // buffered while the sticky task is started
    await assert.rejects(r.completeWorkflow(second, ['a']), (e: { code: number; details: string }) => {
      assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(e.details, 'UnhandledCommand');
      return true;
    });
    // The sticky queue was polled a moment ago, so only cleared stickiness sends the task to the normal queue.
    const retry = await r.pollNormal();
    const evs = taskEvents(retry);
    assert.deepEqual(ids(evs), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(names(evs).slice(7), ['WORKFLOW_TASK_FAILED', 'WORKFLOW_EXECUTION_SIGNALED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    assert.equal(evs[7].workflowTaskFailedEventAttributes!.cause, Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
    assert.deepEqual(scheduledOn(evs[9]), { name: r.normal, kind: Kind.TASK_QUEUE_KIND_NORMAL, normalName: '' });
    assert.equal(retry.attempt, 1);
    await r.completeWorkflow(retry, ['a']);
    await r.replays();
  });

  test('returnNewWorkflowTask: a signal buffered during a sticky task comes back in the completion as the next task, with partial history', async () => {
    const r = await begin('sticky-inline');
    const first = await r.pollNormal();
    const nothing = await r.complete(first, { sticky: 5, returnNewWorkflowTask: true });
    assert.ok(!nothing.workflowTask, 'no events arrived during the task: no new task');
    const second = await r.stickyTaskFor('a');
    await r.signal('done'); // buffered: the task is started
    const res = await r.complete(second, { sticky: 5, returnNewWorkflowTask: true });
    const inline = res.workflowTask;
    assert.ok(inline?.taskToken?.length, 'the next task comes in the response');
    assert.equal(Number(inline.previousStartedEventId), 7);
    assert.equal(Number(inline.startedEventId), 11);
    assert.equal(inline.attempt, 1);
    const evs = taskEvents(inline);
    assert.deepEqual(ids(evs), [8, 9, 10, 11]);
    assert.deepEqual(names(evs), ['WORKFLOW_TASK_COMPLETED', 'WORKFLOW_EXECUTION_SIGNALED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED']);
    assert.equal(evs[1].workflowExecutionSignaledEventAttributes!.signalName, 'done');
    assert.equal(Number(evs[3].workflowTaskStartedEventAttributes!.scheduledEventId), 10);
    assert.deepEqual(ids(await r.history()), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'already started in the stored history');
    await r.completeWorkflow(inline, ['a']);
    assert.equal(names(await r.history()).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    await r.replays();
  });

  test('returnNewWorkflowTask hands the new task back inline even while the worker holds a sticky poll (it skips matching)', async () => {
    const r = await begin('sticky-inline-held');
    await r.firstTaskSticky();
    const second = await r.stickyTaskFor('a');
    const sp = await r.held(r.pollSticky); // the SDK worker keeps several sticky polls open all the time
    await r.signal('add', 'b'); // buffered: the task is started
    const res = await r.complete(second, { sticky: 5, returnNewWorkflowTask: true });
    const inline = res.workflowTask;
    assert.ok(inline?.taskToken?.length, 'the next task comes in the response, not through the held poll');
    assert.deepEqual(ids(taskEvents(inline)), [8, 9, 10, 11]);
    assert.equal(taskEvents(inline)[1].workflowExecutionSignaledEventAttributes!.signalName, 'add');
    assert.deepEqual(scheduledOn(taskEvents(inline)[2]), { name: r.sticky, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: r.normal });
    assert.ok(await pendingAfter(sp.task, 100), 'the held sticky poll got nothing');
    await r.complete(inline, { sticky: 5 });
    await r.signal('done');
    const last = await sp.task; // the next task, without returnNewWorkflowTask, goes through the sticky queue
    assert.equal(Number(last.previousStartedEventId), 11);
    assert.deepEqual(ids(taskEvents(last)), [12, 13, 14, 15]);
    await r.completeWorkflow(last, ['a', 'b']);
    await r.replays();
  });

  test('a legacy query on a sticky run goes to the normal queue with the whole history, not to the sticky poll', async () => {
    const r = await begin('sticky-query');
    await r.firstTaskSticky();
    const sp = await r.held(r.pollSticky);
    const query = r.ws.queryWorkflow({ namespace: 'default', execution: r.execution, query: { queryType: 'state' } });
    const qt = await r.pollNormal();
    assert.equal(qt.query?.queryType, 'state');
    assert.deepEqual(ids(taskEvents(qt)), [1, 2, 3, 4]);
    await r.ws.respondQueryTaskCompleted({
      taskToken: qt.taskToken,
      completedType: temporal.api.enums.v1.QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
      queryResult: json('waiting'),
    });
    const answer = await query;
    assert.equal(Buffer.from(answer.queryResult!.payloads![0].data!).toString(), '"waiting"');
    assert.ok(await pendingAfter(sp.task, 100), 'the sticky poll got nothing');
    await r.signal('done');
    const last = await sp.task;
    assert.deepEqual(ids(taskEvents(last)), [4, 5, 6, 7]);
    await r.completeWorkflow(last, []);
    await r.replays();
  });

  test('every run above replays with the real SDK (none left out)', async () => {
    const ids = await replayAll(workflowService(), CORE_WORKFLOWS);
    assert.equal(ids.length, n, `one run per test: ${ids.join(', ')}`);
  });
});

describe('sticky task queues with the SDK worker', () => {
  const h = useHarness({ worker: { workflowsPath: CORE_WORKFLOWS } });

  test("a workflow receiving several signals runs its later workflow tasks on the worker's sticky queue, and replays", async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('sdk-sticky'), args: [0] });
    const sent: string[] = [];
    for (let i = 0; i < 4; i++) {
      sent.push(`s${i}`);
      await handle.signal('add', `s${i}`);
      assert.deepEqual(await handle.query('signals'), sent);
    }
    await handle.signal('done');
    assert.deepEqual(await handle.result(), sent);
    const evs = await events(handle);
    const scheduled = evs.filter((e) => e.workflowTaskScheduledEventAttributes).map(scheduledOn);
    assert.ok(scheduled.length >= 5, `${scheduled.length} workflow tasks`);
    assert.deepEqual(scheduled[0], { name: taskQueue, kind: Kind.TASK_QUEUE_KIND_NORMAL, normalName: '' }, 'the first task is on the normal queue');
    const later = scheduled.slice(1);
    const stickyName = later[0].name;
    assert.ok(stickyName && stickyName !== taskQueue, `a sticky queue name, got ${stickyName}`);
    for (const s of later) assert.deepEqual(s, { name: stickyName, kind: Kind.TASK_QUEUE_KIND_STICKY, normalName: taskQueue });
    assert.ok(!evs.some((e) => typeName(e) === 'WORKFLOW_TASK_TIMED_OUT' || typeName(e) === 'WORKFLOW_TASK_FAILED'));
    await replay(handle);
  });

  test('signals that arrive during a slow workflow task are handled in the next task on the sticky queue, and the history replays', async () => {
    const { env, taskQueue, nextId } = h();
    // The worker completes every task with returnNewWorkflowTask: the task for these signals is handed back with the
    // completion of the slow one (with partial history), even though the worker keeps sticky polls open meanwhile.
    const handle = await startWithTaskInFlight(env, taskQueue, nextId('sdk-inline'));
    await handle.signal('add', 'during-1');
    await handle.signal('add', 'during-2');
    assert.deepEqual(await handle.query('signals'), ['during-1', 'during-2']);
    await handle.signal('done');
    assert.deepEqual(await handle.result(), ['during-1', 'during-2']);
    const evs = await events(handle);
    assert.deepEqual(names(evs).slice(0, 5), [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_SIGNALED',
    ]);
    const later = evs.filter((e) => e.workflowTaskScheduledEventAttributes).slice(1).map(scheduledOn);
    assert.ok(later.length >= 2);
    for (const s of later) assert.deepEqual([s.kind, s.normalName], [Kind.TASK_QUEUE_KIND_STICKY, taskQueue]);
    assert.ok(!evs.some((e) => typeName(e) === 'WORKFLOW_TASK_FAILED' || typeName(e) === 'WORKFLOW_TASK_TIMED_OUT'));
    await replay(handle);
  });

  test('after its first worker shuts down, a second worker on the same queue finishes the workflow well inside the sticky timeout', async () => {
    const { env, nextId } = h();
    const taskQueue = `${nextId('handover')}-q-${Date.now()}`;
    const workflowBundleCode = await workflowBundle(CORE_WORKFLOWS);
    const makeWorker = (identity: string) =>
      Worker.create({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        identity,
        workflowBundle: workflowBundleCode,
      });
    const a = await makeWorker('worker-a');
    const runningA = a.run();
    const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('handover'), args: [0] });
    await handle.signal('add', 'to-a');
    assert.deepEqual(await handle.query('signals'), ['to-a'], 'worker A ran the first tasks (and caches the run)');
    a.shutdown();
    await runningA;

    await handle.signal('add', 'to-b');
    await handle.signal('done');
    const b = await makeWorker('worker-b');
    const result = await b.runUntil(handle.result());
    assert.deepEqual(result, ['to-a', 'to-b']);
    // Waiting out the 10 s sticky timeout would leave a WORKFLOW_TASK_TIMED_OUT (SCHEDULE_TO_START) in the history.
    const evs = await events(handle);
    assert.ok(!evs.some((e) => typeName(e) === 'WORKFLOW_TASK_TIMED_OUT'), 'no task waited out a timeout on the dead sticky queue');
    const started = evs.filter((e) => e.workflowTaskStartedEventAttributes);
    assert.equal(started.at(-1)!.workflowTaskStartedEventAttributes!.identity, 'worker-b');
    // As the real server, the run stayed sticky to worker A: the task's scheduled event names A's sticky queue, and,
    // with no poll there since A's ShutdownWorker, the task was offered on the normal queue, where B took it.
    const handedOver = evs.filter((e) => e.workflowTaskScheduledEventAttributes).at(-1)!;
    assert.equal(scheduledOn(handedOver).kind, Kind.TASK_QUEUE_KIND_STICKY);
    assert.equal(scheduledOn(handedOver).normalName, taskQueue);
    await replay(handle);
  });

  replaysEveryRun(h, CORE_WORKFLOWS);
});
