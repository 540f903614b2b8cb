/**
 * The server's semantics behind each RPC: namespaces and their executions, starting runs under id reuse and
 * conflict policies, signals, queries, cancellation, termination, history reads and long polls, task polls and
 * responses, and the TestService's time-skipping calls. The gRPC layer (server.ts) only decodes, calls a method
 * of this class by name, and encodes.
 */
import { randomUUID } from 'node:crypto';
import { pendingChildren } from './children';
import { VirtualClock } from './clock';
import { invalidArgument, notFound, failedPrecondition, requireField, ServerError, Status } from './errors';
import { Matcher, queueKey, stickyQueueKey } from './matching';
import {
  enums,
  EventType,
  grpc,
  temporal,
  timestamp,
  timestampMs,
  duration,
  durationMs,
  long,
  num,
  type IHistoryEvent,
  type IPayloads,
} from './proto';
import type { Writable } from './rpcs';
import { WorkflowRun, decodeToken, ExecutionStatus, type RunHost, type RunJournal, type QueryTask, type TaskToken } from './run';
import { cronContinuation, firstCronBackoffMs, startCronRun, validateCronSchedule } from './workflow-cron';
import { normalizeRetryPolicy, retryVerdict, startRetryRun, validateRetryPolicy, type RetryVerdict } from './workflow-retry';

/** The journal as the engine and its extensions write to it (journal-state.ts). */
export interface JournalWriter extends RunJournal {
  namespace(ns: Namespace): void;
  whenDurable(): Promise<void> | null;
  /** A state change of an extension (search attribute registrations, schedules) under its own record kind; returns its size. */
  record(kind: string, head: object): number;
  /** Bytes of records no longer live (a schedule's superseded state), which the next compaction drops. */
  released(bytes: number): void;
  /** A closed run evicted after its retention period (retention.ts), at server time `at`. */
  evicted(run: WorkflowRun, at: number): void;
}

type WS = typeof temporal.api.workflowservice.v1;
/** The plain-object (I…) form of a message of the namespace `NS`. */
type Props<NS, K extends keyof NS> = NS[K] extends { create(p?: infer P): unknown } ? P : never;
type Req<K extends keyof WS> = Props<WS, K>;
/** A response as handlers write it (rpcs.ts): 64-bit fields may be plain numbers, which protobufjs encodes alike. */
type Res<K extends keyof WS> = Writable<Props<WS, K>>;
type TS = typeof temporal.api.testservice.v1;
type TestReq<K extends keyof TS> = Props<TS, K>;
type TestRes<K extends keyof TS> = Writable<Props<TS, K>>;
type ICommand = temporal.api.command.v1.ICommand;
type IMessage = temporal.api.protocol.v1.IMessage;

/** How long the real matching service remembers a worker that announced its shutdown (shutdownWorkersCacheTTL). */
const SHUT_DOWN_WORKER_MEMORY_MS = 30_000;

/**
 * A feature layered on the engine (continue-as-new, children, visibility, schedules, updates, retention), told of what
 * happens to runs. The engine calls each method on every component that has it, in registration order; the order
 * matters where two act on the same event (a closing run is indexed by visibility before updates answer its waiters).
 */
export interface EngineComponent {
  /** A run was created, its started event written, before its first workflow task is scheduled. */
  onRunStarted?(run: WorkflowRun): void;
  /** A workflow task completion was applied to the run. */
  onRunChanged?(run: WorkflowRun): void;
  /** The run closed, after its close event was written (WorkflowRun.close). */
  onRunClosed?(run: WorkflowRun): void;
  /** A closed run left the server after its retention period (retention.ts). */
  onRunEvicted?(run: WorkflowRun): void;
  /** After a restart, once every run is rebuilt from the journal and resumed (all of them, open and closed). */
  onRestored?(runs: WorkflowRun[]): void;
  /** A command the run does not apply itself (run-commands.ts); returns whether this component applied it (the first that does wins). */
  applyCommand?(run: WorkflowRun, command: ICommand, completedEventId: number): boolean;
  /** The protocol messages of a workflow task completion, before its commands are applied. */
  onMessages?(run: WorkflowRun, messages: IMessage[], completedEventId: number): void;
  /** A protocol message the worker placed in history with a PROTOCOL_MESSAGE command. */
  onProtocolMessage?(run: WorkflowRun, message: IMessage): void;
  /** Messages (update requests) to hand to the worker with the workflow task being dispatched. */
  pendingMessages?(run: WorkflowRun): IMessage[];
  /** A workflow task that carried update requests ended: `completed`, or failed or timed out. */
  onUpdateTaskEnded?(run: WorkflowRun, completed: boolean): void;
}

export interface EngineOptions {
  namespace: string;
  timeSkipping: boolean;
  /** How long a task poll is held before an empty answer. The SDK's own deadline is 70 s. */
  pollTimeoutMs: number;
  /** How long a wait for the close event is held before an empty page (the client then asks again). */
  historyPollTimeoutMs: number;
  suggestContinueAsNewAfterEvents: number;
  suggestContinueAsNewAfterBytes: number;
  /**
   * How long closed runs are kept (server time) in namespaces that set no retention of their own; 24 hours if unset;
   * Infinity keeps them forever (server.ts's default under time skipping).
   */
  retentionMs?: number;
  /**
   * Eager workflow start (the real server's system.enableEagerWorkflowStart, on by default): a start request with
   * requestEagerExecution gets its first workflow task in the response. False declines every such request.
   */
  eagerWorkflowStart?: boolean;
  /**
   * The real server's frontend.enableCancelWorkerPollsOnShutdown (off by default there and here): ShutdownWorker
   * answers the worker's held polls with empty responses and, for 30 s, answers its new polls the same way at once;
   * DescribeNamespace then advertises workerPollCompleteOnShutdown, so the SDK lets its polls finish at shutdown
   * instead of cancelling them.
   */
  cancelWorkerPollsOnShutdown?: boolean;
  log: (message: string) => void;
}

export interface CallContext {
  onCancel(cb: () => void): void;
}

