/**
 * The model monitor (`monitor/<model>`): one long-running workflow per model that decides when to retrain. It
 * watches data arrive (csv-replay batches on a clock, folder and S3 sources by polling), runs the built-in check on
 * each new batch, and turns drift alerts, performance reports, the schedule and operators' requests into at most
 * one running retraining run plus at most one queued trigger. Its state lives in `MonitorState`, which is also
 * what it carries across continue-as-new; the workflow function only wires handlers and runs the loop.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CheckBatchResult, DetectorStates, RetrainActivities } from '../activities/types';
import { ModelConfigSchema, SEVERITY_RANK, SourceKinds, sameModelConfig, type ModelConfig, type Severity } from './config';
import {
  ConfigureSchema,
  configureUpdate,
  Decisions,
  describeIssues,
  DriftDetectedSchema,
  driftDetectedSignal,
  MonitorStages,
  monitorStatusQuery,
  PauseResumeSchema,
  pauseUpdate,
  PerformanceReportedSchema,
  performanceReportedSignal,
  RetrainDecision,
  RetrainModel,
  RetrainNowSchema,
  retrainNowUpdate,
  RetrainStage,
  RetrainTrigger,
  resumeUpdate,
  runFinishedSignal,
  runWorkflowId,
  Stages,
  TASK_QUEUE,
  TriggerKinds,
  WorkflowTypes,
  type MonitorInput,
  type MonitorStatus,
  type RejectedMessages,
  type RetrainNowResult,
  type RunInput,
  type RunResult,
  type RunSummary,
  type TriggerInfo,
} from './definitions';
import { formatDuration } from './duration';

const probe = proxyActivities<RetrainActivities>({
  taskQueue: TASK_QUEUE,
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['BadInput'] },
});
/** Scoring a batch and feeding the detectors reads data and models: minutes, not seconds. */
const check = proxyActivities<RetrainActivities>({
  taskQueue: TASK_QUEUE,
  startToCloseTimeout: '15 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5, nonRetryableErrorTypes: ['BadInput'] },
});

const MAX_RUNS = 50;
const MAX_REJECTED_REASONS = 5;
/** Alert ids remembered for deduplication; an alert redelivered after this many newer ones counts again. */
const MAX_SEEN_EVENT_IDS = 2000;
const MAX_TRIGGER_EVENT_IDS = 200;
/** How long to wait before probing a source again after the probe failed. */
const PROBE_RETRY_MS = 5 * 60_000;
/**
 * A run started by an earlier execution (before continue-as-new) is checked on the server after this long, then at
 * doubling intervals up to RUN_CHECK_MAX_MS: a run that was terminated or timed out never signals its end.
 */
const RUN_CHECK_FIRST_MS = 60_000;
const RUN_CHECK_MAX_MS = 30 * 60_000;

interface ActiveRun {
  readonly workflowId: string;
  readonly n: number;
  readonly trigger: TriggerInfo;
  readonly startedAt: string;
  /** Reserved, but the child not started yet (the main loop starts it). */
  started: boolean;
}

/** A drift storm: alerts within `debounce` of the first one, folded into (at most) one trigger. */
interface Storm {
  readonly firstAt: number;
  readonly sources: string[];
  readonly eventIds: string[];
  severity: Severity;
  fired: boolean;
}

/** Everything the monitor carries across continue-as-new. */
export interface MonitorCarried {
  readonly monitorStart: number;
  readonly configVersion: number;
  readonly paused: { by: string; reason: string; at: string } | null;
  readonly productionVersion: number | null;
  readonly canary: { version: number; weight: number } | null;
  readonly activeRun: ActiveRun | null;
  readonly lastRunStartedAt: number | null;
  readonly queued: TriggerInfo | null;
  readonly runs: RunSummary[];
  readonly rejected: RejectedMessages;
  readonly seenEventIds: string[];
  readonly storm: Storm | null;
  readonly nextRunNumber: number;
  readonly source: { batches: number; finite: boolean } | null;
  /** The last probe of the source: when, and why it failed (absent in state carried from before it existed). */
  readonly probe?: { at: string; error?: string };
  readonly arrived: number;
  readonly checked: number;
  readonly lastAccuracy?: number;
  readonly detectors: DetectorStates;
  readonly sinceBatch: number;
  readonly nextScheduleAt: number | null;
  readonly nextPollAt: number;
  readonly needsProbe: boolean;
  readonly drift: DriftCounts;
  readonly continuedAsNew: number;
  /** Labelled batches when the last run started (absent in state carried by monitors from before it existed). */
  readonly lastRunLabelled?: number | null;
  /** When to next ask the server about the active run, started by an earlier execution (absent: at once). */
  readonly runCheck?: RunCheck | null;
  /** A run that ended without its wrap-up (terminated, timed out): its canary, if any, is still to clear. */
  readonly clearCanaryOf?: string | null;
}

