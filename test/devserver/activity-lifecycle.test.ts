// Activity conformance, part 2: cancellation delivered through heartbeats, async completion by id and by task token,
// describe with pending activities, and activities served by a second worker on another task queue — driven through
// the real SDK worker and client against the devserver under time skipping.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActivityNotFoundError, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { assertReplays, testCallLayer, useHarness } from './helpers';
import * as activities from './fixtures/activity-activities';
import { attemptsOf, release, waitForAttempts } from './fixtures/activity-activities';
import { cancelSignal } from './fixtures/activity-workflows';
import { ACTIVITY_WORKFLOWS_PATH, historyOf, near, onlyEvent, toNum, tsMs, typeName, typesOf, waitForEvent, withoutWft } from './activity-history';
import { replaysEveryRun } from './replay-all';

const harness = useHarness({ activities, worker: { workflowsPath: ACTIVITY_WORKFLOWS_PATH } });

testCallLayer(harness);
const PendingState = temporal.api.enums.v1.PendingActivityState;

type CancelOutcome = { error: string; cause?: string; retryState?: string; cancelledAtMs: number; caughtAtMs: number };

async function startCancel(key: string, name: string, options: object, args: unknown[], sleepAfter?: string): Promise<WorkflowHandle> {
  const h = harness();
  return await h.env.client.workflow.start('cancelActivity', {
    taskQueue: h.taskQueue,
    workflowId: h.nextId(key),
    args: sleepAfter ? [name, options, args, sleepAfter] : [name, options, args],
  });
}

async function startCall(key: string, name: string, options: object, args: unknown[]): Promise<WorkflowHandle> {
  const h = harness();
  return await h.env.client.workflow.start('callActivity', { taskQueue: h.taskQueue, workflowId: h.nextId(key), args: [name, options, args] });
}

