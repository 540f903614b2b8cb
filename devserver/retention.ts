/**
 * Retention: a closed run is evicted once it has been closed longer than its namespace's retention period (the
 * namespace's own period when RegisterNamespace set one (`workflowExecutionRetentionPeriod`), else the server's `--retention`,
 * 24 hours by default, nothing evicted by default under time skipping), measured on the server's clock, so time skipping moves it. Eviction takes the run out of its
 * namespace (runs, workflow id chains) and with it everything the run object holds (history, updates, request ids,
 * its links); components drop what they keep apart in `onRunEvicted` (visibility records, children's links to it),
 * and the journal records it (journal-state.ts). Afterwards Describe, history and List answer as the real server does
 * after retention: NOT_FOUND, and no row.
 *
 * Closed runs wait in one queue per namespace in close order (the clock never runs backwards, and every run of a
 * namespace has the same period), so a sweep looks at queue heads only. Sweeps run before every call (a comparison
 * against the earliest due time when nothing is due) and once a second of wall time for an idle server; neither is a
 * clock timer, so time skipping never jumps ahead to an eviction.
 */
import type { Engine, Namespace } from './engine';
import type { WorkflowRun } from './run';

export const DEFAULT_RETENTION_MS = 24 * 3600 * 1000;
/** A retention that never evicts: the default under time skipping (server.ts), as the Java test server keeps every run. */
export const KEEP_FOREVER = Number.POSITIVE_INFINITY;

interface ClosedQueue {
  runs: Array<WorkflowRun | undefined>;
  head: number;
}

export interface Retention {
  /** Evicts every closed run past its retention now. */
  sweep(): void;
  /** Runs evicted since start (for tests and the benchmark). */
  readonly evicted: number;
  stop(): void;
}

export function installRetention(engine: Engine): Retention {
  const queues = new Map<string, ClosedQueue>();
  // The earliest time anything queued falls due; Infinity when nothing is queued.
  let nextDue = Infinity;
  let evicted = 0;
  let queuesSweptAt = Date.now();

  const enqueue = (run: WorkflowRun) => {
    const ns = engine.namespaces.get(run.namespace);
    // A namespace that keeps its runs forever (KEEP_FOREVER) queues nothing: its queue would only grow.
    if (ns && !Number.isFinite(engine.retentionOf(ns))) return;
    let q = queues.get(run.namespace);
    if (!q) queues.set(run.namespace, (q = { runs: [], head: 0 }));
    q.runs.push(run);
    if (ns) nextDue = Math.min(nextDue, run.closeTime! + engine.retentionOf(ns));
  };

  const evict = (ns: Namespace, run: WorkflowRun, now: number) => {
    // A namespace may hold a newer run object under the id only if ids repeat, which run ids (UUIDs) do not.
    if (ns.runs.get(run.runId) !== run) return;
    ns.runs.delete(run.runId);
    const chain = ns.chains.get(run.workflowId);
    if (chain) {
      const i = chain.indexOf(run);
      if (i >= 0) chain.splice(i, 1);
      if (chain.length === 0) ns.chains.delete(run.workflowId);
    }
    engine.runEvicted(run);
    engine.journal?.evicted(run, now);
    evicted++;
  };

  const sweep = () => {
    const now = engine.clock.now();
    if (now < nextDue) return;
    nextDue = Infinity;
    for (const [name, q] of queues) {
      const ns = engine.namespaces.get(name);
      if (!ns) {
        queues.delete(name);
        continue;
      }
      const ttl = engine.retentionOf(ns);
      while (q.head < q.runs.length) {
        const run = q.runs[q.head]!;
        const due = run.closeTime! + ttl;
        if (due > now) {
          nextDue = Math.min(nextDue, due);
          break;
        }
        q.runs[q.head++] = undefined;
        evict(ns, run, now);
      }
      // Drop the evicted prefix now and then, so the queue's array does not keep growing.
      if (q.head === q.runs.length) {
        q.runs = [];
        q.head = 0;
      } else if (q.head > 1024 && q.head * 2 > q.runs.length) {
        q.runs.splice(0, q.head);
        q.head = 0;
      }
    }
    // Idle task queues go at most every 10 s: each sweep walks all queues.
    if (Date.now() - queuesSweptAt > 10_000) {
      queuesSweptAt = Date.now();
      engine.workflowTasks.sweep();
      engine.activityTasks.sweep();
    }
  };

  engine.register({
    onRunClosed: enqueue,
    // After a restart: the closed runs the journal kept, in close order, then whatever fell due while the server was down.
    onRestored(runs) {
      runs
        .filter((r) => !r.isOpen)
        .sort((a, b) => a.closeTime! - b.closeTime!)
        .forEach(enqueue);
      sweep();
    },
  });
  engine.sweepRetention = sweep;
  const interval = setInterval(sweep, 1000);
  interval.unref();
  return {
    sweep,
    get evicted() {
      return evicted;
    },
    stop: () => clearInterval(interval),
  };
}
