/**
 * The benchmark's arithmetic and inputs on their own: kappa and kappa-temporal against hand-worked cases, the
 * binomial bound's size and power, the future-label stream's construction, the strategy configs (valid for the
 * system's own schema, and differing only where they should), and the command line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accuracy, addRows, beatsChance, emptyConfusion, kappa, kappaTemporal, noChangeAccuracy } from '../../bench/strategies/metrics';
import { futureLabelStream } from '../../bench/strategies/data';
import { STRATEGIES } from '../../bench/strategies/strategies';
import { judgeTargets, type StrategySummary } from '../../bench/strategies/summary';
import { parseArgs } from '../../bench/strategies/run';
import { parseModelConfig } from '../../workflows/config';
import { parseTable } from '../../activities/table';

test('kappa is 0 for a constant guess and 1 for a perfect one; kappa-temporal is 0 for the no-change classifier', () => {
  const y = [1, 1, 0, 0, 1, 0, 1, 1];
  const previous = [null, ...y.slice(0, -1)];
  const perfect = emptyConfusion();
  addRows(perfect, y, y, previous);
  assert.equal(accuracy(perfect), 1);
  assert.equal(kappa(perfect), 1);
  assert.equal(kappaTemporal(perfect), 1);

  const constant = emptyConfusion();
  addRows(constant, y.map(() => 1), y, previous);
  assert.equal(accuracy(constant), 5 / 8);
  assert.equal(kappa(constant), 0);

  // Predicting the previous label on the rows that have one is exactly the no-change baseline.
  const noChange = emptyConfusion();
  addRows(noChange, y.slice(1), y.slice(1), previous.slice(1));
  const nc = emptyConfusion();
  addRows(nc, previous.slice(1) as number[], y.slice(1), previous.slice(1));
  assert.equal(accuracy(nc), noChangeAccuracy(nc));
  assert.equal(kappaTemporal(nc), 0);
});

test('kappa matches a hand-worked 2x2 table', () => {
  // 10 rows: TP 4, FN 1, FP 2, TN 3 → p0 0.7, pe = 0.6·0.5 + 0.4·0.5 = 0.5, kappa 0.4.
  const pred = [1, 1, 1, 1, 0, 1, 1, 0, 0, 0];
  const y = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
  const c = emptyConfusion();
  addRows(c, pred, y, y.map(() => null));
  assert.ok(Math.abs(kappa(c) - 0.4) < 1e-12);
});

test('the binomial bound holds its level at chance and catches a modest edge on a few thousand rows', () => {
  assert.equal(beatsChance(1500, 3000, 0.5).beats, false);
  assert.equal(beatsChance(1560, 3000, 0.5).beats, false);
  assert.equal(beatsChance(1650, 3000, 0.5).beats, true);
  assert.ok(beatsChance(1500, 3000, 0.5).pValue > 0.4);
});

test('the future-label stream labels row i by feature x0 of row i + lag', () => {
  const t = parseTable(futureLabelStream(50, 10, 3), 'stream');
  assert.equal(t.rows.length, 50);
  const x0 = t.header.indexOf('x0');
  const label = t.header.indexOf('label');
  for (let i = 0; i + 10 < 50; i++) assert.equal(t.rows[i][label], Number(t.rows[i + 10][x0]) > 0.5 ? 'yes' : 'no');
});

test('every strategy is a valid model config: no approvers, one-step rollout, the same gate and data', () => {
  const data = { path: 'data.csv', label: 'class', positive: 'UP', batchRows: 336, features: ['a', 'b'] };
  const configs = STRATEGIES.map((s) => parseModelConfig(s.config(data, 'logistic')));
  assert.equal(new Set(STRATEGIES.map((s) => s.name)).size, STRATEGIES.length);
  for (const c of configs) {
    assert.deepEqual(c.promotion.approvers, []);
    assert.deepEqual(c.rollout.steps, [1]);
    assert.equal(c.trainer.kind, 'logistic');
    assert.deepEqual(c.evaluation, configs[0].evaluation);
    assert.deepEqual(c.data, configs[0].data);
    assert.equal(c.triggers.builtin.enabled, true);
  }
  const byName = new Map(STRATEGIES.map((s, i) => [s.name, configs[i]]));
  assert.equal(byName.get('weekly')!.trainingSet.newFraction, 1);
  assert.equal(byName.get('weekly-mix80')!.trainingSet.newFraction, 0.8);
  assert.deepEqual(byName.get('ddm')!.triggers.builtin.detectors, ['ddm']);
  assert.equal(byName.get('never')!.triggers.schedule, undefined);
  assert.deepEqual(byName.get('never')!.triggers.builtin.detectors, []);
});

test('targets: drift within a point of weekly at half the retrains passes; more retrains fails', () => {
  const s = (strategy: string, acc: number, runs: number, driftTriggered: boolean) => ({ strategy, accuracy: acc, runs, driftTriggered, scoredRows: 1000 }) as StrategySummary;
  const ok = judgeTargets('d', 'gbdt', [s('weekly', 0.78, 101, false), s('ddm', 0.775, 51, true)]);
  assert.equal(ok[0].pass, true);
  assert.equal(ok[1].pass, false);
  const tooMany = judgeTargets('d', 'gbdt', [s('weekly', 0.78, 101, false), s('ddm', 0.79, 52, true)]);
  assert.equal(tooMany[0].pass, false);
  const stretch = judgeTargets('d', 'gbdt', [s('weekly', 0.8, 101, false), s('adwin', 0.805, 40, true)]);
  assert.deepEqual(stretch.map((t) => t.pass), [true, true]);
});

test('the command line reads the documented options and names a bad one', () => {
  const o = parseArgs(['--data', 'x.csv', '--label', 'y', '--positive', '1', '--batch-rows', '100', '--trainer', 'logistic', '--strategies', 'never,ddm', '--quick']);
  assert.equal(o.data, 'x.csv');
  assert.equal(o.batchRows, 100);
  assert.deepEqual(o.strategies, ['never', 'ddm']);
  assert.equal(o.quick, true);
  assert.throws(() => parseArgs(['--trainer', 'svm']), /--trainer/);
  assert.throws(() => parseArgs(['--bogus', '1']), /bogus/);
});
