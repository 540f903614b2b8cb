/**
 * One workflow run's mutable state and history: the workflow-task lifecycle (scheduled, started, completed, failed,
 * timed out, transient retries), buffering of events that arrive while a task is started, command processing,
 * activities with their four timeouts and retries, timers, signals, cancellation and termination. The rules follow
 * the real server closely enough that the SDK core accepts and replays every history written here (see
 * ../shared/docs/temporal-devserver-notes.md, section 3).
 */
import type { RunLinks } from './children';
import type { ClockTimer, VirtualClock } from './clock';
import { invalidArgument, notFound, failedPrecondition, ServerError, Status } from './errors';
import { queueKey, stickyQueueKey, type Matcher } from './matching';
import {
  enums,
  EventType,
  temporal,
  timestamp,
  timestampMs,
  duration,
  durationMs,
  long,
  num,
  eventSize,
  type IHistoryEvent,
  type IFailure,
  type IPayloads,
} from './proto';
import type { RunUpdates } from './updates';
import { CRON_UNSUPPORTED, type RetryVerdict } from './workflow-retry';

type PollWftRequest = temporal.api.workflowservice.v1.IPollWorkflowTaskQueueRequest;
type PollWftResponse = temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse;
type PollActRequest = temporal.api.workflowservice.v1.IPollActivityTaskQueueRequest;
type PollActResponse = temporal.api.workflowservice.v1.IPollActivityTaskQueueResponse;
type ICommand = temporal.api.command.v1.ICommand;
type IRetryPolicy = temporal.api.common.v1.IRetryPolicy;
type IMemo = temporal.api.common.v1.IMemo;
type ISearchAttributes = temporal.api.common.v1.ISearchAttributes;
type StartedAttrs = temporal.api.history.v1.IWorkflowExecutionStartedEventAttributes;
type IUserMetadata = temporal.api.sdk.v1.IUserMetadata;

const CommandType = enums.CommandType;
const RetryState = enums.RetryState;
const TimeoutType = enums.TimeoutType;
const WftFailedCause = enums.WorkflowTaskFailedCause;
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

