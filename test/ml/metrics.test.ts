import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Metrics,
  MetricNames,
  accuracy,
  brierScore,
  computeMetrics,
  expectedCalibrationError,
  f1,
  logLoss,
  metricsBySlice,
  precision,
  prepareMetric,
  recall,
  rocAuc,
} from '../../ml/metrics';
import { Rng } from '../../ml/random';

// Twelve examples with tied scores (0.4 three times, one of them a negative) and a score exactly at 0.5.
const y = Uint8Array.of(1, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1);
const p = Float64Array.of(0.9, 0.1, 0.8, 0.4, 0.4, 0.6, 0.7, 0.2, 0.55, 0.5, 0.3, 0.4);
const w = Float64Array.of(1, 2, 1, 1, 3, 1, 1, 1, 2, 1, 1, 1);

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected}`);
}

test('threshold metrics count p > 0.5 as positive, as scikit-learn predict does', () => {
  // Predicted positive: 0.9, 0.8, 0.6, 0.7, 0.55 (not 0.5): TP = 4, FP = 1, FN = 2, TN = 5
  assert.equal(accuracy(y, p), 9 / 12);
  assert.equal(precision(y, p), 4 / 5);
  assert.equal(recall(y, p), 4 / 6);
  close(f1(y, p), 8 / 11, 1e-15, 'F1 = 2TP/(2TP+FP+FN)');
  assert.equal(accuracy(y, p, 0.45), 8 / 12); // now 0.5 counts as positive too
});

test('log loss, Brier and AUC match scikit-learn 1.2.1 with and without weights', () => {
  // sklearn.metrics.{log_loss, brier_score_loss, roc_auc_score, accuracy_score, precision_score, recall_score,
  // f1_score} on the same arrays (no probability is exactly 0 or 1, so log_loss's eps plays no part)
  close(logLoss(y, p), 0.4934200018771299, 1e-14, 'log loss');
  close(brierScore(y, p), 0.16437500000000002, 1e-14, 'Brier');
  // AUC by hand: positives beat 6, 6, 3.5, 6, 5, 3.5 of the 6 negatives (ties at 0.4 count ½): 30/36
  close(rocAuc(y, p), 30 / 36, 1e-15, 'AUC');
  close(accuracy(y, p, 0.5, w), 0.8125, 1e-15, 'weighted accuracy');
  close(logLoss(y, p, w), 0.4778680491544367, 1e-14, 'weighted log loss');
  close(brierScore(y, p, w), 0.15656249999999997, 1e-14, 'weighted Brier');
  close(rocAuc(y, p, w), 0.8571428571428572, 1e-14, 'weighted AUC');
  close(precision(y, p, 0.5, w), 0.8333333333333334, 1e-14, 'weighted precision');
  close(recall(y, p, 0.5, w), 0.7142857142857143, 1e-14, 'weighted recall');
  close(f1(y, p, 0.5, w), 0.7692307692307692, 1e-14, 'weighted F1');
});

test('expected calibration error sums |Σ(y − p)| over equal-width bins, divided by n', () => {
  // Bin gaps: 0.9→+0.1, 0.1→−0.1, 0.8→+0.2, {0.4,0.4,0.4}→+0.8, 0.6→−0.6, 0.7→+0.3, 0.2→−0.2,
  // {0.55, 0.5}→−0.05, 0.3→−0.3; Σ|gap| = 2.65
  close(expectedCalibrationError(y, p), 2.65 / 12, 1e-14, 'ECE, 10 bins');
  // One bin: |Σy − Σp| / n = |6 − 5.85| / 12
  close(expectedCalibrationError(y, p, 1), 0.15 / 12, 1e-13, 'ECE, 1 bin');
});

test('AUC equals the Mann–Whitney count over all positive–negative pairs on random tied scores', () => {
  const rng = new Rng(21);
  const n = 400;
  const yy = new Uint8Array(n);
  const pp = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    yy[i] = rng.next() < 0.35 ? 1 : 0;
    pp[i] = Math.round((0.3 + 0.3 * yy[i] + 0.25 * rng.normal()) * 20) / 20; // rounded: many ties
    pp[i] = Math.min(1, Math.max(0, pp[i]));
  }
  let u = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    if (yy[i] !== 1) continue;
    for (let j = 0; j < n; j++) {
      if (yy[j] !== 0) continue;
      pairs++;
      u += pp[i] > pp[j] ? 1 : pp[i] === pp[j] ? 0.5 : 0;
    }
  }
  close(rocAuc(yy, pp), u / pairs, 1e-14, 'AUC vs pair count');
  // unit weights through the prepared (weighted) path agree with the unweighted sort-and-merge path
  close(prepareMetric('rocAuc', yy, pp)(new Float64Array(n).fill(1)), u / pairs, 1e-14, 'prepared AUC');
});

test('integer weights give the same metrics as repeating the examples', () => {
  const rep = (arr: ArrayLike<number>): number[] => Array.from(arr).flatMap((v, i) => Array(w[i]).fill(v));
  const yr = Uint8Array.from(rep(y));
  const pr = Float64Array.from(rep(p));
  const weighted = computeMetrics(y, p, { weights: w });
  const repeated = computeMetrics(yr, pr);
  for (const name of MetricNames) close(weighted[name], repeated[name], 1e-14, name);
});

test('undefined metrics are NaN: no predicted positives, no positive labels, one class only', () => {
  const yNeg = Uint8Array.of(0, 0, 0);
  const pLow = Float64Array.of(0.1, 0.2, 0.3);
  assert.ok(Number.isNaN(precision(Uint8Array.of(1, 0, 1), pLow)), 'precision without predicted positives');
  assert.ok(Number.isNaN(recall(yNeg, pLow)), 'recall without positives');
  assert.ok(Number.isNaN(rocAuc(yNeg, pLow)), 'AUC with one class');
  assert.ok(Number.isNaN(f1(yNeg, pLow)), 'F1 with no positives and no predicted positives');
  assert.equal(f1(Uint8Array.of(1, 0, 0), pLow), 0, 'F1 is 0, not NaN, when there are positives but none found');
});

test('the catalogue records direction and per-example decomposition for every metric', () => {
  assert.deepEqual(MetricNames, ['accuracy', 'logLoss', 'brierScore', 'rocAuc', 'precision', 'recall', 'f1', 'expectedCalibrationError']);
  assert.equal(Metrics.logLoss.higherIsBetter, false);
  assert.equal(Metrics.rocAuc.higherIsBetter, true);
  const decomposable = MetricNames.filter((m) => Metrics[m].perExample);
  assert.deepEqual(decomposable, ['accuracy', 'logLoss', 'brierScore']);
  const all = computeMetrics(y, p);
  assert.deepEqual(Object.keys(all), MetricNames);
});

test('metrics by slice equal the metrics of each subset, in slice order, with NaN where a slice has one class', () => {
  const codes = Int32Array.of(2, 1, 2, 1, 1, 2, 1, 1, 2, 3, 3, 1);
  const slices = metricsBySlice(y, p, codes, ['accuracy', 'rocAuc', 'recall']);
  assert.deepEqual(slices.map((s) => s.slice), [1, 2, 3]);
  for (const s of slices) {
    const idx = [...codes.keys()].filter((i) => codes[i] === s.slice);
    const ys = Uint8Array.from(idx.map((i) => y[i]));
    const ps = Float64Array.from(idx.map((i) => p[i]));
    assert.equal(s.count, idx.length);
    assert.equal(s.positives, ys.reduce((a, b) => a + b, 0));
    assert.equal(s.metrics.accuracy, accuracy(ys, ps));
    if (s.slice === 3) {
      assert.ok(Number.isNaN(s.metrics.rocAuc!), 'slice 3 has negatives only');
      assert.ok(Number.isNaN(s.metrics.recall!));
    } else {
      assert.equal(s.metrics.rocAuc, rocAuc(ys, ps));
    }
  }
  const named = metricsBySlice(y, p, ['b', 'a', 'b', 'a', 'a', 'b', 'a', 'a', 'b', 'c', 'c', 'a'], ['accuracy']);
  assert.deepEqual(named.map((s) => [s.slice, s.metrics.accuracy]), slices.map((s, i) => [['a', 'b', 'c'][i], s.metrics.accuracy]));
});

test('bad input names the offending argument and both lengths on a mismatch', () => {
  assert.throws(() => accuracy(y, p.subarray(0, 5)), /y and p: expected equal lengths, got y\.length=12 and p\.length=5/);
  assert.throws(() => logLoss(Uint8Array.of(0, 2), Float64Array.of(0.1, 0.2)), /y\[1\]: expected a label 0 or 1, got 2/);
  assert.throws(() => brierScore(Uint8Array.of(0, 1), Float64Array.of(0.1, 1.2)), /p\[1\]: expected a probability in \[0, 1\], got 1\.2/);
  assert.throws(() => rocAuc(Uint8Array.of(0, 1), Float64Array.of(0.1, NaN)), /p\[1\]: expected a probability/);
  assert.throws(() => accuracy(y, p, 0.5, new Float64Array(3)), /y and weights: expected equal lengths/);
  assert.throws(() => accuracy(y, p, 0.5, new Float64Array(12).fill(-1)), /weights\[0\]: expected a finite weight >= 0/);
  assert.throws(() => expectedCalibrationError(y, p, 0), /bins: expected an integer >= 1/);
  assert.throws(() => metricsBySlice(y, p, new Int32Array(3)), /y and sliceCodes: expected equal lengths/);
  assert.throws(() => accuracy(new Uint8Array(0), new Float64Array(0)), /y: expected at least one example/);
});
