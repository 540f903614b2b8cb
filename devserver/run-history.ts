/**
 * WorkflowRun's state and history (the base of the class chain run.ts builds WorkflowRun from): its fields, appending
 * events, waiting for the close or the next event, and delivering events from outside the workflow (written now, or
 * buffered behind a started workflow task).
 */
import type { RunLinks } from './children';
import type { ClockTimer } from './clock';
import { EventType, temporal, timestamp, durationMs, long, num, eventSize, type IHistoryEvent, type IFailure } from './proto';
import type { RunUpdates } from './updates';
import { ATTRIBUTE_FIELD, type ActivityState, type Buffered, type Deferred, ExecutionStatus, type IMemo, type ISearchAttributes, type IUserMetadata, type QueryTask, type RunHost, type StartedAttrs, type StickyQueue, type TimerState, type WorkflowTaskState } from './run-types';
import type { WorkflowRun } from './run';

export abstract class RunHistory {
  // Defined further up the chain (run-*.ts), used here.
  protected abstract timeOut(deadline: number): void;
  protected abstract dropWft(): void;
  abstract scheduleWft(delayMs?: number, offer?: boolean, speculative?: boolean): void;
  protected abstract writeActivityStarted(act: { scheduledEventId: number; attempt: number }, identity: string, lastFailure: IFailure | null | undefined): number;

  /** This run as the host and the journal know it: only WorkflowRun, the end of the chain, is ever instantiated. */
  protected get self(): WorkflowRun {
    return this as unknown as WorkflowRun;
  }

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
  protected wftAttempt = 1;
  protected buffer: Buffered[] = [];
  protected processingCommands = false;
  /** Activities scheduled with requestEagerExecution by the workflow task completion being applied, else null. */
  protected eagerActivities: ActivityState[] | null = null;
  protected needWft = false;
  /** An update was admitted while a task was started: a (speculative) task follows its completion. */
  protected updateWftWanted = false;
  protected wftLocked = false;
  readonly activities = new Map<number, ActivityState>();
  protected readonly activityIds = new Map<string, number>();
  readonly timers = new Map<string, TimerState>();
  readonly queries: QueryTask[] = [];
  readonly signalRequestIds = new Set<string>();
  cancelRequested = false;
  readonly requestIds = new Set<string>();
  protected closeWaiters: Array<() => void> = [];
  protected eventWaiters: Array<() => void> = [];
  protected runTimeout?: ClockTimer;
  protected executionTimeout?: ClockTimer;
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
    this.push(event);
    return event;
  }

  /** Adds an event whose id is the next one to history: its size, the journal, and whoever waits for new events. */
  protected push(event: IHistoryEvent): void {
    this.history.push(event);
    this.historyBytes += eventSize(event);
    this.host.journal?.event(this.self, event);
    const waiters = this.eventWaiters;
    if (waiters.length) {
      this.eventWaiters = [];
      for (const w of waiters) w();
    }
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
  protected armRunTimeouts(): void {
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
      if (typeof d !== 'function') this.host.journal?.buffered(this.self, d);
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

  protected flushBuffer(): boolean {
    if (!this.buffer.length) return false;
    const items = this.buffer;
    this.buffer = [];
    for (const b of items) b.write();
    this.host.journal?.flushed(this.self);
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

  protected upsertSearchAttributes(sa: ISearchAttributes): void {
    const fields = { ...(this.searchAttributes.indexedFields ?? {}) };
    for (const [k, v] of Object.entries(sa.indexedFields ?? {})) {
      const raw = v?.data ? Buffer.from(v.data).toString('utf8') : '';
      if (!v?.data || v.data.length === 0 || raw === 'null' || raw === '[]') delete fields[k];
      else fields[k] = v;
    }
    this.searchAttributes = { indexedFields: fields };
  }

  protected upsertMemo(memo: IMemo): void {
    const fields = { ...(this.memo?.fields ?? {}) };
    for (const [k, v] of Object.entries(memo.fields ?? {})) {
      if (!v?.data || v.data.length === 0) delete fields[k];
      else fields[k] = v;
    }
    this.memo = { fields };
  }
}
