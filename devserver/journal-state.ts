/**
 * The server's state in the journal (journal.ts): what each record kind means, how the engine writes them, and the
 * rebuild on start. History events are the source of truth; runs are rebuilt by feeding every event to the run it
 * belongs to (`WorkflowRun.replayEvent`, which derives status, timers, activities, search attributes and memo with the
 * same methods the live path uses), then each run resumes (`WorkflowRun.resume`: timeouts and timers re-armed at
 * their original deadlines, activities back on their queues or waiting for their worker, the pending workflow task
 * rescheduled). Components then rebuild what they derive (child links, updates, visibility) in `onRestored`.
 *
 * Record kinds: `ns` a namespace (name, id); `ev` a history event (namespace, run id; the tail is the encoded event);
 * `act` an activity's attempt state, none of which is in history; `buf` an event buffered behind a started workflow
 * task, `fl` that run's buffer written or dropped; `rid` a start or signal request id; extensions add their own
 * (`sa` and `sa-rm`, search attribute registrations; `sched` a schedule's whole state, the latest one counting, and
 * `sched-rm` its deletion, schedules.ts); `evict` a closed run evicted after its retention (retention.ts),
 * whose earlier records replay then drops; `now` the server time when the file was compacted.
 *
 * Compaction: the records of evicted runs (and superseded schedule states) stay in the file until they make up
 * `compactShare` of it (and at least `compactMinBytes`); the journal is then rewritten with the live records only
 * (Journal.compact, `engine.recordLive` for extension kinds), so the file stays proportional to what the server holds.
 */
import { Journal, JournalCorruptError, type JournalRecord } from './journal';
import { Namespace, type Engine, type JournalWriter } from './engine';
import { attributeField, type ActivityState, type Deferred, type RestoredRunState, type WorkflowRun } from './run';
import { decodeHistoryEvent, encodedEvent, encodeHistoryEvent, EventType, temporal, timestampMs, type IFailure, type IPayloads } from './proto';

const Failure = temporal.api.failure.v1.Failure;
const Payloads = temporal.api.common.v1.Payloads;

function b64Failure(f: IFailure | null | undefined): string | undefined {
  return f ? Buffer.from(Failure.encode(f).finish()).toString('base64') : undefined;
}

function b64Payloads(p: IPayloads | null | undefined): string | undefined {
  return p ? Buffer.from(Payloads.encode(p).finish()).toString('base64') : undefined;
}

function failureOf(s: unknown): IFailure | undefined {
  return typeof s === 'string' ? Failure.decode(Buffer.from(s, 'base64')) : undefined;
}

function payloadsOf(s: unknown): IPayloads | undefined {
  return typeof s === 'string' ? Payloads.decode(Buffer.from(s, 'base64')) : undefined;
}

export interface CompactionOptions {
  /** Share of the file that evicted runs' records must reach before a rewrite; 0.5 by default. */
  compactShare?: number;
  /** Bytes of evicted runs' records below which the file is never rewritten; 1 MiB by default. */
  compactMinBytes?: number;
}

class JournalState implements JournalWriter {
  /** Bytes of the file each run's records take (what evicting it frees at the next compaction). */
  private readonly runBytes = new WeakMap<WorkflowRun, number>();
  /** Bytes of the file that belong to evicted runs (and other records no longer live, see `released`). */
  evictedBytes = 0;

  constructor(
    readonly journal: Journal,
    private readonly engine: Engine,
    private readonly compaction: CompactionOptions,
  ) {}

  add(run: WorkflowRun, bytes: number): void {
    this.runBytes.set(run, (this.runBytes.get(run) ?? 0) + bytes);
  }

  evicted(run: WorkflowRun, at: number): void {
    this.evictedBytes += (this.runBytes.get(run) ?? 0) + this.journal.append({ t: 'evict', ns: run.namespace, r: run.runId, at });
    this.runBytes.delete(run);
    this.maybeCompact();
  }

  /** Rewrites the file without evicted runs once they take the configured share of it. */
  maybeCompact(): void {
    const min = this.compaction.compactMinBytes ?? 1024 * 1024;
    const share = this.compaction.compactShare ?? 0.5;
    if (this.evictedBytes < min || this.evictedBytes < share * this.journal.size) return;
    const engine = this.engine;
    // A record of a run is live while the run is on the server; eviction records go with the runs they evicted. The
    // prelude keeps the server time, which a time-skipped clock may have moved past every event kept.
    const keep = (h: { t: string; [k: string]: unknown }) =>
      h.t !== 'evict' &&
      h.t !== 'now' &&
      (typeof h.r !== 'string' || !!engine.namespaces.get(h.ns as string)?.runs.has(h.r)) &&
      (engine.recordLive.get(h.t)?.(h) ?? true);
    // Deferred behind a write in flight, the rewrite still drops exactly these bytes (and any evicted meanwhile).
    this.journal.compact(keep, [{ t: 'now', at: engine.clock.now() }]);
    this.evictedBytes = 0;
  }

