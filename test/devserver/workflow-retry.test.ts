/**
 * The workflow retry policy through the real SDK against the devserver (time skipping): failed and timed-out runs
 * retried with attempt + 1 after the policy's backoff (observed in virtual time on each run's history), the chain's
 * links on every started event, result() following it from the first handle, non-retryable failures, maximum
 * attempts, the execution deadline, a child's retries invisible to its parent. (Cron schedules, which the retry policy
 * takes precedence over, are covered by workflow-cron.test.ts; Schedules by schedules.test.ts.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { assertReplays, useHarness } from './helpers';
import { failsUntil, failsWith, retryingChildParent, slowUntil } from './fixtures/retry-workflows';
import { replaysEveryRun } from './replay-all';

const WF = require.resolve('./fixtures/retry-workflows');
const h = useHarness({ worker: { workflowsPath: WF } });

const EventType = temporal.api.enums.v1.EventType;
const RetryState = temporal.api.enums.v1.RetryState;
const Initiator = temporal.api.enums.v1.ContinueAsNewInitiator;
type Event = temporal.api.history.v1.IHistoryEvent;

function ms(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
}

/** The runs of a chain, first to last, by following each close event's newExecutionRunId; each replays. */
async function chain(workflowId: string, firstRunId: string): Promise<Array<{ runId: string; events: Event[] }>> {
  const runs: Array<{ runId: string; events: Event[] }> = [];
  for (let runId: string | undefined = firstRunId; runId; ) {
    const handle: WorkflowHandle = h().env.client.workflow.getHandle(workflowId, runId);
    const events: Event[] = (await handle.fetchHistory()).events ?? [];
    await assertReplays(handle, WF);
    runs.push({ runId, events });
    const last: Event = events.at(-1)!;
    runId =
      last.workflowExecutionFailedEventAttributes?.newExecutionRunId ||
      last.workflowExecutionTimedOutEventAttributes?.newExecutionRunId ||
      undefined;
  }
  return runs;
}