interface RunCheck {
  readonly at: number;
  readonly every: number;
}

/**
 * Marks the executions that check on a run carried over continue-as-new (older ones only waited for its signal, and
 * a run terminated after the continue-as-new kept the monitor's run slot forever).
 */
const CARRIED_RUN_CHECK_PATCH = 'monitor-checks-carried-run';
/** Marks the executions that clear the canary a lost run left behind (older ones left it, and the next rollout failed). */
const LOST_RUN_CANARY_PATCH = 'monitor-clears-lost-run-canary';

/** Marks the histories that retry an initial run that produced no model (older histories never did). */
const INITIAL_RETRY_PATCH = 'monitor-retries-initial-run';

interface DriftCounts {
  received: number;
  duplicates: number;
  belowSeverity: number;
  folded: number;
}

interface Alert {
  readonly eventId?: string;
  readonly source: string;
  readonly severity: Severity;
}

export class MonitorState implements MonitorCarried {
  monitorStart: number;
  configVersion = 1;
  paused: MonitorCarried['paused'] = null;
  productionVersion: number | null = null;
  canary: MonitorCarried['canary'] = null;
  activeRun: ActiveRun | null = null;
  lastRunStartedAt: number | null = null;
  queued: TriggerInfo | null = null;
  runs: RunSummary[] = [];
  rejected: RejectedMessages = { count: 0, last: [] };
  seenEventIds: string[] = [];
  storm: Storm | null = null;
  nextRunNumber = 1;
  source: MonitorCarried['source'] = null;
  probe: MonitorCarried['probe'];
  arrived = 0;
  checked = 0;
  lastAccuracy?: number;
  detectors: DetectorStates = {};
  sinceBatch = 0;
  nextScheduleAt: number | null = null;
  nextPollAt = 0;
  needsProbe = true;
  drift: DriftCounts = { received: 0, duplicates: 0, belowSeverity: 0, folded: 0 };
  continuedAsNew = 0;
  lastRunLabelled: number | null = null;
  /** Set only while the active run was started by an earlier execution: this one has no child handle to await. */
  runCheck: RunCheck | null = null;
  clearCanaryOf: string | null = null;
  /** Set by handlers when the main loop has something to do (start a run, probe again, publish a change). */
  wake = false;
  private readonly seen: Set<string>;
  private published = '';

  constructor(
    public config: ModelConfig,
    carried?: MonitorCarried,
  ) {
    this.monitorStart = Date.now();
    if (carried) Object.assign(this, carried);
    this.seen = new Set(this.seenEventIds);
    if (this.nextScheduleAt === null && config.triggers.schedule) this.nextScheduleAt = this.monitorStart + config.triggers.schedule.every;
  }

  carry(): MonitorCarried {
    return {
      monitorStart: this.monitorStart,
      configVersion: this.configVersion,
      paused: this.paused,
      productionVersion: this.productionVersion,
      canary: this.canary,
      activeRun: this.activeRun,
      lastRunStartedAt: this.lastRunStartedAt,
      queued: this.queued,
      runs: this.runs,
      rejected: this.rejected,
      seenEventIds: this.seenEventIds,
      storm: this.storm,
      nextRunNumber: this.nextRunNumber,
      source: this.source,
      probe: this.probe,
      arrived: this.arrived,
      checked: this.checked,
      lastAccuracy: this.lastAccuracy,
      detectors: this.detectors,
      sinceBatch: this.sinceBatch,
      nextScheduleAt: this.nextScheduleAt,
      nextPollAt: this.nextPollAt,
      needsProbe: this.needsProbe,
      drift: this.drift,
      continuedAsNew: this.continuedAsNew + 1,
      lastRunLabelled: this.lastRunLabelled,
      // A run this execution started ends, if not by its signal, as a child whose end the server records here before
      // it lets this execution close; the next execution has only the signal, so it checks, a minute from now first.
      runCheck: this.activeRun?.started ? (this.runCheck ?? { at: Date.now() + RUN_CHECK_FIRST_MS, every: RUN_CHECK_FIRST_MS }) : null,
      clearCanaryOf: this.clearCanaryOf,
    };
  }

