/**
 * The workflow retry policy, as the real server applies it: a run that fails (or hits its run timeout) is closed with
 * `newExecutionRunId` and a new run of the same workflow id starts after the backoff, with `attempt + 1`,
 * `initiator: RETRY` and the failure as `continuedFailure`, until the policy or the execution deadline says stop.
 * A run with no retry left may still continue through its cron schedule (workflow-cron.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Engine, StartParams } from './engine';
import { invalidArgument } from './errors';
import { enums, duration, durationMs, num, type IFailure, temporal } from './proto';
import type { WorkflowRun } from './run';

type IRetryPolicy = temporal.api.common.v1.IRetryPolicy;
const RetryState = enums.RetryState;
const TimeoutType = enums.TimeoutType;

export const CRON_UNSUPPORTED =
  'cron schedules on child workflows and continue-as-new are not supported by the embedded server; start the workflow with one, or use a Schedule';

/** What a closing run's event says about retrying, and the id of the run that retries it (if any). */
export interface RetryVerdict {
  retryState: number;
  /** Set when the run is retried: its close event carries it as `newExecutionRunId`. */
  newRunId?: string;
  delayMs: number;
  /** Set when no retry applies but the run's cron schedule starts the next run (workflow-cron.ts). */
  cron?: boolean;
}

/** Rejects a retry policy the real frontend rejects (same checks, same wording style). */
export function validateRetryPolicy(rp: IRetryPolicy | null | undefined): void {
  if (!rp) return;
  const initial = durationMs(rp.initialInterval) ?? 0;
  const max = durationMs(rp.maximumInterval) ?? 0;
  if (initial < 0) throw invalidArgument('InitialInterval cannot be negative on retry policy.');
  if (rp.backoffCoefficient != null && rp.backoffCoefficient !== 0 && rp.backoffCoefficient < 1) {
    throw invalidArgument('BackoffCoefficient cannot be less than 1 on retry policy.');
  }
  if (max < 0) throw invalidArgument('MaximumInterval cannot be negative on retry policy.');
  if (max > 0 && max < initial) throw invalidArgument('MaximumInterval cannot be less than InitialInterval on retry policy.');
  if ((rp.maximumAttempts ?? 0) < 0) throw invalidArgument('MaximumAttempts cannot be negative on retry policy.');
}

/** The policy with the server's defaults filled in (initial 1 s, coefficient 2, maximum 100 × initial), as stored in the started event. */
export function normalizeRetryPolicy(rp: IRetryPolicy | null | undefined): IRetryPolicy | undefined {
  if (!rp) return undefined;
  const initialMs = durationMs(rp.initialInterval) || 1000;
  return {
    initialInterval: duration(initialMs),
    backoffCoefficient: rp.backoffCoefficient || 2,
    maximumInterval: duration(durationMs(rp.maximumInterval) || 100 * initialMs),
    maximumAttempts: rp.maximumAttempts ?? 0,
    nonRetryableErrorTypes: rp.nonRetryableErrorTypes ?? [],
  };
}

/** Whether a failure may be retried at all: the real server's rules for workflow (and activity) failures. */
function retryable(failure: IFailure | null | undefined, nonRetryable: string[]): boolean {
  if (!failure) return true;
  if (failure.terminatedFailureInfo || failure.canceledFailureInfo) return false;
  const timeout = failure.timeoutFailureInfo;
  if (timeout) {
    // Only start-to-close (a run timeout) and heartbeat timeouts are retried, unless listed as non-retryable.
    if (timeout.timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE) return !nonRetryable.includes('TemporalTimeout:StartToClose');
    if (timeout.timeoutType === TimeoutType.TIMEOUT_TYPE_HEARTBEAT) return !nonRetryable.includes('TemporalTimeout:Heartbeat');
    return false;
  }
  if (failure.serverFailureInfo) return !failure.serverFailureInfo.nonRetryable;
  const app = failure.applicationFailureInfo;
  if (app) return !app.nonRetryable && !nonRetryable.includes(app.type ?? '');
  return true;
}

