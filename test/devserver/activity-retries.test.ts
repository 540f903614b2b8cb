// Activity conformance, part 1: retries and backoff, the four timeouts and timeout normalisation, driven through the
// real SDK worker and client against the devserver under time skipping. Virtual timestamps come from what each
// attempt saw (`currentAttemptScheduledTimestampMs`) and from event times in the fetched history.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/workflow';
import { temporal } from '@temporalio/proto';
import type { Duration } from '@temporalio/common';
import { assertReplays, useHarness } from './helpers';
import * as activities from './fixtures/activity-activities';
import { attemptsOf } from './fixtures/activity-activities';
import { ACTIVITY_WORKFLOWS_PATH, durMs, historyOf, near, onlyEvent, toNum, tsMs, typesOf, withoutWft } from './activity-history';
import { replaysEveryRun } from './replay-all';

const harness = useHarness({ activities, worker: { workflowsPath: ACTIVITY_WORKFLOWS_PATH } });

/** One round trip before the first test, so that the worker's first-task start-up cost does not skew timestamps. */
let warmedUp: Promise<unknown> | undefined;
function warmUp(): Promise<unknown> {
  const h = harness();
  warmedUp ??= h.env.client.workflow.execute('callActivity', {
    taskQueue: h.taskQueue,
    workflowId: 'warm-up',
    // A failing first attempt also pays for the first error stack (source maps) here rather than in a timed test.
    args: ['flaky', { startToCloseTimeout: '10s', retry: { initialInterval: '1ms' } }, ['warm-up', { failures: 1 }]],
  });
  return warmedUp;
}

/** Runs `callActivity` and returns its handle and, when it failed, the WorkflowFailedError. */
async function run(prefix: string, name: string, options: ActivityOptions, args: unknown[], extra: { workflowRunTimeout?: Duration } = {}) {
  const h = harness();
  await warmUp();
  const handle = await h.env.client.workflow.start('callActivity', {
    taskQueue: h.taskQueue,
    workflowId: h.nextId(prefix),
    args: [name, options, args],
    ...extra,
  });
  let result: unknown;
  let error: unknown;
  try {
    result = await handle.result();
  } catch (e) {
    error = e;
  }
  return { handle, result, error };
}

/**
 * Asserts the backoff before each retry exactly, from the server's own clock readings: each retry's scheduled time
 * (`currentAttemptScheduledTimestampMs`) minus when the server recorded the previous attempt's end
 * (`lastAttemptCompleteTime`, which the retry read from DescribeWorkflowExecution while it ran). The time an attempt
 * itself ran (at wall speed under time skipping) is between the two and not part of the backoff, so nothing here
 * depends on how fast the machine is. Each previous attempt must also have ended after it was scheduled.
 */
function assertBackoffs(key: string, expected: number[]): void {
  const list = attemptsOf(key);
  assert.equal(list.length, expected.length + 1, `attempts of ${key}: ${list.map((r) => r.attempt).join(', ')}`);
  const backoffs = list.slice(1).map((r) => r.currentAttemptScheduledTimestampMs - (r.lastAttemptCompleteTimeMs ?? NaN));
  assert.deepEqual(backoffs, expected, `backoffs before the retries of ${key}`);
  for (let i = 1; i < list.length; i++) {
    assert.ok(
      list[i].lastAttemptCompleteTimeMs! >= list[i - 1].currentAttemptScheduledTimestampMs,
      `attempt ${i} of ${key} ended at ${list[i].lastAttemptCompleteTimeMs}, before it was scheduled at ${list[i - 1].currentAttemptScheduledTimestampMs}`,
    );
  }
}

/**
 * Asserts a timeout's virtual duration is not short of `expected`. While an activity is outstanding virtual time runs
 * at wall speed, so how late the timeout's event is written depends on the machine's load and is not bounded here;
 * each test's outcome bounds it instead (the timeout won against an activity that would have finished soon after).
 */
function assertNotEarly(actual: number, expected: number, what: string): void {
  assert.ok(actual >= expected - 5, `${what}: ${actual} ms of virtual time, expected at least ${expected} ms`);
}