interface WorkflowTaskState {
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
const DISCARD_SPECULATIVE_MAX_EVENTS = 10;
const REJECTION_TYPE_URL = 'type.googleapis.com/temporal.api.update.v1.Rejection';

/**
 * Rank of an activity timeout among timers due at the same instant: the real server fires a run's same-time timers
 * by event id, then timeout type (START_TO_CLOSE 1, SCHEDULE_TO_START 2, SCHEDULE_TO_CLOSE 3, HEARTBEAT 4), so an
 * activity with only schedule-to-close set (schedule-to-start defaults to it) times out SCHEDULE_TO_START. Timers
 * counted from the attempt's start (start-to-close, heartbeat) rank after those counted from scheduling: the real
 * server's clock has nanoseconds, so a start is always later than its scheduling and a start-to-close deadline equal
 * to the schedule-to-close one (only schedule-to-close set, the activity started in the millisecond it was
 * scheduled, as an eager activity is) falls just after it there; the activity times out SCHEDULE_TO_CLOSE.
 */
function activityTimerOrder(act: { scheduledEventId: number }, timeoutType: number): number {
  const fromStart = timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE || timeoutType === TimeoutType.TIMEOUT_TYPE_HEARTBEAT;
  return act.scheduledEventId * 16 + (fromStart ? 8 : 0) + timeoutType;
}

function capTimeout(runTimeout: number, ms: number): number {
  return runTimeout > 0 && (ms <= 0 || ms > runTimeout) ? runTimeout : ms;
}

/** How long a sticky queue counts as polled after its last poll ended (the real matching service's window). */
const STICKY_POLLER_WINDOW_MS = 10_000;

/** The worker that cached a run, from its last workflow task completion (`stickyAttributes`). */
export interface StickyQueue {
  readonly name: string;
  readonly scheduleToStartMs: number;
}

interface Buffered {
  kind: 'timerFired' | 'other';
  timerId?: string;
  write: () => void;
}

/** Events that ask for a workflow task when written (deliveries), as opposed to those a task's commands write. */
const DELIVERED_EVENTS = new Set<number>([
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

const CLOSE_STATUS: Record<number, number> = {
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

interface TimerState {
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

const CLOSE_COMMANDS = new Set<number>([
  CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
]);

/** The `…EventAttributes` field of an event type. */
export function attributeField(type: number): string {
  return ATTRIBUTE_FIELD[type];
}

const ATTRIBUTE_FIELD: Record<number, string> = {};
for (const [name, value] of Object.entries(EventType)) {
  if (typeof value !== 'number' || value === 0) continue;
  const camel = name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  ATTRIBUTE_FIELD[value] = `${camel}EventAttributes`;
}

export class WorkflowRun {
  readonly history: IHistoryEvent[] = [];
  historyBytes = 0;
  status: number = ExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
  startTime: number;
  executionTime: number;
  closeTime?: number;
  wft: WorkflowTaskState | null = null;
  /** The started event id of the last completed workflow task (`previousStartedEventId`). */
  lastCompletedStartedId = 0;
  /**
   * The sticky queue of the worker that holds this run in its cache, or null: workflow tasks then go there with a
   * partial history (the events after `lastCompletedStartedId`), as the real server does, instead of the whole
   * history on the normal queue. Cleared when a task fails or times out, or the worker shuts down.
   */
  sticky: StickyQueue | null = null;
  private wftAttempt = 1;
  private buffer: Buffered[] = [];
  private processingCommands = false;
  /** Activities scheduled with requestEagerExecution by the workflow task completion being applied, else null. */
  private eagerActivities: ActivityState[] | null = null;
  private needWft = false;
  /** An update was admitted while a task was started: a (speculative) task follows its completion. */
  private updateWftWanted = false;
  private wftLocked = false;
  readonly activities = new Map<number, ActivityState>();
  private readonly activityIds = new Map<string, number>();
  readonly timers = new Map<string, TimerState>();
  readonly queries: QueryTask[] = [];
  readonly signalRequestIds = new Set<string>();
  cancelRequested = false;
  readonly requestIds = new Set<string>();
  private closeWaiters: Array<() => void> = [];
  private eventWaiters: Array<() => void> = [];
  private runTimeout?: ClockTimer;
  private executionTimeout?: ClockTimer;
  memo: IMemo | null | undefined;
  searchAttributes: ISearchAttributes;
  /** The run that continued this one, when it closed by continue-as-new, retry or cron. */
  nextRunId?: string;
  closeEvent?: IHistoryEvent;
  /** The parent this run reports to and the children it started (children.ts). */
  readonly links: RunLinks = {};
  /** The run's workflow updates (updates.ts), from the first one admitted. */
  updates?: RunUpdates;

  constructor(
    readonly host: RunHost,
    readonly namespace: string,
    readonly workflowId: string,
    readonly runId: string,
    readonly workflowType: string,
    readonly taskQueue: string,
    readonly started: StartedAttrs,
    readonly firstRunId: string,
  ) {
    this.startTime = host.clock.now();
    this.executionTime = this.startTime;
    this.memo = started.memo;
    this.searchAttributes = { indexedFields: { ...(started.searchAttributes?.indexedFields ?? {}) } };
  }

  get isOpen(): boolean {
    return this.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING;
  }

  get now(): number {
    return this.host.clock.now();
  }

  get workflowTaskTimeoutMs(): number {
    return durationMs(this.started.workflowTaskTimeout) || 10_000;
  }

  get runTimeoutMs(): number {
    return durationMs(this.started.workflowRunTimeout) ?? 0;
  }

  get execution(): temporal.api.common.v1.IWorkflowExecution {
    return { workflowId: this.workflowId, runId: this.runId };
  }

  // ---- history -------------------------------------------------------------------------------------------------

  /** Appends an event now, with the next id, and the user metadata (summary, details) of the command or start behind it. Returns it. */
  append(type: number, attributes: object, time = this.now, userMetadata?: IUserMetadata | null): IHistoryEvent {
    const event: IHistoryEvent = {
      eventId: long(this.history.length + 1),
      eventTime: timestamp(time),
      eventType: type,
      taskId: long(this.host.nextTaskId()),
      [ATTRIBUTE_FIELD[type]]: attributes,
    };
    if (userMetadata) event.userMetadata = userMetadata;
    this.history.push(event);
    this.historyBytes += eventSize(event);
    this.host.journal?.event(this, event);
    const waiters = this.eventWaiters;
    if (waiters.length) {
      this.eventWaiters = [];
      for (const w of waiters) w();
    }
    return event;
  }

  get lastEventId(): number {
    return this.history.length;
  }

  /** Writes the first event. Called once by the host right after construction. */
  writeStarted(userMetadata?: IUserMetadata | null): void {
    this.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, this.started, this.startTime, userMetadata);
    this.armRunTimeouts();
  }

  /** Arms the run and execution timeouts from the started event (at start, and again after a restart). */
  private armRunTimeouts(): void {
    const run = this.runTimeoutMs;
    if (run > 0) this.runTimeout = this.host.clock.at(this.startTime + run, () => this.timeOut(this.startTime + run));
    const exec = durationMs(this.started.workflowExecutionTimeout) ?? 0;
    const expiration = this.started.workflowExecutionExpirationTime;
    if (exec > 0 && expiration) {
      const at = num(expiration.seconds) * 1000 + (expiration.nanos ?? 0) / 1e6;
      if (!run || at < this.startTime + run) this.executionTimeout = this.host.clock.at(at, () => this.timeOut(at));
    }
  }

  /** Calls `cb` when the run closes (now if it has). Returns a function that withdraws it (a wait that timed out). */
  onClose(cb: () => void): () => void {
    if (!this.isOpen) {
      cb();
      return () => {};
    }
    this.closeWaiters.push(cb);
    return () => {
      const i = this.closeWaiters.indexOf(cb);
      if (i >= 0) this.closeWaiters.splice(i, 1);
    };
  }

  /** Callbacks waiting for this run's close or its next event (for tests: waits that ended must leave none behind). */
  get waiterCount(): number {
    return this.closeWaiters.length + this.eventWaiters.length;
  }

  /** Resolves when an event after `afterEventId` exists, or the run closes. */
  onNewEvent(afterEventId: number, cb: () => void): () => void {
    if (this.history.length > afterEventId || !this.isOpen) {
      cb();
      return () => {};
    }
    const w = () => cb();
    this.eventWaiters.push(w);
    return () => {
      const i = this.eventWaiters.indexOf(w);
      if (i >= 0) this.eventWaiters.splice(i, 1);
    };
  }

  /**
   * Delivers an event that arrives from outside the workflow (signal, activity result, timer, cancel request): now
   * when no workflow task is started, else buffered until the started task completes.
   */
  deliver(d: Deferred | (() => void), meta: Omit<Buffered, 'write'> = { kind: 'other' }): void {
    if (!this.isOpen) return;
    const write = typeof d === 'function' ? d : () => this.writeDeferred(d);
    if (this.wft?.state === 'started') {
      // Closures (cross-run deliveries) are not journalled: a restart re-derives them from the other run's history.
      if (typeof d !== 'function') this.host.journal?.buffered(this, d);
      this.buffer.push({ ...meta, write });
      return;
    }
    if (this.wft?.transient) {
      // New events end a run of failing attempts: the next task is a normal one, at attempt 1.
      this.dropWft();
      this.wftAttempt = 1;
      write();
      this.scheduleWft();
      return;
    }
    write();
    this.requestWft();
  }

  requestWft(): void {
    if (!this.isOpen) return;
    if (this.processingCommands) {
      this.needWft = true;
      return;
    }
    if (this.wft?.state === 'started') {
      // A buffered entry without events still asks for a new task once the started one completes.
      this.buffer.push({ kind: 'other', write: () => {} });
      return;
    }
    if (!this.wft) this.scheduleWft();
  }

  /**
   * An update was admitted. Without a task in flight it gets a speculative one (nothing in history unless the worker
   * accepts it); a scheduled task carries it when it starts; a started one cannot, so a task follows its completion.
   * Unlike an event, an admitted update does not stop the started task from closing the run: as on the real server
   * (hasBufferedEventsOrMessages counts buffered events only), the run closes and the update is aborted, retryably
   * when a new run continues it (updates.ts).
   */
  requestUpdateWft(): void {
    if (!this.isOpen) return;
    if (this.processingCommands || this.wft?.state === 'started') this.updateWftWanted = true;
    else if (!this.wft) this.scheduleWft(0, true, true);
  }

  private flushBuffer(): boolean {
    if (!this.buffer.length) return false;
    const items = this.buffer;
    this.buffer = [];
    for (const b of items) b.write();
    this.host.journal?.flushed(this);
    return true;
  }

  /** Writes a delivered event (or an activity's lazily recorded start and its close). */
  writeDeferred(d: Deferred): void {
    if (d.k === 'event') {
      this.append(d.type, d.attrs);
      return;
    }
    const startedEventId = d.started ? this.writeActivityStarted(d, d.identity, d.lastFailure) : 0;
    this.append(d.type, { ...d.attrs, scheduledEventId: d.scheduledEventId, startedEventId });
  }

  // ---- workflow tasks ------------------------------------------------------------------------------------------

  private setWftLock(on: boolean): void {
    if (on === this.wftLocked) return;
    this.wftLocked = on;
    if (on) this.host.clock.lock();
    else this.host.clock.unlock();
  }

  /**
   * Schedules the next workflow task, after `delayMs`. `offer: false` keeps it from the queues: a completion that
   * hands it back itself (`returnNewWorkflowTask`) starts it at once, and no held poll may take it first.
   * `speculative`: the task only delivers updates (see WorkflowTaskState.speculative); a retry is never one.
   */
  scheduleWft(delayMs = 0, offer = true, speculative = false): void {
    if (!this.isOpen || this.wft) return;
    // A sticky run's task is scheduled on its worker's sticky queue (the scheduled event names it, and its
    // schedule-to-start timeout runs) whether or not that worker still polls: offerWft decides where it is offered.
    // Retries (transient attempts) follow a failure, which clears stickiness.
    const sticky = this.wftAttempt === 1 ? this.sticky : null;
    const attempt = this.wftAttempt;
    const transient = attempt > 1;
    const scheduledTime = this.now + delayMs;
    const wft: WorkflowTaskState = {
      scheduledEventId: transient ? this.lastEventId + 1 : 0,
      startedEventId: 0,
      attempt,
      state: 'scheduled',
      transient,
      speculative: speculative && !transient,
      scheduledTime,
      startedTime: 0,
      messages: [],
      queueKey: '',
      sticky,
    };
    this.wft = wft;
    if (delayMs > 0) {
      // A delayed task (start delay, workflow retry backoff) holds no time-skipping lock while it waits, as in the
      // Java test server: time skipping jumps over the wait.
      this.host.clock.after(delayMs, () => {
        if (this.wft === wft) this.setWftLock(true);
        this.enqueueWft(wft, offer);
      });
    } else {
      this.setWftLock(true);
      this.enqueueWft(wft, offer);
    }
  }

  /** Writes a scheduled task's event (unless transient) and offers it. */
  private enqueueWft(wft: WorkflowTaskState, offer: boolean): void {
    if (this.wft !== wft) return;
    const { attempt, sticky } = wft;
    if (!wft.transient && !wft.speculative) {
      const ev = this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, this.scheduledAttrs(sticky, attempt));
      wft.scheduledEventId = num(ev.eventId);
    } else {
      wft.scheduledEventId = this.lastEventId + 1;
    }
    if (offer) this.offerWft(wft);
  }

  private scheduledAttrs(sticky: StickyQueue | null, attempt: number): temporal.api.history.v1.IWorkflowTaskScheduledEventAttributes {
    return {
      taskQueue: sticky
        ? { name: sticky.name, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: this.taskQueue }
        : { name: this.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      startToCloseTimeout: duration(this.workflowTaskTimeoutMs),
      attempt,
    };
  }

  taskQueueKey(queue = this.taskQueue): string {
    return queueKey(this.namespace, queue);
  }

  stickyKey(sticky: StickyQueue): string {
    return stickyQueueKey(this.namespace, sticky.name);
  }

  /**
   * Offers a scheduled task on its queue: the sticky one (with its schedule-to-start timeout) or the normal one. As on
   * the real server, a sticky queue nobody has polled for 10 s (or whose worker announced its shutdown) gets no task:
   * matching answers StickyWorkerUnavailable and history offers it on the normal queue instead, with the whole history,
   * the sticky schedule-to-start timeout still running (if no worker takes it by then, it times out there too).
   */
  private offerWft(wft: WorkflowTaskState): void {
    const sticky = wft.sticky;
    const key = sticky && this.host.workflowTasks.hasPoller(this.stickyKey(sticky), STICKY_POLLER_WINDOW_MS) ? this.stickyKey(sticky) : this.taskQueueKey();
    wft.queueKey = key;
    if (sticky) wft.stickyTimeout = this.host.clock.after(sticky.scheduleToStartMs, () => this.stickyTaskTimedOut(wft));
    // Method shorthand, not an arrow property (which tsx's keepNames wraps in a defineProperty call per task).
    const run = this;
    this.host.workflowTasks.offer(key, {
      dispatch(req) {
        return wft.queueKey === key ? run.dispatchWft(wft, req) : null;
      },
    });
  }

  /**
   * The sticky worker did not take the task in time (it died without saying so): as the real server, the task times
   * out (SCHEDULE_TO_START), stickiness is cleared, and a new task at the same attempt goes to the normal queue.
   */
  private stickyTaskTimedOut(wft: WorkflowTaskState): void {
    if (this.wft !== wft || wft.state !== 'scheduled' || !this.isOpen) return;
    // A speculative task's timeout is history's business: as on the real server, its scheduled event is written first.
    this.persistTransient(wft);
    this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: 0,
      timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    });
    this.sticky = null;
    this.dropWft();
    this.scheduleWft();
  }

  /**
   * Forgets the sticky queue (`name`, or any): the worker shut down or the caller reset it. A task waiting there
   * moves to the normal queue, where a worker gets it with the whole history; no event is written.
   */
  dropSticky(name?: string): void {
    if (!this.sticky || (name !== undefined && this.sticky.name !== name)) return;
    this.sticky = null;
    const wft = this.wft;
    if (wft?.state === 'scheduled' && wft.sticky && wft.queueKey) {
      wft.stickyTimeout?.cancel();
      wft.stickyTimeout = undefined;
      wft.sticky = null;
      this.offerWft(wft);
    }
  }

  private dropWft(): void {
    if (!this.wft) return;
    this.wft.timeout?.cancel();
    this.wft.stickyTimeout?.cancel();
    this.wft = null;
    this.setWftLock(false);
  }

  /**
   * Eager workflow start: the first task of a run just created for a start request with requestEagerExecution
   * (scheduled without being offered, so no held poll can take it) is started at once for the starter, with the
   * request's identity and request id on its started event, and returned in the start response. A worker that never
   * completes it is like any other: the task times out and the retry goes through the task queue. Null when there is
   * no such task (the run closed at once); a scheduled task not yet offered is then offered.
   */
  startEagerWft(identity: string, requestId: string): PollWftResponse | null {
    const wft = this.wft;
    if (!wft || wft.state !== 'scheduled' || wft.queueKey) return null;
    const task = this.dispatchWft(wft, { identity }, requestId);
    if (!task) this.offerWft(wft);
    return task;
  }

  /**
   * The eager task again, for a start retried with the same request id (the real server's respondToRetriedRequest):
   * only while the run's first task is still started at its first attempt by that request, else null (the retry then
   * gets a plain response, and the task, if it timed out, goes through the queue).
   */
  eagerWftAgain(requestId: string): PollWftResponse | null {
    const wft = this.wft;
    if (!this.isOpen || !wft || wft.state !== 'started' || wft.transient || wft.attempt !== 1 || wft.startedEventId !== 3) return null;
    if (!requestId || wft.requestId !== requestId) return null;
    return this.taskResponse(wft, this.history.slice(0, wft.startedEventId));
  }

  private dispatchWft(wft: WorkflowTaskState, req: PollWftRequest, eagerRequestId?: string): PollWftResponse | null {
    if (this.wft !== wft || wft.state !== 'scheduled' || !this.isOpen) return null;
    const now = this.now;
    // Started from the sticky queue, or handed back inline to the sticky worker (not offered at all): that worker has
    // the run cached. A sticky task started from the normal queue goes to another worker, whole; as the real server
    // (RecordWorkflowTaskStarted), the run is no longer sticky.
    const partial = wft.sticky !== null && wft.queueKey !== this.taskQueueKey();
    if (wft.sticky && !partial) this.sticky = null;
    wft.stickyTimeout?.cancel();
    wft.stickyTimeout = undefined;
    wft.state = 'started';
    wft.startedTime = now;
    wft.identity = req.identity ?? '';
    wft.requestId = eagerRequestId ?? `${this.runId}-${wft.scheduledEventId}-${wft.attempt}`;
    const suggest =
      this.history.length >= this.host.options.suggestContinueAsNewAfterEvents ||
      this.historyBytes >= this.host.options.suggestContinueAsNewAfterBytes;
    const startedAttrs: temporal.api.history.v1.IWorkflowTaskStartedEventAttributes = {
      scheduledEventId: long(wft.scheduledEventId),
      identity: wft.identity,
      requestId: wft.requestId,
      historySizeBytes: long(this.historyBytes),
      suggestContinueAsNew: suggest,
    };
    let events: IHistoryEvent[];
    if (wft.speculative && wft.scheduledEventId !== this.lastEventId + 1) {
      // Events arrived while it waited: as on the real server it becomes a normal task, scheduled now, after them.
      wft.speculative = false;
      wft.scheduledEventId = num(this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, this.scheduledAttrs(wft.sticky, wft.attempt), now).eventId);
    }
    if (wft.transient || wft.speculative) {
      // Transient retries are never sticky, so their scheduled event names the normal queue.
      const sched: IHistoryEvent = {
        eventId: long(wft.scheduledEventId),
        eventTime: timestamp(wft.scheduledTime),
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        taskId: long(this.host.nextTaskId()),
        workflowTaskScheduledEventAttributes: this.scheduledAttrs(wft.sticky, wft.attempt),
      };
      const started: IHistoryEvent = {
        eventId: long(wft.scheduledEventId + 1),
        eventTime: timestamp(now),
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        taskId: long(this.host.nextTaskId()),
        workflowTaskStartedEventAttributes: startedAttrs,
      };
      wft.startedEventId = wft.scheduledEventId + 1;
      events = [...(partial ? this.history.slice(this.lastCompletedStartedId) : this.history), sched, started];
      (wft as WorkflowTaskState & { transientEvents?: IHistoryEvent[] }).transientEvents = [sched, started];
    } else {
      const ev = this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, startedAttrs, now);
      wft.startedEventId = num(ev.eventId);
      // The sticky worker has the run cached up to the last completed task: it gets only what came after. (A worker
      // that evicted the run meanwhile fetches the whole history with GetWorkflowExecutionHistory.)
      events = partial ? this.history.slice(this.lastCompletedStartedId) : this.history.slice();
    }
    wft.timeout = this.host.clock.after(this.workflowTaskTimeoutMs, () => this.timeOutWft(wft));
    wft.messages = this.host.pendingUpdateMessages(this);
    // Every admitted update goes out with this task: none waits for another.
    this.updateWftWanted = false;
    return this.taskResponse(wft, events);
  }

