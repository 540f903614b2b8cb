// Workflow-level conformance: duplicate ids (reuse and conflict policies, start request id), terminate and cancel,
// workflow execution and run timeouts in virtual time, and workflow task failure and recovery, through the real SDK
// worker and client under time skipping. Every test ends with a replay of the history.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApplicationFailure,
  CancelledFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { TimeoutType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { testCallLayer, useHarness } from './helpers';
import * as activities from './fixtures/core-activities';
import {
  CORE_WORKFLOWS,
  startWithTaskInFlight,
  eventMs,
  events,
  replay,
  taskInFlight,
  typeName,
  types,
  untilEvent,
  wait,
} from './workflow-helpers';
import { replaysEveryRun } from './replay-all';

const h = useHarness({ worker: { workflowsPath: CORE_WORKFLOWS }, activities });

testCallLayer(h);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const Status = temporal.api.enums.v1.WorkflowExecutionStatus;
const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;

/**
 * Asserts a virtual duration between two events: never early, and late by no more than the few milliseconds of wall
 * time that pass between a timer firing and its event being written.
 */
function assertVirtual(actualMs: number, expectedMs: number, what: string): void {
  assert.ok(actualMs >= expectedMs && actualMs - expectedMs < 50, `${what}: expected ${expectedMs} ms, got ${actualMs} ms`);
}

/** Asserts that `p` rejects with WorkflowFailedError whose cause is an instance of `cause`; returns the error. */
async function failsWith<C>(p: Promise<unknown>, cause: abstract new (...a: never[]) => C): Promise<WorkflowFailedError & { cause: C }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.ok(e.cause instanceof cause, `expected cause ${cause.name}, got ${(e.cause as Error)?.constructor?.name}`);
    return e as WorkflowFailedError & { cause: C };
  }
  assert.fail('expected the workflow to fail');
}

