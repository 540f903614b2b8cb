/**
 * The types, constants and helpers WorkflowRun's modules share (run.ts and the run-*.ts files it is built from): what
 * a run needs from its host and journal, task tokens, workflow task, activity and timer state, and event tables.
 */
import type { ClockTimer, VirtualClock } from './clock';
import { invalidArgument } from './errors';
import { type Matcher } from './matching';
import { enums, EventType, temporal, long, type IHistoryEvent, type IFailure, type IPayloads } from './proto';
import type { RetryVerdict } from './workflow-retry';
import type { WorkflowRun } from './run';

export type PollWftRequest = temporal.api.workflowservice.v1.IPollWorkflowTaskQueueRequest;
export type PollWftResponse = temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse;
export type PollActRequest = temporal.api.workflowservice.v1.IPollActivityTaskQueueRequest;
export type PollActResponse = temporal.api.workflowservice.v1.IPollActivityTaskQueueResponse;
export type ICommand = temporal.api.command.v1.ICommand;
export type IRetryPolicy = temporal.api.common.v1.IRetryPolicy;
export type IMemo = temporal.api.common.v1.IMemo;
export type ISearchAttributes = temporal.api.common.v1.ISearchAttributes;
export type StartedAttrs = temporal.api.history.v1.IWorkflowExecutionStartedEventAttributes;
export type IUserMetadata = temporal.api.sdk.v1.IUserMetadata;

export const CommandType = enums.CommandType;
export const RetryState = enums.RetryState;
export const TimeoutType = enums.TimeoutType;
export const WftFailedCause = enums.WorkflowTaskFailedCause;
export const ExecutionStatus = enums.WorkflowExecutionStatus;

/** What a run needs from the server around it. */
export interface RunHost {
  readonly clock: VirtualClock;
  readonly workflowTasks: Matcher<PollWftRequest, PollWftResponse>;
  readonly activityTasks: Matcher<PollActRequest, PollActResponse>;
  readonly options: { readonly suggestContinueAsNewAfterEvents: number; readonly suggestContinueAsNewAfterBytes: number };
  nextTaskId(): number;
  /** Called once when the run closes, after its close event is written. */
  runClosed(run: WorkflowRun): void;
  /** Commands that reach other runs or the server (children, continue-as-new, external signals). */
  handleCrossRunCommand(run: WorkflowRun, command: ICommand, completedEventId: number): boolean;
  /** Update protocol messages carried by a workflow task completion. */
  handleMessages(run: WorkflowRun, messages: temporal.api.protocol.v1.IMessage[], completedEventId: number): void;
  /** Update requests to hand to the worker in the next workflow task. */
  pendingUpdateMessages(run: WorkflowRun): temporal.api.protocol.v1.IMessage[];
  /** A protocol message the worker placed in history with a PROTOCOL_MESSAGE command (update accepted or completed). */
  applyProtocolMessage(run: WorkflowRun, message: temporal.api.protocol.v1.IMessage): void;
  /**
   * A workflow task that carried update requests ended. Unanswered ones go back when it failed or timed out; when it
   * `completed` without answering them (and the run goes on), they are rejected, as on the real server.
   */
  updateTaskEnded(run: WorkflowRun, completed: boolean): void;
  /** The workflow retry policy's verdict on this run closing with `failure` (workflow-retry.ts). */
  workflowRetry(run: WorkflowRun, failure: IFailure | null | undefined): RetryVerdict;
  /** Starts the run that retries `run`, closed with `verdict.newRunId` as its `newExecutionRunId`. */
  startRetry(run: WorkflowRun, verdict: RetryVerdict, failure: IFailure | null | undefined): void;
  /** The next run of a cron workflow completing now (workflow-cron.ts), or undefined without a cron schedule. */
  workflowCron(run: WorkflowRun): { newRunId: string; delayMs: number } | undefined;
  /** Starts that next run, closed naming it, with the completed run's result as its last completion result. */
  startCron(run: WorkflowRun, next: { newRunId: string; delayMs: number }, result: IPayloads | null | undefined): void;
  log(message: string): void;
  /** The journal's writer when the server runs with `--db-filename` (and is not replaying it), else null. */
  readonly journal: RunJournal | null;
  /** A task id seen while replaying: new ones must come after it. */
  noteTaskId?(taskId: number): void;
  /** Why these search attributes cannot be written (unregistered name, system name, wrong type), else undefined. */
  checkSearchAttributes?(sa: ISearchAttributes): string | undefined;
}

