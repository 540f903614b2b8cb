/**
 * `npm run bench:workflows`: what the retraining system costs on the embedded server, in two parts.
 *
 * 1. Orchestration overhead: a retraining run with the cheapest real trainer path, repeated (`--runs`, 50) one at a
 *    time after `--warmup` runs, median and p95 of its wall time (client start → result) against the target median
 *    ≤ 1 s, with the per-stage breakdown from the history's event timestamps. The trainer is `logistic` on 200 rows
 *    (a 300-row synthetic CSV, the last third the holdout, 100 rows, the policy's minimum): it goes through every
 *    real stage (snapshots, validation, a fit in the training thread, evaluation with bootstrap intervals, the
 *    policy's tests, the registry) with a fit that takes milliseconds. A `command` trainer writing a constant model
 *    would be cheaper to fit but not to run (two process spawns per run), and a constant model never beats the
 *    majority baseline, so the run would stop at the gate and never promote. Each run is a new model's first run
 *    (no incumbent, rollout steps [1], no approvers), so every one takes the same path to `promoted`. The floor is
 *    an empty workflow making the same activity calls on the same queues with a no-op activity.
 * 2. One full run on Elec2 (`--elec2`, /work/shared/data/elec2.csv) with gbdt: the whole file as new data (the
 *    last 20% held out), label `class`, positive `UP`, every column but `date` (the data README: ignore it) as a
 *    feature; the time of each stage, the total, and the training's CPU seconds.
 *
 * Everything is self-contained: a temporary RETRAIN_HOME, the devserver executable in its own process on a free
 * port (no time skipping; bench/devserver/server-process.ts), the real workflows and activities, all closed at the
 * end. The workers are `startWorkers`' own, with an activity interceptor (bench/workflows/workers.ts) that times
 * each execution on the worker (the devserver stamps ActivityTaskStarted at completion).
 *
 * Prints one JSON object per line on stdout, progress on stderr:
 *   {"case":"trivial_run",…}, {"case":"trivial_run_stages",…}, {"case":"activity_floor",…}, {"case":"target",…},
 *   {"case":"elec2_run",…}
 *
 * Options: `--runs N` (50), `--warmup N` (3), `--elec2 PATH`, `--skip trivial|elec2`.
 * Example: `npm run bench:workflows -- --runs 10 --skip elec2`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { z } from 'zod';
import { createDependencies, type ActivityDeps } from '../../activities';
import type { RunReport } from '../../activities/types';
import { Rng } from '../../ml/random';
import { registerSearchAttributes } from '../../workers/worker';
import { parseModelConfig, type ModelConfigInput } from '../../workflows/config';
import { runWorkflowId, TASK_QUEUE, TRAINING_TASK_QUEUE, type RunInput, type RunResult } from '../../workflows/definitions';
import type { retrainingRun } from '../../workflows/retraining-run';
import { startServerProcess, type ServerProcess } from '../devserver/server-process';
import * as floorActivities from './floor-activities';
import type { activityFloor } from './floor-workflows';
import { timeline, type Timeline } from './history';
import { noting, startBenchWorkers, type ExecutionNotes } from './workers';

const TARGET_MEDIAN_MS = 1000;
const FLOOR_QUEUE = 'bench-floor';
const FLOOR_TRAINING_QUEUE = 'bench-floor-training';
const TRIVIAL_ROWS = 300;
const ELEC2_FEATURES = ['day', 'period', 'nswprice', 'nswdemand', 'vicprice', 'vicdemand', 'transfer'];

const count = (name: string) =>
  z.string().transform((s, ctx) => {
    const x = Number(s);
    if (!Number.isInteger(x) || x < 0) {
      ctx.addIssue({ code: 'custom', message: `${name}: expected a whole number ≥ 0, got ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    return x;
  });

const OptionsSchema = z
  .object({
    runs: count('--runs').default(50),
    warmup: count('--warmup').default(3),
    elec2: z.string().min(1).default('/work/shared/data/elec2.csv'),
    skip: z.enum(['trivial', 'elec2'], { error: '--skip: expected "trivial" or "elec2"' }).optional(),
  })
  .strict();
type Options = z.output<typeof OptionsSchema>;

function parseArgs(argv: readonly string[]): Options {
  const raw: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z0-9-]+)$/.exec(argv[i]);
    if (!m || argv[i + 1] === undefined) throw new Error(`unexpected argument ${JSON.stringify(argv[i])} (options: --runs, --warmup, --elec2, --skip)`);
    raw[m[1]] = argv[++i];
  }
  const r = OptionsSchema.safeParse(raw);
  if (!r.success) throw new Error(r.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown option(s) ${i.keys.map((k) => `--${k}`).join(', ')}` : i.message)).join('\n'));
  return r.data;
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const load = () => loadavg().map((x) => round(x, 2));
const progress = (m: string) => process.stderr.write(`bench:workflows: ${m}\n`);
const emit = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** Nearest-rank percentile of a sample (p in [0, 1]). */
function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}