export interface StartParams {
  namespace: string;
  workflowId: string;
  workflowType: string;
  taskQueue: string;
  input?: IPayloads | null;
  header?: temporal.api.common.v1.IHeader | null;
  memo?: temporal.api.common.v1.IMemo | null;
  searchAttributes?: temporal.api.common.v1.ISearchAttributes | null;
  executionTimeoutMs?: number;
  runTimeoutMs?: number;
  taskTimeoutMs?: number;
  identity?: string;
  requestId?: string;
  retryPolicy?: temporal.api.common.v1.IRetryPolicy | null;
  cronSchedule?: string;
  firstRunId?: string;
  continuedExecutionRunId?: string;
  initiator?: number;
  attempt?: number;
  firstWorkflowTaskBackoffMs?: number;
  lastCompletionResult?: IPayloads | null;
  continuedFailure?: temporal.api.failure.v1.IFailure | null;
  /** Static summary and details (the SDK's staticSummary / staticDetails), written on the started event. */
  userMetadata?: temporal.api.sdk.v1.IUserMetadata | null;
  parent?: { namespace: string; execution: temporal.api.common.v1.IWorkflowExecution; initiatedEventId: number };
  root?: temporal.api.common.v1.IWorkflowExecution;
  /** Expiration of the whole chain (execution timeout), kept across continue-as-new and retries. */
  expirationTime?: number;
  /** A run id chosen by the caller (continue-as-new writes it into the closing run's last event first). */
  runId?: string;
  /** Events to write right after WorkflowExecutionStarted (signal-with-start), before the first task. */
  beforeFirstTask?: (run: WorkflowRun) => void;
  /**
   * Eager workflow start accepted: the first task is scheduled without being offered on the queue (the caller starts
   * it with `WorkflowRun.startEagerWft`), and the started event says `eagerExecutionAccepted`.
   */
  eagerFirstTask?: boolean;
}

export class Namespace {
  /** The runs of each workflow id, oldest first; the last is the current one. */
  readonly chains = new Map<string, WorkflowRun[]>();
  readonly runs = new Map<string, WorkflowRun>();
  constructor(
    readonly name: string,
    /** Kept across restarts by the journal (clients and child events carry it). */
    public id: string = randomUUID(),
    /** The namespace's own retention period (RegisterNamespace's workflowExecutionRetentionPeriod), if it set one. */
    public retentionMs?: number,
  ) {}

  current(workflowId: string): WorkflowRun | undefined {
    const chain = this.chains.get(workflowId);
    return chain?.[chain.length - 1];
  }
}

export class Engine implements RunHost {
  readonly clock: VirtualClock;
  readonly workflowTasks: Matcher<
    temporal.api.workflowservice.v1.IPollWorkflowTaskQueueRequest,
    temporal.api.workflowservice.v1.IPollWorkflowTaskQueueResponse
  >;
  readonly activityTasks: Matcher<
    temporal.api.workflowservice.v1.IPollActivityTaskQueueRequest,
    temporal.api.workflowservice.v1.IPollActivityTaskQueueResponse
  >;
  readonly namespaces = new Map<string, Namespace>();
  private readonly pendingQueries = new Map<string, QueryTask & { run: WorkflowRun }>();
  private taskId = 1;
  /** The journal writer with `--db-filename` (set by journal-state.ts once the journal is replayed), else null. */
  journal: JournalWriter | null = null;
  /** Counts of RPCs by method, for the benchmark's idle-rate figure. */
  readonly rpcCounts = new Map<string, number>();
  /** The features layered on the engine, in registration order (extensions.ts, then retention.ts); see EngineComponent. */
  private readonly components: EngineComponent[] = [];

  constructor(readonly options: EngineOptions) {
    this.clock = new VirtualClock(options.timeSkipping, (e) => options.log(`timer callback failed: ${(e as Error).stack ?? e}`));
    this.workflowTasks = new Matcher(options.pollTimeoutMs);
    this.activityTasks = new Matcher(options.pollTimeoutMs);
    this.namespaces.set(options.namespace, new Namespace(options.namespace));
  }

  /** Handlers of extension record kinds read back from the journal (search attribute registrations), with each record's size. */
  readonly recordHandlers = new Map<string, (head: Record<string, unknown>, size: number) => void>();
  /**
   * Which records of an extension kind a compaction keeps (a schedule's latest state only); a kind without an entry
   * is kept whole.
   */
  readonly recordLive = new Map<string, (head: Record<string, unknown>) => boolean>();

  /**
   * Why search attributes a start request or a workflow task writes cannot be written (an unregistered or system
   * name, a value of the wrong type), else undefined; set by visibility-service.ts, which keeps the registry.
   */
  checkSearchAttributes: (sa: temporal.api.common.v1.ISearchAttributes) => string | undefined = () => undefined;

  /** Evicts closed runs past their retention (set by retention.ts); the server calls it before serving each call. */
  sweepRetention: () => void = () => {};

  /** How long a namespace keeps its closed runs: its own period, else the server's. */
  retentionOf(ns: Namespace): number {
    return ns.retentionMs ?? this.options.retentionMs ?? 24 * 3600 * 1000;
  }

  /** Resolves once what the calls so far wrote is durable; null when nothing waits to be (or there is no journal). */
  whenDurable(): Promise<void> | null {
    return this.journal ? this.journal.whenDurable() : null;
  }

  /** Rebuilds a run from its journalled start event (journal-state.ts); the later events follow with replayEvent. */
  restoreRun(ns: Namespace, runId: string, started: IHistoryEvent): WorkflowRun {
    const a = started.workflowExecutionStartedEventAttributes!;
    const workflowId = a.workflowId!;
    const run = new WorkflowRun(this, ns.name, workflowId, runId, a.workflowType!.name!, a.taskQueue!.name!, a, a.firstExecutionRunId || runId);
    const chain = ns.chains.get(workflowId);
    if (chain) chain.push(run);
    else ns.chains.set(workflowId, [run]);
    ns.runs.set(runId, run);
    run.replayEvent(started);
    return run;
  }

  // ---- RunHost ---------------------------------------------------------------------------------------------------

  nextTaskId(): number {
    return this.taskId++;
  }

  noteTaskId(taskId: number): void {
    if (taskId >= this.taskId) this.taskId = taskId + 1;
  }

  log(message: string): void {
    this.options.log(message);
  }

  runClosed(run: WorkflowRun): void {
    for (const c of this.components) c.onRunClosed?.(run);
  }

  handleCrossRunCommand(run: WorkflowRun, command: ICommand, completedId: number): boolean {
    return this.components.some((c) => c.applyCommand?.(run, command, completedId) ?? false);
  }

  handleMessages(run: WorkflowRun, messages: IMessage[], completedId: number): void {
    for (const c of this.components) c.onMessages?.(run, messages, completedId);
  }

  applyProtocolMessage(run: WorkflowRun, message: IMessage): void {
    for (const c of this.components) c.onProtocolMessage?.(run, message);
  }