/** What a run writes to the journal besides its events (journal-state.ts implements it). */
export interface RunJournal {
  event(run: WorkflowRun, event: IHistoryEvent): void;
  /** An activity's attempt, state, heartbeat details or retry time changed: none of them is in history. */
  activity(run: WorkflowRun, act: ActivityState): void;
  /** An event waits behind the started workflow task; it is in no history yet. */
  buffered(run: WorkflowRun, d: Deferred): void;
  /** The buffered events were written (or dropped when the run closed). */
  flushed(run: WorkflowRun): void;
  /** A start or signal request id the run has seen (deduplication survives a restart). */
  requestId(run: WorkflowRun, kind: 'start' | 'signal', id: string): void;
}

/**
 * An event that arrives from outside the workflow, as data rather than a closure, so that one buffered behind a
 * started workflow task can be journalled and written after a restart by the same code (`writeDeferred`).
 */
export type Deferred =
  | { k: 'event'; type: number; attrs: object; timerId?: string }
  | {
      k: 'activity';
      scheduledEventId: number;
      attempt: number;
      /** Whether the activity was started (ActivityTaskStarted is written lazily, just before its close event). */
      started: boolean;
      identity: string;
      lastFailure: IFailure | null | undefined;
      type: number;
      attrs: object;
    };

export interface TaskToken {
  k: 'w' | 'a' | 'q';
  ns: string;
  r: string;
  /** Scheduled event id (workflow and activity tasks) or query id. */
  s: number | string;
  a?: number;
}

/**
 * Task tokens are lines: kind, run id, scheduled event id (or query id), attempt, then the namespace (last, so any
 * name fits). Cheaper than JSON on the two RPCs of every task that carry one.
 */
export function encodeToken(t: TaskToken): Uint8Array {
  return Buffer.from(`${t.k}\n${t.r}\n${t.s}\n${t.a ?? ''}\n${t.ns}`);
}

export function decodeToken(bytes: Uint8Array | null | undefined): TaskToken {
  if (!bytes || bytes.length === 0) throw invalidArgument('TaskToken is not set on request.');
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8');
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < 4; i++) {
    const nl = text.indexOf('\n', from);
    if (nl < 0) break;
    parts.push(text.slice(from, nl));
    from = nl + 1;
  }
  const [k, r, s, a] = parts;
  if (parts.length !== 4 || (k !== 'w' && k !== 'a' && k !== 'q') || !r) {
    throw invalidArgument('TaskToken: expected a token issued by this server, got undecodable bytes.');
  }
  const ns = text.slice(from);
  if (k === 'q') return { k, ns, r, s };
  const scheduled = Number(s);
  const attempt = Number(a);
  if (!Number.isSafeInteger(scheduled) || !Number.isSafeInteger(attempt)) {
    throw invalidArgument('TaskToken: expected a token issued by this server, got undecodable bytes.');
  }
  return { k, ns, r, s: scheduled, a: attempt };
}

export interface WorkflowTaskState {
  scheduledEventId: number;
  startedEventId: number;
  attempt: number;
  state: 'scheduled' | 'started';
  /** Attempts after the first are transient: their events reach the worker but enter history only on success. */
  transient: boolean;
  /**
   * Scheduled only to deliver updates (the real server's speculative task): its scheduled and started events reach
   * the worker but enter history only when the task produces something besides rejections; a task that only rejected
   * updates leaves history (and the journal) untouched. Events that arrive before it starts make it a normal task.
   */
  speculative: boolean;
  scheduledTime: number;
  startedTime: number;
  timeout?: ClockTimer;
  identity?: string;
  requestId?: string;
  /** Update messages delivered with this task (their sequencing ids must point before its started event). */
  messages: temporal.api.protocol.v1.IMessage[];
  /** The matching key the task is offered on; a queued offer under another key declines (the task moved). */
  queueKey: string;
  /** The worker's sticky queue it is offered on (dispatched with the events since the last completed task only), or null. */
  sticky: StickyQueue | null;
  /** The sticky queue's schedule-to-start timeout. */
  stickyTimeout?: ClockTimer;
}

/** The real server's default for how many events a discarded speculative task may have shown the worker. */
export const DISCARD_SPECULATIVE_MAX_EVENTS = 10;
export const REJECTION_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Rejection';