function summary(xs: readonly number[]): Record<string, number> {
  return { median_ms: round(percentile(xs, 0.5)), p95_ms: round(percentile(xs, 0.95)), min_ms: round(Math.min(...xs)), max_ms: round(Math.max(...xs)) };
}

/** A separable two-class problem: logistic regression beats the majority baseline by far on 100 holdout rows. */
function writeTrivialCsv(path: string): void {
  const rng = new Rng(11);
  const lines = ['x1,x2,x3,label'];
  for (let i = 0; i < TRIVIAL_ROWS; i++) {
    const [x1, x2, x3] = [rng.next(), rng.next(), rng.next()];
    const y = 3 * x1 - 2 * x2 + 0.3 * rng.normal() > 0.5 ? 1 : 0;
    lines.push(`${x1.toFixed(4)},${x2.toFixed(4)},${x3.toFixed(4)},${y}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

function runInput(model: string, config: ModelConfigInput, labelledBatches: number): RunInput {
  return {
    model,
    n: 1,
    config: parseModelConfig(config),
    trigger: { kind: 'manual', detail: 'bench:workflows', requestedBy: 'bench', at: new Date().toISOString() },
    labelledBatches,
    sinceBatch: 0,
    productionVersion: null,
  };
}

interface Measured<R> {
  readonly wallMs: number;
  readonly result: R;
  readonly timeline: Timeline;
  readonly serverCpuS: number;
  readonly selfCpuS: number;
}

/** Starts a workflow, waits for its result, reads its history; wall time is the client's, start to result. */
async function measure<R>(client: Client, server: ServerProcess, notes: ExecutionNotes, start: () => Promise<{ workflowId: string; result(): Promise<R> }>): Promise<Measured<R>> {
  const s0 = server.cpuSeconds();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const handle = await start();
  const result = await handle.result();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const serverCpuS = server.cpuSeconds() - s0;
  const history = await client.workflow.getHandle(handle.workflowId).fetchHistory();
  return { wallMs, result, timeline: timeline(history.events ?? [], (id) => notes.get(`${handle.workflowId}/${id}`)), serverCpuS, selfCpuS: (c.user + c.system) / 1e6 };
}

/** Median of each stage's total, execution and overhead across runs (stages in the first run's order). */
function stageMedians(runs: readonly Measured<unknown>[]): Record<string, { ms: number; exec_ms: number; overhead_ms: number }> {
  const out: Record<string, { ms: number; exec_ms: number; overhead_ms: number }> = {};
  for (const { stage } of runs[0].timeline.stages) {
    const pick = (f: (s: { ms: number; execMs: number; overheadMs: number }) => number) =>
      round(percentile(runs.map((r) => f(r.timeline.stages.find((s) => s.stage === stage) ?? { ms: 0, execMs: 0, overheadMs: 0 })), 0.5));
    out[stage] = { ms: pick((s) => s.ms), exec_ms: pick((s) => s.execMs), overhead_ms: pick((s) => s.overheadMs) };
  }
  return out;
}

/** Median per activity type of the queue wait (scheduled → started) and execution (started → completed). */
function activityMedians(runs: readonly Measured<unknown>[]): Record<string, { queue_wait_ms: number; exec_ms: number; report_ms: number }> {
  const out: Record<string, { queue_wait_ms: number; exec_ms: number; report_ms: number }> = {};
  for (const type of new Set(runs[0].timeline.activities.map((a) => a.type))) {
    const spans = runs.flatMap((r) => r.timeline.activities.filter((a) => a.type === type));
    out[type] = { queue_wait_ms: round(percentile(spans.map((a) => a.startedMs - a.scheduledMs), 0.5)), exec_ms: round(percentile(spans.map((a) => a.execMs), 0.5)), report_ms: round(percentile(spans.map((a) => a.completedMs - a.startedMs - a.execMs), 0.5)) };
  }
  return out;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

async function trivialAndFloor(opts: Options, client: Client, server: ServerProcess, notes: ExecutionNotes, dir: string): Promise<void> {
  const csv = join(dir, 'trivial.csv');
  writeTrivialCsv(csv);
  const config = (model: string): ModelConfigInput => ({
    model,
    data: { source: { kind: 'csv-replay', path: csv, batchRows: TRIVIAL_ROWS, every: '1 day', labelDelayBatches: 0 }, label: 'label', positive: '1' },
    trainer: { kind: 'logistic' },
    evaluation: { holdoutShare: 1 / 3 },
    triggers: { builtin: { enabled: false } },
    rollout: { steps: [1] },
  });
  const runOnce = (i: number) => {
    // A new model per run: each is a first run (no incumbent), so every run takes the same path to `promoted`.
    const model = `trivial-${i}`;
    return measure<RunResult>(client, server, notes, () =>
      client.workflow.start<typeof retrainingRun>('retrainingRun', { taskQueue: TASK_QUEUE, workflowId: runWorkflowId(model, 1), args: [runInput(model, config(model), 1)] }),
    );
  };
  progress(`trivial run: ${opts.warmup} warm-up runs, then ${opts.runs} measured`);
  const warm: number[] = [];
  for (let i = 0; i < opts.warmup; i++) warm.push((await runOnce(-1 - i)).wallMs);
  const loadBefore = load();
  const runs: Measured<RunResult>[] = [];
  for (let i = 0; i < opts.runs; i++) {
    runs.push(await runOnce(i));
    if ((i + 1) % 10 === 0) progress(`trivial run ${i + 1}/${opts.runs}: last ${round(runs[i].wallMs)} ms`);
  }
  const loadAfter = load();
  const decisions: Record<string, number> = {};
  for (const r of runs) decisions[r.result.decision] = (decisions[r.result.decision] ?? 0) + 1;
  const wall = runs.map((r) => r.wallMs);
  const acts = runs[0].timeline.activities;
  const execMs = runs.map((r) => sum(r.timeline.activities.map((a) => a.execMs)));
  emit({
    case: 'trivial_run',
    trainer: 'logistic',
    rows: TRIVIAL_ROWS,
    train_rows: TRIVIAL_ROWS - Math.ceil(TRIVIAL_ROWS / 3),
    holdout_rows: Math.ceil(TRIVIAL_ROWS / 3),
    runs: runs.length,
    decisions,
    ...summary(wall),
    history_median_ms: round(percentile(runs.map((r) => r.timeline.totalMs), 0.5)),
    activity_exec_median_ms: round(percentile(execMs, 0.5)),
    overhead_median_ms: round(percentile(runs.map((r, i) => r.timeline.totalMs - execMs[i]), 0.5)),
    warmup_ms: warm.map((x) => round(x)),
    activities: acts.length,
    activity_sequence: acts.map((a) => `${a.type}@${a.queue}`),
    workflow_tasks: runs[0].timeline.workflowTasks,
    history_events: runs[0].timeline.events,
    server_cpu_ms_per_run: round((1000 * sum(runs.map((r) => r.serverCpuS))) / runs.length),
    worker_client_cpu_ms_per_run: round((1000 * sum(runs.map((r) => r.selfCpuS))) / runs.length),
    load_avg_before: loadBefore,
    load_avg_after: loadAfter,
  });
  emit({ case: 'trivial_run_stages', note: 'medians over the runs, from history event times; exec = activity execution on the worker, overhead = the rest (queue waits, workflow tasks, completion reports)', stages: stageMedians(runs), activities: activityMedians(runs) });

  // The floor: the same calls on the same two queues (mapped onto the floor's own queues) with a no-op activity.
  const queues = acts.map((a) => (a.queue === TRAINING_TASK_QUEUE ? FLOOR_TRAINING_QUEUE : FLOOR_QUEUE));
  const floorOnce = (i: number) =>
    measure<number>(client, server, notes, () => client.workflow.start<typeof activityFloor>('activityFloor', { taskQueue: FLOOR_QUEUE, workflowId: `bench-floor/${i}`, args: [queues] }));
  progress(`activity floor: ${queues.length} no-op activities, ${opts.warmup} warm-up runs, then ${opts.runs} measured`);
  for (let i = 0; i < opts.warmup; i++) await floorOnce(-1 - i);
  const floorLoadBefore = load();
  const floor: Measured<number>[] = [];
  for (let i = 0; i < opts.runs; i++) floor.push(await floorOnce(i));
  const floorWall = floor.map((r) => r.wallMs);
  emit({
    case: 'activity_floor',
    activities: queues.length,
    queues,
    runs: floor.length,
    ...summary(floorWall),
    history_median_ms: round(percentile(floor.map((r) => r.timeline.totalMs), 0.5)),
    per_activity_median_ms: round(percentile(floorWall, 0.5) / queues.length),
    workflow_tasks: floor[0].timeline.workflowTasks,
    history_events: floor[0].timeline.events,
    server_cpu_ms_per_run: round((1000 * sum(floor.map((r) => r.serverCpuS))) / floor.length),
    worker_client_cpu_ms_per_run: round((1000 * sum(floor.map((r) => r.selfCpuS))) / floor.length),
    load_avg_before: floorLoadBefore,
    load_avg_after: load(),
  });
  const median = percentile(wall, 0.5);
  emit({
    case: 'target',
    what: 'median wall time of a trivial retraining run (client start → result) on the embedded server',
    target_median_ms: TARGET_MEDIAN_MS,
    median_ms: round(median),
    p95_ms: round(percentile(wall, 0.95)),
    floor_median_ms: round(percentile(floorWall, 0.5)),
    above_floor_median_ms: round(median - percentile(floorWall, 0.5)),
    all_promoted: decisions.promoted === runs.length,
    met: median <= TARGET_MEDIAN_MS,
    // The same run without its activities' execution on the worker: what the orchestration itself costs.
    orchestration_only_median_ms: round(percentile(runs.map((r, i) => r.timeline.totalMs - execMs[i]), 0.5)),
    orchestration_only_met: percentile(runs.map((r, i) => r.timeline.totalMs - execMs[i]), 0.5) <= TARGET_MEDIAN_MS,
    load_avg: load(),
  });
}

async function elec2(opts: Options, client: Client, server: ServerProcess, notes: ExecutionNotes, deps: ActivityDeps): Promise<void> {
  const batchRows = 336; // one week of half-hour periods
  const config: ModelConfigInput = {
    model: 'elec2',
    data: { source: { kind: 'csv-replay', path: opts.elec2, batchRows, every: '7 days' }, label: 'class', positive: 'UP', negative: ['DOWN'], features: ELEC2_FEATURES },
    trainer: { kind: 'gbdt' },
    triggers: { builtin: { enabled: false } },
    rollout: { steps: [1] },
  };
  // 45,312 rows: 135 weekly batches, the last one partial; all of them labelled, all of them new data.
  const batches = Math.ceil(45_312 / batchRows);
  progress(`elec2: one run with gbdt on ${opts.elec2} (${batches} batches of ${batchRows} rows)`);
  const loadBefore = load();
  const m = await measure<RunResult>(client, server, notes, () =>
    client.workflow.start<typeof retrainingRun>('retrainingRun', { taskQueue: TASK_QUEUE, workflowId: runWorkflowId('elec2', 1), args: [runInput('elec2', config, batches)] }),
  );
  const report = m.result.reportUri ? await deps.store.getJson<RunReport>(m.result.reportUri) : undefined;
  const stages = Object.fromEntries(m.timeline.stages.map((s) => [s.stage, { ms: round(s.ms), exec_ms: round(s.execMs), overhead_ms: round(s.overheadMs) }]));
  // Accuracy beside the README's reference figures (majority class 57.55%, "no change" 85.33%).
  const metric = (name: string) => { const m = report?.evaluation?.candidate[name]; return m ? round(m.value, 4) : undefined; };
  emit({
    case: 'elec2_run',
    trainer: 'gbdt',
    decision: m.result.decision,
    total_ms: round(m.wallMs),
    history_total_ms: round(m.timeline.totalMs),
    stages,
    train_rows: report?.train?.trainingRows,
    holdout_rows: report?.collect?.holdout.rows,
    train_cpu_s: report?.train ? round(report.train.cpuSeconds, 2) : undefined,
    train_wall_s: report?.train ? round(report.train.wallSeconds, 2) : undefined,
    holdout_roc_auc: metric('roc_auc'),
    holdout_accuracy: metric('accuracy'),
    baseline_accuracy: report?.evaluation?.production.accuracy ? round(report.evaluation.production.accuracy.value, 4) : undefined,
    server_cpu_s: round(m.serverCpuS, 2),
    worker_client_cpu_s: round(m.selfCpuS, 2),
    load_avg_before: loadBefore,
    load_avg_after: load(),
  });
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  // The SDK logs to stderr; warnings and errors only, so progress stays readable.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dir = mkdtempSync(join(tmpdir(), 'bench-workflows-'));
  const quiet = { info: () => {}, warn: (m: string) => progress(`[activity] ${m}`), error: (m: string) => progress(`[activity] ${m}`) };
  const deps = createDependencies({ home: join(dir, 'home'), env: {}, log: quiet });
  const server = await startServerProcess();
  progress(`server pid ${server.pid} on ${server.address}; RETRAIN_HOME ${deps.home}`);
  let connection: Connection | undefined;
  let native: NativeConnection | undefined;
  let stopWorkers: (() => Promise<void>) | undefined;
  try {
    connection = await Connection.connect({ address: server.address });
    await registerSearchAttributes(connection, 'default');
    native = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection });
    progress('bundling the workflows and starting the workers');
    const notes: ExecutionNotes = new Map();
    const workers = await startBenchWorkers(native, deps, notes);
    const floorWorkers = [
      await Worker.create({ connection: native, taskQueue: FLOOR_QUEUE, workflowsPath: require.resolve('./floor-workflows'), activities: floorActivities, interceptors: noting(notes) }),
      await Worker.create({ connection: native, taskQueue: FLOOR_TRAINING_QUEUE, activities: floorActivities, interceptors: noting(notes) }),
    ];
    const floorDone = Promise.all(floorWorkers.map((w) => w.run()));
    stopWorkers = async () => {
      for (const w of floorWorkers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all([workers.shutdown(), floorDone]);
    };
    if (opts.skip !== 'trivial') await trivialAndFloor(opts, client, server, notes, dir);
    if (opts.skip !== 'elec2') await elec2(opts, client, server, notes, deps);
  } finally {
    await stopWorkers?.().catch((e) => progress(`stopping the workers: ${(e as Error).message}`));
    await connection?.close().catch(() => undefined);
    await native?.close().catch(() => undefined);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