  updateTaskEnded(run: WorkflowRun, completed: boolean): void {
    for (const c of this.components) c.onUpdateTaskEnded?.(run, completed);
  }

  pendingUpdateMessages(run: WorkflowRun): IMessage[] {
    let out: IMessage[] | undefined;
    for (const c of this.components) {
      const m = c.pendingMessages?.(run);
      if (m?.length) out = out ? out.concat(m) : m;
    }
    return out ?? [];
  }

  // ---- components ------------------------------------------------------------------------------------------------

  /** Adds a component; each event reaches the components in the order they were registered. */
  register(component: EngineComponent): void {
    this.components.push(component);
  }

  /** A closed run left the server after its retention period (retention.ts). */
  runEvicted(run: WorkflowRun): void {
    for (const c of this.components) c.onRunEvicted?.(run);
  }

  /** After a restart, once every run is rebuilt from the journal and resumed (journal-state.ts). */
  restored(runs: WorkflowRun[]): void {
    for (const c of this.components) c.onRestored?.(runs);
  }

  workflowRetry(run: WorkflowRun, failure: temporal.api.failure.v1.IFailure | null | undefined): RetryVerdict {
    const verdict = retryVerdict(run, failure, this.clock.now());
    if (verdict.newRunId) return verdict;
    // As the real server: no retry, then the cron schedule (if any) starts the next run; the retry state stays.
    const cron = cronContinuation(run, this.clock.now());
    return cron ? { ...verdict, ...cron, cron: true } : verdict;
  }

  startRetry(run: WorkflowRun, verdict: RetryVerdict, failure: temporal.api.failure.v1.IFailure | null | undefined): void {
    // A failed cron run keeps the chain's last result and passes its failure on.
    if (verdict.cron) startCronRun(this, run, { newRunId: verdict.newRunId!, delayMs: verdict.delayMs }, run.started.lastCompletionResult, failure);
    else startRetryRun(this, run, verdict, failure);
  }

  workflowCron(run: WorkflowRun): { newRunId: string; delayMs: number } | undefined {
    return cronContinuation(run, this.clock.now());
  }

  startCron(run: WorkflowRun, next: { newRunId: string; delayMs: number }, result: IPayloads | null | undefined): void {
    startCronRun(this, run, next, result, undefined);
  }

  // ---- lookups ---------------------------------------------------------------------------------------------------

  namespace(name: string | null | undefined): Namespace {
    requireField(name, 'Namespace');
    const ns = this.namespaces.get(name!);
    if (!ns) {
      throw new ServerError(Status.NOT_FOUND, `Namespace ${name} is not found.`, {
        typeName: 'temporal.api.errordetails.v1.NamespaceNotFoundFailure',
        value: { namespace: name },
      });
    }
    return ns;
  }

  /** The run an execution names: its runId, or the current run of its workflowId. */
  findRun(ns: Namespace, execution: temporal.api.common.v1.IWorkflowExecution | null | undefined): WorkflowRun {
    const workflowId = requireField(execution?.workflowId, 'WorkflowId');
    if (execution?.runId) {
      const run = ns.runs.get(execution.runId);
      if (!run || run.workflowId !== workflowId) {
        throw notFound(`workflow execution not found for workflow ID "${workflowId}" and run ID "${execution.runId}"`);
      }
      return run;
    }
    const run = ns.current(workflowId);
    if (!run) throw notFound(`workflow execution not found for workflow ID "${workflowId}"`);
    return run;
  }

  private runForToken(token: TaskToken): WorkflowRun {
    const run = this.namespaces.get(token.ns)?.runs.get(token.r);
    if (!run) throw notFound('Workflow execution not found for this task token.');
    return run;
  }

  // ---- starting runs ---------------------------------------------------------------------------------------------

  /** Starts a run after the id reuse and conflict checks. */
  startRun(
    p: StartParams,
    policies: { reuse?: number; conflict?: number } = {},
  ): { run: WorkflowRun; started: boolean; deduped?: boolean } {
    const ns = this.namespace(p.namespace);
    const existing = ns.current(p.workflowId);
    if (existing) {
      if (p.requestId && existing.requestIds.has(p.requestId)) return { run: existing, started: true, deduped: true };
      const Reuse = enums.WorkflowIdReusePolicy;
      const Conflict = enums.WorkflowIdConflictPolicy;
      if (existing.isOpen) {
        let conflict = policies.conflict ?? Conflict.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED;
        if (conflict === Conflict.WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED) {
          conflict =
            policies.reuse === Reuse.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
              ? Conflict.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
              : Conflict.WORKFLOW_ID_CONFLICT_POLICY_FAIL;
        }
        if (conflict === Conflict.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) {
          if (p.requestId) {
            existing.requestIds.add(p.requestId);
            this.journal?.requestId(existing, 'start', p.requestId);
          }
          return { run: existing, started: false };
        }
        if (conflict === Conflict.WORKFLOW_ID_CONFLICT_POLICY_FAIL) throw this.alreadyStarted(existing);
        existing.terminate('terminated by a new start request (TERMINATE_EXISTING)', null, p.identity ?? '');
      } else {
        const reuse = policies.reuse ?? Reuse.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED;
        if (reuse === Reuse.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE) throw this.alreadyStarted(existing);
        if (reuse === Reuse.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY) {
          if (existing.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED || existing.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW) {
            throw this.alreadyStarted(existing);
          }
        }
      }
    }
    return { run: this.createRun(ns, p), started: true };
  }

  private alreadyStarted(run: WorkflowRun): ServerError {
    return new ServerError(
      Status.ALREADY_EXISTS,
      `Workflow execution is already running. WorkflowId: ${run.workflowId}, RunId: ${run.runId}.`,
      {
        typeName: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
        value: { startRequestId: [...run.requestIds][0] ?? '', runId: run.runId },
      },
    );
  }