/**
 * Rank of an activity timeout among timers due at the same instant: the real server fires a run's same-time timers
 * by event id, then timeout type (START_TO_CLOSE 1, SCHEDULE_TO_START 2, SCHEDULE_TO_CLOSE 3, HEARTBEAT 4), so an
 * activity with only schedule-to-close set (schedule-to-start defaults to it) times out SCHEDULE_TO_START. Timers
 * counted from the attempt's start (start-to-close, heartbeat) rank after those counted from scheduling: the real
 * server's clock has nanoseconds, so a start is always later than its scheduling and a start-to-close deadline equal
 * to the schedule-to-close one (only schedule-to-close set, the activity started in the millisecond it was
 * scheduled, as an eager activity is) falls just after it there; the activity times out SCHEDULE_TO_CLOSE.
 */
export function activityTimerOrder(act: { scheduledEventId: number }, timeoutType: number): number {
  const fromStart = timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE || timeoutType === TimeoutType.TIMEOUT_TYPE_HEARTBEAT;
  return act.scheduledEventId * 16 + (fromStart ? 8 : 0) + timeoutType;
}

export function capTimeout(runTimeout: number, ms: number): number {
  return runTimeout > 0 && (ms <= 0 || ms > runTimeout) ? runTimeout : ms;
}

/** How long a sticky queue counts as polled after its last poll ended (the real matching service's window). */
export const STICKY_POLLER_WINDOW_MS = 10_000;

/** The worker that cached a run, from its last workflow task completion (`stickyAttributes`). */
export interface StickyQueue {
  readonly name: string;
  readonly scheduleToStartMs: number;
}

export interface Buffered {
  kind: 'timerFired' | 'other';
  timerId?: string;
  write: () => void;
}

/** Events that ask for a workflow task when written (deliveries), as opposed to those a task's commands write. */
export const DELIVERED_EVENTS = new Set<number>([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
  EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
  EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
  EventType.EVENT_TYPE_TIMER_FIRED,
  EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
  EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
  EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
]);

export const CLOSE_STATUS: Record<number, number> = {
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED,
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED]: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED,
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED]: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED,
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED]: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED,
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT]: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
  [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW]: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
};

/** What a replayed journal says about a run beyond its events; `resume` turns it into live state. */
export interface RestoredRunState {
  activities: Map<number, { attempt: number; state: 'scheduled' | 'started' | 'backoff'; attemptScheduledTime: number; startedTime?: number; lastHeartbeatTime?: number; retryAt?: number; identity?: string; heartbeatDetails?: IPayloads | null; lastFailure?: IFailure | null; lastAttemptCompleteTime?: number }>;
  buffered: Deferred[];
}

export interface ActivityState {
  scheduledEventId: number;
  activityId: string;
  activityType: string;
  taskQueue: string;
  input?: IPayloads | null;
  header?: temporal.api.common.v1.IHeader | null;
  retry: {
    backoffCoefficient: number;
    maximumAttempts: number;
    initialMs: number;
    maxMs: number;
    nonRetryable: string[];
  };
  retryPolicy: IRetryPolicy;
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
  attempt: number;
  state: 'scheduled' | 'started' | 'backoff';
  firstScheduledTime: number;
  attemptScheduledTime: number;
  startedTime?: number;
  lastHeartbeatTime?: number;
  heartbeatDetails?: IPayloads | null;
  lastFailure?: IFailure | null;
  /** When the last failed attempt ended (PendingActivityInfo.last_attempt_complete_time; kept while the next runs). */
  lastAttemptCompleteTime?: number;
  lastWorkerIdentity?: string;
  cancelRequested: boolean;
  cancelRequestedEventId?: number;
  /** When a retry in backoff is due (journalled, so a restart keeps the backoff). */
  retryAt?: number;
  locked: boolean;
  timers: { scheduleToStart?: ClockTimer; startToClose?: ClockTimer; heartbeat?: ClockTimer; scheduleToClose?: ClockTimer; retry?: ClockTimer };
}

export interface TimerState {
  startedEventId: number;
  handle: ClockTimer;
}

export interface QueryTask {
  id: string;
  queryType: string;
  args?: IPayloads | null;
  header?: temporal.api.common.v1.IHeader | null;
  resolve(res: temporal.api.workflowservice.v1.IRespondQueryTaskCompletedRequest): void;
  reject(e: Error): void;
  dispatched: boolean;
  locked: boolean;
}

export const CLOSE_COMMANDS = new Set<number>([
  CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
]);

/** The `…EventAttributes` field of an event type. */
export function attributeField(type: number): string {
  return ATTRIBUTE_FIELD[type];
}

export const ATTRIBUTE_FIELD: Record<number, string> = {};
for (const [name, value] of Object.entries(EventType)) {
  if (typeof value !== 'number' || value === 0) continue;
  const camel = name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  ATTRIBUTE_FIELD[value] = `${camel}EventAttributes`;
}
