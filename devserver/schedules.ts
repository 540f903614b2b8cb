/**
 * Schedules, with the real server's scheduler semantics (service/worker/scheduler) but kept as server state rather
 * than a system workflow: a spec (cron.ts) yields nominal times on the server's clock; each due time is buffered and
 * the buffer resolved against the overlap policy (SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, TERMINATE_OTHER,
 * ALLOW_ALL) and the running workflow; each start uses the action's workflow id suffixed with the nominal time, the
 * search attributes TemporalScheduledStartTime / TemporalScheduledById, and the last completion result or failure.
 * A schedule waits for its next time with a clock timer, so under time skipping the clock jumps to it like to any
 * timer. Patches trigger, pause, unpause and backfill; a started workflow's close wakes the schedule (buffered starts,
 * pause on failure).
 *
 * With a journal (`--db-filename`), every change of a schedule's state writes its whole state as one `sched` record
 * (the schedule, memo and search attributes as protobuf, then the scheduler's state: last processed time, buffered
 * starts and backfills, running workflows, recent actions, counters, the carried result or failure, request ids), in
 * the same group commit as the workflow start it records; a deletion writes `sched-rm`. The latest record wins on
 * replay and is the only one a compaction keeps. After a restart each schedule runs one iteration as the real
 * scheduler does when it wakes: the times that fell due while the server was down are buffered if they are within
 * the catch-up window (else counted as missed), and the overlap policy sees the workflows still running. A start
 * never repeats: a scheduled start's workflow id carries its nominal time, and a start of this schedule found under it
 * (its state lost with a torn journal tail) is taken as the action made.
 */
import { randomUUID } from 'node:crypto';
import type { ClockTimer } from './clock';
import { CompiledSpec, canonicalSpec, type SpecTime } from './cron';
import type { Engine, Namespace } from './engine';
import { invalidArgument, notFound, requireField, ServerError, Status } from './errors';
import { enums, durationMs, long, num, temporal, timestamp, timestampMs, type IFailure, type IPayloads } from './proto';
import { ExecutionStatus, type WorkflowRun } from './run';
import { encodeSearchAttribute, formatRfc3339 } from './visibility/search-attributes';

type WS = typeof temporal.api.workflowservice.v1;
type Req<K extends keyof WS> = WS[K] extends { create(p?: infer P): unknown } ? P : never;
type ISchedule = temporal.api.schedule.v1.ISchedule;
type ISchedulePatch = temporal.api.schedule.v1.ISchedulePatch;
type IBackfillRequest = temporal.api.schedule.v1.IBackfillRequest;
type IScheduleActionResult = temporal.api.schedule.v1.IScheduleActionResult;
type IWorkflowExecution = temporal.api.common.v1.IWorkflowExecution;

const Overlap = enums.ScheduleOverlapPolicy;

/** The real scheduler's defaults (its "tweakables"). */
const DEFAULT_CATCHUP_WINDOW_MS = 365 * 24 * 3600_000;
const MIN_CATCHUP_WINDOW_MS = 10_000;
const RECENT_ACTIONS = 10;
const RECENT_ACTIONS_IN_LIST = 5;
const FUTURE_ACTIONS = 10;
const FUTURE_ACTIONS_IN_LIST = 5;
const MAX_BUFFER = 1000;
const MAX_MATCHING_TIMES = 1000;

interface BufferedStart {
  nominal: number;
  actual: number;
  overlap: number;
  manual: boolean;
}