  get model(): string {
    return this.config.model;
  }

  /** Batches whose labels have arrived. */
  get labelled(): number {
    return Math.max(0, this.arrived - this.config.data.source.labelDelayBatches);
  }

  reject(reason: string): void {
    log.warn('message rejected', { reason });
    this.rejected = { count: this.rejected.count + 1, last: [...this.rejected.last, reason].slice(-MAX_REJECTED_REASONS) };
  }

  inCooldown(now: number): boolean {
    return this.lastRunStartedAt !== null && now < this.lastRunStartedAt + this.config.triggers.cooldown;
  }

  // ----- triggers ---------------------------------------------------------------------------------------------

  /**
   * Starts a run for this trigger now, or queues it. A trigger that cannot start (a run is active, the cooldown
   * is on, or the monitor is paused) becomes the queued trigger, or merges into the one already queued: merging
   * rather than dropping keeps every reason (and event id) on record and keeps a person's request attached, so the
   * person who asked cannot approve the run, while still starting at most one run for all of them.
   */
  requestRun(trigger: TriggerInfo): RetrainNowResult {
    const now = Date.now();
    if (this.activeRun || this.paused || this.inCooldown(now)) {
      this.queued = this.queued ? mergeTriggers(this.queued, trigger) : trigger;
      this.wake = true;
      return { runWorkflowId: runWorkflowId(this.model, this.nextRunNumber), queued: true };
    }
    return { runWorkflowId: this.reserve(trigger, now), queued: false };
  }

  /** Reserves the next run number for a trigger; the main loop starts the child. */
  private reserve(trigger: TriggerInfo, now: number): string {
    const n = this.nextRunNumber++;
    const workflowId = runWorkflowId(this.model, n);
    this.activeRun = { workflowId, n, trigger, startedAt: new Date(now).toISOString(), started: false };
    this.runCheck = null;
    this.lastRunStartedAt = now;
    this.lastRunLabelled = this.labelled;
    this.runs = [...this.runs, { workflowId, trigger: trigger.kind, decision: null, startedAt: new Date(now).toISOString() }].slice(-MAX_RUNS);
    this.wake = true;
    return workflowId;
  }

  /** Starts the queued trigger once nothing holds it back. */
  releaseQueued(now: number): void {
    if (this.queued && !this.activeRun && !this.paused && !this.inCooldown(now)) {
      const trigger = this.queued;
      this.queued = null;
      this.reserve(trigger, now);
    }
  }

  onAlert(alert: Alert): void {
    this.drift.received++;
    if (alert.eventId !== undefined) {
      if (this.seen.has(alert.eventId)) {
        this.drift.duplicates++;
        return;
      }
      this.remember(alert.eventId);
    }
    const drift = this.config.triggers.drift;
    if (SEVERITY_RANK[alert.severity] < SEVERITY_RANK[drift.minSeverity]) {
      this.drift.belowSeverity++;
      return;
    }
    const now = Date.now();
    if (this.storm && now - this.storm.firstAt > drift.debounce) this.storm = null;
    if (!this.storm) this.storm = { firstAt: now, sources: [], eventIds: [], severity: alert.severity, fired: false };
    const storm = this.storm;
    if (!storm.sources.includes(alert.source)) storm.sources.push(alert.source);
    if (alert.eventId !== undefined && storm.eventIds.length < MAX_TRIGGER_EVENT_IDS) storm.eventIds.push(alert.eventId);
    if (SEVERITY_RANK[alert.severity] > SEVERITY_RANK[storm.severity]) storm.severity = alert.severity;
    if (storm.fired) {
      this.drift.folded++;
      return;
    }
    if (storm.sources.length < drift.k) return;
    storm.fired = true;
    this.requestRun({
      kind: TriggerKinds.drift,
      detail: `drift: ${storm.eventIds.length || 1} alert(s) from ${storm.sources.join(', ')} (${storm.severity})`,
      at: new Date(now).toISOString(),
      eventIds: [...storm.eventIds],
    });
  }

