/**
 * The benchmark as a function: load the data, replay each strategy through the real system, summarize, judge
 * the targets. Strategies run one after another on one devserver and one pair of workers; `processes: 2` splits
 * them over two child processes (each with its own server), which is how the full Elec2 run fits a 2-core machine
 * without two strategies sharing a process (training CPU seconds are measured per process).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadData, type LoadOptions } from './data';
import { startHarness, type ValidationRanges } from './harness';
import { replayStrategy } from './replay';
import { STRATEGIES, WINDOW_BATCHES, type Strategy, type TrainerKind } from './strategies';
import { judgeTargets, summarize, type StrategySummary, type TargetResult } from './summary';

export interface BenchmarkOptions {
  readonly dataset: string;
  readonly data: LoadOptions;
  readonly trainer: TrainerKind;
  readonly strategies: readonly Strategy[];
  readonly processes?: number;
  /** The validate stage's range check: the system as is (`strict`, default) or downgraded to a warning. */
  readonly validationRanges?: ValidationRanges;
  readonly progress?: (line: string) => void;
  /** Each summary as soon as its strategy is done. */
  readonly onSummary?: (s: StrategySummary) => void;
}

export interface BenchmarkResult {
  readonly summaries: StrategySummary[];
  readonly targets: TargetResult[];
  readonly wallSeconds: number;
}

export async function runBenchmark(opts: BenchmarkOptions): Promise<BenchmarkResult> {
  const started = performance.now();
  const processes = Math.max(1, Math.min(opts.processes ?? 1, opts.strategies.length));
  let summaries: StrategySummary[];
  if (processes === 1) summaries = await runInProcess(opts);
  else {
    // Interleaved so each process gets a share of the expensive every-batch strategies.
    const shards = Array.from({ length: processes }, (_, k) => opts.strategies.filter((_, i) => i % processes === k));
    const parts = await Promise.all(shards.map((s) => runInChild({ ...opts, strategies: s })));
    const order = new Map(opts.strategies.map((s, i) => [s.name, i]));
    summaries = parts.flat().sort((a, b) => order.get(a.strategy)! - order.get(b.strategy)!);
  }
  return { summaries, targets: judgeTargets(opts.dataset, opts.trainer, summaries), wallSeconds: (performance.now() - started) / 1000 };
}

async function runInProcess(opts: BenchmarkOptions): Promise<StrategySummary[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'retrain-bench-data-'));
  try {
    const data = await loadData({ ...opts.data, copyTo: join(scratch, 'data.csv') });
    const harness = await startHarness({ validationRanges: opts.validationRanges ?? 'strict' });
    const out: StrategySummary[] = [];
    try {
      for (const strategy of opts.strategies) {
        const r = await replayStrategy(harness, { strategy, data: data.spec, trainer: opts.trainer, labels: data.labels, progress: opts.progress });
        const s = summarize(opts.dataset, r, data.labels, opts.data.batchRows, WINDOW_BATCHES + 1);
        opts.onSummary?.(s);
        out.push(s);
      }
    } finally {
      await harness.close();
    }
    return out;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Runs a shard in a child process (this file's CLI in worker mode) and reads its summaries back. */
async function runInChild(opts: BenchmarkOptions): Promise<StrategySummary[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'retrain-bench-shard-'));
  const out = join(scratch, 'summaries.jsonl');
  const d = opts.data;
  const args = [
    require.resolve('./run'),
    '--shard-output', out,
    '--dataset', opts.dataset,
    '--data', d.path,
    '--label', d.label,
    '--positive', d.positive,
    '--batch-rows', String(d.batchRows),
    '--trainer', opts.trainer,
    '--validation-ranges', opts.validationRanges ?? 'strict',
    '--strategies', opts.strategies.map((s) => s.name).join(','),
    ...(d.drop?.length ? ['--drop', d.drop.join(',')] : ['--drop', '']),
    ...(d.firstRows !== undefined ? ['--first-rows', String(d.firstRows)] : []),
  ];
  try {
    await new Promise<void>((resolve, reject) => {
      // The same loader flags (tsx) as this process, so the child runs the TypeScript sources too.
      const child = spawn(process.execPath, [...process.execArgv, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.setEncoding('utf8');
      let tail = '';
      child.stderr.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) {
          if (!line) continue;
          if (line.startsWith('[')) (opts.progress ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
          else tail = (tail + line + '\n').slice(-4000);
        }
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`benchmark shard exited with ${code}: ${tail}`))));
    });
    const text = await readFile(out, 'utf8');
    const summaries = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as StrategySummary);
    for (const s of summaries) opts.onSummary?.(s);
    return summaries;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export function selectStrategies(names: readonly string[] | undefined, fallback: readonly string[] | undefined): Strategy[] {
  const wanted = names ?? fallback;
  if (!wanted) return [...STRATEGIES];
  return wanted.map((n) => {
    const s = STRATEGIES.find((x) => x.name === n);
    if (!s) throw new TypeError(`--strategies: unknown strategy ${JSON.stringify(n)}; expected some of ${STRATEGIES.map((x) => x.name).join(', ')}`);
    return s;
  });
}
