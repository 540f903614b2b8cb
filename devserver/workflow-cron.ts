/**
 * A workflow's cron schedule (`cronSchedule` on StartWorkflowExecution), as the real server runs it: the first run's
 * first workflow task waits for the first matching time (`firstWorkflowTaskBackoff`); when a run completes, fails
 * without a retry, or hits its run timeout, its close event names a new run (`newExecutionRunId`) that starts at
 * once and waits for the next match, with `initiator: CRON_SCHEDULE`, attempt 1, the result as
 * `lastCompletionResult` (or, after a failure, the previous one kept and the failure as `continuedFailure`), until the
 * execution deadline. Cancellation and termination end the chain. The matching itself is in cron.ts.
 */
import { randomUUID } from 'node:crypto';
import { cronBackoffMs, parseWorkflowCron, type CronSchedule } from './cron';
import type { Engine } from './engine';
import { invalidArgument } from './errors';
import { enums, type IFailure, type IPayloads } from './proto';
import type { WorkflowRun } from './run';
import { startChainRun } from './workflow-retry';

/** Cron schedules parsed once per distinct string. */
const parsed = new Map<string, CronSchedule>();

function schedule(text: string): CronSchedule {
  let s = parsed.get(text);
  if (!s) {
    s = parseWorkflowCron(text);
    parsed.set(text, s);
  }
  return s;
}

/** Rejects what the real frontend rejects: an unparsable schedule, or one combined with a start delay. */
export function validateCronSchedule(cron: string | null | undefined, startDelayMs: number | undefined): void {
  if (!cron) return;
  if (startDelayMs && startDelayMs > 0) throw invalidArgument('CronSchedule and WorkflowStartDelay may not be used together.');
  let s: CronSchedule;
  try {
    s = schedule(cron);
  } catch {
    throw invalidArgument('invalid CronSchedule.');
  }
  if (s.next(Date.now()) === undefined) throw invalidArgument('invalid CronSchedule, no time can be found to satisfy the schedule');
}

/** The first run's wait: until the first matching time after now. */
export function firstCronBackoffMs(cron: string, now: number): number {
  return cronBackoffMs(schedule(cron), now, now) ?? 0;
}

/** The next run of a cron workflow closing now (its id and wait), or undefined when the run has no cron schedule. */
export function cronContinuation(run: WorkflowRun, now: number): { newRunId: string; delayMs: number } | undefined {
  const cron = run.started.cronSchedule;
  if (!cron) return undefined;
  // From the run's scheduled (execution) time, the first match not before now.
  const delayMs = cronBackoffMs(schedule(cron), run.executionTime, now);
  if (delayMs === undefined) return undefined;
  return { newRunId: randomUUID(), delayMs };
}

/**
 * Starts the next run of `run`'s cron chain (already closed naming `newRunId`): same id, type, queue, input,
 * timeouts, retry policy and cron schedule; attempt 1; the chain's expiration and parent link kept.
 */
export function startCronRun(
  engine: Engine,
  run: WorkflowRun,
  next: { newRunId: string; delayMs: number },
  lastCompletionResult: IPayloads | null | undefined,
  failure: IFailure | null | undefined,
): WorkflowRun {
  return startChainRun(engine, run, {
    runId: next.newRunId,
    initiator: enums.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE,
    attempt: 1,
    delayMs: next.delayMs,
    lastCompletionResult,
    continuedFailure: failure,
    cronSchedule: run.started.cronSchedule ?? undefined,
  });
}