  private remember(eventId: string): void {
    this.seen.add(eventId);
    this.seenEventIds.push(eventId);
    while (this.seenEventIds.length > MAX_SEEN_EVENT_IDS) this.seen.delete(this.seenEventIds.shift()!);
  }

  onPerformance(metric: string, value: number, source: string): void {
    const perf = this.config.triggers.performance;
    if (!perf || perf.metric !== metric) return;
    const worse = metric === 'log_loss' ? value > perf.threshold : value < perf.threshold;
    if (!worse) return;
    this.requestRun({ kind: TriggerKinds.performance, detail: `performance: ${metric} ${round(value)} from ${source} (threshold ${perf.threshold})`, at: new Date().toISOString() });
  }

  onRunFinished(result: RunResult & { workflowId: string }): void {
    const i = this.runs.findIndex((r) => r.workflowId === result.workflowId);
    if (i >= 0 && this.runs[i].decision === null) {
      this.runs[i] = { ...this.runs[i], decision: result.decision, endedAt: new Date().toISOString(), candidateVersion: result.candidateVersion };
      this.runs = [...this.runs];
    }
    if (this.activeRun?.workflowId !== result.workflowId) return;
    this.activeRun = null;
    this.runCheck = null;
    if (result.decision === Decisions.promoted && result.productionVersion !== null) {
      if (result.productionVersion !== this.productionVersion) this.detectors = {};
      this.productionVersion = result.productionVersion;
      this.canary = null;
    }
    if (result.trainedThroughBatch !== undefined) this.sinceBatch = Math.max(this.sinceBatch, result.trainedThroughBatch + 1);
    this.wake = true;
  }

  /**
   * A run that ended without telling us (terminated, timed out, or never started). One that started ended without
   * its wrap-up, which clears its canary: the main loop clears it instead.
   */
  onRunLost(workflowId: string, why: string, started = true): void {
    const parsed = this.activeRun?.workflowId === workflowId ? this.activeRun : undefined;
    const known = this.runs.find((r) => r.workflowId === workflowId);
    if (!parsed && known?.decision !== null) return;
    log.warn('run ended without reporting', { workflowId, why });
    if (started) this.clearCanaryOf = workflowId;
    this.onRunFinished({ workflowId, model: this.model, n: parsed?.n ?? 0, decision: Decisions.failed, productionVersion: this.productionVersion });
  }

  onCheck(batch: number, r: CheckBatchResult): void {
    this.checked++;
    // The detectors watch one model's error stream: a different production model (a promotion, or an operator's
    // rollback seen here first) starts a new stream, and the old one's statistics would raise false alarms on it.
    this.detectors = r.aliases.production !== this.productionVersion ? {} : r.detectors;
    if (r.accuracy !== undefined) this.lastAccuracy = r.accuracy;
    this.productionVersion = r.aliases.production;
    this.canary = r.aliases.canary;
    for (const a of r.alerts) this.onAlert({ eventId: `${a.source}@batch-${batch}`, source: a.source, severity: a.severity });
    if (r.accuracy !== undefined && r.labelled > 0) this.onPerformance('accuracy', r.accuracy, 'builtin');
  }

  // ----- the first model -----------------------------------------------------------------------------------------

  /** No model yet, and the initial run (or every run so far) ended without one: the monitor waits to retry. */
  get waitingForFirstModel(): boolean {
    return this.productionVersion === null && this.canary === null && this.nextRunNumber > 1 && !this.activeRun;
  }

  /**
   * Labelled batches at which the next initial attempt is due: `triggers.initialBatches` more than when the last run
   * started. With no production model nothing is scored, so no detector can ever fire, and without a retry the model
   * would wait forever. Waiting for initialBatches new batches, rather than one, gives each attempt as much new data
   * as the config says a first model needs (a candidate refused on batches 0-3 is likely refused again on 0-4, with
   * a holdout mostly the same rows), and bounds the cost at one attempt per initialBatches batches; with the default
   * (1) that is one attempt per new labelled batch. The cooldown applies as to any run. A monitor carried from before
   * this field existed retries once it sees initialBatches labelled batches, as a fresh one would.
   */
  get nextInitialAttemptAt(): number {
    return (this.lastRunLabelled ?? 0) + this.config.triggers.initialBatches;
  }

  // ----- configuration and clock --------------------------------------------------------------------------------

