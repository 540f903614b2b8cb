/**
 * The server's state in the journal (journal.ts): what each record kind means, how the engine writes them, and the
 * rebuild on start. History events are the source of truth; runs are rebuilt by feeding every event to the run it
 * belongs to (`WorkflowRun.replayEvent`, which derives status, timers, activities, search attributes and memo with the
 * same methods the live path uses), then each run resumes (`WorkflowRun.resume`: timeouts and timers re-armed at
 * their original deadlines, activities back on their queues or waiting for their worker, the pending workflow task
 * rescheduled). Extensions then rebuild what they derive (child links, updates, visibility) through `hooks.restored`.
 *
 * Record kinds: `ns` a namespace (name, id); `ev` a history event (namespace, run id; the tail is the encoded event);
 * `act` an activity's attempt state, none of which is in history; `buf` an event buffered behind a started workflow
 * task, `fl` that run's buffer written or dropped; `rid` a start or signal request id; extensions add their own
 * (`sa` and `sa-rm`, search attribute registrations).
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

class JournalState implements JournalWriter {
  constructor(readonly journal: Journal) {}

  whenDurable(): Promise<void> | null {
    return this.journal.whenDurable();
  }

  namespace(ns: Namespace): void {
    this.journal.append({ t: 'ns', name: ns.name, id: ns.id });
  }

  record(kind: string, head: object): void {
    this.journal.append({ ...head, t: kind });
  }

  event(run: WorkflowRun, event: temporal.api.history.v1.IHistoryEvent): void {
    this.journal.append({ t: 'ev', ns: run.namespace, r: run.runId }, encodedEvent(event));
  }

  activity(run: WorkflowRun, act: ActivityState): void {
    this.journal.append({
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
      hd: b64Payloads(act.heartbeatDetails),
    });
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
    this.journal.append(head, tail);
  }

  flushed(run: WorkflowRun): void {
    this.journal.append({ t: 'fl', ns: run.namespace, r: run.runId });
  }

  requestId(run: WorkflowRun, kind: 'start' | 'signal', id: string): void {
    this.journal.append({ t: 'rid', ns: run.namespace, r: run.runId, kind, id });
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
export function openJournal(engine: Engine, path: string, log: (m: string) => void): OpenedJournal {
  const started = Date.now();
  const { journal, records } = Journal.open(path, log);
  const state = new JournalState(journal);
  const runs = replay(engine, records, path);
  // From here on every change is journalled, the ones resume() makes included.
  engine.journal = state;
  const journalled = new Set(records.filter((r) => r.head.t === 'ns').map((r) => r.head.name as string));
  for (const ns of engine.namespaces.values()) if (!journalled.has(ns.name)) state.namespace(ns);
  for (const { run, extra } of runs) run.resume(extra);
  for (const h of engine.hooks.restored) h(runs.map((r) => r.run));
  const open = runs.filter((r) => r.run.isOpen).length;
  return {
    close: () => state.close(),
    stats: journal.stats,
    summary: `journal ${path}: ${records.length} records replayed in ${Date.now() - started} ms (${runs.length} runs, ${open} open)`,
  };
}

function replay(engine: Engine, records: JournalRecord[], path: string): Array<{ run: WorkflowRun; extra: RestoredRunState }> {
  const out: Array<{ run: WorkflowRun; extra: RestoredRunState }> = [];
  const extras = new Map<WorkflowRun, RestoredRunState>();
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
        if (existing) existing.id = h.id as string;
        else engine.namespaces.set(h.name as string, new Namespace(h.name as string, h.id as string));
        break;
      }
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
        handler(h);
      }
    }
  }
  // Time never runs backwards across a restart (a time-skipped clock had moved ahead of the wall clock).
  const now = engine.clock.now();
  if (latest > now) engine.clock.skip(latest - now);
  return out;
}