interface ScheduleEntry {
  ns: string;
  id: string;
  schedule: ISchedule;
  memo: temporal.api.common.v1.IMemo | null | undefined;
  searchAttributes: temporal.api.common.v1.ISearchAttributes | null | undefined;
  spec: CompiledSpec;
  conflictToken: number;
  createTime: number;
  updateTime?: number;
  /** Nominal times up to here were considered (the last action's time, or the end of a paused stretch). */
  lastProcessed: number;
  buffer: BufferedStart[];
  backfills: IBackfillRequest[];
  running: IWorkflowExecution[];
  recent: IScheduleActionResult[];
  actionCount: number;
  missedCatchupWindow: number;
  overlapSkipped: number;
  bufferDropped: number;
  lastCompletionResult?: IPayloads | null;
  continuedFailure?: IFailure | null;
  timer?: ClockTimer;
  requestIds: Set<string>;
  deleted: boolean;
  /**
   * The journal's latest record of this schedule: its number, the number of the one before (which a compaction also
   * keeps: the latest may not be on disk yet when the file is rewritten), its size, and its content (to write only
   * changes).
   */
  journalled?: { n: number; prev?: number; bytes: number; content: string };
}

const ScheduleProto = temporal.api.schedule.v1.Schedule;
const MemoProto = temporal.api.common.v1.Memo;
const SearchAttributesProto = temporal.api.common.v1.SearchAttributes;
const PayloadsProto = temporal.api.common.v1.Payloads;
const FailureProto = temporal.api.failure.v1.Failure;

/** A protobuf message as base64, for a journal record's JSON head. */
function b64<T>(type: { fromObject(o: object): T; encode(m: T): { finish(): Uint8Array } }, value: object | null | undefined): string | undefined {
  return value ? Buffer.from(type.encode(type.fromObject(value)).finish()).toString('base64') : undefined;
}

function unb64<T>(type: { decode(b: Uint8Array): T }, value: unknown): T | undefined {
  return typeof value === 'string' ? type.decode(Buffer.from(value, 'base64')) : undefined;
}

/** The persistent state of a schedule as a `sched` record's head (its number `n` added by the writer). */
function scheduleRecord(s: ScheduleEntry): Record<string, unknown> {
  return {
    ns: s.ns,
    id: s.id,
    sch: b64(ScheduleProto, s.schedule),
    memo: b64(MemoProto, s.memo),
    sa: b64(SearchAttributesProto, s.searchAttributes),
    ct: s.conflictToken,
    cr: s.createTime,
    up: s.updateTime,
    lp: s.lastProcessed,
    buf: s.buffer.map((b) => [b.nominal, b.actual, b.overlap, b.manual ? 1 : 0]),
    bf: s.backfills.map((b) => [timestampMs(b.startTime) ?? 0, timestampMs(b.endTime) ?? 0, b.overlapPolicy ?? 0]),
    run: s.running.map((ex) => [ex.workflowId, ex.runId]),
    rec: s.recent.map((a) => [
      timestampMs(a.scheduleTime) ?? 0,
      timestampMs(a.actualTime) ?? 0,
      a.startWorkflowResult?.workflowId,
      a.startWorkflowResult?.runId,
      a.startWorkflowStatus ?? 0,
    ]),
    n4: [s.actionCount, s.missedCatchupWindow, s.overlapSkipped, s.bufferDropped],
    lcr: b64(PayloadsProto, s.lastCompletionResult),
    cf: b64(FailureProto, s.continuedFailure),
    rid: [...s.requestIds],
  };
}

function conflictBytes(token: number): Buffer {
  return Buffer.from(String(token));
}

function specError(e: unknown): ServerError {
  return invalidArgument(`Invalid schedule spec: ${(e as Error).message}`);
}