  /**
   * Applies a new config and counts a version. A config identical to the current one (deep-equal after parsing)
   * changes nothing, not even the version: update-with-start (`retrain monitor start`, the demo) sends the start
   * config again as its `configure` update, and a fresh monitor is at version 1.
   */
  configure(config: ModelConfig): void {
    if (sameModelConfig(config, this.config)) return;
    const before = this.config.triggers.schedule?.every;
    this.config = config;
    this.configVersion++;
    this.needsProbe = true;
    const every = config.triggers.schedule?.every;
    if (every === undefined) this.nextScheduleAt = null;
    else if (every !== before || this.nextScheduleAt === null) this.nextScheduleAt = Date.now() + every;
    this.wake = true;
  }

  /** How many batches exist at `now` by the source's rule (csv-replay: the replay clock; others: the last probe). */
  available(now: number): number {
    if (!this.source) return this.arrived;
    const src = this.config.data.source;
    if (src.kind !== SourceKinds.csvReplay) return this.source.batches;
    const total = Math.min(this.source.batches, src.maxBatches ?? Infinity);
    return Math.min(total, Math.floor((now - this.monitorStart) / src.every) + 1);
  }

  /** When the loop must wake next without a message; undefined: only a message can wake it. */
  nextWakeAt(now: number): number | undefined {
    const times: number[] = [];
    const src = this.config.data.source;
    if (this.needsProbe) times.push(this.nextPollAt);
    else if (src.kind === SourceKinds.csvReplay) {
      const total = this.source ? Math.min(this.source.batches, src.maxBatches ?? Infinity) : 0;
      if (this.arrived < total) times.push(this.monitorStart + this.arrived * src.every);
    } else times.push(this.nextPollAt);
    if (this.nextScheduleAt !== null) times.push(this.nextScheduleAt);
    if (this.queued && !this.activeRun && !this.paused && this.lastRunStartedAt !== null) times.push(this.lastRunStartedAt + this.config.triggers.cooldown);
    if (this.activeRun?.started && this.runCheck) times.push(this.runCheck.at);
    const next = times.length ? Math.min(...times) : undefined;
    return next === undefined ? undefined : Math.max(next, now);
  }

  // ----- what others see --------------------------------------------------------------------------------------

  status(): MonitorStatus {
    return {
      model: this.model,
      paused: this.paused !== null,
      productionVersion: this.productionVersion,
      ...(this.canary ? { canary: this.canary } : {}),
      activeRun: this.activeRun?.workflowId ?? null,
      ...(this.queued ? { queuedTrigger: this.queued } : {}),
      runs: this.runs,
      rejectedMessages: this.rejected,
      batches: { arrived: this.arrived, checked: this.checked, ...(this.lastAccuracy !== undefined ? { lastAccuracy: this.lastAccuracy } : {}) },
      configVersion: this.configVersion,
      nextRunNumber: this.nextRunNumber,
      drift: { ...this.drift },
      continuedAsNew: this.continuedAsNew,
      ...(this.probe ? { source: { batches: this.source?.batches ?? null, ...this.probe } } : {}),
      ...(this.waitingForFirstModel
        ? {
            waitingForFirstModel: {
              attempts: this.nextRunNumber - 1,
              lastDecision: this.runs[this.runs.length - 1]?.decision ?? null,
              labelledBatches: this.labelled,
              nextAttemptAtLabelledBatches: this.nextInitialAttemptAt,
            },
          }
        : {}),
    };
  }

  /** Keeps search attributes (only when they change: each upsert is a history event) and current details current. */
  publish(): void {
    const stage = this.paused ? MonitorStages.paused : this.activeRun ? MonitorStages.running : MonitorStages.watching;
    const last = this.runs[this.runs.length - 1];
    const pairs = [
      { key: RetrainModel, value: this.model },
      { key: RetrainStage, value: stage },
      ...(last ? [{ key: RetrainTrigger, value: last.trigger }] : []),
      ...(last?.decision ? [{ key: RetrainDecision, value: last.decision }] : []),
    ];
    const key = JSON.stringify(pairs.map((p) => p.value));
    if (key !== this.published) {
      this.published = key;
      upsertSearchAttributes(pairs);
    }
    const parts = [`**${stage}**`, this.productionVersion === null ? 'no production model' : `production v${this.productionVersion}`];
    if (this.canary) parts.push(`canary v${this.canary.version} at ${Math.round(this.canary.weight * 100)}%`);
    if (this.activeRun) parts.push(`run ${this.activeRun.workflowId} (${this.activeRun.trigger.kind})`);
    if (this.queued) parts.push(`queued: ${this.queued.kind}`);
    if (this.paused) parts.push(`paused by ${this.paused.by}: ${this.paused.reason}`);
    if (this.waitingForFirstModel && !this.queued) {
      const last = this.runs[this.runs.length - 1];
      parts.push(`waiting for a first model: ${last ? `${last.workflowId} ended ${last.decision ?? 'without a decision'}; ` : ''}next initial attempt at ${this.nextInitialAttemptAt} labelled batches (${this.labelled} now)`);
    }
    parts.push(`${this.arrived} batches`);
    // A source that cannot be read otherwise looks like one with no data yet.
    if (this.probe?.error) parts.push(`data source: ${this.probe.error}`);
    setCurrentDetails(parts.join(' · '));
  }
}