describe('workflow retry policy', { timeout: 60_000 }, () => {
  test('a workflow failing twice completes on attempt 3 after 1 s and 2 s of backoff; result() follows the chain', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('flaky');
    const handle = await env.client.workflow.start(failsUntil, {
      taskQueue,
      workflowId,
      args: [3],
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 5 },
    });
    assert.deepEqual(await handle.result(), { attempt: 3, lastFailure: 'attempt 2 failed' });

    const runs = await chain(workflowId, handle.firstExecutionRunId);
    assert.equal(runs.length, 3);
    for (const [i, { runId, events }] of runs.entries()) {
      const started = events[0].workflowExecutionStartedEventAttributes!;
      assert.equal(started.attempt, i + 1);
      assert.equal(started.firstExecutionRunId, handle.firstExecutionRunId);
      assert.equal(started.originalExecutionRunId, runId);
      // The server fills the policy's defaults in, as the real one does (maximum interval 100 × initial).
      assert.equal(ms(started.retryPolicy?.maximumInterval), 100_000);
      const last = events.at(-1)!;
      if (i < 2) {
        assert.equal(last.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED);
        const failed = last.workflowExecutionFailedEventAttributes!;
        assert.equal(failed.retryState, RetryState.RETRY_STATE_IN_PROGRESS);
        assert.equal(failed.newExecutionRunId, runs[i + 1].runId);
      } else {
        assert.equal(last.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
      }
      if (i === 0) {
        assert.ok(!started.initiator && !started.continuedFailure && !started.continuedExecutionRunId);
        continue;
      }
      assert.equal(started.initiator, Initiator.CONTINUE_AS_NEW_INITIATOR_RETRY);
      assert.equal(started.continuedExecutionRunId, runs[i - 1].runId);
      assert.equal(started.continuedFailure?.message, `attempt ${i} failed`);
      // The backoff: initial × coefficient^(attempt - 2) before the retry's first workflow task, in virtual time.
      const backoff = 1000 * 2 ** (i - 1);
      assert.equal(ms(started.firstWorkflowTaskBackoff), backoff);
      const scheduled = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)!;
      // No task before the backoff has passed (the task is written when its timer fires, so at or after it).
      assert.ok(ms(scheduled.eventTime) - ms(events[0].eventTime) >= backoff);
    }
    // The workflow id's current run is the last one, completed.
    const desc = await env.client.workflow.getHandle(workflowId).describe();
    assert.equal(desc.runId, runs[2].runId);
    assert.equal(desc.status.name, 'COMPLETED');
  });

  test('a non-retryable failure, or a failure type the policy lists, is not retried', async () => {
    const { env, taskQueue, nextId } = h();
    for (const [args, nonRetryableErrorTypes] of [[[], []], [['Fatal'], ['Fatal']]] as const) {
      const handle = await env.client.workflow.start(failsWith, {
        taskQueue,
        workflowId: nextId('permanent'),
        args: [...args] as [string?],
        retry: { initialInterval: '1s', maximumAttempts: 5, nonRetryableErrorTypes: [...nonRetryableErrorTypes] },
      });
      const err = await handle.result().then(() => assert.fail('expected a failure'), (e: unknown) => e);
      assert.ok(err instanceof WorkflowFailedError);
      assert.equal(err.retryState, 'NON_RETRYABLE_FAILURE');
      const runs = await chain(handle.workflowId, handle.firstExecutionRunId);
      assert.equal(runs.length, 1);
      assert.equal(runs[0].events.at(-1)!.workflowExecutionFailedEventAttributes!.newExecutionRunId, '');
    }
  });

  test('retries stop at maximumAttempts with MAXIMUM_ATTEMPTS_REACHED', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start(failsUntil, {
      taskQueue,
      workflowId: nextId('max-attempts'),
      args: [10],
      retry: { initialInterval: '1s', maximumAttempts: 2 },
    });
    const err = await handle.result().then(() => assert.fail('expected a failure'), (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.equal(err.retryState, 'MAXIMUM_ATTEMPTS_REACHED');
    assert.equal((err.cause as Error).message, 'attempt 2 failed');
    assert.equal((await chain(handle.workflowId, handle.firstExecutionRunId)).length, 2);
  });

  test('a retry that would start after the execution deadline is not made: retryState TIMEOUT', async () => {
    const { env, taskQueue, nextId } = h();
    // Attempts at 0 s, 4 s and 8 s; the next would start at 12 s, past the 10 s execution timeout.
    const handle = await env.client.workflow.start(failsUntil, {
      taskQueue,
      workflowId: nextId('deadline'),
      args: [100],
      workflowExecutionTimeout: '10s',
      retry: { initialInterval: '4s', backoffCoefficient: 1 },
    });
    const err = await handle.result().then(() => assert.fail('expected a failure'), (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.equal(err.retryState, 'TIMEOUT');
    const runs = await chain(handle.workflowId, handle.firstExecutionRunId);
    assert.equal(runs.length, 3);
    assert.equal(runs[2].events.at(-1)!.workflowExecutionFailedEventAttributes!.retryState, RetryState.RETRY_STATE_TIMEOUT);
  });

  test('a run timeout is retried as a start-to-close timeout', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start(slowUntil, {
      taskQueue,
      workflowId: nextId('slow'),
      args: [2],
      workflowRunTimeout: '1 minute',
      retry: { initialInterval: '5s', maximumAttempts: 3 },
    });
    assert.equal(await handle.result(), 2);
    const runs = await chain(handle.workflowId, handle.firstExecutionRunId);
    assert.equal(runs.length, 2);
    const timedOut = runs[0].events.at(-1)!;
    assert.equal(timedOut.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT);
    assert.equal(timedOut.workflowExecutionTimedOutEventAttributes!.retryState, RetryState.RETRY_STATE_IN_PROGRESS);
    const started = runs[1].events[0].workflowExecutionStartedEventAttributes!;
    assert.equal(started.attempt, 2);
    assert.equal(started.continuedFailure?.timeoutFailureInfo?.timeoutType, temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);
    assert.equal(ms(started.firstWorkflowTaskBackoff), 5000);
  });

  test("a child's retries are its own: the parent sees one start and one completion", async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start(retryingChildParent, { taskQueue, workflowId: nextId('parent') });
    assert.deepEqual(await handle.result(), { attempt: 3, lastFailure: 'attempt 2 failed' });
    await assertReplays(handle, WF);
    const types = ((await handle.fetchHistory()).events ?? []).map((e) => e.eventType);
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED).length, 1);
    assert.equal(types.filter((t) => t === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED).length, 1);
    const childId = `${handle.workflowId}-child`;
    const childStarted = (await handle.fetchHistory()).events!.find((e) => e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)!;
    const runs = await chain(childId, childStarted.childWorkflowExecutionStartedEventAttributes!.workflowExecution!.runId!);
    assert.equal(runs.length, 3);
    // Each retry keeps the parent link, so the parent close policy and the completion reach the right parent.
    for (const r of runs) assert.equal(r.events[0].workflowExecutionStartedEventAttributes!.parentWorkflowExecution?.workflowId, handle.workflowId);
  });
});

replaysEveryRun(h, WF);
