/**
 * The benchmark's honesty check: on a stream whose label at row i is decided by a feature of row i + batchRows
 * (data that has not arrived when row i is scored) nothing available at scoring time says anything about the
 * label, so a strategy that never sees labels before they arrive, and never scores a batch it trained on, cannot
 * beat chance. A leak (labels early, an off-by-one in the training window, scoring after retraining on the same
 * batch) shows up as accuracy far above chance, which the binomial bound catches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBenchmark, selectStrategies } from '../../bench/strategies/benchmark';
import { futureLabelStream } from '../../bench/strategies/data';
import { beatsChance } from '../../bench/strategies/metrics';

const BATCH_ROWS = 300;
const BATCHES = 16;

test('no strategy beats chance on labels that are a function of the future', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'bench-honesty-')), 'future.csv');
  writeFileSync(path, futureLabelStream(BATCH_ROWS * BATCHES, BATCH_ROWS));
  // The strategies that retrain most often: every batch on a window (with and without history), and every batch on
  // the newest batch. (A drift-triggered strategy is no test here: on noise the gate may never bless a first model,
  // and without a production model there is no error stream to raise an alarm.)
  const result = await runBenchmark({
    dataset: 'future-labels',
    data: { path, label: 'label', positive: 'yes', batchRows: BATCH_ROWS },
    trainer: 'gbdt',
    strategies: selectStrategies(['weekly', 'weekly-mix80', 'continuous'], undefined),
    processes: 1,
    validationRanges: 'warn',
    progress: () => undefined,
  });
  for (const s of result.summaries) {
    // On noise the gate promotes a first model only when it happens to beat the majority baseline, so production may
    // start late; a few batches still give the bound the power to see a leak (a memorising model scores ~0.6+).
    assert.ok(s.scoredRows >= BATCH_ROWS * 3, `${s.strategy}: only ${s.scoredRows} rows scored`);
    assert.ok(s.runs >= 1);
    assert.equal(s.prequentialViolations, 0, `${s.strategy}: a batch was scored by a model trained on it`);
    // Chance is the better of the two constant guesses on the scored rows: the most a label-blind model gets.
    const chance = Math.max(s.positiveShare, 1 - s.positiveShare);
    const correct = Math.round(s.accuracy * s.scoredRows);
    const { beats, pValue } = beatsChance(correct, s.scoredRows, chance, 0.001);
    assert.equal(beats, false, `${s.strategy}: ${correct}/${s.scoredRows} correct beats chance (p = ${pValue})`);
  }
});