/** The innermost cause's message: what actually went wrong under the activity and application failures. */
function rootMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

function mergeTriggers(a: TriggerInfo, b: TriggerInfo): TriggerInfo {
  const eventIds = [...(a.eventIds ?? []), ...(b.eventIds ?? [])].slice(0, MAX_TRIGGER_EVENT_IDS);
  const detail = `${a.detail}; then ${b.detail}`;
  return {
    kind: a.kind,
    detail: detail.length > 300 ? `${detail.slice(0, 297)}...` : detail,
    at: a.at,
    ...(a.requestedBy ?? b.requestedBy ? { requestedBy: a.requestedBy ?? b.requestedBy } : {}),
    ...(eventIds.length ? { eventIds } : {}),
  };
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function refuse(message: string): never {
  throw ApplicationFailure.nonRetryable(message, 'InvalidUpdate');
}

export async function modelMonitor(input: MonitorInput): Promise<void> {
  const parsed = ModelConfigSchema.safeParse(input.config);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(describeIssues('config', parsed.error), 'BadInput');
  const state = new MonitorState(parsed.data, input.carried as MonitorCarried | undefined);
  // A run carried over continue-as-new is checked on the server from time to time (state carried by an older
  // execution has no runCheck: at once). Asked only with such a run, so executions without one record no marker.
  if (state.activeRun?.started && patched(CARRIED_RUN_CHECK_PATCH)) state.runCheck ??= { at: Date.now(), every: RUN_CHECK_FIRST_MS };
  else state.runCheck = null;

  setHandler(monitorStatusQuery, () => state.status());

  setHandler(driftDetectedSignal, (raw) => {
    const r = DriftDetectedSchema.safeParse(raw);
    if (!r.success) return state.reject(describeIssues('driftDetected', r.error));
    state.onAlert(r.data);
  });
  setHandler(performanceReportedSignal, (raw) => {
    const r = PerformanceReportedSchema.safeParse(raw);
    if (!r.success) return state.reject(describeIssues('performanceReported', r.error));
    state.onPerformance(r.data.metric, r.data.value, r.data.source);
  });
  setHandler(runFinishedSignal, (result) => {
    if (!result || typeof result.workflowId !== 'string' || typeof result.decision !== 'string') return state.reject('runFinished: expected a run result with workflowId and decision');
    state.onRunFinished(result);
  });

  setHandler(
    retrainNowUpdate,
    (u) => state.requestRun({ kind: TriggerKinds.manual, detail: `manual: ${u.reason.trim()}`, requestedBy: u.requestedBy.trim(), at: new Date().toISOString() }),
    {
      validator: (u) => {
        const r = RetrainNowSchema.safeParse(u);
        if (!r.success) refuse(describeIssues('retrainNow', r.error));
        if (state.paused) refuse(`retrainNow: the monitor is paused (by ${state.paused.by}: ${state.paused.reason}); resume it first`);
      },
    },
  );
  const pauseResumeValidator = (message: string) => (u: unknown) => {
    const r = PauseResumeSchema.safeParse(u);
    if (!r.success) refuse(describeIssues(message, r.error));
  };
  setHandler(
    pauseUpdate,
    (u) => {
      state.paused = { by: u.by, reason: u.reason, at: new Date().toISOString() };
      state.wake = true;
      return state.status();
    },
    { validator: pauseResumeValidator('pause') },
  );
  setHandler(
    resumeUpdate,
    (u) => {
      if (state.paused) log.info('resumed', { by: u.by, reason: u.reason });
      state.paused = null;
      state.wake = true;
      return state.status();
    },
    { validator: pauseResumeValidator('resume') },
  );
  setHandler(
    configureUpdate,
    (u) => {
      state.configure(ModelConfigSchema.parse(u.config));
      return { version: state.configVersion };
    },
    {
      validator: (u) => {
        const r = ConfigureSchema.safeParse(u);
        if (!r.success) refuse(describeIssues('configure', r.error));
        if (r.data.config.model !== state.model) refuse(`configure.config.model: the model name cannot change (expected ${JSON.stringify(state.model)}, got ${JSON.stringify(r.data.config.model)})`);
      },
    },
  );

  for (;;) {
    // Cleared before the pass, so a message handled while the pass awaits an activity makes the loop go round again.
    state.wake = false;
    await tick(state);
    state.publish();
    if (shouldContinueAsNew(input)) break;
    const now = Date.now();
    const wakeAt = state.nextWakeAt(now);
    // The history grows with every signal even when nothing else happens, so its length can end the wait too.
    const woken = () => state.wake || shouldContinueAsNew(input);
    if (wakeAt === undefined) await condition(woken);
    else if (wakeAt > now) await condition(woken, wakeAt - now);
  }

  // Handlers still running would be cut off by continue-as-new; signals that arrive meanwhile are handled in this
  // run (the server refuses to close a run with unseen events), so nothing is lost.
  await condition(allHandlersFinished);
  await continueAsNew<typeof modelMonitor>({ ...input, config: state.config, carried: state.carry() });
}

function shouldContinueAsNew(input: MonitorInput): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || (input.historyLimit !== undefined && info.historyLength > input.historyLimit);
}