  whenDurable(): Promise<void> | null {
    return this.journal.whenDurable();
  }

  namespace(ns: Namespace): void {
    this.journal.append({ t: 'ns', name: ns.name, id: ns.id, ret: ns.retentionMs });
  }

  record(kind: string, head: object): number {
    return this.journal.append({ ...head, t: kind });
  }

  released(bytes: number): void {
    this.evictedBytes += bytes;
    this.maybeCompact();
  }

  event(run: WorkflowRun, event: temporal.api.history.v1.IHistoryEvent): void {
    this.add(run, this.journal.append({ t: 'ev', ns: run.namespace, r: run.runId }, encodedEvent(event)));
  }

  activity(run: WorkflowRun, act: ActivityState): void {
    this.add(run, this.journal.append({
      t: 'act',
      ns: run.namespace,
      r: run.runId,
      s: act.scheduledEventId,
      attempt: act.attempt,
      state: act.state,
      ast: act.attemptScheduledTime,
      st: act.startedTime,
      hbt: act.lastHeartbeatTime,
      ra: act.retryAt,
      id: act.lastWorkerIdentity,
      lf: b64Failure(act.lastFailure),
      lac: act.lastAttemptCompleteTime,
      hd: b64Payloads(act.heartbeatDetails),
    }));
  }

  buffered(run: WorkflowRun, d: Deferred): void {
    // The attributes travel as an event of their type (id 0), so payloads and failures keep their exact bytes.
    const tail = encodeHistoryEvent({ eventType: d.type, [attributeField(d.type)]: d.attrs });
    const head =
      d.k === 'event'
        ? { t: 'buf', ns: run.namespace, r: run.runId, k: d.k, timerId: d.timerId }
        : {
            t: 'buf',
            ns: run.namespace,
            r: run.runId,
            k: d.k,
            s: d.scheduledEventId,
            attempt: d.attempt,
            started: d.started,
            id: d.identity,
            lf: b64Failure(d.lastFailure),
          };
    this.add(run, this.journal.append(head, tail));
  }

  flushed(run: WorkflowRun): void {
    this.add(run, this.journal.append({ t: 'fl', ns: run.namespace, r: run.runId }));
  }

  requestId(run: WorkflowRun, kind: 'start' | 'signal', id: string): void {
    this.add(run, this.journal.append({ t: 'rid', ns: run.namespace, r: run.runId, kind, id }));
  }

  close(): void {
    this.journal.close();
  }
}

export interface OpenedJournal {
  close(): void;
  readonly stats: Journal['stats'];
  /** What the start-up found, for its log line. */
  readonly summary: string;
}

/**
 * Opens (or creates) the journal at `path`, rebuilds the engine's state from it, and from then on journals every
 * change. Call after the extensions are installed and before the server takes calls.
 */
export function openJournal(engine: Engine, path: string, log: (m: string) => void, compaction: CompactionOptions = {}): OpenedJournal {
  const started = Date.now();
  const { journal, records } = Journal.open(path, log);
  const state = new JournalState(journal, engine, compaction);
  const { runs, runBytes, evictedBytes, evictedRuns } = replay(engine, records, path);
  for (const [run, bytes] of runBytes) state.add(run, bytes);
  state.evictedBytes = evictedBytes;
  // From here on every change is journalled, the ones resume() makes included.
  engine.journal = state;
  const journalled = new Set(records.filter((r) => r.head.t === 'ns').map((r) => r.head.name as string));
  for (const ns of engine.namespaces.values()) if (!journalled.has(ns.name)) state.namespace(ns);
  for (const { run, extra } of runs) run.resume(extra);
  engine.restored(runs.map((r) => r.run));
  state.maybeCompact();
  const open = runs.filter((r) => r.run.isOpen).length;
  return {
    close: () => state.close(),
    stats: journal.stats,
    summary: `journal ${path}: ${records.length} records replayed in ${Date.now() - started} ms (${runs.length} runs, ${open} open${evictedRuns ? `, ${evictedRuns} evicted` : ''})`,
  };
}