export function installSchedules(engine: Engine) {
  /** Schedules by namespace, then id. */
  const schedules = new Map<string, Map<string, ScheduleEntry>>();
  const byNamespace = (ns: Namespace) => {
    let m = schedules.get(ns.name);
    if (!m) schedules.set(ns.name, (m = new Map()));
    return m;
  };
  const find = (ns: Namespace, id: string | null | undefined): ScheduleEntry => {
    const scheduleId = requireField(id, 'ScheduleId');
    const entry = byNamespace(ns).get(scheduleId);
    if (!entry) throw notFound(`schedule "${scheduleId}" not found`);
    return entry;
  };

  /** The highest record number written or read back, so numbers stay unique across restarts. */
  let recordNumber = 0;
  /** Bytes of superseded records read back at start, handed to the journal once it takes writes. */
  let releasedAtReplay = 0;

  /** Writes the schedule's state to the journal if it changed since the last record (a no-op without a journal). */
  const persist = (s: ScheduleEntry) => {
    const journal = engine.journal;
    if (!journal || s.deleted) return;
    const head = scheduleRecord(s);
    const content = JSON.stringify(head);
    if (s.journalled?.content === content) return;
    const n = ++recordNumber;
    const bytes = journal.record('sched', { ...head, n });
    const prev = s.journalled;
    s.journalled = { n, prev: prev?.n, bytes, content };
    if (prev) journal.released(prev.bytes);
  };

  /** Rebuilds a schedule from its latest `sched` record (replacing an earlier state of it). */
  const restore = (h: Record<string, unknown>, size: number) => {
    const ns = engine.namespaces.get(h.ns as string);
    if (!ns) throw new Error(`schedule record names namespace ${String(h.ns)}, which no earlier record registered`);
    const id = h.id as string;
    const schedule = unb64(ScheduleProto, h.sch)!;
    const [actionCount, missedCatchupWindow, overlapSkipped, bufferDropped] = h.n4 as number[];
    const previous = byNamespace(ns).get(id);
    if (previous?.journalled) releasedAtReplay += previous.journalled.bytes;
    const s: ScheduleEntry = {
      ns: ns.name,
      id,
      schedule,
      memo: unb64(MemoProto, h.memo),
      searchAttributes: unb64(SearchAttributesProto, h.sa),
      spec: new CompiledSpec(schedule.spec ?? {}, `${ns.id}-${id}`),
      conflictToken: h.ct as number,
      createTime: h.cr as number,
      updateTime: h.up as number | undefined,
      lastProcessed: h.lp as number,
      buffer: (h.buf as Array<[number, number, number, number]>).map(([nominal, actual, overlap, manual]) => ({ nominal, actual, overlap, manual: !!manual })),
      backfills: (h.bf as Array<[number, number, number]>).map(([start, end, overlapPolicy]) => ({
        startTime: timestamp(start),
        endTime: timestamp(end),
        overlapPolicy,
      })),
      running: (h.run as Array<[string, string]>).map(([workflowId, runId]) => ({ workflowId, runId })),
      recent: (h.rec as Array<[number, number, string, string, number]>).map(([st, at, workflowId, runId, status]) => ({
        scheduleTime: timestamp(st),
        actualTime: timestamp(at),
        startWorkflowResult: { workflowId, runId },
        startWorkflowStatus: status,
      })),
      actionCount,
      missedCatchupWindow,
      overlapSkipped,
      bufferDropped,
      lastCompletionResult: unb64(PayloadsProto, h.lcr),
      continuedFailure: unb64(FailureProto, h.cf),
      requestIds: new Set(h.rid as string[]),
      deleted: false,
    };
    const n = h.n as number;
    recordNumber = Math.max(recordNumber, n);
    s.journalled = { n, prev: previous?.journalled?.n, bytes: size, content: JSON.stringify(scheduleRecord(s)) };
    byNamespace(ns).set(id, s);
  };

  engine.recordHandlers.set('sched', restore);
  engine.recordHandlers.set('sched-rm', (h, size) => {
    const ns = engine.namespaces.get(h.ns as string);
    const s = ns && byNamespace(ns).get(h.id as string);
    if (s?.journalled) releasedAtReplay += s.journalled.bytes;
    releasedAtReplay += size;
    if (ns) byNamespace(ns).delete(h.id as string);
  });
  // A compaction keeps each live schedule's latest record (and the one before) and nothing of deleted ones.
  engine.recordLive.set('sched', (h) => {
    const j = schedules.get(h.ns as string)?.get(h.id as string)?.journalled;
    return !!j && (j.n === h.n || j.prev === h.n);
  });
  engine.recordLive.set('sched-rm', () => false);
  // After a restart, once every run is back: each schedule wakes as the real scheduler does (times missed while the
  // server was down within the catch-up window, running workflows refreshed), and its timer is armed again.
  engine.register({
    onRestored() {
      if (releasedAtReplay) engine.journal?.released(releasedAtReplay);
      releasedAtReplay = 0;
      for (const byId of schedules.values()) for (const s of byId.values()) processSchedule(s);
    },
  });

  const identity = (s: ScheduleEntry) => `temporal-scheduler-${s.ns}-${s.id}`;
  const state = (s: ScheduleEntry) => (s.schedule.state ??= {});
  const catchupWindow = (s: ScheduleEntry) => {
    const cw = durationMs(s.schedule.policies?.catchupWindow);
    if (cw === undefined || cw === 0) return DEFAULT_CATCHUP_WINDOW_MS;
    return Math.max(cw, MIN_CATCHUP_WINDOW_MS);
  };
  const resolveOverlap = (s: ScheduleEntry, p: number | null | undefined) => {
    if (p) return p;
    return s.schedule.policies?.overlapPolicy || Overlap.SCHEDULE_OVERLAP_POLICY_SKIP;
  };

  /** Validates a schedule's action and spec; returns the schedule with its spec in canonical form. */
  const checkSchedule = (schedule: ISchedule | null | undefined): ISchedule => {
    if (!schedule) throw invalidArgument('Schedule is not set on request.');
    const start = schedule.action?.startWorkflow;
    if (!start) throw invalidArgument('Schedule action is not set on request.');
    requireField(start.workflowId, 'WorkflowId');
    requireField(start.workflowType?.name, 'WorkflowType');
    requireField(start.taskQueue?.name, 'TaskQueue');
    let spec;
    try {
      spec = canonicalSpec(schedule.spec ?? {});
    } catch (e) {
      throw specError(e);
    }
    return { ...schedule, spec, policies: schedule.policies ?? {}, state: schedule.state ?? {} };
  };

  /** Whether a scheduled (not manual) action may run now: not paused, actions left (counting one down if `take`). */
  const canAct = (s: ScheduleEntry, manual: boolean, take: boolean): boolean => {
    if (manual) return true;
    const st = state(s);
    if (st.paused) return false;
    if (!st.limitedActions) return true;
    if (num(st.remainingActions) > 0) {
      if (take) {
        st.remainingActions = long(num(st.remainingActions) - 1);
        s.conflictToken++;
      }
      return true;
    }
    return false;
  };

  const addStart = (s: ScheduleEntry, start: BufferedStart) => {
    if (s.buffer.length >= MAX_BUFFER) {
      s.bufferDropped++;
      return;
    }
    s.buffer.push(start);
  };

  /**
   * Buffers the spec's times in (start, end]. Returns the next time after the range and the last time acted on. Like
   * the real scheduler, times older than the catch-up window are counted as missed, and scheduled times before the
   * last update are dropped.
   */
  const processTimeRange = (s: ScheduleEntry, start: number, end: number, overlap: number, manual: boolean): { next?: SpecTime; last: number } => {
    if (!canAct(s, manual, false)) return { next: s.spec.getNextTime(end), last: end };
    let last = start;
    let next = s.spec.getNextTime(start);
    for (; next && next.next <= end; next = s.spec.getNextTime(next.nominal)) {
      if (!manual && s.updateTime !== undefined && s.updateTime > next.next) continue;
      if (!manual && end - next.next > catchupWindow(s)) {
        s.missedCatchupWindow++;
        continue;
      }
      addStart(s, { nominal: next.nominal, actual: next.next, overlap, manual });
      last = next.next;
    }
    return { next, last };
  };

  /** Drops the running workflows that have closed, noting their status, result or failure (pause on failure). */
  const refreshRunning = (s: ScheduleEntry) => {
    const ns = engine.namespaces.get(s.ns);
    if (!ns) return;
    s.running = s.running.filter((ex) => {
      // By workflow id and first run: a retried or cron-continued run is still this action's workflow.
      const current = ns.current(ex.workflowId!);
      if (!current || current.firstRunId !== ex.runId) return false;
      if (current.isOpen) return true;
      const recent = s.recent.find((a) => a.startWorkflowResult?.workflowId === ex.workflowId);
      if (recent) recent.startWorkflowStatus = current.status;
      const close = current.closeEvent;
      const completed = close?.workflowExecutionCompletedEventAttributes;
      const failure = close?.workflowExecutionFailedEventAttributes?.failure;
      if (completed) {
        s.lastCompletionResult = completed.result;
        s.continuedFailure = undefined;
      } else if (failure) {
        s.continuedFailure = failure;
      }
      const failed = current.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED || current.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT;
      const st = state(s);
      if (s.schedule.policies?.pauseOnFailure && failed && !st.paused) {
        st.paused = true;
        st.notes =
          current.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED
            ? `paused due to workflow failure: ${ex.workflowId}: ${failure?.message ?? ''}`
            : `paused due to workflow timeout: ${ex.workflowId}`;
        s.conflictToken++;
      }
      return false;
    });
  };

  const startWorkflow = (s: ScheduleEntry, start: BufferedStart): IScheduleActionResult | undefined => {
    const action = s.schedule.action!.startWorkflow!;
    const nominalSec = Math.floor(start.nominal / 1000) * 1000;
    // As the real server (AlwaysAppendTimestamp): every start's id carries its nominal time, to the second.
    const workflowId = `${action.workflowId}-${formatRfc3339(nominalSec)}`;
    const allowAll = start.overlap === Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL;
    const fields = { ...(action.searchAttributes?.indexedFields ?? {}) };
    fields.TemporalScheduledStartTime = encodeSearchAttribute('TemporalScheduledStartTime', 'Datetime', nominalSec);
    fields.TemporalScheduledById = encodeSearchAttribute('TemporalScheduledById', 'Keyword', s.id);
    const Reuse = enums.WorkflowIdReusePolicy;
    if (!start.manual) {
      // This schedule already started this nominal time: a journal whose tail was torn kept the start's events but not
      // the schedule's state written with them. The action was taken; it is counted with its run, not started again.
      const first = engine.namespaces.get(s.ns)?.chains.get(workflowId)?.[0];
      if (first && first.started.identity === identity(s)) {
        const current = engine.namespaces.get(s.ns)!.current(workflowId)!;
        return {
          scheduleTime: timestamp(start.actual),
          actualTime: timestamp(first.startTime),
          startWorkflowResult: { workflowId, runId: first.runId },
          startWorkflowStatus: current.status,
        };
      }
    }
    try {
      const { run } = engine.startRun(
        {
          namespace: s.ns,
          workflowId,
          workflowType: action.workflowType!.name!,
          taskQueue: action.taskQueue!.name!,
          input: action.input,
          header: action.header,
          memo: action.memo,
          searchAttributes: { indexedFields: fields },
          executionTimeoutMs: durationMs(action.workflowExecutionTimeout),
          runTimeoutMs: durationMs(action.workflowRunTimeout),
          taskTimeoutMs: durationMs(action.workflowTaskTimeout),
          identity: identity(s),
          requestId: randomUUID(),
          retryPolicy: action.retryPolicy,
          userMetadata: action.userMetadata,
          // ALLOW_ALL runs take no part in the chain of results.
          lastCompletionResult: allowAll ? undefined : s.lastCompletionResult,
          continuedFailure: allowAll ? undefined : s.continuedFailure,
        },
        // Scheduled starts never repeat an id (a guard against duplicates); manual ones may.
        { reuse: start.manual ? Reuse.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE : Reuse.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE },
      );
      return {
        scheduleTime: timestamp(start.actual),
        actualTime: timestamp(run.startTime),
        startWorkflowResult: { workflowId, runId: run.runId },
        startWorkflowStatus: ExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
      };
    } catch (e) {
      engine.log(`schedule ${s.id}: could not start ${workflowId}: ${(e as Error).message}`);
      return undefined;
    }
  };

  /** Resolves the buffer against the overlap policies and starts what may start. True when it should run again. */
  const processBuffer = (s: ScheduleEntry): boolean => {
    refreshRunning(s);
    if (!s.buffer.length) return false;
    const isRunning = s.running.length > 0;
    let nonOverlapping: BufferedStart | undefined;
    const overlapping: BufferedStart[] = [];
    const keep: BufferedStart[] = [];
    let needCancel = false;
    let needTerminate = false;
    for (const start of s.buffer) {
      const policy = resolveOverlap(s, start.overlap);
      if (policy === Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL) {
        overlapping.push(start);
        continue;
      }
      if (!isRunning && !nonOverlapping) {
        nonOverlapping = start;
        continue;
      }
      switch (policy) {
        case Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
          if (keep.length === 0) keep.push(start);
          else s.overlapSkipped++;
          break;
        case Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
          keep.push(start);
          break;
        case Overlap.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
        case Overlap.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
          if (isRunning) {
            if (policy === Overlap.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER) needCancel = true;
            else needTerminate = true;
            // Started once the running one has closed.
            keep.push(start);
          } else {
            // Replaces the start about to be made: only the newest runs.
            nonOverlapping = start;
          }
          break;
        default:
          s.overlapSkipped++;
      }
    }
    s.buffer = keep;
    // Starts made now would be cancelled or terminated at once with the running one.
    const starts = needCancel || needTerminate ? [] : overlapping;
    if (nonOverlapping) starts.push(nonOverlapping);
    let again = false;
    for (const start of starts) {
      if (!canAct(s, start.manual, true)) {
        again = true;
        continue;
      }
      const result = startWorkflow(s, start);
      if (!result) {
        again = true;
        continue;
      }
      s.actionCount++;
      s.recent = [...s.recent, result].slice(-RECENT_ACTIONS);
      // Only the non-overlapping start is tracked as running (the real scheduler's DontTrackOverlapping).
      if (start === nonOverlapping) s.running.push(result.startWorkflowResult!);
    }
    const ns = engine.namespaces.get(s.ns);
    if ((needTerminate || needCancel) && ns) {
      for (const ex of s.running) {
        const run = ns.current(ex.workflowId!);
        if (!run?.isOpen) continue;
        if (needTerminate) run.terminate('terminated by schedule overlap policy', null, identity(s));
        else run.requestCancel('cancelled by schedule overlap policy', identity(s));
      }
    }
    return again && s.buffer.length > 0;
  };

  /** Buffers the times due up to now under the schedule as it is (a patch or update applies after, as on the real server). */
  const catchUp = (s: ScheduleEntry) => {
    const { last } = processTimeRange(s, s.lastProcessed, Math.max(engine.clock.now(), s.lastProcessed), 0, false);
    s.lastProcessed = last;
  };

  /** One iteration of the scheduler: due times, backfills, the buffer; then the timer for the next time. */
  const processSchedule = (s: ScheduleEntry) => {
    if (s.deleted) return;
    catchUp(s);
    for (const b of s.backfills.splice(0)) {
      // The backfill's start time is inclusive.
      processTimeRange(s, (timestampMs(b.startTime) ?? 0) - 1, timestampMs(b.endTime) ?? 0, b.overlapPolicy ?? 0, true);
    }
    for (let i = 0; i < MAX_BUFFER && processBuffer(s); i++);
    armTimer(s);
    persist(s);
  };

  const armTimer = (s: ScheduleEntry) => {
    s.timer?.cancel();
    s.timer = undefined;
    // No timer while paused or out of actions: unpausing processes the schedule again.
    if (s.deleted || !canAct(s, false, false)) return;
    const next = s.spec.getNextTime(s.lastProcessed);
    if (!next) return;
    s.timer = engine.clock.at(next.next, () => processSchedule(s));
  };

  const futureTimes = (s: ScheduleEntry, n: number) => {
    const st = state(s);
    if (st.limitedActions) n = Math.min(n, num(st.remainingActions));
    const out: ReturnType<typeof timestamp>[] = [];
    for (let t = s.spec.getNextTime(s.lastProcessed); t && out.length < n; t = s.spec.getNextTime(t.nominal)) {
      if (s.updateTime !== undefined && s.updateTime > t.next) continue;
      out.push(timestamp(t.next));
    }
    return out;
  };

  const applyPatch = (s: ScheduleEntry, patch: ISchedulePatch) => {
    const trigger = patch.triggerImmediately;
    if (trigger) {
      const at = timestampMs(trigger.scheduledTime) || engine.clock.now();
      addStart(s, { nominal: at, actual: at, overlap: trigger.overlapPolicy ?? 0, manual: true });
    }
    for (const b of patch.backfillRequest ?? []) s.backfills.push(b);
    const st = state(s);
    if (patch.pause) {
      st.paused = true;
      st.notes = patch.pause;
      s.conflictToken++;
    }
    if (patch.unpause) {
      st.paused = false;
      st.notes = patch.unpause;
      s.conflictToken++;
    }
  };

  // A closed workflow of a schedule wakes it: buffered starts may go now, and the result is carried to the next run.
  // After the current call (a retry's or continue-as-new's next run is created right after the close).
  engine.register({
    onRunClosed(run: WorkflowRun) {
      const byId = schedules.get(run.namespace);
      if (!byId?.size) return;
      for (const s of byId.values()) {
        if (!s.running.some((ex) => ex.workflowId === run.workflowId)) continue;
        queueMicrotask(() => processSchedule(s));
      }
    },
  });

  const workflow = {
    createSchedule(req: Req<'CreateScheduleRequest'>) {
      const ns = engine.namespace(req.namespace);
      const scheduleId = requireField(req.scheduleId, 'ScheduleId');
      const existing = byNamespace(ns).get(scheduleId);
      if (existing) {
        if (req.requestId && existing.requestIds.has(req.requestId)) return { conflictToken: conflictBytes(existing.conflictToken) };
        throw new ServerError(Status.ALREADY_EXISTS, `schedule "${scheduleId}" is already registered`, {
          typeName: 'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
          value: { startRequestId: [...existing.requestIds][0] ?? '', runId: '' },
        });
      }
      const schedule = checkSchedule(req.schedule);
      const now = engine.clock.now();
      const s: ScheduleEntry = {
        ns: ns.name,
        id: scheduleId,
        schedule,
        memo: req.memo,
        searchAttributes: req.searchAttributes,
        spec: new CompiledSpec(schedule.spec!, `${ns.id}-${scheduleId}`),
        conflictToken: 1,
        createTime: now,
        lastProcessed: now,
        buffer: [],
        backfills: [],
        running: [],
        recent: [],
        actionCount: 0,
        missedCatchupWindow: 0,
        overlapSkipped: 0,
        bufferDropped: 0,
        requestIds: new Set(req.requestId ? [req.requestId] : []),
        deleted: false,
      };
      byNamespace(ns).set(scheduleId, s);
      if (req.initialPatch) applyPatch(s, req.initialPatch);
      processSchedule(s);
      return { conflictToken: conflictBytes(s.conflictToken) };
    },

    describeSchedule(req: Req<'DescribeScheduleRequest'>) {
      const s = find(engine.namespace(req.namespace), req.scheduleId);
      refreshRunning(s);
      persist(s);
      const st = state(s);
      return {
        schedule: { ...s.schedule, state: { ...st, remainingActions: st.limitedActions ? long(num(st.remainingActions)) : undefined } },
        info: {
          actionCount: long(s.actionCount),
          missedCatchupWindow: long(s.missedCatchupWindow),
          overlapSkipped: long(s.overlapSkipped),
          bufferDropped: long(s.bufferDropped),
          bufferSize: long(s.buffer.length),
          runningWorkflows: s.running,
          recentActions: s.recent,
          futureActionTimes: futureTimes(s, FUTURE_ACTIONS),
          createTime: timestamp(s.createTime),
          updateTime: s.updateTime !== undefined ? timestamp(s.updateTime) : undefined,
        },
        memo: s.memo ?? undefined,
        searchAttributes: s.searchAttributes ?? undefined,
        conflictToken: conflictBytes(s.conflictToken),
      };
    },

    listSchedules(req: Req<'ListSchedulesRequest'>) {
      const ns = engine.namespace(req.namespace);
      if (req.query) throw invalidArgument('ListSchedules: a query is not supported by the embedded server; list all schedules and filter');
      const all = [...byNamespace(ns).values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      let from = 0;
      if (req.nextPageToken?.length) {
        from = Number(Buffer.from(req.nextPageToken).toString('utf8'));
        if (!Number.isInteger(from) || from < 0) throw invalidArgument('NextPageToken: expected a token from a previous page.');
      }
      const size = req.maximumPageSize && req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
      const page = all.slice(from, from + size);
      return {
        schedules: page.map((s) => {
          refreshRunning(s);
          persist(s);
          return {
            scheduleId: s.id,
            memo: s.memo ?? undefined,
            searchAttributes: s.searchAttributes ?? undefined,
            info: {
              spec: s.schedule.spec,
              workflowType: s.schedule.action?.startWorkflow?.workflowType,
              notes: state(s).notes ?? '',
              paused: !!state(s).paused,
              recentActions: s.recent.slice(-RECENT_ACTIONS_IN_LIST),
              futureActionTimes: futureTimes(s, FUTURE_ACTIONS_IN_LIST),
            },
          };
        }),
        nextPageToken: from + size < all.length ? Buffer.from(String(from + size)) : undefined,
      };
    },

    updateSchedule(req: Req<'UpdateScheduleRequest'>) {
      const s = find(engine.namespace(req.namespace), req.scheduleId);
      const schedule = checkSchedule(req.schedule);
      if (req.conflictToken?.length && Buffer.from(req.conflictToken).toString('utf8') !== String(s.conflictToken)) {
        throw new ServerError(Status.FAILED_PRECONDITION, 'conflicting concurrent update');
      }
      catchUp(s);
      s.schedule = schedule;
      s.spec = new CompiledSpec(schedule.spec!, `${engine.namespace(req.namespace).id}-${s.id}`);
      // An empty search attribute map clears them; none leaves them as they are.
      if (req.searchAttributes) s.searchAttributes = req.searchAttributes;
      s.updateTime = engine.clock.now();
      s.conflictToken++;
      processSchedule(s);
      return {};
    },

    patchSchedule(req: Req<'PatchScheduleRequest'>) {
      const s = find(engine.namespace(req.namespace), req.scheduleId);
      if (!req.patch) throw invalidArgument('Patch is not set on request.');
      // Time spent paused is not caught up after unpausing: it is processed as paused first.
      catchUp(s);
      applyPatch(s, req.patch);
      processSchedule(s);
      return {};
    },

    deleteSchedule(req: Req<'DeleteScheduleRequest'>) {
      const ns = engine.namespace(req.namespace);
      const s = find(ns, req.scheduleId);
      s.deleted = true;
      s.timer?.cancel();
      byNamespace(ns).delete(s.id);
      if (engine.journal) engine.journal.released((s.journalled?.bytes ?? 0) + engine.journal.record('sched-rm', { ns: ns.name, id: s.id }));
      return {};
    },

    listScheduleMatchingTimes(req: Req<'ListScheduleMatchingTimesRequest'>) {
      const s = find(engine.namespace(req.namespace), req.scheduleId);
      const start = timestampMs(req.startTime);
      const end = timestampMs(req.endTime);
      if (start === undefined || end === undefined) throw invalidArgument('StartTime and EndTime are required.');
      const out: ReturnType<typeof timestamp>[] = [];
      for (let t = s.spec.getNextTime(start); t && t.next <= end && out.length < MAX_MATCHING_TIMES; t = s.spec.getNextTime(t.nominal)) {
        out.push(timestamp(t.next));
      }
      return { startTime: out };
    },
  };
  return workflow;
}