  /** Creates a run unconditionally (also used for continue-as-new, retries and children). */
  createRun(ns: Namespace, p: StartParams): WorkflowRun {
    const runId = p.runId ?? randomUUID();
    const now = this.clock.now();
    const execMs = p.executionTimeoutMs ?? 0;
    let runMs = p.runTimeoutMs ?? 0;
    if (execMs > 0 && (runMs <= 0 || runMs > execMs)) runMs = execMs;
    const taskMs = Math.min(p.taskTimeoutMs || 10_000, runMs > 0 ? runMs : Infinity);
    const expiration = p.expirationTime ?? (execMs > 0 ? now + execMs : undefined);
    const attrs: temporal.api.history.v1.IWorkflowExecutionStartedEventAttributes = {
      workflowType: { name: p.workflowType },
      taskQueue: { name: p.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      input: p.input,
      header: p.header,
      memo: p.memo,
      searchAttributes: p.searchAttributes,
      workflowExecutionTimeout: execMs > 0 ? duration(execMs) : undefined,
      workflowRunTimeout: runMs > 0 ? duration(runMs) : undefined,
      workflowTaskTimeout: duration(taskMs),
      identity: p.identity ?? '',
      originalExecutionRunId: runId,
      firstExecutionRunId: p.firstRunId ?? runId,
      continuedExecutionRunId: p.continuedExecutionRunId,
      initiator: p.initiator,
      attempt: p.attempt ?? 1,
      retryPolicy: normalizeRetryPolicy(p.retryPolicy),
      cronSchedule: p.cronSchedule,
      workflowExecutionExpirationTime: expiration !== undefined ? timestamp(expiration) : undefined,
      firstWorkflowTaskBackoff: p.firstWorkflowTaskBackoffMs ? duration(p.firstWorkflowTaskBackoffMs) : undefined,
      lastCompletionResult: p.lastCompletionResult,
      continuedFailure: p.continuedFailure,
      parentWorkflowNamespace: p.parent?.namespace,
      parentWorkflowNamespaceId: p.parent ? this.namespaces.get(p.parent.namespace)?.id : undefined,
      parentWorkflowExecution: p.parent?.execution,
      parentInitiatedEventId: p.parent ? long(p.parent.initiatedEventId) : undefined,
      rootWorkflowExecution: p.root ?? { workflowId: p.workflowId, runId },
      workflowId: p.workflowId,
      eagerExecutionAccepted: p.eagerFirstTask || undefined,
    };
    const run = new WorkflowRun(this, ns.name, p.workflowId, runId, p.workflowType, p.taskQueue, attrs, p.firstRunId ?? runId);
    // One clock reading for the start event, the expiration and the run deadline, so the timeouts land exactly.
    run.startTime = now;
    if (p.requestId) run.requestIds.add(p.requestId);
    const chain = ns.chains.get(p.workflowId);
    if (chain) chain.push(run);
    else ns.chains.set(p.workflowId, [run]);
    ns.runs.set(runId, run);
    run.writeStarted(p.userMetadata);
    if (p.requestId) this.journal?.requestId(run, 'start', p.requestId);
    p.beforeFirstTask?.(run);
    const backoff = p.firstWorkflowTaskBackoffMs ?? 0;
    run.executionTime = run.startTime + backoff;
    for (const c of this.components) c.onRunStarted?.(run);
    run.scheduleWft(backoff, !p.eagerFirstTask);
    return run;
  }

  // ---- WorkflowService: connection and namespace ---------------------------------------------------------------

  getSystemInfo(): Res<'GetSystemInfoResponse'> {
    return {
      serverVersion: '1.24.0-retrain-devserver',
      capabilities: {
        signalAndQueryHeader: true,
        internalErrorDifferentiation: true,
        activityFailureIncludeHeartbeat: true,
        encodedFailureAttributes: true,
        upsertMemo: true,
        sdkMetadata: true,
        countGroupByExecutionStatus: true,
        eagerWorkflowStart: this.options.eagerWorkflowStart !== false,
        buildIdBasedVersioning: false,
        supportsSchedules: true,
      },
    };
  }

  private namespaceInfo(ns: Namespace): Res<'DescribeNamespaceResponse'> {
    return {
      namespaceInfo: {
        name: ns.name,
        id: ns.id,
        state: enums.NamespaceState.NAMESPACE_STATE_REGISTERED,
        description: 'Retrain devserver',
        // What this server does, as the real server reports its dynamic config; the SDK switches optional behaviour
        // on these (workerPollCompleteOnShutdown: let polls finish at shutdown). Worker heartbeats, poller
        // autoscaling, worker commands, pause, standalone activities and the like are not implemented: false.
        capabilities: {
          eagerWorkflowStart: this.options.eagerWorkflowStart !== false,
          syncUpdate: true,
          asyncUpdate: true,
          workerPollCompleteOnShutdown: this.options.cancelWorkerPollsOnShutdown === true,
        },
        supportsSchedules: true,
      },
      // A namespace that keeps its runs forever (time skipping's default) reports no retention period.
      config: Number.isFinite(this.retentionOf(ns)) ? { workflowExecutionRetentionTtl: duration(this.retentionOf(ns)) } : {},
      isGlobalNamespace: false,
    };
  }

  describeNamespace(req: Req<'DescribeNamespaceRequest'>): Res<'DescribeNamespaceResponse'> {
    const name = req.namespace || undefined;
    if (!name && req.id) {
      const ns = [...this.namespaces.values()].find((n) => n.id === req.id);
      if (!ns) throw notFound(`Namespace id ${req.id} is not found.`);
      return this.namespaceInfo(ns);
    }
    return this.namespaceInfo(this.namespace(name));
  }

  listNamespaces(): Res<'ListNamespacesResponse'> {
    return { namespaces: [...this.namespaces.values()].map((ns) => this.namespaceInfo(ns)) };
  }

  registerNamespace(req: Req<'RegisterNamespaceRequest'>): Res<'RegisterNamespaceResponse'> {
    const name = requireField(req.namespace, 'Namespace');
    if (this.namespaces.has(name)) {
      throw new ServerError(Status.ALREADY_EXISTS, `Namespace ${name} already exists.`, {
        typeName: 'temporal.api.errordetails.v1.NamespaceAlreadyExistsFailure',
        value: {},
      });
    }
    // As the real server, the namespace keeps its closed runs for its own period when it names one (retention.ts).
    const ttl = durationMs(req.workflowExecutionRetentionPeriod);
    if (ttl !== undefined && ttl < 0) throw invalidArgument(`WorkflowExecutionRetentionPeriod: expected a non-negative duration, got ${ttl} ms.`);
    const ns = new Namespace(name, undefined, ttl || undefined);
    this.namespaces.set(name, ns);
    this.journal?.namespace(ns);
    return {};
  }

  getClusterInfo(): Res<'GetClusterInfoResponse'> {
    return {
      serverVersion: '1.24.0-retrain-devserver',
      clusterId: 'retrain-devserver',
      clusterName: 'active',
      historyShardCount: 1,
      persistenceStore: 'memory',
      visibilityStore: 'memory',
      supportedClients: {},
    };
  }

  /**
   * Worker instance keys that announced their shutdown, with the wall-clock time until which their polls are answered
   * empty at once (the real matching service's shutdownWorkers cache, 30 s).
   */
  private readonly shutDownWorkers = new Map<string, number>();

  /**
   * A worker going away, as on the real server: its sticky queue no longer counts as polled, so the next task of a
   * run it cached is offered on the normal queue (StickyWorkerUnavailable), while the run stays sticky until a task
   * starts elsewhere or its sticky schedule-to-start timeout passes; a task already waiting on that queue waits for the
   * timeout. With cancelWorkerPollsOnShutdown, the worker's held polls (normal, sticky, activity) are answered empty
   * and its new polls too, for 30 s (when the request names its workerInstanceKey and taskQueue).
   */
  shutdownWorker(req: Req<'ShutdownWorkerRequest'>): Res<'ShutdownWorkerResponse'> {
    const ns = this.namespace(req.namespace);
    const key = req.workerInstanceKey;
    if (this.options.cancelWorkerPollsOnShutdown && key && req.taskQueue) {
      const now = Date.now();
      for (const [k, until] of this.shutDownWorkers) if (until <= now) this.shutDownWorkers.delete(k);
      this.shutDownWorkers.set(key, now + SHUT_DOWN_WORKER_MEMORY_MS);
      // Keys are unique per worker (a UUID): as the real matching service, every held poll carrying it ends.
      const mine = (r: { workerInstanceKey?: string | null }) => r.workerInstanceKey === key;
      this.workflowTasks.completePolls(mine);
      this.activityTasks.completePolls(mine);
    }
    if (req.stickyTaskQueue) this.workflowTasks.forgetPoller(stickyQueueKey(ns.name, req.stickyTaskQueue));
    return {};
  }

  /** A poll from a worker that announced its shutdown gets an empty answer at once (see shutdownWorker). */
  private shutDown(workerInstanceKey: string | null | undefined): boolean {
    if (!workerInstanceKey || !this.shutDownWorkers.size) return false;
    const until = this.shutDownWorkers.get(workerInstanceKey);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.shutDownWorkers.delete(workerInstanceKey);
    return false;
  }

  resetStickyTaskQueue(req: Req<'ResetStickyTaskQueueRequest'>): Res<'ResetStickyTaskQueueResponse'> {
    const ns = this.namespace(req.namespace);
    this.findRun(ns, req.execution).dropSticky();
    return {};
  }

  // ---- WorkflowService: starting, signalling, cancelling -------------------------------------------------------

  private startParams(req: Req<'StartWorkflowExecutionRequest'> | Req<'SignalWithStartWorkflowExecutionRequest'>): StartParams {
    validateRetryPolicy(req.retryPolicy);
    const startDelayMs = this.nonNegative(req.workflowStartDelay, 'WorkflowStartDelay');
    validateCronSchedule(req.cronSchedule, startDelayMs);
    // As the real frontend's ValidateSearchAttributes, for every way to start (update-with-start too).
    const saError = req.searchAttributes ? this.checkSearchAttributes(req.searchAttributes) : undefined;
    if (saError) throw invalidArgument(saError);
    return {
      namespace: requireField(req.namespace, 'Namespace'),
      workflowId: requireField(req.workflowId, 'WorkflowId'),
      workflowType: requireField(req.workflowType?.name, 'WorkflowType'),
      taskQueue: requireField(req.taskQueue?.name, 'TaskQueue'),
      input: req.input,
      header: req.header,
      memo: req.memo,
      searchAttributes: req.searchAttributes,
      executionTimeoutMs: this.nonNegative(req.workflowExecutionTimeout, 'WorkflowExecutionTimeout'),
      runTimeoutMs: this.nonNegative(req.workflowRunTimeout, 'WorkflowRunTimeout'),
      taskTimeoutMs: this.nonNegative(req.workflowTaskTimeout, 'WorkflowTaskTimeout'),
      identity: req.identity ?? '',
      requestId: req.requestId ?? undefined,
      retryPolicy: req.retryPolicy,
      cronSchedule: req.cronSchedule || undefined,
      // A cron workflow's first task waits for the schedule's first time (workflow-cron.ts).
      firstWorkflowTaskBackoffMs: req.cronSchedule ? firstCronBackoffMs(req.cronSchedule, this.clock.now()) : startDelayMs,
      userMetadata: req.userMetadata,
    };
  }

  private nonNegative(d: { seconds?: unknown; nanos?: number | null } | null | undefined, field: string): number | undefined {
    const ms = durationMs(d as Parameters<typeof durationMs>[0]);
    if (ms !== undefined && ms < 0) throw invalidArgument(`${field}: expected a non-negative duration, got ${ms} ms.`);
    return ms;
  }

  /**
   * Starts a run. With requestEagerExecution (and eager start enabled, and no start delay or cron backoff, as the real
   * server) the first workflow task is started at once for the caller and returned as `eagerWorkflowTask`: the SDK
   * hands it to the worker sharing the caller's connection, and counts the start as eager only when it is there. A
   * retry with the same request id gets the same task again while it is still started at attempt 1; a run reused by
   * USE_EXISTING never gives one (`started: false`).
   */
  startWorkflowExecution(req: Req<'StartWorkflowExecutionRequest'>): Res<'StartWorkflowExecutionResponse'> {
    const p = this.startParams(req);
    const eager = !!req.requestEagerExecution && this.options.eagerWorkflowStart !== false && !p.firstWorkflowTaskBackoffMs;
    const { run, started, deduped } = this.startRun(
      { ...p, eagerFirstTask: eager },
      { reuse: req.workflowIdReusePolicy ?? undefined, conflict: req.workflowIdConflictPolicy ?? undefined },
    );
    let eagerWorkflowTask: object | null = null;
    if (eager && started) {
      eagerWorkflowTask = deduped ? run.eagerWftAgain(p.requestId ?? '') : run.startEagerWft(p.identity ?? '', p.requestId ?? '');
    }
    return eagerWorkflowTask ? { runId: run.runId, started, eagerWorkflowTask } : { runId: run.runId, started };
  }

  signalWorkflowExecution(req: Req<'SignalWorkflowExecutionRequest'>): Res<'SignalWorkflowExecutionResponse'> {
    const ns = this.namespace(req.namespace);
    const signalName = requireField(req.signalName, 'SignalName');
    const run = this.findRun(ns, req.workflowExecution);
    if (!run.isOpen) throw notFound('workflow execution already completed');
    if (req.requestId) {
      if (run.signalRequestIds.has(req.requestId)) return {};
      run.signalRequestIds.add(req.requestId);
      this.journal?.requestId(run, 'signal', req.requestId);
    }
    run.signal(signalName, req.input, req.identity ?? '', req.header);
    return {};
  }

  signalWithStartWorkflowExecution(req: Req<'SignalWithStartWorkflowExecutionRequest'>): Res<'SignalWithStartWorkflowExecutionResponse'> {
    const p = this.startParams(req);
    const signalName = requireField(req.signalName, 'SignalName');
    const ns = this.namespace(p.namespace);
    const current = ns.current(p.workflowId);
    if (current?.isOpen) {
      current.signal(signalName, req.signalInput, req.identity ?? '', req.header);
      return { runId: current.runId, started: false };
    }
    const { run, started } = this.startRun(
      {
        ...p,
        beforeFirstTask: (r) =>
          r.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, {
            signalName,
            input: req.signalInput,
            identity: req.identity ?? '',
            header: req.header,
          }),
      },
      { reuse: req.workflowIdReusePolicy ?? undefined, conflict: req.workflowIdConflictPolicy ?? undefined },
    );
    return { runId: run.runId, started };
  }