function replay(
  engine: Engine,
  records: JournalRecord[],
  path: string,
): { runs: Array<{ run: WorkflowRun; extra: RestoredRunState }>; runBytes: Map<WorkflowRun, number>; evictedBytes: number; evictedRuns: number } {
  const out: Array<{ run: WorkflowRun; extra: RestoredRunState }> = [];
  const extras = new Map<WorkflowRun, RestoredRunState>();
  const runBytes = new Map<WorkflowRun, number>();
  let evictedBytes = 0;
  let evictedRuns = 0;
  let latest = 0;
  const corrupt = (rec: JournalRecord, why: string) => new JournalCorruptError(`journal ${path}: record at offset ${rec.offset}: ${why}`);
  const runOf = (rec: JournalRecord): { run: WorkflowRun; extra: RestoredRunState } => {
    const ns = engine.namespaces.get(rec.head.ns as string);
    const run = ns?.runs.get(rec.head.r as string);
    if (!run) throw corrupt(rec, `names run ${String(rec.head.r)} in namespace ${String(rec.head.ns)}, which no earlier record started`);
    return { run, extra: extras.get(run)! };
  };
  for (const rec of records) {
    const h = rec.head;
    switch (h.t) {
      case 'ns': {
        const existing = engine.namespaces.get(h.name as string);
        const ret = typeof h.ret === 'number' ? h.ret : undefined;
        if (existing) {
          existing.id = h.id as string;
          existing.retentionMs = ret;
        } else engine.namespaces.set(h.name as string, new Namespace(h.name as string, h.id as string, ret));
        break;
      }
      case 'evict': {
        // An eviction written while a compaction ran (it was pending then) names a run the compaction already dropped.
        if (!engine.namespaces.get(h.ns as string)?.runs.has(h.r as string)) {
          evictedBytes += rec.size;
          break;
        }
        // The run and its records are dropped as the live server dropped them; the bytes await the next compaction.
        const { run } = runOf(rec);
        const ns = engine.namespaces.get(run.namespace)!;
        ns.runs.delete(run.runId);
        const chain = ns.chains.get(run.workflowId) ?? [];
        chain.splice(chain.indexOf(run), 1);
        if (!chain.length) ns.chains.delete(run.workflowId);
        evictedBytes += (runBytes.get(run) ?? 0) + rec.size;
        runBytes.delete(run);
        extras.delete(run);
        evictedRuns++;
        latest = Math.max(latest, h.at as number);
        break;
      }
      case 'now':
        latest = Math.max(latest, h.at as number);
        break;
      case 'ev': {
        const ev = decodeHistoryEvent(rec.tail);
        latest = Math.max(latest, timestampMs(ev.eventTime) ?? 0);
        if (ev.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) {
          const ns = engine.namespaces.get(h.ns as string);
          if (!ns) throw corrupt(rec, `names namespace ${String(h.ns)}, which no earlier record registered`);
          const run = engine.restoreRun(ns, h.r as string, ev);
          const extra: RestoredRunState = { activities: new Map(), buffered: [] };
          extras.set(run, extra);
          out.push({ run, extra });
        } else {
          runOf(rec).run.replayEvent(ev);
        }
        break;
      }
      case 'act':
        runOf(rec).extra.activities.set(h.s as number, {
          attempt: h.attempt as number,
          state: h.state as 'scheduled' | 'started' | 'backoff',
          attemptScheduledTime: h.ast as number,
          startedTime: h.st as number | undefined,
          lastHeartbeatTime: h.hbt as number | undefined,
          retryAt: h.ra as number | undefined,
          identity: h.id as string | undefined,
          lastFailure: failureOf(h.lf),
          lastAttemptCompleteTime: h.lac as number | undefined,
          heartbeatDetails: payloadsOf(h.hd),
        });
        break;
      case 'buf': {
        const ev = decodeHistoryEvent(rec.tail);
        const type = ev.eventType as number;
        const attrs = (ev as Record<string, unknown>)[attributeField(type)] as object;
        const d: Deferred =
          h.k === 'event'
            ? { k: 'event', type, attrs, timerId: h.timerId as string | undefined }
            : {
                k: 'activity',
                type,
                attrs,
                scheduledEventId: h.s as number,
                attempt: h.attempt as number,
                started: !!h.started,
                identity: (h.id as string) ?? '',
                lastFailure: failureOf(h.lf),
              };
        runOf(rec).extra.buffered.push(d);
        break;
      }
      case 'fl':
        runOf(rec).extra.buffered = [];
        break;
      case 'rid':
        runOf(rec).run.replayRequestId(h.kind as 'start' | 'signal', h.id as string);
        break;
      default: {
        const handler = engine.recordHandlers.get(h.t);
        if (!handler) throw corrupt(rec, `unknown record kind "${h.t}"`);
        handler(h, rec.size);
      }
    }
    if (typeof h.r === 'string' && h.t !== 'evict') {
      const run = engine.namespaces.get(h.ns as string)?.runs.get(h.r);
      if (run) runBytes.set(run, (runBytes.get(run) ?? 0) + rec.size);
    }
  }
  // Time never runs backwards across a restart (a time-skipped clock had moved ahead of the wall clock).
  const now = engine.clock.now();
  if (latest > now) engine.clock.skip(latest - now);
  return { runs: out.filter((r) => extras.has(r.run)), runBytes, evictedBytes, evictedRuns };
}
