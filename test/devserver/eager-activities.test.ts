// Eager activity dispatch, the real server's default (system.enableActivityEagerExecution): an activity scheduled
// with requestEagerExecution is started at once and returned in the RespondWorkflowTaskCompleted response instead of
// going through the activity task queue. Raw calls against an in-process server pin the protocol; the SDK worker
// (which requests eager execution for activities on its own queue) checks results, histories and time skipping.
// The raw runs replay against fixtures/raw-workflows.ts, whose workflows schedule the same activities.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { TimeoutType } from '@temporalio/common';
import { assertReplays, eventTypes, useHarness, useInProcessServer } from './helpers';
import { RAW_WORKFLOWS, replayAll, replaysEveryRun } from './replay-all';
import * as activities from './fixtures/eager-activities';

const ET = temporal.api.enums.v1.EventType;
const CommandType = temporal.api.enums.v1.CommandType;
const EAGER_WORKFLOWS = require.resolve('./fixtures/eager-workflows');
const json = (v: unknown) => ({ payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(v)) }] });
const names = (events: temporal.api.history.v1.IHistoryEvent[] | null | undefined) =>
  (events ?? []).map((e) => String(ET[e.eventType as number]).replace(/^EVENT_TYPE_/, ''));
const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

type CompletionResponse = temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedResponse;

function scheduleActivity(activityId: string, eager: boolean, taskQueue?: string): temporal.api.command.v1.ICommand {
  return {
    commandType: CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
    scheduleActivityTaskCommandAttributes: {
      activityId,
      activityType: { name: 'rawActivity' },
      taskQueue: taskQueue ? { name: taskQueue } : undefined,
      input: json(activityId),
      startToCloseTimeout: { seconds: Long.fromNumber(30) },
      retryPolicy: { initialInterval: { seconds: Long.fromNumber(2) }, maximumAttempts: 5 },
      requestEagerExecution: eager,
    },
  };
}

describe('eager activity dispatch (raw calls, in-process server)', () => {
  const workflowService = useInProcessServer();
  let n = 0;

  /** Starts a run of `workflowType` (defined in fixtures/raw-workflows.ts with the commands the test sends) and polls its first task. */
  async function firstTask(prefix: string, workflowType: string) {
    const ws = workflowService();
    const workflowId = `${prefix}-${++n}`;
    const taskQueue = { name: `${prefix}-q-${n}` };
    const { runId } = await ws.startWorkflowExecution({ namespace: 'default', workflowId, workflowType: { name: workflowType }, taskQueue, requestId: `${workflowId}-start` });
    const execution = { workflowId, runId };
    const task = await ws.pollWorkflowTaskQueue({ namespace: 'default', taskQueue, identity: 'raw-worker' });
    const pollActivity = (timeoutMs: number) =>
      Promise.race([
        ws.pollActivityTaskQueue({ namespace: 'default', taskQueue, identity: 'raw-activity-worker' }),
        new Promise<null>((r) => setTimeout(() => r(null), timeoutMs)),
      ]);
    const history = async () => (await ws.getWorkflowExecutionHistory({ namespace: 'default', execution })).history?.events ?? [];
    return { ws, execution, task, taskQueue, pollActivity, history };
  }

  test('a requested eager activity comes back started in the completion response, with its timeouts and retry policy', async () => {
    const { ws, execution, task, pollActivity, history } = await firstTask('eager', 'rawSchedulesA1');
    const res: CompletionResponse = await ws.respondWorkflowTaskCompleted({ taskToken: task.taskToken, identity: 'raw-worker', commands: [scheduleActivity('a1', true)] });
    assert.equal(res.activityTasks?.length, 1);
    const at = res.activityTasks![0];
    assert.equal(at.activityId, 'a1');
    assert.equal(at.activityType?.name, 'rawActivity');
    assert.equal(at.attempt, 1);
    assert.equal(at.workflowExecution?.runId, execution.runId);
    assert.equal(at.workflowType?.name, 'rawSchedulesA1');
    assert.equal(at.workflowNamespace, 'default');
    assert.equal(Buffer.from(at.input!.payloads![0].data!).toString(), '"a1"');
    assert.equal(ms(at.startToCloseTimeout), 30_000);
    assert.equal(ms(at.retryPolicy?.initialInterval), 2000);
    assert.equal(at.retryPolicy?.maximumAttempts, 5);
    assert.ok(ms(at.startedTime) >= ms(at.scheduledTime));
    assert.equal(ms(at.currentAttemptScheduledTime), ms(at.scheduledTime));
    // It was not also queued: a poller on the activity queue gets nothing.
    assert.equal(await pollActivity(300), null);
    await ws.respondActivityTaskCompleted({ taskToken: at.taskToken, identity: 'raw-worker', result: json('done') });
    const events = await history();
    assert.deepEqual(names(events).slice(3), [
      'WORKFLOW_TASK_COMPLETED',
      'ACTIVITY_TASK_SCHEDULED',
      'ACTIVITY_TASK_STARTED',
      'ACTIVITY_TASK_COMPLETED',
      'WORKFLOW_TASK_SCHEDULED',
    ]);
    const started = events[5].activityTaskStartedEventAttributes!;
    assert.equal(Number(started.scheduledEventId), 5);
    assert.equal(started.identity, 'raw-worker');
    assert.equal(Number(events[6].activityTaskCompletedEventAttributes?.startedEventId), 6);
  });

  test('without requestEagerExecution the activity goes through the task queue and the response carries none', async () => {
    const { ws, task, pollActivity } = await firstTask('queued', 'rawSchedulesA1');
    const res: CompletionResponse = await ws.respondWorkflowTaskCompleted({ taskToken: task.taskToken, commands: [scheduleActivity('a1', false)] });
    assert.equal(res.activityTasks?.length ?? 0, 0);
    const polled = await pollActivity(5000);
    assert.equal(polled?.activityId, 'a1');
  });

  test('every eager activity of one completion is returned, in command order; non-eager ones stay queued', async () => {
    const { ws, task, pollActivity } = await firstTask('several', 'rawSchedulesThree');
    const res: CompletionResponse = await ws.respondWorkflowTaskCompleted({
      taskToken: task.taskToken,
      commands: [scheduleActivity('e1', true), scheduleActivity('q1', false), scheduleActivity('e2', true)],
    });
    assert.deepEqual(res.activityTasks?.map((t) => t.activityId), ['e1', 'e2']);
    assert.equal((await pollActivity(5000))?.activityId, 'q1');
    assert.equal(await pollActivity(300), null);
  });

  test('an eager activity scheduled in the completion that also closes the workflow is not handed out', async () => {
    const { ws, task, history } = await firstTask('closing', 'rawSchedulesA1AndCompletes');
    const res: CompletionResponse = await ws.respondWorkflowTaskCompleted({
      taskToken: task.taskToken,
      commands: [
        scheduleActivity('a1', true),
        { commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION, completeWorkflowExecutionCommandAttributes: { result: json('bye') } },
      ],
    });
    assert.equal(res.activityTasks?.length ?? 0, 0);
    assert.deepEqual(names(await history()).slice(-3), ['WORKFLOW_TASK_COMPLETED', 'ACTIVITY_TASK_SCHEDULED', 'WORKFLOW_EXECUTION_COMPLETED']);
  });

  test('a failed eager attempt is retried through the task queue after its backoff', async () => {
    const { ws, task, pollActivity } = await firstTask('retry', 'rawSchedulesA1');
    const res: CompletionResponse = await ws.respondWorkflowTaskCompleted({ taskToken: task.taskToken, commands: [scheduleActivity('a1', true)] });
    const first = res.activityTasks![0];
    await ws.respondActivityTaskFailed({ taskToken: first.taskToken, failure: { message: 'boom', applicationFailureInfo: { type: 'Boom' } } });
    const second = await pollActivity(10_000);
    assert.equal(second?.activityId, 'a1');
    assert.equal(second?.attempt, 2);
    assert.ok(ms(second!.currentAttemptScheduledTime) - ms(first.startedTime) >= 1900, 'after the 2 s initial interval');
  });

  test('every history above replays with the real SDK against workflows scheduling the same activities', async () => {
    assert.deepEqual(await replayAll(workflowService(), RAW_WORKFLOWS), ['closing-4', 'eager-1', 'queued-2', 'retry-5', 'several-3']);
  });
});

