/**
 * `npm run bench:strategies [-- options]`: which retraining strategy wins on real drift, measured through the real
 * monitor and run workflows. Prints one JSON line per strategy and per target on stdout, progress on stderr, and
 * writes the Markdown table, the SVG plot and the JSON lines to bench/strategies/results/ (and the strategies'
 * model configs to bench/strategies/configs/, for users to copy). Defaults replay Elec2 in weekly batches.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { runBenchmark, selectStrategies } from './benchmark';
import { writeResults } from './output';
import { QUICK_STRATEGIES, STRATEGIES, type DataSpec } from './strategies';
import { judgeTargets, type StrategySummary } from './summary';

const ROOT = resolve(__dirname, '..', '..');
const ELEC2 = resolve(ROOT, '..', 'shared', 'data', 'elec2.csv');
const list = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

export const OptionsSchema = z
  .object({
    data: z.string().default(ELEC2),
    label: z.string().default('class'),
    positive: z.string().default('UP'),
    batchRows: z.coerce.number().int().positive().default(336),
    /** Columns left out of the features; Elec2's `date` only encodes position in the file. */
    drop: list.optional(),
    trainer: z.enum(['gbdt', 'logistic']).default('gbdt'),
    /** `warn` works around the validate stage's range deadlock on drifting data (see harness.ts); `strict` is the system as is. */
    validationRanges: z.enum(['strict', 'warn']).default('warn'),
    quick: z.boolean().default(false),
    strategies: list.optional(),
    firstRows: z.coerce.number().int().positive().optional(),
    processes: z.coerce.number().int().min(1).max(4).optional(),
    dataset: z.string().optional(),
    out: z.string().default(join(__dirname, 'results')),
    /** Rewrite the table and plot from a saved JSON-lines output (the strategies' lines) instead of running. */
    fromJsonl: z.string().optional(),
    /** Internal: run as a shard of a parent benchmark, writing summaries to this file. */
    shardOutput: z.string().optional(),
  })
  .strict();
export type Options = z.output<typeof OptionsSchema>;

const FLAGS = new Set(['quick']);

export function parseArgs(argv: readonly string[]): Options {
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new TypeError(`unexpected argument ${JSON.stringify(a)}`);
    const key = a.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (FLAGS.has(key)) raw[key] = true;
    else {
      const v = argv[++i];
      if (v === undefined) throw new TypeError(`${a}: expected a value`);
      raw[key] = v;
    }
  }
  const r = OptionsSchema.safeParse(raw);
  if (!r.success) throw new TypeError(r.error.issues.map((i) => `--${String(i.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`).join('; '));
  return r.data;
}

/** Writes every strategy's model config for this data set (with the data path as given) to configs/. */
async function writeConfigs(spec: DataSpec, trainer: 'gbdt' | 'logistic', dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const s of STRATEGIES) await writeFile(join(dir, `${s.name}.json`), `${JSON.stringify(s.config(spec, trainer), null, 2)}\n`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const isElec2 = resolve(o.data) === ELEC2;
  const drop = o.drop ?? (isElec2 ? ['date'] : []);
  const dataset = o.dataset ?? (isElec2 ? 'elec2' : basename(o.data).replace(/\.csv$/i, ''));
  const data = { path: o.data, label: o.label, positive: o.positive, batchRows: o.batchRows, drop, ...(o.quick ? { firstRows: o.firstRows ?? 10_000 } : o.firstRows ? { firstRows: o.firstRows } : {}) };
  const strategies = selectStrategies(o.strategies, o.quick ? QUICK_STRATEGIES : undefined);
  const progress = (line: string) => process.stderr.write(`${line}\n`);

  if (o.shardOutput) {
    const out = o.shardOutput;
    await runBenchmark({ dataset, data, trainer: o.trainer, strategies, processes: 1, validationRanges: o.validationRanges, progress, onSummary: (s) => void appendFileSync(out, s) });
    await flushed;
    return;
  }

  if (isElec2 && !o.quick && !o.firstRows && o.trainer === 'gbdt') {
    // The configs users copy name the data path relative to the project root, as the README's examples do.
    await writeConfigs({ path: relative(ROOT, ELEC2), label: o.label, positive: o.positive, batchRows: o.batchRows, features: ['day', 'period', 'nswprice', 'nswdemand', 'vicprice', 'vicdemand', 'transfer'] }, o.trainer, join(__dirname, 'configs'));
  }
  const base = `${dataset}${o.quick ? '-quick' : ''}-${o.trainer}${o.validationRanges === 'strict' ? '-strict' : ''}`;
  const title = `${dataset}${o.quick ? ' (first rows)' : ''}: production accuracy per batch, ${o.trainer} (dots: a new model's first batch)`;
  if (o.fromJsonl) {
    const saved = (await readFile(o.fromJsonl, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string });
    const order = new Map(STRATEGIES.map((s, i) => [s.name, i]));
    const summaries = saved.filter((x): x is StrategySummary => x.kind === 'strategy').sort((a, b) => (order.get(a.strategy) ?? 99) - (order.get(b.strategy) ?? 99));
    const targets = judgeTargets(dataset, o.trainer, summaries);
    for (const t of targets) process.stdout.write(`${JSON.stringify(t)}\n`);
    const files = await writeResults(o.out, base, summaries, targets, title);
    progress(`wrote ${Object.values(files).map((f) => relative(process.cwd(), f)).join(', ')}`);
    return;
  }
  const processes = o.processes ?? (o.quick ? 1 : 2);
  const result = await runBenchmark({ dataset, data, trainer: o.trainer, strategies, processes, validationRanges: o.validationRanges, progress, onSummary: (s) => process.stdout.write(`${JSON.stringify(s)}\n`) });
  for (const t of result.targets) process.stdout.write(`${JSON.stringify(t)}\n`);
  process.stdout.write(`${JSON.stringify({ kind: 'run', dataset, trainer: o.trainer, strategies: strategies.length, processes, wallSeconds: Math.round(result.wallSeconds) })}\n`);
  const files = await writeResults(o.out, base, result.summaries, result.targets, title);
  progress(`wrote ${Object.values(files).map((f) => relative(process.cwd(), f)).join(', ')}`);
}

// Shard summaries are appended one line at a time, in order.
let flushed: Promise<void> = Promise.resolve();
function appendFileSync(path: string, s: unknown): void {
  flushed = flushed.then(() => appendFile(path, `${JSON.stringify(s)}\n`));
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e instanceof TypeError ? e.message : e.stack) : String(e)}\n`);
      process.exit(e instanceof TypeError ? 2 : 1);
    },
  );
}