/** One pass: probe, take in new batches, apply the initial and scheduled triggers, start what may start. */
async function tick(state: MonitorState): Promise<void> {
  const config = state.config;
  const src = config.data.source;
  let now = Date.now();

  const polling = src.kind !== SourceKinds.csvReplay;
  if (state.needsProbe || (polling && now >= state.nextPollAt)) {
    try {
      const p = await probe.probeSource({ config });
      state.source = { batches: p.batches, finite: p.finite };
      state.probe = { at: new Date().toISOString() };
      state.needsProbe = false;
      state.nextPollAt = Date.now() + (polling ? src.pollEvery : 0);
    } catch (err) {
      // The activity failure's own message is generic ("Activity task failed"); the cause says what is wrong.
      const error = rootMessage(err);
      log.error('probing the data source failed', { error });
      state.probe = { at: new Date().toISOString(), error };
      state.nextPollAt = Date.now() + PROBE_RETRY_MS;
    }
  }

  if (state.activeRun?.started && state.runCheck && Date.now() >= state.runCheck.at) await checkCarriedRun(state, state.activeRun, state.runCheck);

  // One batch at a time: each may raise alerts, and a long backlog may need a continue-as-new in between.
  while (state.arrived < state.available(Date.now())) {
    const batch = state.arrived;
    state.arrived++;
    if (config.triggers.builtin.enabled && (state.productionVersion !== null || state.canary !== null)) {
      const delay = src.labelDelayBatches;
      try {
        const r = await check.checkBatch({
          config,
          batch,
          labelsForBatch: batch - delay >= 0 ? batch - delay : null,
          production: state.productionVersion !== null ? { version: state.productionVersion } : null,
          canary: state.canary,
          detectors: state.detectors,
          // Workflow time, so predictions and outcomes line up with the canary's observation windows, which the
          // run measures in workflow time too (under time skipping the worker's clock is far behind).
          at: new Date().toISOString(),
        });
        state.onCheck(batch, r);
      } catch (err) {
        log.error('the built-in check failed', { batch, error: err instanceof Error ? err.message : String(err) });
      }
    }
    if (workflowInfo().continueAsNewSuggested) break;
  }

  now = Date.now();
  if (state.productionVersion === null && state.nextRunNumber === 1 && !state.activeRun && !state.queued && state.labelled >= config.triggers.initialBatches) {
    state.requestRun({ kind: TriggerKinds.initial, detail: `initial: ${state.labelled} labelled batches, no production model`, at: new Date(now).toISOString() });
  } else if (state.waitingForFirstModel && !state.queued && state.labelled >= state.nextInitialAttemptAt && patched(INITIAL_RETRY_PATCH)) {
    // The patch is asked only when a retry is due, so its marker lands just before the run it starts.
    const last = state.runs[state.runs.length - 1];
    state.requestRun({
      kind: TriggerKinds.initial,
      detail: `initial, attempt ${state.nextRunNumber}: ${state.labelled} labelled batches, no production model${last ? ` (${last.workflowId} ended ${last.decision ?? 'without a decision'})` : ''}`,
      at: new Date(now).toISOString(),
    });
  }
  const schedule = config.triggers.schedule;
  if (schedule && state.nextScheduleAt !== null && now >= state.nextScheduleAt) {
    // Only the trigger's text: it reaches history as the child's input, which replay does not compare.
    state.requestRun({ kind: TriggerKinds.schedule, detail: `schedule: every ${formatDuration(schedule.every, { exact: true })}`, at: new Date(now).toISOString() });
    while (state.nextScheduleAt <= now) state.nextScheduleAt += schedule.every;
  }
  if (state.clearCanaryOf !== null) {
    // Asked only when a lost run is on record, so its marker lands just before the clearing; in a history from
    // before, it is absent and the run's canary is left as it was then.
    if (patched(LOST_RUN_CANARY_PATCH)) await clearLostCanary(state, state.clearCanaryOf);
    else state.clearCanaryOf = null;
  }
  state.releaseQueued(now);
  if (state.activeRun && !state.activeRun.started) await startRun(state, state.activeRun);
}