describe('duplicate workflow ids', () => {
  test('starting an id that is running fails with WorkflowExecutionAlreadyStartedError', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('dup-running');
    const first = await env.client.workflow.start('sleeper', { taskQueue, workflowId, args: [DAY] });
    await assert.rejects(env.client.workflow.start('sleeper', { taskQueue, workflowId, args: [HOUR] }), (e: unknown) => {
      assert.ok(e instanceof WorkflowExecutionAlreadyStartedError);
      assert.equal(e.workflowId, workflowId);
      assert.equal(e.workflowType, 'sleeper');
      return true;
    });
    // The duplicate did not disturb the running workflow.
    const d = await first.describe();
    assert.equal(d.status.name, 'RUNNING');
    assert.equal(d.runId, first.firstExecutionRunId);
    const wokeAt = await first.result();
    const evs = await events(first);
    const timerStarted = evs.find((e) => typeName(e) === 'TIMER_STARTED')!;
    const timerFired = evs.find((e) => typeName(e) === 'TIMER_FIRED')!;
    assertVirtual(eventMs(timerFired) - eventMs(timerStarted), DAY, 'the timer fired one virtual day later');
    assert.ok(wokeAt >= eventMs(timerFired), 'the workflow woke at or after the timer fired');
    await replay(first);
  });

  test('REJECT_DUPLICATE refuses a closed id, while the default policy starts a new run under it', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('dup-reject');
    const first = await env.client.workflow.start('sleeper', { taskQueue, workflowId, args: [1_000] });
    await first.result();
    await assert.rejects(
      env.client.workflow.start('sleeper', { taskQueue, workflowId, args: [1_000], workflowIdReusePolicy: 'REJECT_DUPLICATE' }),
      WorkflowExecutionAlreadyStartedError,
    );
    const second = await env.client.workflow.start('sleeper', { taskQueue, workflowId, args: [2_000] });
    assert.notEqual(second.firstExecutionRunId, first.firstExecutionRunId);
    await second.result();
    const d = await env.client.workflow.getHandle(workflowId).describe();
    assert.equal(d.runId, second.firstExecutionRunId, 'the id now names the newest run');
    await replay(env.client.workflow.getHandle(workflowId, first.firstExecutionRunId));
    await replay(second);
  });

  test('ALLOW_DUPLICATE_FAILED_ONLY refuses an id whose last run succeeded and accepts one whose last run failed', async () => {
    const { env, taskQueue, nextId } = h();
    const okId = nextId('dup-failed-only-ok');
    const ok = await env.client.workflow.start('sleeper', { taskQueue, workflowId: okId, args: [1_000] });
    await ok.result();
    await assert.rejects(
      env.client.workflow.start('sleeper', { taskQueue, workflowId: okId, args: [1_000], workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' }),
      WorkflowExecutionAlreadyStartedError,
    );
    await replay(ok);

    const badId = nextId('dup-failed-only-bad');
    const bad = await env.client.workflow.start('failsWorkflow', { taskQueue, workflowId: badId, args: ['first run fails'] });
    const err = await failsWith(bad.result(), ApplicationFailure);
    assert.equal(err.cause.type, 'Deliberate');
    assert.equal(err.cause.message, 'first run fails');
    assert.equal(err.retryState, 'RETRY_POLICY_NOT_SET');
    const again = await env.client.workflow.start('sleeper', {
      taskQueue,
      workflowId: badId,
      args: [1_000],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
    assert.notEqual(again.firstExecutionRunId, bad.firstExecutionRunId);
    assert.equal(typeof (await again.result()), 'number');
    await replay(bad);
    await replay(again);
  });

  test('conflict policy USE_EXISTING returns the running run; TERMINATE_EXISTING terminates it and starts anew', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('dup-conflict');
    const first = await env.client.workflow.start('collectSignals', { taskQueue, workflowId, args: [0] });
    assert.equal(await first.query('state'), 'waiting');
    const same = await env.client.workflow.start('collectSignals', { taskQueue, workflowId, args: [0], workflowIdConflictPolicy: 'USE_EXISTING' });
    assert.equal(same.firstExecutionRunId, first.firstExecutionRunId);
    assert.equal((await types(first)).filter((t) => t === 'WORKFLOW_EXECUTION_STARTED').length, 1);

    const fresh = await env.client.workflow.start('collectSignals', {
      taskQueue,
      workflowId,
      args: [0],
      workflowIdConflictPolicy: 'TERMINATE_EXISTING',
    });
    assert.notEqual(fresh.firstExecutionRunId, first.firstExecutionRunId);
    const old = env.client.workflow.getHandle(workflowId, first.firstExecutionRunId);
    await failsWith(old.result(), TerminatedFailure);
    assert.equal((await old.describe()).status.name, 'TERMINATED');
    assert.equal((await types(old)).at(-1), 'WORKFLOW_EXECUTION_TERMINATED');
    await fresh.signal('add', 'new run');
    await fresh.signal('done');
    assert.deepEqual(await fresh.result(), ['new run']);
    await replay(old);
    await replay(fresh);
  });

  test('a start repeated with the same requestId returns the same run instead of failing', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('dup-request-id');
    const request = (requestId: string) =>
      env.client.workflowService.startWorkflowExecution({
        namespace: 'default',
        workflowId,
        workflowType: { name: 'collectSignals' },
        taskQueue: { name: taskQueue },
        requestId,
        identity: 'request-id-test',
      });
    const a = await request('start-req-1');
    const b = await request('start-req-1');
    assert.ok(a.runId);
    assert.equal(b.runId, a.runId);
    await assert.rejects(request('start-req-2'), (e: { code?: number }) => e.code === 6 /* ALREADY_EXISTS */);
    const handle = env.client.workflow.getHandle(workflowId, a.runId!);
    await handle.signal('done');
    assert.deepEqual(await handle.result(), []);
    assert.equal((await types(handle)).filter((t) => t === 'WORKFLOW_EXECUTION_STARTED').length, 1);
    await replay(handle);
  });
});