describe('eager activity dispatch with the SDK worker (time skipping)', () => {
  const h = useHarness({ activities, worker: { workflowsPath: EAGER_WORKFLOWS } });

  test('activities on the workflow queue run once each, in order and in parallel, and the history replays', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('eagerChain', { taskQueue, workflowId: nextId('chain') });
    assert.deepEqual(await handle.result(), ['a@1', 'b@1', 'c@1', 'd@1']);
    const types = await eventTypes(handle);
    assert.equal(types.filter((t) => t === 'ACTIVITY_TASK_SCHEDULED').length, 4);
    assert.equal(types.filter((t) => t === 'ACTIVITY_TASK_STARTED').length, 4);
    assert.equal(types.filter((t) => t === 'ACTIVITY_TASK_COMPLETED').length, 4);
    assert.equal(types.at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    await assertReplays(handle, EAGER_WORKFLOWS);
  });

  test('virtual time does not skip while an eager activity runs: it beats a day-long timer', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('eagerRaceTimer', { taskQueue, workflowId: nextId('race'), args: [600] });
    assert.equal(await handle.result(), 'activity');
    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const first = ms(events[0].eventTime);
    const done = events.find((e) => e.eventType === ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)!;
    const elapsed = ms(done.eventTime) - first;
    // At least the activity's own run, and short of the day the timer would have skipped to.
    assert.ok(elapsed >= 500 && elapsed < 86_400_000, `activity completed ${elapsed} ms of workflow time after start`);
    assert.ok(!events.some((e) => e.eventType === ET.EVENT_TYPE_TIMER_FIRED));
    await assertReplays(handle, EAGER_WORKFLOWS);
  });

  test('an eager activity outliving its only timeout, schedule-to-close, times out SCHEDULE_TO_CLOSE, not START_TO_CLOSE', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('eagerOutlivesScheduleToClose', { taskQueue, workflowId: nextId('s2c'), args: [1500] });
    assert.equal(await handle.result(), `timeout ${TimeoutType.SCHEDULE_TO_CLOSE}`);
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.find((e) => e.eventType === ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)!;
    const started = events.find((e) => e.eventType === ET.EVENT_TYPE_ACTIVITY_TASK_STARTED);
    const timedOut = events.find((e) => e.eventType === ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)!;
    assert.equal(ms(scheduled.activityTaskScheduledEventAttributes!.startToCloseTimeout), 300, 'start-to-close defaults to schedule-to-close');
    assert.ok(started, 'the activity was started');
    assert.equal(timedOut.activityTaskTimedOutEventAttributes!.failure!.timeoutFailureInfo!.timeoutType, temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE);
  });

  replaysEveryRun(h, EAGER_WORKFLOWS);
});