/**
 * Asks the server how the active run, started by an earlier execution, stands: a run that ended without signalling
 * (terminated, timed out) frees the slot, one that completed reports its result; one still running is checked
 * again later, at twice the interval (at most RUN_CHECK_MAX_MS).
 */
async function checkCarriedRun(state: MonitorState, run: ActiveRun, check: RunCheck): Promise<void> {
  try {
    const outcome = await probe.runOutcome({ workflowId: run.workflowId });
    if (outcome.status === 'completed') state.onRunFinished({ ...outcome.result, workflowId: run.workflowId });
    else if (outcome.status !== 'running') state.onRunLost(run.workflowId, `${outcome.status}: ${outcome.detail}`);
  } catch (err) {
    log.error('checking the run failed', { workflowId: run.workflowId, error: rootMessage(err) });
  }
  if (state.activeRun?.workflowId === run.workflowId && state.runCheck) {
    const every = Math.min(check.every * 2, RUN_CHECK_MAX_MS);
    state.runCheck = { at: Date.now() + every, every };
  }
}

/** Clears the canary of a run that ended without its wrap-up (clearCanary leaves any other run's canary alone). */
async function clearLostCanary(state: MonitorState, workflowId: string): Promise<void> {
  state.clearCanaryOf = null;
  try {
    const r = await probe.clearCanary({ runWorkflowId: workflowId, model: state.model, by: 'retrain', reason: `${workflowId} ended without clearing its canary (terminated or timed out)` });
    if (r.moved) state.canary = null;
  } catch (err) {
    log.error('clearing the canary of a lost run failed', { workflowId, error: rootMessage(err) });
  }
}

async function startRun(state: MonitorState, run: ActiveRun): Promise<void> {
  run.started = true;
  const input: RunInput = {
    model: state.model,
    n: run.n,
    config: state.config,
    trigger: run.trigger,
    labelledBatches: state.labelled,
    sinceBatch: state.sinceBatch,
    productionVersion: state.productionVersion,
  };
  try {
    const child = await startChild(WorkflowTypes.retrainingRun, {
      workflowId: run.workflowId,
      taskQueue: TASK_QUEUE,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `${state.model} #${run.n}: ${run.trigger.detail}`,
      typedSearchAttributes: [
        { key: RetrainModel, value: state.model },
        { key: RetrainTrigger, value: run.trigger.kind },
        { key: RetrainStage, value: Stages.collect },
      ],
      args: [input],
    });
    // The run signals runFinished itself; its result is the backstop for a run that was terminated or timed out
    // (only while this execution lasts: after continue-as-new, the signal is the only news).
    child.result().then(
      (r: RunResult) => state.onRunFinished({ ...r, workflowId: run.workflowId }),
      (err: unknown) => state.onRunLost(run.workflowId, err instanceof Error ? err.message : String(err)),
    );
  } catch (err) {
    state.onRunLost(run.workflowId, `could not start: ${err instanceof Error ? err.message : String(err)}`, false);
  }
}