describe('terminate and cancel', () => {
  test('terminating a running workflow fails its result with TerminatedFailure and ends history with Terminated', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('sleeper', { taskQueue, workflowId: nextId('terminate'), args: [DAY] });
    await untilEvent(handle, 'TIMER_STARTED');
    await handle.terminate('stopped by the test');
    const err = await failsWith(handle.result(), TerminatedFailure);
    assert.equal(err.cause.message, 'stopped by the test');
    const evs = await events(handle);
    assert.deepEqual(evs.map(typeName), [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'TIMER_STARTED',
      'WORKFLOW_EXECUTION_TERMINATED',
    ]);
    assert.equal(evs[5].workflowExecutionTerminatedEventAttributes!.reason, 'stopped by the test');
    const d = await handle.describe();
    assert.equal(d.status.name, 'TERMINATED');
    assert.ok(d.closeTime);
    await replay(handle);
  });

  test('terminating during an in-flight workflow task fails that task, rejects its late completion, and replays', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await startWithTaskInFlight(env, taskQueue, nextId('terminate-in-flight'));
    await handle.terminate('terminated mid-task');
    await failsWith(handle.result(), TerminatedFailure);
    const expected = [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_FAILED',
      'WORKFLOW_EXECUTION_TERMINATED',
    ];
    const evs = await events(handle);
    assert.deepEqual(evs.map(typeName), expected);
    assert.equal(evs[3].workflowTaskFailedEventAttributes!.cause, Cause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND);
    // The worker finishes its loop after the termination; its completion must not reach history.
    await wait(1_500);
    assert.deepEqual(await types(handle), expected);
    await replay(handle);
  });

  test('cancelling a workflow that handles cancellation runs its cleanup and ends Canceled with CancelledFailure', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('cancellable', { taskQueue, workflowId: nextId('cancel'), args: [] });
    await untilEvent(handle, 'TIMER_STARTED');
    await handle.cancel();
    const err = await failsWith(handle.result(), CancelledFailure);
    assert.equal(err.retryState, 'NON_RETRYABLE_FAILURE');
    const evs = await events(handle);
    const names = evs.map(typeName);
    const requested = names.indexOf('WORKFLOW_EXECUTION_CANCEL_REQUESTED');
    assert.ok(requested > 0);
    assert.deepEqual(names.slice(requested), [
      'WORKFLOW_EXECUTION_CANCEL_REQUESTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'TIMER_CANCELED',
      'TIMER_STARTED',
      'TIMER_FIRED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_CANCELED',
    ]);
    // The cleanup timer ran one virtual minute between the request and the close.
    assert.equal(eventMs(evs.at(-1)!) - eventMs(evs[requested]) >= 60_000, true);
    assert.ok(eventMs(evs.at(-1)!) - eventMs(evs[requested]) < 70_000);
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    await replay(handle);
  });

  test('a workflow that ignores a cancellation request completes normally, with the request in its history', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('ignoresCancel', { taskQueue, workflowId: nextId('cancel-ignored'), args: [] });
    await untilEvent(handle, 'TIMER_STARTED');
    await handle.cancel();
    assert.equal(await handle.result(), 'finished despite cancel');
    const evs = await events(handle);
    const names = evs.map(typeName);
    assert.ok(names.includes('WORKFLOW_EXECUTION_CANCEL_REQUESTED'));
    assert.ok(!names.includes('TIMER_CANCELED'));
    assert.equal(names.at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    assert.ok(eventMs(evs.at(-1)!) - eventMs(evs[0]) >= HOUR, 'completed after its one-hour timer');
    await replay(handle);
  });

  test('terminate and cancel on a closed workflow fail with WorkflowNotFoundError', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('sleeper', { taskQueue, workflowId: nextId('closed-ops'), args: [1_000] });
    await handle.result();
    await assert.rejects(handle.terminate('too late'), WorkflowNotFoundError);
    await assert.rejects(handle.cancel(), WorkflowNotFoundError);
    await assert.rejects(env.client.workflow.getHandle(nextId('no-such-workflow')).terminate(), WorkflowNotFoundError);
    assert.equal((await types(handle)).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    await replay(handle);
  });
});