  requestCancelWorkflowExecution(req: Req<'RequestCancelWorkflowExecutionRequest'>): Res<'RequestCancelWorkflowExecutionResponse'> {
    const ns = this.namespace(req.namespace);
    const run = this.findRun(ns, req.workflowExecution);
    if (req.firstExecutionRunId && run.firstRunId !== req.firstExecutionRunId) {
      throw notFound('workflow execution not found for the given first execution run id');
    }
    if (!run.isOpen) throw notFound('workflow execution already completed');
    run.requestCancel(req.reason ?? '', req.identity ?? '');
    return {};
  }

  terminateWorkflowExecution(req: Req<'TerminateWorkflowExecutionRequest'>): Res<'TerminateWorkflowExecutionResponse'> {
    const ns = this.namespace(req.namespace);
    const run = this.findRun(ns, req.workflowExecution);
    if (req.firstExecutionRunId && run.firstRunId !== req.firstExecutionRunId) {
      throw notFound('workflow execution not found for the given first execution run id');
    }
    if (!run.isOpen) throw notFound('workflow execution already completed');
    run.terminate(req.reason ?? '', req.details, req.identity ?? '');
    return {};
  }

  // ---- queries -----------------------------------------------------------------------------------------------

  async queryWorkflow(req: Req<'QueryWorkflowRequest'>, ctx: CallContext): Promise<Res<'QueryWorkflowResponse'>> {
    const ns = this.namespace(req.namespace);
    const queryType = requireField(req.query?.queryType, 'QueryType');
    const run = this.findRun(ns, req.execution);
    const Reject = enums.QueryRejectCondition;
    const cond = req.queryRejectCondition ?? Reject.QUERY_REJECT_CONDITION_NONE;
    if (
      (cond === Reject.QUERY_REJECT_CONDITION_NOT_OPEN && !run.isOpen) ||
      (cond === Reject.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY &&
        !run.isOpen &&
        run.status !== ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED)
    ) {
      return { queryRejected: { status: run.status } };
    }
    if (!run.isOpen && run.lastCompletedStartedId === 0) {
      throw failedPrecondition('Cannot query a workflow that closed before completing its first workflow task.');
    }
    if (run.isOpen && (run.wft?.attempt ?? 1) >= 3) {
      // As the real server: while the workflow task keeps failing, a query would wait for nothing; fail fast.
      throw new ServerError(Status.FAILED_PRECONDITION, 'Unable to query workflow due to Workflow Task in failed state.', {
        typeName: 'temporal.api.errordetails.v1.WorkflowNotReadyFailure',
        value: {},
      });
    }
    const id = randomUUID();
    const answer = await new Promise<temporal.api.workflowservice.v1.IRespondQueryTaskCompletedRequest>((resolve, reject) => {
      const fail = (e: Error) => {
        this.finishQuery(id);
        reject(e);
      };
      const q = { id, queryType, args: req.query?.queryArgs, header: req.query?.header, resolve, reject: fail, dispatched: false, locked: false, run };
      this.pendingQueries.set(id, q);
      ctx.onCancel(() => this.finishQuery(id));
      run.addQuery(q);
    });
    if (answer.completedType === enums.QueryResultType.QUERY_RESULT_TYPE_FAILED) {
      throw invalidArgument(answer.errorMessage || 'query failed');
    }
    return { queryResult: answer.queryResult };
  }