  /** The poll response for a started task. */
  private taskResponse(wft: WorkflowTaskState, events: IHistoryEvent[]): PollWftResponse {
    return {
      taskToken: encodeToken({ k: 'w', ns: this.namespace, r: this.runId, s: wft.scheduledEventId, a: wft.attempt }),
      workflowExecution: this.execution,
      workflowType: { name: this.workflowType },
      previousStartedEventId: long(this.lastCompletedStartedId),
      startedEventId: long(wft.startedEventId),
      attempt: wft.attempt,
      history: { events },
      workflowExecutionTaskQueue: { name: this.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      scheduledTime: timestamp(wft.scheduledTime),
      startedTime: timestamp(wft.startedTime),
      messages: wft.messages,
    };
  }

  /** Validates a workflow task token against the task in flight. */
  startedWft(token: TaskToken): WorkflowTaskState {
    const wft = this.wft;
    if (!this.isOpen || !wft || wft.state !== 'started' || wft.scheduledEventId !== token.s || wft.attempt !== token.a) {
      throw notFound('Workflow task not found.');
    }
    return wft;
  }

  /**
   * Writes the events a transient or speculative task showed the worker, once history must keep the task (it
   * completed, or a speculative one produced more than rejections, failed or timed out). A speculative task not yet
   * started has only its scheduled event.
   */
  private persistTransient(wft: WorkflowTaskState): void {
    if (!wft.transient && !wft.speculative) return;
    if (wft.speculative) {
      wft.speculative = false;
      if (wft.state === 'scheduled') {
        wft.scheduledEventId = num(this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, this.scheduledAttrs(wft.sticky, wft.attempt), wft.scheduledTime).eventId);
        return;
      }
    }
    const events = (wft as WorkflowTaskState & { transientEvents?: IHistoryEvent[] }).transientEvents ?? [];
    for (const e of events) {
      const type = num(e.eventType as number);
      const attrs = (e as Record<string, unknown>)[ATTRIBUTE_FIELD[type]] as object;
      this.append(type, attrs, num(e.eventTime?.seconds) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6);
    }
  }

