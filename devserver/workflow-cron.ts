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
import type { Engine, StartParams } from './engine';
import { invalidArgument } from './errors';
import { enums, durationMs, num, type IFailure, type IPayloads } from './proto';
import type { WorkflowRun } from './run';

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
  const s = run.started;
  const ns = engine.namespace(run.namespace);
  const exp = s.workflowExecutionExpirationTime;
  const params: StartParams = {
    namespace: ns.name,
    runId: next.newRunId,
    workflowId: run.workflowId,
    workflowType: run.workflowType,
    taskQueue: run.taskQueue,
    input: s.input,
    header: s.header,
    memo: run.memo,
    searchAttributes: run.searchAttributes,
    executionTimeoutMs: durationMs(s.workflowExecutionTimeout),
    runTimeoutMs: durationMs(s.workflowRunTimeout),
    taskTimeoutMs: durationMs(s.workflowTaskTimeout),
    identity: s.identity ?? '',
    retryPolicy: s.retryPolicy,
    cronSchedule: s.cronSchedule ?? undefined,
    firstRunId: run.firstRunId,
    continuedExecutionRunId: run.runId,
    initiator: enums.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE,
    attempt: 1,
    firstWorkflowTaskBackoffMs: next.delayMs,
    lastCompletionResult,
    continuedFailure: failure,
    userMetadata: run.history[0]?.userMetadata,
    parent: s.parentWorkflowExecution
      ? { namespace: s.parentWorkflowNamespace ?? ns.name, execution: s.parentWorkflowExecution, initiatedEventId: num(s.parentInitiatedEventId) }
      : undefined,
    root: s.rootWorkflowExecution ?? undefined,
    expirationTime: exp ? num(exp.seconds) * 1000 + (exp.nanos ?? 0) / 1e6 : undefined,
  };
  const created = engine.createRun(ns, params);
  if (run.ext.parent) created.ext.parent = run.ext.parent;
  return created;
}
