/**
 * Cron workflows (`cronSchedule` on start) through the real SDK against the devserver with time skipping: the first
 * run waits for the first matching time (`firstWorkflowTaskBackoff`), each completion or failure starts the next run
 * at the next match (initiator CRON_SCHEDULE, the result as lastCompletionResult, a failure as continuedFailure with
 * the last result kept), until the execution timeout; termination and cancellation end the chain; invalid schedules
 * are rejected at start. Every run replays.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure, TerminatedFailure, TimeoutFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { assertReplays, useHarness } from './helpers';
import { cronCounter, longTask } from './fixtures/schedule-workflows';
import { replaysEveryRun } from './replay-all';

const WF = require.resolve('./fixtures/schedule-workflows');
const h = useHarness({ worker: { workflowsPath: WF } });

const EventType = temporal.api.enums.v1.EventType;
const RetryState = temporal.api.enums.v1.RetryState;
const Initiator = temporal.api.enums.v1.ContinueAsNewInitiator;
type Event = temporal.api.history.v1.IHistoryEvent;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function ms(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
}

function json(p: temporal.api.common.v1.IPayloads | null | undefined): unknown {
  const data = p?.payloads?.[0]?.data;
  return data ? JSON.parse(Buffer.from(data).toString('utf8')) : undefined;
}

/** The runs of a chain, first to last, following each close event's newExecutionRunId; each replays. */
async function chain(workflowId: string, firstRunId: string): Promise<Event[][]> {
  const runs: Event[][] = [];
  for (let runId: string | undefined = firstRunId; runId; ) {
    const handle: WorkflowHandle = h().env.client.workflow.getHandle(workflowId, runId);
    const events: Event[] = (await handle.fetchHistory()).events ?? [];
    await assertReplays(handle, WF);
    runs.push(events);
    const last: Event = events.at(-1)!;
    runId =
      last.workflowExecutionCompletedEventAttributes?.newExecutionRunId ||
      last.workflowExecutionFailedEventAttributes?.newExecutionRunId ||
      last.workflowExecutionTimedOutEventAttributes?.newExecutionRunId ||
      undefined;
  }
  return runs;
}

/** Moves virtual time to `minutes` past the next whole hour; returns that hour. */
async function toNextHourPlus(minutes: number): Promise<number> {
  const now = await h().env.currentTimeMs();
  const hour = Math.floor(now / HOUR) * HOUR + HOUR;
  await h().env.sleep(hour + minutes * MINUTE - now);
  return hour;
}