describe('workflow timeouts', () => {
  test('a one-hour run timeout ends a day-long sleep at exactly one virtual hour', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('sleeper', {
      taskQueue,
      workflowId: nextId('run-timeout'),
      args: [DAY],
      workflowRunTimeout: '1 hour',
    });
    const err = await failsWith(handle.result(), TimeoutFailure);
    assert.equal(err.cause.timeoutType, TimeoutType.START_TO_CLOSE);
    // No retry policy: the real server reports RETRY_POLICY_NOT_SET for a run timeout before expiration.
    assert.equal(err.retryState, 'RETRY_POLICY_NOT_SET');
    const evs = await events(handle);
    assert.equal(typeName(evs.at(-1)!), 'WORKFLOW_EXECUTION_TIMED_OUT');
    assertVirtual(eventMs(evs.at(-1)!) - eventMs(evs[0]), HOUR, 'timed out one virtual hour after the start');
    assert.equal((await handle.describe()).status.name, 'TIMED_OUT');
    await replay(handle);
  });

  test('an execution timeout closes the workflow TimedOut at its deadline, with the run timeout defaulted to it', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('sleeper', {
      taskQueue,
      workflowId: nextId('execution-timeout'),
      args: [DAY],
      workflowExecutionTimeout: '2 hours',
    });
    const err = await failsWith(handle.result(), TimeoutFailure);
    assert.equal(err.retryState, 'TIMEOUT');
    const evs = await events(handle);
    const started = evs[0].workflowExecutionStartedEventAttributes!;
    assert.equal(Number(started.workflowExecutionTimeout!.seconds), 7_200);
    assert.equal(Number(started.workflowRunTimeout!.seconds), 7_200);
    assert.equal(typeName(evs.at(-1)!), 'WORKFLOW_EXECUTION_TIMED_OUT');
    assert.equal(evs.at(-1)!.workflowExecutionTimedOutEventAttributes!.retryState, temporal.api.enums.v1.RetryState.RETRY_STATE_TIMEOUT);
    assertVirtual(eventMs(evs.at(-1)!) - eventMs(evs[0]), 2 * HOUR, 'timed out at the two-hour deadline');
    const d = await handle.describe();
    assert.equal(d.status.code, Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT);
    await replay(handle);
  });
});

describe('workflow task failures', () => {
  test('a plain Error fails the workflow task (written once), retries do not grow history, and a signal recovers it', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('failsUntilUnblocked', {
      taskQueue,
      workflowId: nextId('wft-fail'),
      args: [],
      workflowTaskTimeout: '2s',
    });
    // The second attempt is in flight: it failed in the worker too, which reports failures only for attempt 1.
    const task = await taskInFlight(env, handle, (t) => (t.attempt ?? 0) >= 2);
    assert.ok(task.attempt! >= 2);
    const failedOnce = await types(handle);
    assert.deepEqual(failedOnce, ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED', 'WORKFLOW_TASK_FAILED']);
    await handle.signal('unblock');
    const result = await handle.result();
    const evs = await events(handle);
    assert.deepEqual(evs.map(typeName), [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_FAILED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
    assert.equal(result, 'recovered at history length 7');
    const failed = evs[3].workflowTaskFailedEventAttributes!;
    assert.equal(failed.cause, Cause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE);
    assert.match(failed.failure?.message ?? '', /blocked: this workflow task fails until the unblock signal arrives/);
    assert.equal(evs[5].workflowTaskScheduledEventAttributes!.attempt, 1, 'new events restart the attempt count');
    await replay(handle);
  });
});

describe('time skipping with concurrent result calls', () => {
  test('concurrent result() calls on the time-skipping client all resolve, and time is locked again afterwards', async () => {
    const { env, taskQueue, nextId } = h();
    const handles = await Promise.all(
      [HOUR, 2 * HOUR, DAY].map((ms) => env.client.workflow.start('sleeper', { taskQueue, workflowId: nextId('concurrent-result'), args: [ms] })),
    );
    const t0 = await env.currentTimeMs();
    // Each result() unlocks time skipping and locks it again when done; three at once must not trip over each other.
    // Real elapsed time is not asserted (speed lives in bench/); without skipping, the day-long timer would hang the
    // test. What is asserted is the workflows' own clock: each timer fired its duration after it started.
    const woke = await Promise.all(handles.map((x) => x.result()));
    for (const [i, x] of handles.entries()) {
      const evs = await events(x);
      const started = evs.find((e) => typeName(e) === 'TIMER_STARTED')!;
      const fired = evs.find((e) => typeName(e) === 'TIMER_FIRED')!;
      assertVirtual(eventMs(fired) - eventMs(started), [HOUR, 2 * HOUR, DAY][i], `timer of workflow ${i}`);
      assert.ok(woke[i] >= eventMs(fired));
    }
    assert.ok((await env.currentTimeMs()) - t0 >= DAY, 'the server clock moved on by at least the virtual day');
    // Balanced again: with nobody waiting on a result, a new day-long timer does not fire by itself.
    const idle = await env.client.workflow.start('sleeper', { taskQueue, workflowId: nextId('locked-again'), args: [DAY] });
    await untilEvent(idle, 'TIMER_STARTED');
    await wait(300);
    assert.ok(!(await types(idle)).includes('TIMER_FIRED'), 'time skipping is locked again');
    await idle.result();
    for (const x of handles) await replay(x);
    await replay(idle);
  });
});

replaysEveryRun(h, CORE_WORKFLOWS);
