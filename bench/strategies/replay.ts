/**
 * One strategy replayed as production: the model's real `modelMonitor` is started with the strategy's config, and
 * the devserver's virtual clock is let run for exactly as many batch intervals as the data has, so every batch
 * arrives, is scored by whatever model is in production at that moment (the monitor's built-in check writes it to
 * the prediction log), and triggers whatever retraining the strategy asks for, carried out by real `retrainingRun`
 * children through the real activities. Afterwards the figures are read back from the strategy's own store: the
 * prediction log (what production predicted, per batch and version) and each run's JSON report (trigger,
 * decision, training rows and CPU). Prequential honesty is checked on the record itself: no batch may be scored
 * by a version whose training data reached that batch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import { PredictionLog } from '../../storage/prediction-log';
import type { RunReport } from '../../activities/types';
import { parseModelConfig, type ModelConfig } from '../../workflows/config';
import { monitorStatusQuery, monitorWorkflowId, runWorkflowId, TASK_QUEUE, WorkflowTypes, type MonitorStatus } from '../../workflows/definitions';
import type { BenchHarness } from './harness';
import type { Labels } from './data';
import type { DataSpec, Strategy, TrainerKind } from './strategies';

export interface RunRecord {
  readonly n: number;
  readonly trigger: string;
  readonly decision: string;
  /** The batch whose arrival started the run (it had labels for batches before toBatch). */
  readonly batch: number;
  readonly candidateVersion?: number;
  readonly trainingRows: number;
  readonly holdoutRows: number;
  readonly cpuSeconds: number;
  /** Training data: batches [fromBatch, toBatch) plus sampled history before them. */
  readonly toBatch?: number;
}

export interface BatchRecord {
  readonly batch: number;
  /** Scored rows, and how many production got right. */
  readonly rows: number;
  readonly correct: number;
  /** The version(s) that scored the batch. */
  readonly versions: readonly number[];
  /** Per row, 0/1 as production predicted. */
  readonly predictions: Uint8Array;
}

export interface ReplayResult {
  readonly strategy: string;
  readonly trainer: TrainerKind;
  readonly totalBatches: number;
  readonly batches: readonly BatchRecord[];
  readonly runs: readonly RunRecord[];
  /** The first batch each promoted version scored (promotion takes effect there). */
  readonly promotionsAt: readonly { batch: number; version: number }[];
  /** Batches scored by a version trained on data from that batch or later: must be empty. */
  readonly prequentialViolations: readonly { batch: number; version: number; trainedThrough: number }[];
  readonly wallSeconds: number;
  readonly problems: readonly string[];
  /** Validations that failed only on ranges and were let through (harness `warn` mode). */
  readonly rangeOverrides: number;
  readonly monitor: MonitorStatus | null;
}

export interface ReplayOptions {
  readonly strategy: Strategy;
  readonly data: DataSpec;
  readonly trainer: TrainerKind;
  readonly labels: Labels;
  /** Progress lines go here (stderr by default). */
  readonly progress?: (line: string) => void;
  /** Keep the strategy's RETRAIN_HOME (default: removed afterwards). */
  readonly keepHome?: boolean;
}

const POLL_MS = 100;

export async function replayStrategy(h: BenchHarness, opts: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const { strategy, data, trainer } = opts;
  const progress = opts.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const config: ModelConfig = parseModelConfig(strategy.config(data, trainer));
  const model = config.model;
  const src = config.data.source;
  if (src.kind !== 'csv-replay') throw new TypeError('bench: expected a csv-replay source');
  const totalBatches = Math.ceil(opts.labels.y.length / src.batchRows);
  const home = await mkdtemp(join(tmpdir(), `retrain-bench-${model}-`));
  const deps = h.register(model, home);
  const client = h.env.client;
  let handle: WorkflowHandle | undefined;
  try {
    handle = await client.workflow.start(WorkflowTypes.modelMonitor, { workflowId: monitorWorkflowId(model), taskQueue: TASK_QUEUE, args: [{ config }] });
    const monitorStart = (await handle.describe()).startTime.getTime();
    // Batch k arrives at start + k·every; the virtual clock runs (skipping idle time) until just past the last
    // arrival and then locks, so no scheduled run after the replay's end can start while the last batch settles.
    const horizon = (totalBatches - 0.5) * src.every;
    const sleeping = h.env.sleep(horizon).catch(() => undefined);

    let lastArrived = -1;
    let status: MonitorStatus | null = null;
    let lastLine = 0;
    const decisions = new Map<string, string | null>();
    for (;;) {
      await delay(POLL_MS);
      try {
        status = await handle.query(monitorStatusQuery);
      } catch {
        continue;
      }
      const arrived = status.batches?.arrived ?? 0;
      // The status lists the last 50 runs; polled this often, every decision passes through it at least once.
      for (const r of status.runs) decisions.set(r.workflowId, r.decision);
      if (arrived !== lastArrived && (performance.now() - lastLine > 2000 || arrived === totalBatches)) {
        lastLine = performance.now();
        const promoted = [...decisions.values()].filter((d) => d === 'promoted').length;
        progress(`[${strategy.name}/${trainer}] batch ${arrived}/${totalBatches} runs ${status.nextRunNumber - 1} promotions ${promoted}${status.activeRun ? ' (running)' : ''}`);
      }
      lastArrived = arrived;
      if (arrived < totalBatches || status.activeRun !== null || status.queuedTrigger) continue;
      if (await settled(handle)) break;
    }
    await sleeping;
    status = await handle.query(monitorStatusQuery);

    const runs = await readRuns(deps.store, model, monitorStart + totalBatches * src.every - src.every / 2, src.every, monitorStart);
    const batches = await readBatches(new PredictionLog(deps.store), model, totalBatches, src.batchRows, opts.labels);
    const trainedThrough = new Map<number, number>();
    for (const r of runs) if (r.candidateVersion !== undefined && r.toBatch !== undefined) trainedThrough.set(r.candidateVersion, r.toBatch - 1);
    const violations: ReplayResult['prequentialViolations'][number][] = [];
    const firstSeen = new Map<number, number>();
    for (const b of batches) {
      for (const v of b.versions) {
        if (!firstSeen.has(v)) firstSeen.set(v, b.batch);
        const t = trainedThrough.get(v);
        // A version unknown to the reports could not be checked: count it as a violation rather than trust it.
        if (t === undefined || t >= b.batch) violations.push({ batch: b.batch, version: v, trainedThrough: t ?? Infinity });
      }
    }
    const promotionsAt = [...firstSeen].map(([version, batch]) => ({ version, batch })).sort((a, b) => a.batch - b.batch);
    return {
      strategy: strategy.name,
      trainer,
      totalBatches,
      batches,
      runs,
      promotionsAt,
      prequentialViolations: violations,
      wallSeconds: (performance.now() - started) / 1000,
      problems: h.problems(model),
      rangeOverrides: h.rangeOverrides(model),
      monitor: status,
    };
  } finally {
    if (handle) await stopAll(h, handle, model);
    h.unregister(model);
    if (!opts.keepHome) await rm(home, { recursive: true, force: true });
  }
}

