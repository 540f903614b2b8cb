/**
 * One workflow run's mutable state and history: the workflow-task lifecycle (scheduled, started, completed, failed,
 * timed out, transient retries), buffering of events that arrive while a task is started, command processing,
 * activities with their four timeouts and retries, timers, signals, cancellation and termination. The rules follow
 * the real server closely enough that the SDK core accepts and replays every history written here (see
 * ../shared/docs/temporal-devserver-notes.md, section 3).
 *
 * WorkflowRun is built from a chain of classes, one file each, every one extending the one before:
 * run-history.ts (the run's fields, appending events, waiters, deliveries and their buffer), run-activities.ts
 * (activities), run-workflow-tasks.ts (workflow tasks and queries), run-commands.ts (task completions and their
 * commands, timers), run-replay.ts (rebuilding a run from the journal and resuming it), and this file (closing:
 * completion, termination, timeouts, cancel requests, signals). Shared types and helpers are in run-types.ts; the
 * names other modules use are exported from here.
 */
import { failedPrecondition } from './errors';
import { EventType, timestampMs, num, type IHistoryEvent, type IFailure, type IPayloads } from './proto';
import { ExecutionStatus, RetryState, TimeoutType, WftFailedCause } from './run-types';
import { RunReplay } from './run-replay';

export {
  ExecutionStatus,
  attributeField,
  decodeToken,
  encodeToken,
  type ActivityState,
  type Deferred,
  type QueryTask,
  type RestoredRunState,
  type RunHost,
  type RunJournal,
  type StickyQueue,
  type TaskToken,
} from './run-types';

export class WorkflowRun extends RunReplay {
  // ---- closing -------------------------------------------------------------------------------------------------

  /** Marks the run closed after its close event was written, and releases everything it held. */
  close(status: number, closeEvent: IHistoryEvent): void {
    if (!this.isOpen) return;
    this.status = status;
    // The close time is the close event's time, as describe and visibility report it.
    this.closeTime = timestampMs(closeEvent.eventTime) ?? this.now;
    this.closeEvent = closeEvent;
    this.dropWft();
    if (this.buffer.length) this.host.journal?.flushed(this);
    this.buffer = [];
    this.runTimeout?.cancel();
    this.executionTimeout?.cancel();
    for (const t of this.timers.values()) t.handle.cancel();
    this.timers.clear();
    for (const act of this.activities.values()) this.releaseActivity(act);
    this.activities.clear();
    this.activityIds.clear();
    const waiters = this.closeWaiters.concat(this.eventWaiters);
    this.closeWaiters = [];
    this.eventWaiters = [];
    this.host.runClosed(this);
    for (const w of waiters) w();
    if (this.lastCompletedStartedId === 0) {
      // No completed task to answer from: queries that waited for the first one fail, as they would on arrival.
      const message = 'Cannot query a workflow that closed before completing its first workflow task.';
      for (const q of this.queries.splice(0)) q.reject(failedPrecondition(message));
    }
    this.dispatchQueries();
  }

  /** Writes a close event outside any workflow task (terminate, timeout), first failing a started task. */
  protected forceClose(type: number, attrs: object, status: number, deadline?: number): void {
    if (!this.isOpen) return;
    const wft = this.wft;
    if (wft?.state === 'started') {
      this.persistTransient(wft);
      this.writeWftFailed({ ...wft, transient: false }, WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_FORCE_CLOSE_COMMAND, {
        message: 'workflow closed while its task was in flight',
      });
      this.dropWft();
      this.flushBuffer();
    }
    // A timeout closes the run at its deadline, not whenever the timer callback ran (a wall-clock timer can run a
    // millisecond or more late while time skipping is locked); never before the last event, so times stay ordered.
    const last = timestampMs(this.history[this.history.length - 1]?.eventTime) ?? 0;
    const ev = this.append(type, attrs, deadline === undefined ? this.now : Math.max(deadline, last));
    this.close(status, ev);
  }

  terminate(reason: string, details: IPayloads | null | undefined, identity: string): void {
    this.forceClose(
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
      { reason, details, identity },
      ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED,
    );
  }

  protected timeOut(deadline: number): void {
    if (!this.isOpen) return;
    // As the real server: past the execution deadline the retry state is TIMEOUT; a run timeout before it carries the
    // retry policy's verdict, which is RETRY_POLICY_NOT_SET when the workflow has no retry policy.
    const exp = this.started.workflowExecutionExpirationTime;
    const expired = !!exp && deadline >= num(exp.seconds) * 1000 + (exp.nanos ?? 0) / 1e6;
    // A run timeout is retried as a start-to-close timeout failure; the execution deadline ends the whole chain.
    const failure: IFailure = { message: 'workflow timeout', timeoutFailureInfo: { timeoutType: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE } };
    const retry = expired ? { retryState: RetryState.RETRY_STATE_TIMEOUT, delayMs: 0 } : this.host.workflowRetry(this, failure);
    this.nextRunId = retry.newRunId;
    this.forceClose(
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
      { retryState: retry.retryState, newExecutionRunId: retry.newRunId },
      ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
      deadline,
    );
    if (retry.newRunId) this.host.startRetry(this, retry, failure);
  }

  requestCancel(cause: string, identity: string, extra: object = {}): void {
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    this.deliver({ k: 'event', type: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED, attrs: { cause, identity, ...extra } });
  }

  signal(signalName: string, input: IPayloads | null | undefined, identity: string, header: unknown, extra: object = {}): void {
    this.deliver({ k: 'event', type: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, attrs: { signalName, input, identity, header, ...extra } });
  }
}