describe('cron workflows', { timeout: 120_000 }, () => {
  test('an hourly cron runs at each hour, carrying results and a failure, until the execution timeout', async () => {
    const { env, taskQueue, nextId } = h();
    const hour = await toNextHourPlus(30);
    const workflowId = nextId('hourly-cron');
    // Started at hh:30 with a 4 h execution timeout: runs at the next four whole hours, the fifth times out waiting.
    const handle = await env.client.workflow.start(cronCounter, {
      taskQueue,
      workflowId,
      args: [3],
      cronSchedule: '0 * * * *',
      workflowExecutionTimeout: '4h',
    });
    const err = await handle.result().then(
      () => assert.fail('expected the chain to time out'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof TimeoutFailure, String(err));

    const runs = await chain(workflowId, handle.firstExecutionRunId);
    assert.equal(runs.length, 5);
    const expected = [
      { close: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, result: 1, last: undefined },
      { close: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, result: 2, last: 1 },
      { close: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, result: undefined, last: 2 },
      // After the failure the chain's last result stays 2, and the failure is passed on.
      { close: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, result: 3, last: 2 },
      { close: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, result: undefined, last: 3 },
    ];
    for (const [i, events] of runs.entries()) {
      const started = events[0].workflowExecutionStartedEventAttributes!;
      assert.equal(started.cronSchedule, '0 * * * *');
      assert.equal(started.attempt, 1);
      assert.equal(started.firstExecutionRunId, handle.firstExecutionRunId);
      assert.equal(json(started.lastCompletionResult), expected[i].last);
      assert.equal(started.continuedFailure?.message, i === 3 ? 'run 3 failed' : undefined);
      if (i > 0) {
        assert.equal(started.initiator, Initiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE);
        assert.equal(started.continuedExecutionRunId, runs[i - 1][0].workflowExecutionStartedEventAttributes!.originalExecutionRunId);
      }
      // Each run waits for its hour: the first task is scheduled on it (the backoff is rounded up to the second).
      assert.ok(ms(started.firstWorkflowTaskBackoff) > 0);
      const last = events.at(-1)!;
      assert.equal(last.eventType, expected[i].close);
      if (i < 4) {
        const scheduled = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)!;
        const at = ms(scheduled.eventTime);
        assert.ok(at >= hour + (i + 1) * HOUR && at < hour + (i + 1) * HOUR + 1000, `run ${i + 1} at ${new Date(at).toISOString()}`);
      }
      if (expected[i].result !== undefined) assert.equal(json(last.workflowExecutionCompletedEventAttributes?.result), expected[i].result);
    }
    const failed = runs[2].at(-1)!.workflowExecutionFailedEventAttributes!;
    assert.equal(failed.retryState, RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET);
    assert.equal(failed.newExecutionRunId, runs[3][0].workflowExecutionStartedEventAttributes!.originalExecutionRunId);
    const timedOut = runs[4].at(-1)!.workflowExecutionTimedOutEventAttributes!;
    assert.equal(timedOut.retryState, RetryState.RETRY_STATE_TIMEOUT);
    assert.ok(!timedOut.newExecutionRunId);
    // The chain ends at its execution deadline: four hours after the start.
    assert.equal(ms(runs[4].at(-1)!.eventTime), ms(runs[0][0].workflowExecutionStartedEventAttributes!.workflowExecutionExpirationTime));
  });

  test('terminating a cron workflow ends the chain; so does cancelling it', async () => {
    const { env, taskQueue, nextId } = h();
    await toNextHourPlus(5);
    const terminated = await env.client.workflow.start(cronCounter, { taskQueue, workflowId: nextId('cron-term'), args: [0], cronSchedule: '*/10 * * * *' });
    // Each run sleeps 8 minutes: the one cancelled is in its timer (a run with nothing to cancel would just complete,
    // and the chain go on, as on the real server).
    const cancelled = await env.client.workflow.start(longTask, { taskQueue, workflowId: nextId('cron-cancel'), args: [8 * MINUTE], cronSchedule: '*/10 * * * *' });
    // At :25 the first chain has run at :10 and :20 and waits for :30; the second is in its run of :20.
    await env.sleep(20 * MINUTE);
    await terminated.terminate('enough');
    await cancelled.cancel();
    const t = await terminated.result().catch((e: unknown) => e);
    assert.ok(t instanceof WorkflowFailedError && t.cause instanceof TerminatedFailure, String(t));
    const c = await cancelled.result().catch((e: unknown) => e);
    assert.ok(c instanceof WorkflowFailedError && c.cause instanceof CancelledFailure, String(c));
    await env.sleep(HOUR);
    for (const [handle, count] of [[terminated, 3], [cancelled, 2]] as const) {
      const runs = await chain(handle.workflowId, handle.firstExecutionRunId);
      assert.equal(runs.length, count, 'the completed runs and the one that was stopped');
      const desc = await env.client.workflow.getHandle(handle.workflowId).describe();
      assert.equal(desc.runId, runs[count - 1][0].workflowExecutionStartedEventAttributes!.originalExecutionRunId, 'no run after the stopped one');
      assert.notEqual(desc.status.name, 'RUNNING');
    }
  });

  test('an invalid cron schedule, or one with a start delay, is rejected at start with INVALID_ARGUMENT', async () => {
    const { env, taskQueue, nextId } = h();
    for (const [opts, message] of [
      [{ cronSchedule: 'every tuesday' }, /invalid CronSchedule\./],
      [{ cronSchedule: '* * * * *', startDelay: '1 minute' }, /CronSchedule and WorkflowStartDelay may not be used together\./],
    ] as const) {
      const err = await env.client.workflow
        .start(cronCounter, { taskQueue, workflowId: nextId('bad-cron'), args: [0], ...opts })
        .then(() => assert.fail('expected a rejection'), (e: unknown) => e as Error & { cause?: { code?: number; details?: string } });
      assert.equal(err.cause?.code, 3);
      assert.match(err.cause?.details ?? '', message);
    }
  });
});

replaysEveryRun(h, WF);