type Store = ReturnType<BenchHarness['register']>['store'];

/**
 * Production's predictions per batch from the prediction log (row ids are `<batch>:<row>`), thresholded at 0.5 as
 * the monitor's own accuracy is, and scored against the true labels.
 */
async function readBatches(log: PredictionLog, model: string, totalBatches: number, batchRows: number, labels: Labels): Promise<BatchRecord[]> {
  const byBatch = new Map<number, { preds: Uint8Array; versions: Set<number>; seen: number }>();
  for (const rec of await log.predictions(model)) {
    const [b, i] = rec.rowId.split(':').map(Number);
    if (!(b >= 0 && b < totalBatches)) continue;
    const rows = Math.min(batchRows, labels.y.length - b * batchRows);
    let entry = byBatch.get(b);
    if (!entry) byBatch.set(b, (entry = { preds: new Uint8Array(rows), versions: new Set(), seen: 0 }));
    entry.preds[i] = rec.score > 0.5 ? 1 : 0;
    entry.versions.add(rec.version);
    entry.seen++;
  }
  const out: BatchRecord[] = [];
  for (const [b, e] of [...byBatch].sort((x, y) => x[0] - y[0])) {
    if (e.seen !== e.preds.length) throw new Error(`prediction log: batch ${b} has ${e.seen} predictions for ${e.preds.length} rows`);
    const lo = b * batchRows;
    let correct = 0;
    e.preds.forEach((v, i) => {
      if (v === labels.y[lo + i]) correct++;
    });
    out.push({ batch: b, rows: e.preds.length, correct, versions: [...e.versions], predictions: e.preds });
  }
  return out;
}

/** Idle: no activity or workflow task pending and the history unchanged across two reads. */
async function settled(handle: WorkflowHandle): Promise<boolean> {
  let previous = -1;
  for (let i = 0; i < 2; i++) {
    const d = await handle.describe();
    if ((d.raw.pendingActivities?.length ?? 0) > 0 || d.raw.pendingWorkflowTask || (d.raw.pendingChildren?.length ?? 0) > 0) return false;
    const length = Number(d.historyLength);
    if (i === 1 && length !== previous) return false;
    previous = length;
    if (i === 0) await delay(POLL_MS * 2);
  }
  return true;
}

/** Every run's report, those started before `until` (virtual time), oldest first. */
async function readRuns(store: Store, model: string, until: number, every: number, monitorStart: number): Promise<RunRecord[]> {
  const keys = (await store.list(`reports/${model}/`)).filter((k) => k.endsWith('/report.json'));
  const out: RunRecord[] = [];
  for (const key of keys) {
    const r = await store.getJson<RunReport>(key);
    const at = Date.parse(r.startedAt);
    if (!(at < until)) continue;
    out.push({
      n: r.n,
      trigger: r.trigger.kind,
      decision: r.decision,
      batch: Math.floor((at - monitorStart) / every + 1e-9),
      ...(r.candidateVersion !== undefined ? { candidateVersion: r.candidateVersion } : {}),
      trainingRows: r.train?.trainingRows ?? 0,
      holdoutRows: r.evaluation?.holdoutRows ?? 0,
      cpuSeconds: r.train?.cpuSeconds ?? 0,
      ...(r.collect ? { toBatch: r.collect.toBatch } : {}),
    });
  }
  return out.sort((a, b) => a.n - b.n);
}

/** Terminates the monitor and any run still going (a scheduled run past the horizon), so the next strategy starts clean. */
async function stopAll(h: BenchHarness, monitor: WorkflowHandle, model: string): Promise<void> {
  let last = 0;
  try {
    last = (await monitor.query(monitorStatusQuery)).nextRunNumber - 1;
  } catch {
    // A monitor that cannot answer has no run to leave behind that we could name.
  }
  await monitor.terminate('benchmark replay finished').catch(() => undefined);
  // Only the newest runs can still be going: the monitor runs one at a time.
  for (let n = last; n >= Math.max(1, last - 2); n--) {
    const run = h.env.client.workflow.getHandle(runWorkflowId(model, n));
    const d = await run.describe().catch(() => undefined);
    if (d?.status.name === 'RUNNING') await run.terminate('benchmark replay finished').catch(() => undefined);
  }
}