  private finishQuery(id: string): (QueryTask & { run: WorkflowRun }) | undefined {
    const q = this.pendingQueries.get(id);
    if (!q) return undefined;
    this.pendingQueries.delete(id);
    const i = q.run.queries.indexOf(q);
    if (i >= 0) q.run.queries.splice(i, 1);
    if (q.locked) {
      q.locked = false;
      this.clock.unlock();
    }
    return q;
  }

  respondQueryTaskCompleted(req: Req<'RespondQueryTaskCompletedRequest'>): Res<'RespondQueryTaskCompletedResponse'> {
    const token = decodeToken(req.taskToken);
    if (token.k !== 'q') throw invalidArgument('TaskToken: expected a query task token.');
    const q = this.finishQuery(String(token.s));
    if (!q) throw notFound('query not found or already answered');
    q.resolve(req);
    return {};
  }

  // ---- describe and history ------------------------------------------------------------------------------------

  describeWorkflowExecution(req: Req<'DescribeWorkflowExecutionRequest'>): Res<'DescribeWorkflowExecutionResponse'> {
    const ns = this.namespace(req.namespace);
    const run = this.findRun(ns, req.execution);
    const started = run.started;
    const PendingState = enums.PendingActivityState;
    return {
      executionConfig: {
        taskQueue: { name: run.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        workflowExecutionTimeout: started.workflowExecutionTimeout,
        workflowRunTimeout: started.workflowRunTimeout,
        defaultWorkflowTaskTimeout: started.workflowTaskTimeout,
        // From the started event, where the start request's (or the parent's command's) metadata was written.
        userMetadata: run.history[0]?.userMetadata ?? undefined,
      },
      workflowExecutionInfo: this.executionInfo(run),
      pendingActivities: [...run.activities.values()].map((a) => ({
        activityId: a.activityId,
        activityType: { name: a.activityType },
        state: a.cancelRequested
          ? PendingState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
          : a.state === 'started'
            ? PendingState.PENDING_ACTIVITY_STATE_STARTED
            : PendingState.PENDING_ACTIVITY_STATE_SCHEDULED,
        heartbeatDetails: a.heartbeatDetails,
        lastHeartbeatTime: a.lastHeartbeatTime !== undefined ? timestamp(a.lastHeartbeatTime) : undefined,
        lastStartedTime: a.startedTime !== undefined ? timestamp(a.startedTime) : undefined,
        attempt: a.attempt,
        maximumAttempts: a.retry.maximumAttempts,
        scheduledTime: timestamp(a.attemptScheduledTime),
        expirationTime: a.scheduleToCloseMs > 0 ? timestamp(a.firstScheduledTime + a.scheduleToCloseMs) : undefined,
        lastFailure: a.lastFailure,
        // As the real server (workflow/activity.go): when the last failed attempt ended, and while in backoff, when
        // the next attempt is due.
        lastAttemptCompleteTime: a.lastAttemptCompleteTime !== undefined ? timestamp(a.lastAttemptCompleteTime) : undefined,
        nextAttemptScheduleTime: a.state === 'backoff' && a.retryAt !== undefined ? timestamp(a.retryAt) : undefined,
        lastWorkerIdentity: a.lastWorkerIdentity ?? '',
      })),
      pendingChildren: pendingChildren(run),
      pendingWorkflowTask: run.wft
        ? {
            state: run.wft.state === 'started'
              ? enums.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
              : enums.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
            scheduledTime: timestamp(run.wft.scheduledTime),
            startedTime: run.wft.startedTime ? timestamp(run.wft.startedTime) : undefined,
            attempt: run.wft.attempt,
          }
        : undefined,
    };
  }

  executionInfo(run: WorkflowRun): temporal.api.workflow.v1.IWorkflowExecutionInfo {
    const s = run.started;
    return {
      execution: run.execution,
      type: { name: run.workflowType },
      startTime: timestamp(run.startTime),
      closeTime: run.closeTime !== undefined ? timestamp(run.closeTime) : undefined,
      status: run.status,
      historyLength: long(run.history.length),
      historySizeBytes: long(run.historyBytes),
      parentNamespaceId: s.parentWorkflowNamespaceId,
      parentExecution: s.parentWorkflowExecution,
      executionTime: timestamp(run.executionTime),
      memo: run.memo ?? undefined,
      searchAttributes: run.searchAttributes,
      taskQueue: run.taskQueue,
      stateTransitionCount: long(run.history.length),
      executionDuration: run.closeTime !== undefined ? duration(run.closeTime - run.executionTime) : undefined,
      rootExecution: s.rootWorkflowExecution,
      firstRunId: run.firstRunId,
    };
  }

  async getWorkflowExecutionHistory(req: Req<'GetWorkflowExecutionHistoryRequest'>, ctx: CallContext): Promise<Props<WS, 'GetWorkflowExecutionHistoryResponse'>> {
    const ns = this.namespace(req.namespace);
    const run = this.findRun(ns, req.execution);
    if (req.historyEventFilterType === enums.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT) {
      if (run.isOpen && req.waitNewEvent) await this.waitFor((cb) => run.onClose(cb), ctx);
      if (run.isOpen) return { history: { events: [] }, nextPageToken: Buffer.from('close') };
      return { history: { events: [run.closeEvent!] } };
    }
    let from = 1;
    if (req.nextPageToken && req.nextPageToken.length) {
      const parsed = Number(Buffer.from(req.nextPageToken).toString('utf8'));
      if (!Number.isInteger(parsed) || parsed < 1) throw invalidArgument('NextPageToken: expected a token from a previous page.');
      from = parsed;
    }
    if (req.waitNewEvent && run.isOpen && from > run.history.length) {
      await this.waitFor((cb) => run.onNewEvent(from - 1, cb), ctx);
    }
    const pageSize = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
    const events: IHistoryEvent[] = run.history.slice(from - 1, from - 1 + pageSize);
    const next = from + events.length;
    const more = next <= run.history.length || (req.waitNewEvent && run.isOpen);
    return { history: { events }, nextPageToken: more ? Buffer.from(String(next)) : undefined };
  }

  /**
   * Waits for what `register` watches, at most the history poll timeout. A wait that ends without it (timeout, or
   * the caller went away) withdraws its callback, so unanswered long polls leave nothing behind on the run.
   */
  private waitFor(register: (cb: () => void) => () => void, ctx: CallContext): Promise<void> {
    return new Promise((resolve) => {
      // Inline arrows: a named closure would cost a defineProperty per call under tsx's keepNames.
      const timer = setTimeout(() => (withdraw(), resolve()), this.options.historyPollTimeoutMs);
      const withdraw = register(() => (clearTimeout(timer), resolve()));
      ctx.onCancel(() => (clearTimeout(timer), withdraw(), resolve()));
    });
  }

  // ---- workflow tasks ------------------------------------------------------------------------------------------

  async pollWorkflowTaskQueue(req: Req<'PollWorkflowTaskQueueRequest'>, ctx: CallContext): Promise<Props<WS, 'PollWorkflowTaskQueueResponse'>> {
    const ns = this.namespace(req.namespace);
    const name = requireField(req.taskQueue?.name, 'TaskQueue');
    // A sticky queue (one per worker) gets the tasks of the runs that worker caches, with partial histories.
    const key = req.taskQueue?.kind === enums.TaskQueueKind.TASK_QUEUE_KIND_STICKY ? stickyQueueKey(ns.name, name) : queueKey(ns.name, name);
    if (this.shutDown(req.workerInstanceKey)) return {};
    const res = await this.workflowTasks.poll(key, req, ctx);
    return res ?? {};
  }

  respondWorkflowTaskCompleted(req: Req<'RespondWorkflowTaskCompletedRequest'>): Res<'RespondWorkflowTaskCompletedResponse'> {
    const token = decodeToken(req.taskToken);
    const run = this.runForToken(token);
    const response = run.completeWft(token, req);
    for (const c of this.components) c.onRunChanged?.(run);
    return response;
  }

  respondWorkflowTaskFailed(req: Req<'RespondWorkflowTaskFailedRequest'>): Res<'RespondWorkflowTaskFailedResponse'> {
    const token = decodeToken(req.taskToken);
    const run = this.runForToken(token);
    run.failWft(token, req);
    return {};
  }

  // ---- activity tasks ------------------------------------------------------------------------------------------

  async pollActivityTaskQueue(req: Req<'PollActivityTaskQueueRequest'>, ctx: CallContext): Promise<Res<'PollActivityTaskQueueResponse'>> {
    const ns = this.namespace(req.namespace);
    const name = requireField(req.taskQueue?.name, 'TaskQueue');
    if (this.shutDown(req.workerInstanceKey)) return {};
    const res = await this.activityTasks.poll(queueKey(ns.name, name), req, ctx);
    return res ?? {};
  }

  private activityByToken(bytes: Uint8Array | null | undefined) {
    const token = decodeToken(bytes);
    if (token.k !== 'a') throw invalidArgument('TaskToken: expected an activity task token.');
    const run = this.runForToken(token);
    return { run, act: run.startedActivity(token) };
  }

  private activityById(req: { namespace?: string | null; workflowId?: string | null; runId?: string | null; activityId?: string | null }) {
    const ns = this.namespace(req.namespace);
    const activityId = requireField(req.activityId, 'ActivityId');
    const run = this.findRun(ns, { workflowId: req.workflowId, runId: req.runId });
    return { run, act: run.activityById(activityId) };
  }

  respondActivityTaskCompleted(req: Req<'RespondActivityTaskCompletedRequest'>): Res<'RespondActivityTaskCompletedResponse'> {
    const { run, act } = this.activityByToken(req.taskToken);
    run.completeActivity(act, req.result, req.identity ?? '');
    return {};
  }

  respondActivityTaskCompletedById(req: Req<'RespondActivityTaskCompletedByIdRequest'>): Res<'RespondActivityTaskCompletedByIdResponse'> {
    const { run, act } = this.activityById(req);
    run.completeActivity(act, req.result, req.identity ?? '');
    return {};
  }

  respondActivityTaskFailed(req: Req<'RespondActivityTaskFailedRequest'>): Res<'RespondActivityTaskFailedResponse'> {
    const { run, act } = this.activityByToken(req.taskToken);
    run.failActivity(act, req.failure, req.identity ?? '', req.lastHeartbeatDetails);
    return {};
  }

  respondActivityTaskFailedById(req: Req<'RespondActivityTaskFailedByIdRequest'>): Res<'RespondActivityTaskFailedByIdResponse'> {
    const { run, act } = this.activityById(req);
    run.failActivity(act, req.failure, req.identity ?? '', req.lastHeartbeatDetails);
    return {};
  }

  respondActivityTaskCanceled(req: Req<'RespondActivityTaskCanceledRequest'>): Res<'RespondActivityTaskCanceledResponse'> {
    const { run, act } = this.activityByToken(req.taskToken);
    run.cancelActivityReported(act, req.details, req.identity ?? '');
    return {};
  }

  respondActivityTaskCanceledById(req: Req<'RespondActivityTaskCanceledByIdRequest'>): Res<'RespondActivityTaskCanceledByIdResponse'> {
    const { run, act } = this.activityById(req);
    run.cancelActivityReported(act, req.details, req.identity ?? '');
    return {};
  }

  recordActivityTaskHeartbeat(req: Req<'RecordActivityTaskHeartbeatRequest'>): Res<'RecordActivityTaskHeartbeatResponse'> {
    const { run, act } = this.activityByToken(req.taskToken);
    return run.heartbeat(act, req.details);
  }

  recordActivityTaskHeartbeatById(req: Req<'RecordActivityTaskHeartbeatByIdRequest'>): Res<'RecordActivityTaskHeartbeatByIdResponse'> {
    const { run, act } = this.activityById(req);
    return run.heartbeat(act, req.details);
  }

  // ---- TestService (time skipping) -----------------------------------------------------------------------------

  /**
   * Net LockTimeSkipping/UnlockTimeSkipping balance of the test clients; the server starts with one. Everything adds
   * up in the clock's one lock count (clock.ts), as in the Java test server, with one difference: this balance adds
   * max(balance, 0). The TS testing client's result() unlocks and relocks around each call, so concurrent result()
   * calls unlock more than the test holds (the Java server fails them as unbalanced); floored, the surplus cannot
   * release the locks of outstanding workflow tasks or activities, which would let time skip over their timeouts.
   * UnlockTimeSkippingWithSleep is not floored (see there).
   */
  private clientLocks = 1;

  lockTimeSkipping(): TestRes<'LockTimeSkippingResponse'> {
    if (++this.clientLocks > 0) this.clock.lock();
    return {};
  }

  unlockTimeSkipping(): TestRes<'UnlockTimeSkippingResponse'> {
    if (this.clientLocks-- > 0) this.clock.unlock();
    return {};
  }

  async sleep(req: TestReq<'SleepRequest'>): Promise<TestRes<'SleepResponse'>> {
    const ms = durationMs(req.duration as Parameters<typeof durationMs>[0]) ?? 0;
    await new Promise<void>((resolve) => this.clock.after(ms, resolve));
    return {};
  }

  async sleepUntil(req: TestReq<'SleepUntilRequest'>): Promise<TestRes<'SleepResponse'>> {
    const at = timestampMs(req.timestamp as Parameters<typeof timestampMs>[0]) ?? this.clock.now();
    await new Promise<void>((resolve) => this.clock.at(at, resolve));
    return {};
  }

  /**
   * As the Java test server: gives up one lock of the whole server's count until `duration` of server time has passed,
   * then takes it back. Straight on the clock's count, not floored like the clients' balance: called from inside a
   * running activity (samples-typescript timer-examples: `await env.sleep('2 days')` in the activity, while the test
   * waits in result()), it balances the activity's own lock, so time skips to the workflow's timers.
   */
  async unlockTimeSkippingWithSleep(req: TestReq<'SleepRequest'>): Promise<TestRes<'SleepResponse'>> {
    const ms = durationMs(req.duration as Parameters<typeof durationMs>[0]) ?? 0;
    const woke = new Promise<void>((resolve) =>
      this.clock.after(ms, () => {
        this.clock.lock();
        resolve();
      }),
    );
    this.clock.unlock();
    await woke;
    return {};
  }

  getCurrentTime(): TestRes<'GetCurrentTimeResponse'> {
    return { time: timestamp(this.clock.now()) };
  }

  // ---- Health --------------------------------------------------------------------------------------------------

  check(): Writable<grpc.health.v1.IHealthCheckResponse> {
    return { status: 1 };
  }

  close(): void {
    this.clock.close();
    this.workflowTasks.releaseAll();
    this.activityTasks.releaseAll();
    for (const id of [...this.pendingQueries.keys()]) this.finishQuery(id)?.reject(new ServerError(Status.UNAVAILABLE, 'server shutting down'));
  }
}