  private timeOutWft(wft: WorkflowTaskState): void {
    if (this.wft !== wft || !this.isOpen) return;
    if (wft.state === 'started' && !wft.transient) {
      this.persistTransient(wft);
      this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        timeoutType: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
      });
    }
    this.retryWftAfterFailure();
  }

  private retryWftAfterFailure(): void {
    const failed = this.wft;
    // As the real server: a failure while the run is sticky clears stickiness and retries at the same attempt on the
    // normal queue (the worker may simply have lost the run from its cache) before attempts start to count.
    const wasSticky = this.sticky !== null;
    this.sticky = null;
    this.dropWft();
    this.returnUnansweredUpdates(failed);
    const hadEvents = this.flushBuffer();
    if (hadEvents || !failed) {
      this.wftAttempt = 1;
      this.scheduleWft();
    } else if (wasSticky) {
      this.wftAttempt = failed.attempt;
      this.scheduleWft();
    } else {
      this.wftAttempt = failed.attempt + 1;
      // Immediate second attempt, then a capped exponential backoff like the real server's.
      const delay = this.wftAttempt <= 2 ? 0 : Math.min(1000 * 2 ** (this.wftAttempt - 3), 10 * 60_000);
      this.scheduleWft(delay);
    }
  }

  private returnUnansweredUpdates(wft: WorkflowTaskState | null): void {
    if (wft?.messages.length) this.host.updateTaskEnded(this, false);
  }

  failWft(token: TaskToken, req: temporal.api.workflowservice.v1.IRespondWorkflowTaskFailedRequest): void {
    const wft = this.startedWft(token);
    this.writeWftFailed(wft, req.cause ?? WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED, req.failure, req.identity);
    this.retryWftAfterFailure();
  }

  private writeWftFailed(wft: WorkflowTaskState, cause: number, failure?: IFailure | null, identity?: string | null): void {
    if (wft.transient) return;
    this.persistTransient(wft);
    this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.startedEventId,
      cause,
      failure,
      identity: identity ?? '',
    });
  }

  completeWft(
    token: TaskToken,
    req: temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest,
  ): { activityTasks: PollActResponse[]; workflowTask?: PollWftResponse; resetHistoryEventId?: ReturnType<typeof long> } {
    const wft = this.startedWft(token);
    const commands = req.commands ?? [];
    const closes = commands.filter((c) => CLOSE_COMMANDS.has(num(c.commandType as number)));
    if (closes.length && this.buffer.length) {
      // A signal (or other event) raced with completion: reject so the worker sees it first. Core handles this exact message.
      this.persistTransient(wft);
      this.writeWftFailed(
        { ...wft, transient: false },
        WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
        { message: 'UnhandledCommand' },
        req.identity,
      );
      this.dropWft();
      this.returnUnansweredUpdates(wft);
      this.sticky = null;
      this.wftAttempt = 1;
      this.flushBuffer();
      this.scheduleWft();
      throw new ServerError(Status.INVALID_ARGUMENT, 'UnhandledCommand');
    }
    const bad = this.validateCommands(commands);
    if (bad) {
      this.writeWftFailed(wft, bad.cause, { message: bad.message }, req.identity);
      this.retryWftAfterFailure();
      throw invalidArgument(bad.message);
    }
    // A speculative task that only rejected updates is dropped: no event at all, history and journal unchanged.
    let completedId = 0;
    const discarded = wft.speculative && this.discardable(commands, req);
    if (!discarded) {
      this.persistTransient(wft);
      const completed = this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        identity: req.identity ?? '',
        binaryChecksum: req.binaryChecksum ?? '',
        sdkMetadata: req.sdkMetadata,
        meteringMetadata: req.meteringMetadata,
        workerVersion: req.workerVersionStamp,
      });
      completedId = num(completed.eventId);
      this.lastCompletedStartedId = wft.startedEventId;
    }
    this.wftAttempt = 1;
    const stickyQueue = req.stickyAttributes?.workerTaskQueue?.name;
    this.sticky = stickyQueue
      ? { name: stickyQueue, scheduleToStartMs: durationMs(req.stickyAttributes?.scheduleToStartTimeout) || this.workflowTaskTimeoutMs }
      : null;
    const deliveredMessages = wft.messages;
    this.dropWft();
    this.processingCommands = true;
    this.needWft = false;
    const eager: ActivityState[] = (this.eagerActivities = []);
    try {
      this.host.handleMessages(this, req.messages ?? [], completedId);
      for (const command of commands) {
        if (!this.isOpen) break;
        this.applyCommand(command, completedId, req.messages ?? []);
      }
      if (deliveredMessages.length) this.host.updateTaskEnded(this, true);
    } finally {
      this.processingCommands = false;
      this.eagerActivities = null;
    }
    const flushed = this.flushBuffer();
    // A worker that caches the run asks for the next task in this same response (`returnNewWorkflowTask`): events
    // that arrived during the task it just completed. As the real server, it gets it at once, with partial history;
    // the task skips matching, so none of the worker's held polls takes it first.
    const inline = !!req.returnNewWorkflowTask && this.sticky !== null;
    if (this.isOpen && (flushed || this.needWft || req.forceCreateNewWorkflowTask)) this.scheduleWft(0, !inline);
    else if (this.isOpen && this.updateWftWanted) this.scheduleWft(0, !inline, true);
    this.needWft = false;
    this.updateWftWanted = false;
    let workflowTask: PollWftResponse | undefined;
    // The task just scheduled (attempt 1, the run open) is started here; dispatchWft declines nothing else.
    const next = this.wft;
    if (inline && next?.state === 'scheduled') {
      next.sticky = this.sticky;
      workflowTask = this.dispatchWft(next, { identity: req.identity }) ?? undefined;
    }
    this.dispatchQueries();
    // Eager activities start now, after every command: none when the run closed or the activity was cancelled in
    // this same task (dispatchActivity declines those), as the real server's post-command step.
    const tasks: PollActResponse[] = [];
    for (const act of eager) {
      if (!this.isOpen || this.activities.get(act.scheduledEventId) !== act) continue;
      this.lockActivity(act, true);
      const task = this.dispatchActivity(act, act.attempt, { identity: req.identity } as PollActRequest);
      if (task) tasks.push(task);
    }
    // A dropped task tells the worker where its history really ends (the real server's ResetHistoryEventId): core
    // rolls back to the last completed task's started event and forgets the two events it was shown.
    return discarded ? { activityTasks: tasks, workflowTask, resetHistoryEventId: long(this.lastCompletedStartedId) } : { activityTasks: tasks, workflowTask };
  }

  /**
   * Whether a speculative task's completion leaves no trace, as the real server's skipWorkflowTaskCompletedEvent
   * decides: no commands, not a heartbeat, only update rejections among the messages, and not too many events shown
   * to the worker since the last completed task (none unless the worker can take them again, as core 1.24 says).
   */
  private discardable(commands: ICommand[], req: temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest): boolean {
    if (commands.length || req.forceCreateNewWorkflowTask) return false;
    const interleaved = this.lastEventId - (this.lastCompletedStartedId + 1);
    const maxInterleaved = req.capabilities?.discardSpeculativeWorkflowTaskWithEvents ? DISCARD_SPECULATIVE_MAX_EVENTS : 0;
    if (interleaved > maxInterleaved) return false;
    return (req.messages ?? []).every((m) => m.body?.type_url === REJECTION_TYPE_URL);
  }

  private validateCommands(commands: ICommand[]): { cause: number; message: string } | undefined {
    const newTimers = new Set<string>();
    const newActivities = new Set<string>();
    let closed = false;
    for (const c of commands) {
      const type = num(c.commandType as number);
      if (closed) {
        return {
          cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES,
          message: 'invalid command sequence: a command follows the workflow close command',
        };
      }
      if (CLOSE_COMMANDS.has(type)) closed = true;
      if (type === CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK) {
        const a = c.scheduleActivityTaskCommandAttributes;
        const bad = (message: string) => ({
          cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
          message,
        });
        if (!a) return bad('ScheduleActivityTaskCommandAttributes is not set on command.');
        if (!a.activityId) return bad('ActivityId is not set on command.');
        if (!a.activityType?.name) return bad('ActivityType is not set on command.');
        if (this.activityIds.has(a.activityId) || newActivities.has(a.activityId)) {
          return bad(`ActivityId "${a.activityId}" is already in use by an open activity.`);
        }
        newActivities.add(a.activityId);
        const s2c = durationMs(a.scheduleToCloseTimeout) ?? 0;
        const st2c = durationMs(a.startToCloseTimeout) ?? 0;
        if (s2c <= 0 && st2c <= 0) {
          return bad('A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.');
        }
      } else if (type === CommandType.COMMAND_TYPE_START_TIMER) {
        const a = c.startTimerCommandAttributes;
        const bad = (message: string) => ({ cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES, message });
        if (!a?.timerId) return bad('TimerId is not set on command.');
        if (this.timers.has(a.timerId) || newTimers.has(a.timerId)) return bad(`TimerId "${a.timerId}" is already in use by an open timer.`);
        newTimers.add(a.timerId);
      } else if (type === CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION) {
        const a = c.startChildWorkflowExecutionCommandAttributes;
        // Accepting a cron schedule and never running it would be a silent gap (see workflow-retry.ts).
        if (a?.cronSchedule) return { cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES, message: CRON_UNSUPPORTED };
        const err = a?.searchAttributes && this.host.checkSearchAttributes?.(a.searchAttributes);
        if (err) {
          return {
            cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
            message: `invalid SearchAttributes on StartChildWorkflowCommand: ${err}. WorkflowId=${a.workflowId ?? ''} WorkflowType=${a.workflowType?.name ?? ''} Namespace=${a.namespace || this.namespace}`,
          };
        }
      } else if (type === CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION) {
        const a = c.continueAsNewWorkflowExecutionCommandAttributes;
        if (a?.cronSchedule) return { cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES, message: CRON_UNSUPPORTED };
        const err = a?.searchAttributes && this.host.checkSearchAttributes?.(a.searchAttributes);
        if (err) {
          return {
            cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
            message: `invalid SearchAttributes on ContinueAsNewWorkflowExecutionCommand: ${err}. WorkflowType=${a.workflowType?.name || this.workflowType} TaskQueue=${a.taskQueue?.name || this.taskQueue}`,
          };
        }
      } else if (type === CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) {
        // As the real server's ValidateUpsertWorkflowSearchAttributes.
        const a = c.upsertWorkflowSearchAttributesCommandAttributes;
        const bad = (message: string) => ({ cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, message });
        if (!a) return bad('UpsertWorkflowSearchAttributesCommandAttributes is not set on UpsertWorkflowSearchAttributesCommand.');
        if (!a.searchAttributes) return bad('SearchAttributes is not set on UpsertWorkflowSearchAttributesCommand.');
        if (!Object.keys(a.searchAttributes.indexedFields ?? {}).length) return bad('IndexedFields is not set on UpsertWorkflowSearchAttributesCommand.');
        const err = this.host.checkSearchAttributes?.(a.searchAttributes);
        if (err) return bad(err);
      } else if (type === CommandType.COMMAND_TYPE_UNSPECIFIED) {
        return { cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, message: 'Unknown command type: COMMAND_TYPE_UNSPECIFIED.' };
      }
    }
    return undefined;
  }

  private applyCommand(c: ICommand, completedId: number, messages: temporal.api.protocol.v1.IMessage[]): void {
    const type = num(c.commandType as number);
    switch (type) {
      case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
        return this.scheduleActivity(c.scheduleActivityTaskCommandAttributes!, completedId);
      case CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
        return this.requestCancelActivity(num(c.requestCancelActivityTaskCommandAttributes?.scheduledEventId), completedId);
      case CommandType.COMMAND_TYPE_START_TIMER:
        return this.startTimer(c.startTimerCommandAttributes!, completedId);
      case CommandType.COMMAND_TYPE_CANCEL_TIMER:
        return this.cancelTimer(c.cancelTimerCommandAttributes?.timerId ?? '', completedId);
      case CommandType.COMMAND_TYPE_RECORD_MARKER: {
        const a = c.recordMarkerCommandAttributes ?? {};
        this.append(EventType.EVENT_TYPE_MARKER_RECORDED, {
          markerName: a.markerName,
          details: a.details,
          header: a.header,
          failure: a.failure,
          workflowTaskCompletedEventId: completedId,
        });
        return;
      }
      case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        const sa = c.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes ?? {};
        this.append(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, {
          searchAttributes: sa,
          workflowTaskCompletedEventId: completedId,
        });
        this.upsertSearchAttributes(sa);
        return;
      }
      case CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: {
        const memo = c.modifyWorkflowPropertiesCommandAttributes?.upsertedMemo ?? {};
        this.append(EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, {
          upsertedMemo: memo,
          workflowTaskCompletedEventId: completedId,
        });
        this.upsertMemo(memo);
        return;
      }
      case CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: {
        const result = c.completeWorkflowExecutionCommandAttributes?.result;
        // A cron workflow's completion starts its next run: the completed event names it, as on the real server.
        const cron = this.host.workflowCron(this);
        const ev = this.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, {
          result,
          workflowTaskCompletedEventId: completedId,
          newExecutionRunId: cron?.newRunId,
        });
        this.nextRunId = cron?.newRunId;
        this.close(ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED, ev);
        if (cron) this.host.startCron(this, cron, result);
        return;
      }
      case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: {
        const failure = c.failWorkflowExecutionCommandAttributes?.failure;
        // The retry policy decides before the event is written: a retried run's event names the run that retries it.
        const retry = this.host.workflowRetry(this, failure);
        const ev = this.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, {
          failure,
          retryState: retry.retryState,
          workflowTaskCompletedEventId: completedId,
          newExecutionRunId: retry.newRunId,
        });
        this.nextRunId = retry.newRunId;
        this.close(ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED, ev);
        if (retry.newRunId) this.host.startRetry(this, retry, failure);
        return;
      }
      case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: {
        const ev = this.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, {
          details: c.cancelWorkflowExecutionCommandAttributes?.details,
          workflowTaskCompletedEventId: completedId,
        });
        return this.close(ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED, ev);
      }
      case CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE: {
        const id = c.protocolMessageCommandAttributes?.messageId ?? '';
        const msg = messages.find((m) => m.id === id);
        if (msg) this.host.applyProtocolMessage(this, msg);
        return;
      }
      default:
        if (this.host.handleCrossRunCommand(this, c, completedId)) return;
        this.host.log(`ignoring unsupported command type ${type}`);
    }
  }

  private upsertSearchAttributes(sa: ISearchAttributes): void {
    const fields = { ...(this.searchAttributes.indexedFields ?? {}) };
    for (const [k, v] of Object.entries(sa.indexedFields ?? {})) {
      const raw = v?.data ? Buffer.from(v.data).toString('utf8') : '';
      if (!v?.data || v.data.length === 0 || raw === 'null' || raw === '[]') delete fields[k];
      else fields[k] = v;
    }
    this.searchAttributes = { indexedFields: fields };
  }

  private upsertMemo(memo: IMemo): void {
    const fields = { ...(this.memo?.fields ?? {}) };
    for (const [k, v] of Object.entries(memo.fields ?? {})) {
      if (!v?.data || v.data.length === 0) delete fields[k];
      else fields[k] = v;
    }
    this.memo = { fields };
  }

  // ---- restart ---------------------------------------------------------------------------------------------------

  /** The last workflow task's events while replaying: scheduled (and started) without an outcome yet. */
  private replayWft: { scheduledEventId: number; attempt: number; scheduledTime: number; startedEventId: number } | null = null;
  /** Whether the last workflow-task outcome replayed was a failure or timeout, and its attempt. */
  private replayFailedAttempt = 0;
  /** Whether an event that asks for a workflow task came after the last task's outcome. */
  private replayNeedsWft = false;

  /**
   * Applies one journalled event to the run's state while the journal is replayed: the history, and what the live
   * path derives from the same event (status, timers, activities, search attributes, memo, the last workflow task).
   * Activities and timers are built by the same methods the live path uses (`trackActivity`, `armTimer` in `resume`).
   */
  replayEvent(ev: IHistoryEvent): void {
    this.history.push(ev);
    this.historyBytes += eventSize(ev);
    const type = num(ev.eventType as number);
    const time = timestampMs(ev.eventTime) ?? this.now;
    if (DELIVERED_EVENTS.has(type)) this.replayNeedsWft = true;
    switch (type) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
        const backoff = durationMs(ev.workflowExecutionStartedEventAttributes?.firstWorkflowTaskBackoff) ?? 0;
        this.startTime = time;
        this.executionTime = time + backoff;
        return;
      }
      case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        this.replayWft = { scheduledEventId: num(ev.eventId), attempt: ev.workflowTaskScheduledEventAttributes?.attempt || 1, scheduledTime: time, startedEventId: 0 };
        this.replayNeedsWft = false;
        return;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        if (this.replayWft) this.replayWft.startedEventId = num(ev.eventId);
        return;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        this.lastCompletedStartedId = num(ev.workflowTaskCompletedEventAttributes?.startedEventId);
        this.replayWft = null;
        this.replayFailedAttempt = 0;
        this.replayNeedsWft = false;
        return;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
      case EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
        this.replayFailedAttempt = this.replayWft?.attempt ?? 1;
        this.replayWft = null;
        this.replayNeedsWft = false;
        return;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
        this.cancelRequested = true;
        return;
      case EventType.EVENT_TYPE_TIMER_STARTED: {
        const a = ev.timerStartedEventAttributes!;
        // Parked with a no-op handle; resume() arms it (the clock must not fire anything mid-replay).
        this.timers.set(a.timerId!, { startedEventId: num(ev.eventId), handle: { cancel() {} } as ClockTimer });
        return;
      }
      case EventType.EVENT_TYPE_TIMER_FIRED:
      case EventType.EVENT_TYPE_TIMER_CANCELED:
        this.timers.delete((ev.timerFiredEventAttributes ?? ev.timerCanceledEventAttributes)?.timerId ?? '');
        return;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        this.trackActivity(ev);
        return;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: {
        const act = this.activities.get(num(ev.activityTaskCancelRequestedEventAttributes?.scheduledEventId));
        if (act) {
          act.cancelRequested = true;
          act.cancelRequestedEventId = num(ev.eventId);
        }
        return;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: {
        const a =
          ev.activityTaskCompletedEventAttributes ??
          ev.activityTaskFailedEventAttributes ??
          ev.activityTaskTimedOutEventAttributes ??
          ev.activityTaskCanceledEventAttributes;
        const act = this.activities.get(num(a?.scheduledEventId));
        if (act) {
          this.activities.delete(act.scheduledEventId);
          this.activityIds.delete(act.activityId);
        }
        return;
      }
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        this.upsertSearchAttributes(ev.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes ?? {});
        return;
      case EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
        this.upsertMemo(ev.workflowPropertiesModifiedEventAttributes?.upsertedMemo ?? {});
        return;
      default:
        if (CLOSE_STATUS[type] !== undefined) {
          this.status = CLOSE_STATUS[type];
          this.closeTime = time;
          this.closeEvent = ev;
          this.timers.clear();
          this.activities.clear();
          this.activityIds.clear();
          this.replayWft = null;
        }
    }
  }

  /** A request id replayed from the journal. */
  replayRequestId(kind: 'start' | 'signal', id: string): void {
    (kind === 'start' ? this.requestIds : this.signalRequestIds).add(id);
  }

  /**
   * Turns a replayed run into a live one: timeouts, timers and activities armed again at their original deadlines
   * (a deadline passed while the server was down fires at once), activities that were waiting put back on their
   * queues, and the workflow task that was pending rescheduled. A task started before the restart is gone with the
   * worker's connection to the old process: it is timed out now (as the real server would once its timeout passed)
   * and scheduled again at attempt 1, as after a sticky worker's loss. Events that waited behind it are written then.
   */
  resume(state: RestoredRunState): void {
    this.taskIdFloor();
    if (!this.isOpen) return;
    this.armRunTimeouts();
    // What waited behind the started task already left the live state: its activity finished, its timer fired.
    for (const d of state.buffered) {
      if (d.k === 'activity') {
        const act = this.activities.get(d.scheduledEventId);
        if (act) this.finishActivity(act);
      } else if (d.timerId) this.timers.delete(d.timerId);
    }
    for (const [timerId, t] of [...this.timers]) {
      const started = this.history[t.startedEventId - 1];
      const due = (timestampMs(started.eventTime) ?? this.now) + (durationMs(started.timerStartedEventAttributes?.startToFireTimeout) ?? 0);
      this.armTimer(timerId, t.startedEventId, due);
    }
    for (const act of [...this.activities.values()]) {
      const saved = state.activities.get(act.scheduledEventId);
      if (saved) {
        act.attempt = saved.attempt;
        act.lastFailure = saved.lastFailure;
        act.lastAttemptCompleteTime = saved.lastAttemptCompleteTime;
        act.heartbeatDetails = saved.heartbeatDetails;
        act.lastHeartbeatTime = saved.lastHeartbeatTime;
        act.lastWorkerIdentity = saved.identity;
      }
      this.armScheduleToClose(act);
      if (act.cancelRequested && saved?.state !== 'started') {
        // A cancel request for an activity that was not running closes it at once (requestCancelActivity); only a
        // journal cut between the two events leaves one behind, and a restart settles it the same way.
        this.finishActivity(act);
        this.append(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
          latestCancelRequestedEventId: act.cancelRequestedEventId,
          scheduledEventId: act.scheduledEventId,
          startedEventId: 0,
          identity: '',
        });
        this.replayNeedsWft = true;
        continue;
      }
      if (saved?.state === 'started') {
        // The worker may still be running it and may still report with its task token; if it died, the
        // start-to-close or heartbeat timeout retries it, as the real server does.
        act.state = 'started';
        act.startedTime = saved.startedTime;
        this.lockActivity(act, true);
        this.armStarted(act);
      } else if (saved?.state === 'backoff') {
        act.state = 'backoff';
        act.retryAt = saved.retryAt;
        this.armRetry(act);
      } else {
        this.offerActivity(act, saved?.attemptScheduledTime ?? act.firstScheduledTime);
      }
    }
    for (const d of state.buffered) {
      this.buffer.push({ kind: d.k === 'event' && d.timerId ? 'timerFired' : 'other', timerId: d.k === 'event' ? d.timerId : undefined, write: () => this.writeDeferred(d) });
    }
    const pending = this.replayWft;
    this.replayWft = null;
    if (pending && pending.startedEventId) {
      this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, {
        scheduledEventId: pending.scheduledEventId,
        startedEventId: pending.startedEventId,
        timeoutType: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
      });
      this.wftAttempt = 1;
      this.flushBuffer();
      this.scheduleWft();
    } else if (pending) {
      // Scheduled, not started: offered again as it was (its scheduled event is already in history).
      const wft: WorkflowTaskState = {
        scheduledEventId: pending.scheduledEventId,
        startedEventId: 0,
        attempt: pending.attempt,
        state: 'scheduled',
        transient: false,
        speculative: false,
        scheduledTime: pending.scheduledTime,
        startedTime: 0,
        messages: [],
        queueKey: '',
        sticky: null,
      };
      this.wft = wft;
      this.setWftLock(true);
      if (this.flushBuffer()) this.replayNeedsWft = false;
      this.offerWft(wft);
    } else {
      if (this.flushBuffer()) this.replayNeedsWft = true;
      if (this.replayFailedAttempt) {
        // The last task failed: its retry (a transient attempt) was in no history and is scheduled again.
        this.wftAttempt = this.replayNeedsWft ? 1 : this.replayFailedAttempt + 1;
        this.scheduleWft();
      } else if (this.replayNeedsWft || this.history.length === 1) {
        this.scheduleWft(Math.max(0, this.executionTime - this.now));
      }
    }
  }

  private taskIdFloor(): void {
    const last = this.history[this.history.length - 1];
    if (last) this.host.noteTaskId?.(num(last.taskId));
  }

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
  private forceClose(type: number, attrs: object, status: number, deadline?: number): void {
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

  private timeOut(deadline: number): void {
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

  // ---- timers --------------------------------------------------------------------------------------------------

  private startTimer(a: temporal.api.command.v1.IStartTimerCommandAttributes, completedId: number): void {
    const ev = this.append(EventType.EVENT_TYPE_TIMER_STARTED, {
      timerId: a.timerId,
      startToFireTimeout: a.startToFireTimeout,
      workflowTaskCompletedEventId: completedId,
    });
    this.armTimer(a.timerId!, num(ev.eventId), this.now + (durationMs(a.startToFireTimeout) ?? 0));
  }

  /** Arms a started timer to fire at `due` (when started, and again after a restart). */
  private armTimer(timerId: string, startedEventId: number, due: number): void {
    const handle = this.host.clock.at(due, () => {
      if (this.timers.get(timerId)?.startedEventId !== startedEventId) return;
      this.timers.delete(timerId);
      this.deliver({ k: 'event', type: EventType.EVENT_TYPE_TIMER_FIRED, attrs: { timerId, startedEventId }, timerId }, {
        kind: 'timerFired',
        timerId,
      });
    });
    this.timers.set(timerId, { startedEventId, handle });
  }

  private cancelTimer(timerId: string, completedId: number): void {
    let startedEventId: number | undefined;
    const t = this.timers.get(timerId);
    if (t) {
      t.handle.cancel();
      this.timers.delete(timerId);
      startedEventId = t.startedEventId;
    } else {
      // The timer fired during this task: its buffered TimerFired is withdrawn, as the real server does.
      const i = this.buffer.findIndex((b) => b.kind === 'timerFired' && b.timerId === timerId);
      if (i < 0) return;
      this.buffer.splice(i, 1);
      const started = this.history.find(
        (e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED && e.timerStartedEventAttributes?.timerId === timerId,
      );
      startedEventId = num(started?.eventId);
    }
    this.append(EventType.EVENT_TYPE_TIMER_CANCELED, {
      timerId,
      startedEventId,
      workflowTaskCompletedEventId: completedId,
      identity: '',
    });
  }

  // ---- activities ----------------------------------------------------------------------------------------------

  private scheduleActivity(a: temporal.api.command.v1.IScheduleActivityTaskCommandAttributes, completedId: number): void {
    // Timeout normalisation as the real server (and the Java test server) do it.
    const runTimeout = this.runTimeoutMs;
    let s2c = durationMs(a.scheduleToCloseTimeout) ?? 0;
    let s2s = durationMs(a.scheduleToStartTimeout) ?? 0;
    let st2c = durationMs(a.startToCloseTimeout) ?? 0;
    let hb = durationMs(a.heartbeatTimeout) ?? 0;
    if (s2c > 0) {
      s2s = s2s > 0 ? Math.min(s2s, s2c) : s2c;
      st2c = st2c > 0 ? Math.min(st2c, s2c) : s2c;
    } else {
      s2c = runTimeout;
      if (s2s <= 0) s2s = runTimeout;
    }
    s2c = capTimeout(runTimeout, s2c);
    s2s = capTimeout(runTimeout, s2s);
    st2c = capTimeout(runTimeout, st2c);
    // The real server clamps the heartbeat timeout to start-to-close (always set by now).
    if (st2c > 0) hb = Math.min(hb, st2c);
    const rp = a.retryPolicy ?? {};
    const initialMs = durationMs(rp.initialInterval) || 1000;
    const retryPolicy: IRetryPolicy = {
      initialInterval: duration(initialMs),
      backoffCoefficient: rp.backoffCoefficient || 2,
      maximumInterval: duration(durationMs(rp.maximumInterval) || 100 * initialMs),
      maximumAttempts: rp.maximumAttempts ?? 0,
      nonRetryableErrorTypes: rp.nonRetryableErrorTypes ?? [],
    };
    const ev = this.append(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, {
      activityId: a.activityId,
      activityType: a.activityType,
      taskQueue: { name: a.taskQueue?.name || this.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      header: a.header,
      input: a.input,
      scheduleToCloseTimeout: duration(s2c),
      scheduleToStartTimeout: duration(s2s),
      startToCloseTimeout: duration(st2c),
      heartbeatTimeout: duration(hb),
      workflowTaskCompletedEventId: completedId,
      retryPolicy,
      useWorkflowBuildId: a.useWorkflowBuildId,
      priority: a.priority,
    });
    const act = this.trackActivity(ev);
    this.armScheduleToClose(act);
    // Eager dispatch (the real server's default, system.enableActivityEagerExecution): the task is handed out in the
    // response to this workflow task completion instead of through the task queue (see completeWft).
    if (a.requestEagerExecution && this.eagerActivities) this.eagerActivities.push(act);
    else this.offerActivity(act);
  }

  /** An activity's state from its scheduled event (the normalised timeouts are in it), when scheduled or replayed. */
  private trackActivity(ev: IHistoryEvent): ActivityState {
    const a = ev.activityTaskScheduledEventAttributes!;
    const retryPolicy = a.retryPolicy ?? {};
    const scheduled = timestampMs(ev.eventTime) ?? this.now;
    const act: ActivityState = {
      scheduledEventId: num(ev.eventId),
      activityId: a.activityId!,
      activityType: a.activityType!.name!,
      taskQueue: a.taskQueue?.name || this.taskQueue,
      input: a.input,
      header: a.header,
      retry: {
        initialMs: durationMs(retryPolicy.initialInterval)!,
        maxMs: durationMs(retryPolicy.maximumInterval)!,
        backoffCoefficient: retryPolicy.backoffCoefficient!,
        maximumAttempts: retryPolicy.maximumAttempts!,
        nonRetryable: retryPolicy.nonRetryableErrorTypes ?? [],
      },
      retryPolicy,
      scheduleToCloseMs: durationMs(a.scheduleToCloseTimeout) ?? 0,
      scheduleToStartMs: durationMs(a.scheduleToStartTimeout) ?? 0,
      startToCloseMs: durationMs(a.startToCloseTimeout) ?? 0,
      heartbeatMs: durationMs(a.heartbeatTimeout) ?? 0,
      attempt: 1,
      state: 'scheduled',
      firstScheduledTime: scheduled,
      attemptScheduledTime: scheduled,
      cancelRequested: false,
      locked: false,
      timers: {},
    };
    this.activities.set(act.scheduledEventId, act);
    this.activityIds.set(act.activityId, act.scheduledEventId);
    return act;
  }

  private armScheduleToClose(act: ActivityState): void {
    if (act.scheduleToCloseMs > 0) {
      act.timers.scheduleToClose = this.host.clock.at(act.firstScheduledTime + act.scheduleToCloseMs, () =>
        this.timeOutActivity(act, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE),
        activityTimerOrder(act, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE),
      );
    }
  }

  private lockActivity(act: ActivityState, on: boolean): void {
    if (act.locked === on) return;
    act.locked = on;
    if (on) this.host.clock.lock();
    else this.host.clock.unlock();
  }

  /** Puts an attempt on its task queue; `scheduledAt` is given when a restart puts back one scheduled before it. */
  private offerActivity(act: ActivityState, scheduledAt?: number): void {
    act.state = 'scheduled';
    // The first attempt counts from its scheduled event (the clock may have moved on since), so that a defaulted
    // schedule-to-start falls due exactly with schedule-to-close, as on the real server.
    // A retry is scheduled at the time its backoff was due (the real server's nextScheduledTime), even when the clock
    // reached the timer a little later.
    act.attemptScheduledTime = scheduledAt ?? (act.attempt === 1 ? act.firstScheduledTime : act.retryAt ?? this.now);
    act.retryAt = undefined;
    // The first attempt is implied by the scheduled event; later ones are in no event.
    if (act.attempt > 1 && scheduledAt === undefined) this.host.journal?.activity(this, act);
    this.lockActivity(act, true);
    if (act.scheduleToStartMs > 0) {
      act.timers.scheduleToStart = this.host.clock.at(act.attemptScheduledTime + act.scheduleToStartMs, () =>
        this.timeOutActivity(act, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START),
        activityTimerOrder(act, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START),
      );
    }
    const attempt = act.attempt;
    const run = this;
    this.host.activityTasks.offer(this.taskQueueKey(act.taskQueue), {
      dispatch(req) {
        return run.dispatchActivity(act, attempt, req);
      },
    });
  }

  private dispatchActivity(act: ActivityState, attempt: number, req: PollActRequest): PollActResponse | null {
    if (!this.isOpen || this.activities.get(act.scheduledEventId) !== act || act.attempt !== attempt || act.state !== 'scheduled') {
      return null;
    }
    const now = this.now;
    act.state = 'started';
    act.startedTime = now;
    act.lastWorkerIdentity = req.identity ?? '';
    act.timers.scheduleToStart?.cancel();
    this.armStarted(act);
    this.host.journal?.activity(this, act);
    return {
      taskToken: encodeToken({ k: 'a', ns: this.namespace, r: this.runId, s: act.scheduledEventId, a: attempt }),
      workflowNamespace: this.namespace,
      workflowType: { name: this.workflowType },
      workflowExecution: this.execution,
      activityType: { name: act.activityType },
      activityId: act.activityId,
      header: act.header,
      input: act.input,
      heartbeatDetails: act.heartbeatDetails,
      scheduledTime: timestamp(act.firstScheduledTime),
      currentAttemptScheduledTime: timestamp(act.attemptScheduledTime),
      startedTime: timestamp(now),
      attempt,
      scheduleToCloseTimeout: duration(act.scheduleToCloseMs),
      startToCloseTimeout: duration(act.startToCloseMs),
      heartbeatTimeout: duration(act.heartbeatMs),
      retryPolicy: act.retryPolicy,
    };
  }

  /** A started attempt's start-to-close and heartbeat timeouts, counted from its start (and last heartbeat). */
  private armStarted(act: ActivityState): void {
    if (act.startToCloseMs > 0) {
      act.timers.startToClose = this.host.clock.at(act.startedTime! + act.startToCloseMs, () =>
        this.timeOutActivity(act, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE),
        activityTimerOrder(act, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE),
      );
    }
    this.armHeartbeat(act);
  }

  private armHeartbeat(act: ActivityState): void {
    act.timers.heartbeat?.cancel();
    if (act.heartbeatMs > 0) {
      // From this attempt's last heartbeat, or its start (a heartbeat of an earlier attempt does not count).
      const from = Math.max(act.lastHeartbeatTime ?? 0, act.startedTime ?? this.now);
      act.timers.heartbeat = this.host.clock.at(from + act.heartbeatMs, () =>
        this.timeOutActivity(act, TimeoutType.TIMEOUT_TYPE_HEARTBEAT),
        activityTimerOrder(act, TimeoutType.TIMEOUT_TYPE_HEARTBEAT),
      );
    }
  }

  /** The started activity a token names; NOT_FOUND when it finished, retried or the run closed. */
  startedActivity(token: TaskToken): ActivityState {
    const act = this.activities.get(token.s as number);
    if (!this.isOpen || !act || act.state !== 'started' || act.attempt !== token.a) {
      throw notFound('invalid activityID or activity already timed out or invoking workflow is completed');
    }
    return act;
  }

  activityById(activityId: string): ActivityState {
    const id = this.activityIds.get(activityId);
    const act = id === undefined ? undefined : this.activities.get(id);
    if (!this.isOpen || !act) throw notFound(`activity "${activityId}" not found or already completed`);
    return act;
  }

  heartbeat(act: ActivityState, details: IPayloads | null | undefined): { cancelRequested: boolean } {
    if (act.state !== 'started') throw notFound('activity is not running');
    act.heartbeatDetails = details ?? act.heartbeatDetails;
    act.lastHeartbeatTime = this.now;
    this.armHeartbeat(act);
    // Heartbeat details are a checkpoint the next attempt resumes from: they must survive a restart.
    this.host.journal?.activity(this, act);
    return { cancelRequested: act.cancelRequested };
  }

  private releaseActivity(act: ActivityState): void {
    for (const t of Object.values(act.timers)) t?.cancel();
    act.timers = {};
    this.lockActivity(act, false);
  }

  private finishActivity(act: ActivityState): void {
    this.releaseActivity(act);
    this.activities.delete(act.scheduledEventId);
    this.activityIds.delete(act.activityId);
  }

  /** Writes the lazily recorded ActivityTaskStarted; returns its id. */
  private writeActivityStarted(act: { scheduledEventId: number; attempt: number }, identity: string, lastFailure: IFailure | null | undefined): number {
    const ev = this.append(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED, {
      scheduledEventId: act.scheduledEventId,
      identity,
      requestId: `${this.runId}-${act.scheduledEventId}-${act.attempt}`,
      attempt: act.attempt,
      lastFailure,
    });
    return num(ev.eventId);
  }

  completeActivity(act: ActivityState, result: IPayloads | null | undefined, identity: string): void {
    if (act.state !== 'started') throw notFound('activity is not running');
    this.finishActivity(act);
    this.deliver(this.activityClose(act, true, identity, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, { result, identity }));
  }

  failActivity(act: ActivityState, failure: IFailure | null | undefined, identity: string, lastHeartbeatDetails?: IPayloads | null): void {
    if (act.state !== 'started') throw notFound('activity is not running');
    if (lastHeartbeatDetails) act.heartbeatDetails = lastHeartbeatDetails;
    const decision = this.retryDecision(act, failure);
    if (decision.retryState === RetryState.RETRY_STATE_IN_PROGRESS) {
      this.retryActivity(act, failure, decision.delayMs);
      return;
    }
    this.finishActivity(act);
    this.deliver(
      this.activityClose(act, true, identity, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, { failure, identity, retryState: decision.retryState }),
    );
  }

  cancelActivityReported(act: ActivityState, details: IPayloads | null | undefined, identity: string): void {
    if (act.state !== 'started') throw notFound('activity is not running');
    if (!act.cancelRequested) throw failedPrecondition('activity cancellation was not requested');
    this.finishActivity(act);
    this.deliver(
      this.activityClose(act, true, identity, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
        details,
        latestCancelRequestedEventId: act.cancelRequestedEventId,
        identity,
      }),
    );
  }

  /** An activity's close event as a delivery: its started event (when it ran) comes first, with the attempt's failure. */
  private activityClose(act: ActivityState, started: boolean, identity: string, type: number, attrs: object): Deferred {
    return { k: 'activity', scheduledEventId: act.scheduledEventId, attempt: act.attempt, started, identity, lastFailure: act.lastFailure, type, attrs };
  }

  private retryDecision(act: ActivityState, failure: IFailure | null | undefined): { retryState: number; delayMs: number } {
    // The order of the checks follows the real server's RetryActivity: a cancel request ends retries; schedule-to-start
    // and schedule-to-close are deadlines (TIMEOUT), not failures; then retryability, attempts and the deadline.
    if (act.cancelRequested) return { retryState: RetryState.RETRY_STATE_CANCEL_REQUESTED, delayMs: 0 };
    const timeoutType = failure?.timeoutFailureInfo?.timeoutType;
    if (timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START || timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE) {
      return { retryState: RetryState.RETRY_STATE_TIMEOUT, delayMs: 0 };
    }
    const app = failure?.applicationFailureInfo;
    if (app?.nonRetryable) return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
    // Timeouts can be listed as "TemporalTimeout:StartToClose" / "TemporalTimeout:Heartbeat".
    const errorType =
      app?.type ??
      (timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
        ? 'TemporalTimeout:StartToClose'
        : timeoutType === TimeoutType.TIMEOUT_TYPE_HEARTBEAT
          ? 'TemporalTimeout:Heartbeat'
          : undefined);
    if (errorType && act.retry.nonRetryable.includes(errorType)) {
      return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
    }
    if (failure?.canceledFailureInfo || failure?.terminatedFailureInfo || failure?.serverFailureInfo?.nonRetryable) {
      return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
    }
    if (act.retry.maximumAttempts > 0 && act.attempt >= act.retry.maximumAttempts) {
      return { retryState: RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, delayMs: 0 };
    }
    const explicit = durationMs(app?.nextRetryDelay);
    const delayMs =
      explicit !== undefined && explicit > 0
        ? explicit
        : Math.min(act.retry.initialMs * act.retry.backoffCoefficient ** (act.attempt - 1), act.retry.maxMs);
    if (act.scheduleToCloseMs > 0 && this.now + delayMs > act.firstScheduledTime + act.scheduleToCloseMs) {
      return { retryState: RetryState.RETRY_STATE_TIMEOUT, delayMs: 0 };
    }
    return { retryState: RetryState.RETRY_STATE_IN_PROGRESS, delayMs };
  }

  private retryActivity(act: ActivityState, failure: IFailure | null | undefined, delayMs: number): void {
    act.lastFailure = failure;
    const now = this.now;
    act.lastAttemptCompleteTime = now;
    for (const k of ['scheduleToStart', 'startToClose', 'heartbeat'] as const) {
      act.timers[k]?.cancel();
      delete act.timers[k];
    }
    act.state = 'backoff';
    act.retryAt = now + delayMs;
    this.host.journal?.activity(this, act);
    this.armRetry(act);
  }

  private armRetry(act: ActivityState): void {
    // No lock during backoff: with time skipping the wait is skipped, as in the Java test server.
    this.lockActivity(act, false);
    act.timers.retry = this.host.clock.at(act.retryAt!, () => {
      if (this.activities.get(act.scheduledEventId) !== act || !this.isOpen) return;
      act.attempt++;
      this.offerActivity(act);
    });
  }

  private timeOutActivity(act: ActivityState, timeoutType: number): void {
    if (this.activities.get(act.scheduledEventId) !== act || !this.isOpen) return;
    const names: Record<number, string> = {
      [TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE]: 'StartToClose',
      [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START]: 'ScheduleToStart',
      [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE]: 'ScheduleToClose',
      [TimeoutType.TIMEOUT_TYPE_HEARTBEAT]: 'Heartbeat',
    };
    const timeoutFailure: IFailure = {
      message: `activity ${names[timeoutType]} timeout`,
      source: 'Server',
      timeoutFailureInfo: { timeoutType, lastHeartbeatDetails: act.heartbeatDetails },
    };
    const wasStarted = act.state === 'started';
    let retryState: number;
    if (timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE) {
      retryState = RetryState.RETRY_STATE_TIMEOUT;
    } else {
      const decision = this.retryDecision(act, timeoutFailure);
      if (decision.retryState === RetryState.RETRY_STATE_IN_PROGRESS) {
        this.retryActivity(act, timeoutFailure, decision.delayMs);
        return;
      }
      retryState = decision.retryState;
    }
    this.finishActivity(act);
    // As the real server: a start-to-close or heartbeat timeout that leaves no time for another attempt before the
    // schedule-to-close deadline is reported as a SCHEDULE_TO_CLOSE timeout. The cause is the previous attempt's failure.
    const noTimeLeft =
      retryState === RetryState.RETRY_STATE_TIMEOUT &&
      (timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE || timeoutType === TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
    const failure: IFailure = noTimeLeft
      ? {
          message: 'Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying',
          source: 'Server',
          timeoutFailureInfo: { timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, lastHeartbeatDetails: act.heartbeatDetails },
          cause: act.lastFailure ?? undefined,
        }
      : { ...timeoutFailure, cause: act.lastFailure ?? undefined };
    this.deliver(
      this.activityClose(act, wasStarted, act.lastWorkerIdentity ?? '', EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, { failure, retryState }),
    );
  }

  private requestCancelActivity(scheduledEventId: number, completedId: number): void {
    const ev = this.append(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, {
      scheduledEventId,
      workflowTaskCompletedEventId: completedId,
    });
    const act = this.activities.get(scheduledEventId);
    if (!act) return; // Already finished (its result may be buffered): recorded, nothing more to do.
    act.cancelRequested = true;
    act.cancelRequestedEventId = num(ev.eventId);
    if (act.state !== 'started') {
      this.finishActivity(act);
      this.append(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
        latestCancelRequestedEventId: act.cancelRequestedEventId,
        scheduledEventId,
        startedEventId: 0,
        identity: '',
      });
      this.requestWft();
    }
  }

  // ---- queries -------------------------------------------------------------------------------------------------

  addQuery(q: QueryTask): void {
    this.queries.push(q);
    this.dispatchQueries();
  }

  /** Hands waiting queries to workers once no workflow task is in flight and the first task has completed. */
  dispatchQueries(): void {
    if (!this.queries.length) return;
    // As the real server: a query goes straight to a worker only while no workflow task is scheduled or started, since
    // that task carries events (a signal, say) that came before the query; otherwise it waits for the task to complete.
    if (this.wft || this.lastCompletedStartedId === 0) return;
    for (const q of this.queries.splice(0)) {
      if (q.dispatched) continue;
      q.dispatched = true;
      if (!q.locked) {
        q.locked = true;
        this.host.clock.lock();
      }
      this.host.workflowTasks.offer(this.taskQueueKey(), {
        dispatch: () => {
          // Answered or cancelled while queued: nothing to hand out (a pending query holds its clock lock).
          if (!q.locked) return null;
          if (this.wft && this.isOpen) {
            // A workflow task was scheduled meanwhile: the query waits for it to complete.
            q.dispatched = false;
            this.queries.push(q);
            return null;
          }
          return this.queryTask(q);
        },
      });
    }
  }

  private queryTask(q: QueryTask): PollWftResponse {
    return {
      taskToken: encodeToken({ k: 'q', ns: this.namespace, r: this.runId, s: q.id }),
      workflowExecution: this.execution,
      workflowType: { name: this.workflowType },
      previousStartedEventId: long(this.lastCompletedStartedId),
      startedEventId: long(0),
      attempt: 1,
      history: { events: this.history.slice() },
      query: { queryType: q.queryType, queryArgs: q.args, header: q.header },
      workflowExecutionTaskQueue: { name: this.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      scheduledTime: timestamp(this.now),
      startedTime: timestamp(this.now),
    };
  }
}