/** Polls describe until `check` accepts the first pending activity. */
async function waitForPending(
  handle: WorkflowHandle,
  check: (p: temporal.api.workflow.v1.IPendingActivityInfo) => boolean,
  timeoutMs = 10_000,
): Promise<temporal.api.workflow.v1.IPendingActivityInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    if (pending[0] && check(pending[0])) return pending[0];
    if (Date.now() > deadline) throw new Error(`pending activity never matched; last: ${JSON.stringify(pending)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function decode(payloads: temporal.api.common.v1.IPayloads | null | undefined): unknown {
  const p = payloads?.payloads?.[0];
  return p ? defaultPayloadConverter.fromPayload(p) : undefined;
}

describe('cancellation of activities', () => {
  test('WAIT_CANCELLATION_COMPLETED: the heartbeating activity sees CancelledFailure and the workflow waits for ActivityTaskCanceled', async () => {
    const key = 'cancel-wait';
    const handle = await startCancel(key, 'heartbeatUntilCancelled', {
      startToCloseTimeout: '1 minute',
      heartbeatTimeout: '1s',
      cancellationType: 'WAIT_CANCELLATION_COMPLETED',
    }, [key]);
    await waitForAttempts(key);
    await handle.signal(cancelSignal);
    const outcome = (await handle.result()) as CancelOutcome;
    assert.equal(outcome.error, 'ActivityFailure');
    assert.equal(outcome.cause, 'CancelledFailure');
    assert.equal(attemptsOf(key)[0].outcome, 'CancelledFailure');

    const events = await historyOf(handle);
    assert.deepEqual(withoutWft(events.map(typeName)), [
      'WORKFLOW_EXECUTION_STARTED',
      'ACTIVITY_TASK_SCHEDULED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'ACTIVITY_TASK_CANCEL_REQUESTED',
      'ACTIVITY_TASK_STARTED',
      'ACTIVITY_TASK_CANCELED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
    const requested = onlyEvent(events, 'ACTIVITY_TASK_CANCEL_REQUESTED');
    const canceled = onlyEvent(events, 'ACTIVITY_TASK_CANCELED').activityTaskCanceledEventAttributes!;
    assert.equal(toNum(canceled.latestCancelRequestedEventId), toNum(requested.eventId));
    assert.equal(toNum(canceled.startedEventId), toNum(onlyEvent(events, 'ACTIVITY_TASK_STARTED').eventId));
    assert.equal(toNum(canceled.scheduledEventId), toNum(onlyEvent(events, 'ACTIVITY_TASK_SCHEDULED').eventId));
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('TRY_CANCEL: the workflow gets CancelledFailure at once, the activity still reports its cancellation, and time does not jump until it has', async () => {
    const key = 'cancel-try';
    const handle = await startCancel(key, 'heartbeatUntilCancelled', {
      startToCloseTimeout: '1 minute',
      heartbeatTimeout: '1s',
      cancellationType: 'TRY_CANCEL',
    }, [key], '1 hour');
    await waitForAttempts(key);
    await handle.signal(cancelSignal);
    const outcome = (await handle.result()) as CancelOutcome;
    assert.equal(outcome.error, 'ActivityFailure');
    assert.equal(outcome.cause, 'CancelledFailure');
    // Caught in the same workflow task that requested the cancellation.
    assert.equal(outcome.caughtAtMs, outcome.cancelledAtMs);
    assert.equal(attemptsOf(key)[0].outcome, 'CancelledFailure');

    const events = await historyOf(handle);
    const types = withoutWft(events.map(typeName));
    assert.deepEqual(types, [
      'WORKFLOW_EXECUTION_STARTED',
      'ACTIVITY_TASK_SCHEDULED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'ACTIVITY_TASK_CANCEL_REQUESTED',
      'TIMER_STARTED',
      'ACTIVITY_TASK_STARTED',
      'ACTIVITY_TASK_CANCELED',
      'TIMER_FIRED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
    // The hour-long timer was started with the cancel request but fired only after the activity had reported.
    const timerStarted = tsMs(onlyEvent(events, 'TIMER_STARTED').eventTime);
    const canceledAt = tsMs(onlyEvent(events, 'ACTIVITY_TASK_CANCELED').eventTime);
    assert.ok(canceledAt - timerStarted < 10_000, `activity reported its cancellation ${canceledAt - timerStarted} ms after the request`);
    assert.ok(near(tsMs(onlyEvent(events, 'TIMER_FIRED').eventTime) - timerStarted, 3_600_000, 1000));
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('cancelling an activity nobody has picked up writes ActivityTaskCanceled without ActivityTaskStarted', async () => {
    const key = 'cancel-unstarted';
    const handle = await startCancel(key, 'slow', { taskQueue: `nobody-polls-${process.pid}`, startToCloseTimeout: '10s' }, [key, 0, 'never']);
    await waitForEvent(handle, 'ACTIVITY_TASK_SCHEDULED');
    const pending = await waitForPending(handle, () => true);
    assert.equal(pending.state, PendingState.PENDING_ACTIVITY_STATE_SCHEDULED);
    assert.equal(pending.attempt, 1);
    await handle.signal(cancelSignal);
    const outcome = (await handle.result()) as CancelOutcome;
    assert.equal(outcome.error, 'ActivityFailure');
    assert.equal(outcome.cause, 'CancelledFailure');
    assert.equal(attemptsOf(key).length, 0);
    const events = await historyOf(handle);
    assert.deepEqual(withoutWft(events.map(typeName)), [
      'WORKFLOW_EXECUTION_STARTED',
      'ACTIVITY_TASK_SCHEDULED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'ACTIVITY_TASK_CANCEL_REQUESTED',
      'ACTIVITY_TASK_CANCELED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
    assert.equal(toNum(onlyEvent(events, 'ACTIVITY_TASK_CANCELED').activityTaskCanceledEventAttributes?.startedEventId), 0);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('an activity that fails after its cancellation was requested is not retried: retryState CANCEL_REQUESTED', async () => {
    const key = 'cancel-then-fail';
    const handle = await startCancel(key, 'heartbeatUntilCancelled', {
      startToCloseTimeout: '1 minute',
      heartbeatTimeout: '1s',
      cancellationType: 'WAIT_CANCELLATION_COMPLETED',
      retry: { initialInterval: '1s' },
    }, [key, 'fail']);
    await waitForAttempts(key);
    await handle.signal(cancelSignal);
    const outcome = (await handle.result()) as CancelOutcome;
    assert.equal(outcome.error, 'ActivityFailure');
    assert.equal(outcome.cause, 'ApplicationFailure');
    assert.equal(outcome.retryState, 'CANCEL_REQUESTED');
    assert.equal(attemptsOf(key).length, 1);
    const types = withoutWft(await typesOf(handle));
    assert.deepEqual(types.slice(-3), ['ACTIVITY_TASK_STARTED', 'ACTIVITY_TASK_FAILED', 'WORKFLOW_EXECUTION_COMPLETED']);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });
});

describe('async activity completion', () => {
  test('an activity that throws CompleteAsyncError is completed by workflow and activity id', async () => {
    const h = harness();
    const key = 'async-by-id';
    const handle = await startCall(key, 'completeLater', { startToCloseTimeout: '1 minute', activityId: 'async-1' }, [key]);
    await waitForAttempts(key);
    assert.equal(attemptsOf(key)[0].outcome, 'async');
    await h.env.client.activity.complete({ workflowId: handle.workflowId, activityId: 'async-1' }, 'completed by id');
    assert.equal(await handle.result(), 'completed by id');
    const completed = onlyEvent(await historyOf(handle), 'ACTIVITY_TASK_COMPLETED').activityTaskCompletedEventAttributes!;
    assert.equal(decode(completed.result), 'completed by id');
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('an async activity is completed by its task token, and a second completion with the same token is ActivityNotFoundError', async () => {
    const h = harness();
    const key = 'async-by-token';
    const handle = await startCall(key, 'completeLater', { startToCloseTimeout: '1 minute' }, [key]);
    const [rec] = await waitForAttempts(key);
    await h.env.client.activity.complete(rec.taskToken, { via: 'token' });
    assert.deepEqual(await handle.result(), { via: 'token' });
    await assert.rejects(h.env.client.activity.complete(rec.taskToken, 'again'), ActivityNotFoundError);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('heartbeat by id is visible in describe, fail by id retries, and the retry sees the heartbeat details', async () => {
    const h = harness();
    const key = 'async-hb-fail';
    const handle = await startCall(key, 'completeLater', {
      startToCloseTimeout: '1 minute',
      activityId: 'async-2',
      retry: { initialInterval: '1s', maximumAttempts: 3 },
    }, [key]);
    await waitForAttempts(key);
    const id = { workflowId: handle.workflowId, activityId: 'async-2' };
    await h.env.client.activity.heartbeat(id, { p: 5 });
    const pending = await waitForPending(handle, (p) => !!p.heartbeatDetails);
    assert.deepEqual(decode(pending.heartbeatDetails), { p: 5 });
    assert.equal(pending.state, PendingState.PENDING_ACTIVITY_STATE_STARTED);
    await h.env.client.activity.fail(id, new Error('external failure'));
    assert.equal(await handle.result(), 'attempt 2 saw {"p":5}');
    const [first, second] = attemptsOf(key);
    // Attempt 2 was scheduled exactly the 1 s backoff after the server recorded the external failure (both the
    // server's clock readings; the backoff itself was skipped), and that failure came after attempt 1 was scheduled.
    assert.equal(second.currentAttemptScheduledTimestampMs - second.lastAttemptCompleteTimeMs!, 1000);
    assert.ok(second.lastAttemptCompleteTimeMs! >= first.currentAttemptScheduledTimestampMs);
    const started = onlyEvent(await historyOf(handle), 'ACTIVITY_TASK_STARTED').activityTaskStartedEventAttributes!;
    assert.equal(started.attempt, 2);
    assert.equal(started.lastFailure?.message, 'external failure');
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('fail by id on the last attempt fails the workflow with ActivityFailure caused by the given error', async () => {
    const h = harness();
    const key = 'async-fail-final';
    const handle = await startCall(key, 'completeLater', { startToCloseTimeout: '1 minute', activityId: 'async-3', retry: { maximumAttempts: 1 } }, [key]);
    await waitForAttempts(key);
    await h.env.client.activity.fail({ workflowId: handle.workflowId, activityId: 'async-3' }, ApplicationFailure.create({ message: 'rejected by operator', type: 'Rejected' }));
    const error = await handle.result().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof WorkflowFailedError);
    assert.ok(error.cause instanceof ActivityFailure);
    assert.equal(error.cause.retryState, 'MAXIMUM_ATTEMPTS_REACHED');
    assert.ok(error.cause.cause instanceof ApplicationFailure);
    assert.equal(error.cause.cause.type, 'Rejected');
    assert.equal(error.cause.cause.message, 'rejected by operator');
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });
});

describe('describe and other task queues', () => {
  test('describe shows a running activity with its attempt, state, last failure and heartbeat details', async () => {
    const key = 'describe';
    const handle = await startCall(key, 'heartbeatAndWait', {
      startToCloseTimeout: '1 minute',
      heartbeatTimeout: '30s',
      retry: { initialInterval: '1s', maximumAttempts: 5 },
    }, [key, { stage: 'loading', pct: 40 }]);
    const pending = await waitForPending(handle, (p) => p.attempt === 2 && !!p.heartbeatDetails);
    assert.equal(pending.activityId, '1');
    assert.equal(pending.activityType?.name, 'heartbeatAndWait');
    assert.equal(pending.state, PendingState.PENDING_ACTIVITY_STATE_STARTED);
    assert.deepEqual(decode(pending.heartbeatDetails), { stage: 'loading', pct: 40 });
    assert.equal(pending.lastFailure?.message, 'attempt 1 failed');
    assert.equal(pending.maximumAttempts, 5);
    const second = attemptsOf(key)[1];
    assert.ok(tsMs(pending.lastHeartbeatTime) >= second.currentAttemptScheduledTimestampMs);
    assert.ok(tsMs(pending.lastStartedTime) >= second.currentAttemptScheduledTimestampMs);
    assert.ok(pending.lastWorkerIdentity, 'lastWorkerIdentity is set');
    release(key);
    assert.equal(await handle.result(), 'released on attempt 2');
    assert.deepEqual((await handle.describe()).raw.pendingActivities ?? [], []);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('an activity on a second task queue is served by a second worker', async () => {
    const h = harness();
    const key = 'two-queues';
    const otherQueue = `${h.taskQueue}-other`;
    const second = await Worker.create({
      connection: h.env.nativeConnection,
      namespace: h.env.namespace ?? 'default',
      taskQueue: otherQueue,
      activities: { whereAmI: async () => `second worker on ${Context.current().info.taskQueue}` },
    });
    const handle = await second.runUntil(
      h.env.client.workflow.start('twoQueues', { taskQueue: h.taskQueue, workflowId: h.nextId(key), args: [key, otherQueue] }).then(async (wh) => {
        await wh.result();
        return wh;
      }),
    );
    assert.deepEqual(await handle.result(), [`main worker on ${h.taskQueue}`, `second worker on ${otherQueue}`]);
    const scheduled = (await historyOf(handle)).filter((e) => typeName(e) === 'ACTIVITY_TASK_SCHEDULED');
    assert.deepEqual(
      scheduled.map((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name),
      [h.taskQueue, otherQueue],
    );
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });
});

replaysEveryRun(harness, ACTIVITY_WORKFLOWS_PATH);