/** Unwraps WorkflowFailedError → ActivityFailure and returns both. */
function activityFailureOf(error: unknown): ActivityFailure {
  assert.ok(error instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(error)}`);
  assert.ok(error.cause instanceof ActivityFailure, `expected ActivityFailure cause, got ${String(error.cause)}`);
  return error.cause;
}

describe('activity retries and backoff', () => {
  test('an activity failing three times is retried after backoffs of 1, 2 and 4 s and succeeds on attempt 4', async () => {
    const key = 'backoff';
    const { handle, result } = await run(key, 'flaky', {
      startToCloseTimeout: '10s',
      retry: { initialInterval: '1s', backoffCoefficient: 2 },
    }, [key, { failures: 3 }]);
    assert.equal(result, 'succeeded on attempt 4');
    assert.deepEqual(attemptsOf(key).map((r) => r.attempt), [1, 2, 3, 4]);
    assertBackoffs(key, [1000, 2000, 4000]);
    // Every attempt reports the first scheduled time as `scheduledTimestampMs`.
    assert.equal(new Set(attemptsOf(key).map((r) => r.scheduledTimestampMs)).size, 1);

    const events = await historyOf(handle);
    const started = onlyEvent(events, 'ACTIVITY_TASK_STARTED').activityTaskStartedEventAttributes!;
    assert.equal(started.attempt, 4);
    assert.equal(started.lastFailure?.message, 'attempt 3 failed');
    assert.equal(started.lastFailure?.applicationFailureInfo?.type, 'FlakyError');
    const scheduled = onlyEvent(events, 'ACTIVITY_TASK_SCHEDULED');
    assert.equal(toNum(started.scheduledEventId), toNum(scheduled.eventId));
    // Attempt 1 was scheduled at the scheduled event; the one Started event is written lazily with the completion,
    // which comes after attempt 4 was scheduled (at least the 7 s of backoffs later).
    const completed = onlyEvent(events, 'ACTIVITY_TASK_COMPLETED');
    assert.equal(attemptsOf(key)[0].currentAttemptScheduledTimestampMs, tsMs(scheduled.eventTime));
    assert.ok(tsMs(completed.eventTime) >= attemptsOf(key)[3].currentAttemptScheduledTimestampMs);
    assert.ok(tsMs(completed.eventTime) - tsMs(scheduled.eventTime) >= 7000);
    assert.deepEqual(withoutWft(await typesOf(handle)), [
      'WORKFLOW_EXECUTION_STARTED',
      'ACTIVITY_TASK_SCHEDULED',
      'ACTIVITY_TASK_STARTED',
      'ACTIVITY_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('maximumInterval caps the backoff: backoffs of 1, 2, 2 and 2 s with a 2 s cap', async () => {
    const key = 'cap';
    const { handle, result } = await run(key, 'flaky', {
      startToCloseTimeout: '10s',
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '2s' },
    }, [key, { failures: 4 }]);
    assert.equal(result, 'succeeded on attempt 5');
    assertBackoffs(key, [1000, 2000, 2000, 2000]);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('maximumAttempts exhausted gives ActivityFailure MAXIMUM_ATTEMPTS_REACHED caused by the last ApplicationFailure', async () => {
    const key = 'max-attempts';
    const { handle, error } = await run(key, 'flaky', {
      startToCloseTimeout: '10s',
      retry: { initialInterval: '1s', maximumAttempts: 3 },
    }, [key, { failures: 99 }]);
    const failure = activityFailureOf(error);
    assert.equal(failure.retryState, 'MAXIMUM_ATTEMPTS_REACHED');
    assert.equal(failure.activityType, 'flaky');
    assert.ok(failure.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.message, 'attempt 3 failed');
    assert.equal(failure.cause.type, 'FlakyError');
    assert.deepEqual(failure.cause.details, [3]);
    assertBackoffs(key, [1000, 2000]);

    const events = await historyOf(handle);
    const started = onlyEvent(events, 'ACTIVITY_TASK_STARTED').activityTaskStartedEventAttributes!;
    assert.equal(started.attempt, 3);
    assert.equal(started.lastFailure?.message, 'attempt 2 failed');
    const failed = onlyEvent(events, 'ACTIVITY_TASK_FAILED').activityTaskFailedEventAttributes!;
    assert.equal(failed.failure?.message, 'attempt 3 failed');
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('an error type listed in nonRetryableErrorTypes stops after one attempt with NON_RETRYABLE_FAILURE', async () => {
    const key = 'non-retryable-type';
    const { handle, error } = await run(key, 'flaky', {
      startToCloseTimeout: '10s',
      retry: { initialInterval: '1s', nonRetryableErrorTypes: ['Fatal'] },
    }, [key, { failures: 99, type: 'Fatal' }]);
    const failure = activityFailureOf(error);
    assert.equal(failure.retryState, 'NON_RETRYABLE_FAILURE');
    assert.ok(failure.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.type, 'Fatal');
    assert.equal(attemptsOf(key).length, 1);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('an ApplicationFailure marked nonRetryable stops after one attempt with NON_RETRYABLE_FAILURE', async () => {
    const key = 'non-retryable-flag';
    const { handle, error } = await run(key, 'flaky', { startToCloseTimeout: '10s' }, [key, { failures: 99, nonRetryable: true }]);
    const failure = activityFailureOf(error);
    assert.equal(failure.retryState, 'NON_RETRYABLE_FAILURE');
    assert.ok(failure.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.nonRetryable, true);
    assert.equal(attemptsOf(key).length, 1);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('nextRetryDelay from the failure overrides the backoff: both retries come 5 s after the failure', async () => {
    const key = 'next-retry-delay';
    const { handle, result } = await run(key, 'flaky', {
      startToCloseTimeout: '10s',
      retry: { initialInterval: '1s', backoffCoefficient: 2 },
    }, [key, { failures: 2, nextRetryDelay: '5s' }]);
    assert.equal(result, 'succeeded on attempt 3');
    assertBackoffs(key, [5000, 5000]);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });
});

describe('activity heartbeat timeouts', () => {
  test('after a heartbeat timeout the retry sees the last heartbeat details and the workflow gets its result', async () => {
    const key = 'hb-retry';
    const { handle, result } = await run(key, 'heartbeatThenStall', {
      startToCloseTimeout: '30s',
      heartbeatTimeout: '1s',
      retry: { initialInterval: '1s' },
    }, [key, 1500]);
    assert.equal(result, 'attempt 2 resumed at progress 3');
    const [first, second] = attemptsOf(key);
    assert.equal(first.heartbeatDetails, undefined);
    assert.deepEqual(second.heartbeatDetails, { progress: 3 });
    assert.equal(second.attempt, 2);
    // Attempt 1 timed out no sooner than 1 s after its heartbeat (it heartbeat at once); the retry came exactly 1 s
    // of (skipped) backoff after the server recorded that timeout.
    assert.ok(second.lastAttemptCompleteTimeMs! - first.currentAttemptScheduledTimestampMs >= 1000, 'the heartbeat timeout came early');
    assertBackoffs(key, [1000]);
    const started = onlyEvent(await historyOf(handle), 'ACTIVITY_TASK_STARTED').activityTaskStartedEventAttributes!;
    assert.equal(started.attempt, 2);
    assert.equal(started.lastFailure?.timeoutFailureInfo?.timeoutType, temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('a heartbeat timeout on the last attempt surfaces as ActivityFailure caused by TimeoutFailure HEARTBEAT with the details', async () => {
    const key = 'hb-final';
    const { handle, error } = await run(key, 'heartbeatThenStall', {
      startToCloseTimeout: '30s',
      heartbeatTimeout: '1s',
      retry: { maximumAttempts: 1 },
    }, [key, 1500]);
    const failure = activityFailureOf(error);
    assert.equal(failure.retryState, 'MAXIMUM_ATTEMPTS_REACHED');
    assert.ok(failure.cause instanceof TimeoutFailure, `cause: ${String(failure.cause)}`);
    assert.equal(failure.cause.timeoutType, 'HEARTBEAT');
    assert.deepEqual(failure.cause.lastHeartbeatDetails, { progress: 3 });
    assert.equal(attemptsOf(key).length, 1);
    const events = await historyOf(handle);
    const scheduled = onlyEvent(events, 'ACTIVITY_TASK_SCHEDULED');
    const timedOut = onlyEvent(events, 'ACTIVITY_TASK_TIMED_OUT');
    // The attempt heartbeat at once and stalled for 1.5 s: the timeout came first (else it would have returned).
    assertNotEarly(tsMs(timedOut.eventTime) - tsMs(scheduled.eventTime), 1000, 'scheduled to heartbeat timeout');
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });
});

describe('start-to-close timeouts in virtual time', () => {
  test('an activity running past its 1 s start-to-close timeout fails with TimeoutFailure START_TO_CLOSE', async () => {
    const key = 'st2c';
    const { handle, error } = await run(key, 'slow', { startToCloseTimeout: '1s', retry: { maximumAttempts: 1 } }, [key, 2000, 'late']);
    const failure = activityFailureOf(error);
    assert.equal(failure.retryState, 'MAXIMUM_ATTEMPTS_REACHED');
    assert.ok(failure.cause instanceof TimeoutFailure);
    assert.equal(failure.cause.timeoutType, 'START_TO_CLOSE');
    const events = await historyOf(handle);
    const timedOut = onlyEvent(events, 'ACTIVITY_TASK_TIMED_OUT');
    // The attempt ran for 2 s: the 1 s timeout came first (else the workflow would have its result).
    assertNotEarly(tsMs(timedOut.eventTime) - tsMs(onlyEvent(events, 'ACTIVITY_TASK_SCHEDULED').eventTime), 1000, 'scheduled to start-to-close timeout');
    assert.equal(timedOut.activityTaskTimedOutEventAttributes?.retryState, temporal.api.enums.v1.RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('a one-hour workflow timer does not fire while an activity is outstanding: time does not jump', async () => {
    const h = harness();
    const key = 'race';
    const t0 = await h.env.currentTimeMs();
    const handle = await h.env.client.workflow.start('raceTimer', {
      taskQueue: h.taskQueue,
      workflowId: h.nextId(key),
      args: ['slow', { startToCloseTimeout: '10s' }, [key, 1200, 'activity first'], '1 hour'],
    });
    const outcome = await handle.result();
    assert.equal(outcome.winner, 'activity');
    assert.equal(outcome.result, 'activity first');
    // Workflow time moved on by the activity's run, and never as far as the hour (the timer was cancelled unfired).
    assert.ok(outcome.elapsedMs >= 1000 && outcome.elapsedMs < 3_600_000, `workflow time passed: ${outcome.elapsedMs} ms`);
    assert.ok((await h.env.currentTimeMs()) - t0 < 3_600_000);
    const types = withoutWft(await typesOf(handle));
    assert.ok(!types.includes('TIMER_FIRED'), types.join(', '));
    assert.ok(types.includes('TIMER_CANCELED'), types.join(', '));
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });
});

describe('schedule-to-close and schedule-to-start', () => {
  test('schedule-to-close elapsing during a retry is final: TimeoutFailure SCHEDULE_TO_CLOSE, retryState TIMEOUT, the last failure as cause', async () => {
    const key = 's2c-running';
    const { handle, error } = await run(key, 'flaky', {
      scheduleToCloseTimeout: '2s',
      retry: { initialInterval: '1s' },
    }, [key, { failures: 99, slowAttempt: 2, slowMs: 2000 }]);
    const failure = activityFailureOf(error);
    assert.equal(failure.retryState, 'TIMEOUT');
    assert.ok(failure.cause instanceof TimeoutFailure, `cause: ${String(failure.cause)}`);
    assert.equal(failure.cause.timeoutType, 'SCHEDULE_TO_CLOSE');
    // The TS SDK does not decode a TimeoutFailure's cause into an Error; the failure proto it came from carries it.
    assert.equal(failure.cause.failure?.cause?.message, 'attempt 1 failed');
    assert.equal(failure.cause.failure?.cause?.applicationFailureInfo?.type, 'FlakyError');
    assertBackoffs(key, [1000]);
    const events = await historyOf(handle);
    const timedOut = onlyEvent(events, 'ACTIVITY_TASK_TIMED_OUT');
    const elapsed = tsMs(timedOut.eventTime) - tsMs(onlyEvent(events, 'ACTIVITY_TASK_SCHEDULED').eventTime);
    // Attempt 2 (scheduled 1 s after attempt 1 failed) runs for 2 s: the deadline came while it ran.
    assertNotEarly(elapsed, 2000, 'scheduled to schedule-to-close timeout');
    assert.equal(onlyEvent(events, 'ACTIVITY_TASK_STARTED').activityTaskStartedEventAttributes?.attempt, 2);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('retries stop when the next attempt would start after schedule-to-close: ActivityFailure TIMEOUT with the ApplicationFailure', async () => {
    const key = 's2c-no-room';
    const { handle, error } = await run(key, 'flaky', {
      scheduleToCloseTimeout: '5s',
      retry: { initialInterval: '1s', backoffCoefficient: 2 },
    }, [key, { failures: 99 }]);
    const failure = activityFailureOf(error);
    assert.equal(failure.retryState, 'TIMEOUT');
    assert.ok(failure.cause instanceof ApplicationFailure);
    assert.equal(failure.cause.message, 'attempt 3 failed');
    // 0, 1 and 3 s fit; the next attempt would be due at 7 s, after the 5 s deadline.
    assertBackoffs(key, [1000, 2000]);
    assert.equal(withoutWft(await typesOf(handle)).at(-2), 'ACTIVITY_TASK_FAILED');
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('a start-to-close timeout with no time left for a retry is reported as SCHEDULE_TO_CLOSE', async () => {
    const key = 's2c-after-st2c';
    const { handle, error } = await run(key, 'slow', {
      startToCloseTimeout: '1s',
      scheduleToCloseTimeout: '2500ms',
      retry: { initialInterval: '2s' },
    }, [key, 1500, 'late']);
    const failure = activityFailureOf(error);
    assert.equal(failure.retryState, 'TIMEOUT');
    assert.ok(failure.cause instanceof TimeoutFailure);
    assert.equal(failure.cause.timeoutType, 'SCHEDULE_TO_CLOSE');
    assert.equal(attemptsOf(key).length, 1);
    const events = await historyOf(handle);
    const timedOut = onlyEvent(events, 'ACTIVITY_TASK_TIMED_OUT');
    // Decided when the start-to-close timer fired at 1 s, not at the 2.5 s deadline: the bound that tells the two apart.
    const decidedAt = tsMs(timedOut.eventTime) - tsMs(onlyEvent(events, 'ACTIVITY_TASK_SCHEDULED').eventTime);
    assertNotEarly(decidedAt, 1000, 'scheduled to timeout');
    assert.ok(decidedAt < 2500, `decided ${decidedAt} ms after scheduling, not before the 2.5 s deadline`);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('an activity on a task queue nobody polls times out with TimeoutFailure SCHEDULE_TO_START and no Started event', async () => {
    const key = 's2s';
    const { handle, error } = await run(key, 'slow', {
      taskQueue: `nobody-polls-${process.pid}`,
      scheduleToStartTimeout: '1s',
      startToCloseTimeout: '10s',
    }, [key, 0, 'never']);
    const failure = activityFailureOf(error);
    assert.ok(failure.cause instanceof TimeoutFailure);
    assert.equal(failure.cause.timeoutType, 'SCHEDULE_TO_START');
    assert.equal(failure.retryState, 'TIMEOUT');
    assert.equal(attemptsOf(key).length, 0);
    const events = await historyOf(handle);
    const timedOut = onlyEvent(events, 'ACTIVITY_TASK_TIMED_OUT');
    assert.equal(toNum(timedOut.activityTaskTimedOutEventAttributes?.startedEventId), 0);
    assert.ok(!withoutWft(await typesOf(handle)).includes('ACTIVITY_TASK_STARTED'));
    assertNotEarly(tsMs(timedOut.eventTime) - tsMs(onlyEvent(events, 'ACTIVITY_TASK_SCHEDULED').eventTime), 1000, 'scheduled to schedule-to-start timeout');
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('only scheduleToCloseTimeout and nobody polling: both deadlines fall at once and the real server reports SCHEDULE_TO_START', async () => {
    // Schedule-to-start defaults to schedule-to-close, so both timers are due together; same-time timers fire by event
    // id, then timeout type (SCHEDULE_TO_START 2 before SCHEDULE_TO_CLOSE 3), as in temporalio/features
    // eager_activity/non_remote_activities_worker.
    const key = 's2s-from-s2c';
    const { handle, error } = await run(key, 'slow', { taskQueue: `nobody-polls-s2c-${process.pid}`, scheduleToCloseTimeout: '3s' }, [key, 0, 'never']);
    const failure = activityFailureOf(error);
    assert.ok(failure.cause instanceof TimeoutFailure);
    assert.equal(failure.cause.timeoutType, 'SCHEDULE_TO_START');
    assert.equal(failure.retryState, 'TIMEOUT');
    assert.equal(attemptsOf(key).length, 0);
    const events = await historyOf(handle);
    const scheduled = onlyEvent(events, 'ACTIVITY_TASK_SCHEDULED').activityTaskScheduledEventAttributes!;
    assert.equal(durMs(scheduled.scheduleToStartTimeout), 3000);
    assert.equal(durMs(scheduled.scheduleToCloseTimeout), 3000);
    const timedOut = onlyEvent(events, 'ACTIVITY_TASK_TIMED_OUT').activityTaskTimedOutEventAttributes!;
    assert.equal(timedOut.failure?.timeoutFailureInfo?.timeoutType, temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });
});

describe('activity timeout normalisation', () => {
  test('with only scheduleToCloseTimeout, start-to-close and schedule-to-start default to it', async () => {
    const key = 'norm-s2c';
    const { handle, result } = await run(key, 'reportTimeouts', { scheduleToCloseTimeout: '5 minutes' }, [key]);
    assert.deepEqual(result, { startToCloseMs: 300_000, scheduleToCloseMs: 300_000, heartbeatMs: 0 });
    const attrs = onlyEvent(await historyOf(handle), 'ACTIVITY_TASK_SCHEDULED').activityTaskScheduledEventAttributes!;
    assert.equal(durMs(attrs.scheduleToCloseTimeout), 300_000);
    assert.equal(durMs(attrs.scheduleToStartTimeout), 300_000);
    assert.equal(durMs(attrs.startToCloseTimeout), 300_000);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });

  test('with only startToCloseTimeout, schedule-to-close is the run timeout and the heartbeat timeout is clamped to start-to-close', async () => {
    const key = 'norm-run';
    const { handle, result } = await run(key, 'reportTimeouts', { startToCloseTimeout: '10s', heartbeatTimeout: '30s' }, [key], {
      workflowRunTimeout: '1 hour',
    });
    assert.deepEqual(result, { startToCloseMs: 10_000, scheduleToCloseMs: 3_600_000, heartbeatMs: 10_000 });
    const attrs = onlyEvent(await historyOf(handle), 'ACTIVITY_TASK_SCHEDULED').activityTaskScheduledEventAttributes!;
    assert.equal(durMs(attrs.scheduleToCloseTimeout), 3_600_000);
    assert.equal(durMs(attrs.scheduleToStartTimeout), 3_600_000);
    assert.equal(durMs(attrs.startToCloseTimeout), 10_000);
    assert.equal(durMs(attrs.heartbeatTimeout), 10_000);
    // The default retry policy is filled in: 1 s initial, coefficient 2, 100 s maximum, unlimited attempts.
    assert.equal(durMs(attrs.retryPolicy?.initialInterval), 1000);
    assert.equal(attrs.retryPolicy?.backoffCoefficient, 2);
    assert.equal(durMs(attrs.retryPolicy?.maximumInterval), 100_000);
    assert.equal(attrs.retryPolicy?.maximumAttempts ?? 0, 0);
    await assertReplays(handle, ACTIVITY_WORKFLOWS_PATH);
  });
});

replaysEveryRun(harness, ACTIVITY_WORKFLOWS_PATH);
