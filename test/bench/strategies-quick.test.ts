/**
 * `npm run bench:strategies -- --quick` kept from rotting: the quick benchmark (first 10,000 rows of Elec2, three
 * strategies) runs through the real workflows on the embedded server, and its figures must make sense. A fresh
 * clone without ../shared/data runs the same checks on a small synthetic stream with one concept change instead.
 * Sanity and structure only: how fast it ran is the benchmark's business, not the test's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runBenchmark, selectStrategies } from '../../bench/strategies/benchmark';
import { markdownTable, accuracyPlot } from '../../bench/strategies/output';
import { QUICK_STRATEGIES } from '../../bench/strategies/strategies';
import { Rng } from '../../ml/random';

const ELEC2 = resolve(__dirname, '..', '..', '..', 'shared', 'data', 'elec2.csv');

/** A learnable stream: label = x0 + x1 > 1, flipped from row 4,000 on (a sudden concept change). */
function syntheticCsv(rows: number): string {
  const rng = new Rng(11);
  const lines = ['x0,x1,x2,label'];
  for (let i = 0; i < rows; i++) {
    const x = [rng.next(), rng.next(), rng.next()];
    const y = (x[0] + x[1] > 1) !== i >= 4000;
    lines.push(`${x.map((v) => v.toFixed(5)).join(',')},${y ? 'UP' : 'DOWN'}`);
  }
  return `${lines.join('\n')}\n`;
}

test('the quick benchmark scores every batch after the first model, for every strategy, with sane figures', async () => {
  let path = ELEC2;
  let drop = ['date'];
  if (!existsSync(ELEC2)) {
    path = join(mkdtempSync(join(tmpdir(), 'bench-quick-')), 'synthetic.csv');
    writeFileSync(path, syntheticCsv(10_000));
    drop = [];
  }
  const lines: string[] = [];
  const result = await runBenchmark({
    dataset: 'quick',
    data: { path, label: path === ELEC2 ? 'class' : 'label', positive: 'UP', batchRows: 336, drop, firstRows: 10_000 },
    trainer: 'gbdt',
    strategies: selectStrategies(undefined, QUICK_STRATEGIES),
    processes: 1,
    validationRanges: 'warn',
    progress: (l) => lines.push(l),
  });
  assert.deepEqual(result.summaries.map((s) => s.strategy), [...QUICK_STRATEGIES]);
  const batches = Math.ceil(10_000 / 336);
  for (const s of result.summaries) {
    assert.equal(s.batches, batches, `${s.strategy}: batches`);
    assert.ok(s.firstProductionBatch !== null, `${s.strategy}: production never scored a batch`);
    // Every batch from the first model on was scored, none skipped.
    const scored = s.perBatch.map((b) => b.batch);
    assert.deepEqual(scored, Array.from({ length: batches - s.firstProductionBatch! }, (_, i) => s.firstProductionBatch! + i), `${s.strategy}: scored batches`);
    assert.ok(s.accuracy > 0.5 && s.accuracy < 1, `${s.strategy}: accuracy ${s.accuracy}`);
    assert.ok(s.runs >= 1 && s.promotions >= 1 && s.promotions <= s.runs, `${s.strategy}: ${s.promotions} promotions of ${s.runs} runs`);
    assert.ok(s.promotions + s.rejections <= s.runs);
    assert.equal(s.prequentialViolations, 0, `${s.strategy}: a batch was scored by a model trained on it`);
    assert.ok(s.labelledRowsUsed > 0 && s.trainingCpuSeconds > 0);
    assert.ok(Number.isFinite(s.kappa) && Number.isFinite(s.kappaTemporal));
  }
  const [never, weekly] = result.summaries;
  assert.equal(never.runs, 1, 'never retrains: one run, the initial one');
  assert.ok(weekly.runs > never.runs);
  assert.equal(result.targets.length, 2);
  assert.ok(lines.some((l) => /^\[weekly\/gbdt\] batch \d+\/\d+ runs \d+/.test(l)), 'progress lines name strategy, batch, runs');
  assert.match(markdownTable(result.summaries, result.targets), /\| weekly \| gbdt \|/);
  assert.equal((accuracyPlot(result.summaries, 't').layer as unknown[]).length, 2);
});