/** The retry policy's verdict on a run closing with `failure` now (no policy: RETRY_POLICY_NOT_SET). */
export function retryVerdict(run: WorkflowRun, failure: IFailure | null | undefined, now: number): RetryVerdict {
  const s = run.started;
  const rp = s.retryPolicy;
  if (!rp) return { retryState: RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET, delayMs: 0 };
  if (!retryable(failure, rp.nonRetryableErrorTypes ?? [])) return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
  const attempt = Math.max(1, s.attempt ?? 1);
  const maxAttempts = rp.maximumAttempts ?? 0;
  if (maxAttempts > 0 && attempt >= maxAttempts) return { retryState: RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, delayMs: 0 };
  const initialMs = durationMs(rp.initialInterval) || 1000;
  const maxMs = durationMs(rp.maximumInterval) || 100 * initialMs;
  // An explicit next retry delay on an application failure wins over the policy's arithmetic, as for activities.
  const explicit = durationMs(failure?.applicationFailureInfo?.nextRetryDelay);
  const delayMs = explicit && explicit > 0 ? explicit : Math.min(initialMs * (rp.backoffCoefficient || 2) ** (attempt - 1), maxMs);
  const exp = s.workflowExecutionExpirationTime;
  const expiration = exp ? num(exp.seconds) * 1000 + (exp.nanos ?? 0) / 1e6 : 0;
  if (expiration > 0 && now + delayMs > expiration) return { retryState: RetryState.RETRY_STATE_TIMEOUT, delayMs: 0 };
  return { retryState: RetryState.RETRY_STATE_IN_PROGRESS, newRunId: randomUUID(), delayMs };
}

/**
 * Starts the run that retries `run` (already closed with `verdict.newRunId` in its close event): same workflow id,
 * type, queue, input, timeouts and policy; the current memo and search attributes; the backoff as the first task's
 * delay; the chain's expiration and parent link kept.
 */
export function startRetryRun(engine: Engine, run: WorkflowRun, verdict: RetryVerdict, failure: IFailure | null | undefined): WorkflowRun {
  const s = run.started;
  return startChainRun(engine, run, {
    runId: verdict.newRunId,
    initiator: enums.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY,
    attempt: (s.attempt ?? 1) + 1,
    delayMs: verdict.delayMs,
    lastCompletionResult: s.lastCompletionResult,
    continuedFailure: failure,
  });
}

/** What differs between the next run of a retry chain and of a cron chain. */
export interface ChainStep {
  readonly runId: StartParams['runId'];
  readonly initiator: temporal.api.enums.v1.ContinueAsNewInitiator;
  readonly attempt: number;
  readonly delayMs: number;
  readonly lastCompletionResult: StartParams['lastCompletionResult'];
  readonly continuedFailure: IFailure | null | undefined;
  readonly cronSchedule?: string;
}

/**
 * What every next run of a chain (continue-as-new, a retry, a cron run) carries over from `run` unchanged: the
 * execution timeout and its expiration, the starter's identity, the first run, the link back to `run`, parent and root.
 */
export function chainCarryOver(
  run: WorkflowRun,
  namespace: string,
): Pick<StartParams, 'executionTimeoutMs' | 'identity' | 'firstRunId' | 'continuedExecutionRunId' | 'parent' | 'root' | 'expirationTime'> {
  const s = run.started;
  const exp = s.workflowExecutionExpirationTime;
  return {
    executionTimeoutMs: durationMs(s.workflowExecutionTimeout),
    identity: s.identity ?? '',
    firstRunId: run.firstRunId,
    continuedExecutionRunId: run.runId,
    parent: s.parentWorkflowExecution
      ? { namespace: s.parentWorkflowNamespace ?? namespace, execution: s.parentWorkflowExecution, initiatedEventId: num(s.parentInitiatedEventId) }
      : undefined,
    root: s.rootWorkflowExecution ?? undefined,
    expirationTime: exp ? num(exp.seconds) * 1000 + (exp.nanos ?? 0) / 1e6 : undefined,
  };
}

/**
 * Starts the next run of `run`'s chain (a retry or a cron run): same workflow id, type, queue, input, timeouts and
 * policy; the current memo and search attributes; the step's delay before the first task; the chain's expiration and
 * parent link kept.
 */
export function startChainRun(engine: Engine, run: WorkflowRun, step: ChainStep): WorkflowRun {
  const s = run.started;
  const ns = engine.namespace(run.namespace);
  const params: StartParams = {
    namespace: ns.name,
    runId: step.runId,
    workflowId: run.workflowId,
    workflowType: run.workflowType,
    taskQueue: run.taskQueue,
    input: s.input,
    header: s.header,
    memo: run.memo,
    searchAttributes: run.searchAttributes,
    runTimeoutMs: durationMs(s.workflowRunTimeout),
    taskTimeoutMs: durationMs(s.workflowTaskTimeout),
    retryPolicy: s.retryPolicy,
    ...(step.cronSchedule !== undefined ? { cronSchedule: step.cronSchedule } : {}),
    initiator: step.initiator,
    attempt: step.attempt,
    firstWorkflowTaskBackoffMs: step.delayMs,
    lastCompletionResult: step.lastCompletionResult,
    continuedFailure: step.continuedFailure,
    userMetadata: run.history[0]?.userMetadata,
    ...chainCarryOver(run, ns.name),
  };
  const next = engine.createRun(ns, params);
  // The parent waits for the chain, not for one run: the new run reports to it (children.ts reads this link).
  if (run.links.parent) next.links.parent = run.links.parent;
  return next;
}
