import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  demographicParityDifference,
  equalizedOddsDifference,
  equalOpportunityDifference,
  fairnessGaps,
  groupMetrics,
} from '../../ml/fairness';

// A hand-made table. Group A: labels 1 1 1 0 0 0, predicted 1 1 0 1 0 0 → tp 2, fn 1, fp 1, tn 2.
// Group B: labels 1 1 0 0 0 0, predicted 1 0 0 0 0 0 → tp 1, fn 1, fp 0, tn 4.
const y = Uint8Array.from([1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]);
const p = Float64Array.from([0.9, 0.6, 0.2, 0.7, 0.1, 0.4, 0.8, 0.3, 0.2, 0.1, 0.45, 0.0]);
const groups = ['A', 'A', 'A', 'A', 'A', 'A', 'B', 'B', 'B', 'B', 'B', 'B'];

test('per-group counts and rates match the hand-made table', () => {
  const [a, b] = groupMetrics(y, p, groups);
  assert.deepEqual(
    { group: a.group, count: a.count, tp: a.tp, fp: a.fp, tn: a.tn, fn: a.fn, positives: a.positives, negatives: a.negatives, predictedPositives: a.predictedPositives },
    { group: 'A', count: 6, tp: 2, fp: 1, tn: 2, fn: 1, positives: 3, negatives: 3, predictedPositives: 3 },
  );
  assert.equal(a.selectionRate, 0.5);
  assert.equal(a.tpr, 2 / 3);
  assert.equal(a.fpr, 1 / 3);
  assert.equal(a.accuracy, 4 / 6);
  assert.deepEqual([b.group, b.tp, b.fp, b.tn, b.fn], ['B', 1, 0, 4, 1]);
  assert.equal(b.selectionRate, 1 / 6);
  assert.equal(b.tpr, 1 / 2);
  assert.equal(b.fpr, 0);
  assert.equal(b.accuracy, 5 / 6);
});

test('disparities are the largest minus the smallest group rate, as fairlearn defines them', () => {
  // Selection rates 1/2 and 1/6; TPRs 2/3 and 1/2; FPRs 1/3 and 0.
  assert.equal(demographicParityDifference(y, p, groups), 1 / 2 - 1 / 6);
  assert.equal(equalOpportunityDifference(y, p, groups), 2 / 3 - 1 / 2);
  // Equalized odds: the larger of the TPR gap (1/6) and the FPR gap (1/3).
  assert.equal(equalizedOddsDifference(y, p, groups), 1 / 3);
});

test('group codes with names give the same table as group labels', () => {
  const codes = Int32Array.from(groups.map((g) => (g === 'A' ? 0 : 1)));
  assert.deepEqual(groupMetrics(y, p, { codes, names: ['A', 'B'] }), groupMetrics(y, p, groups));
  assert.deepEqual(groupMetrics(y, p, codes).map((g) => g.group), ['0', '1']);
});

test('the threshold moves predictions and therefore the rates', () => {
  // At 0.75 only 0.9 (A) and 0.8 (B) are predicted positive: selection 1/6 in both groups.
  assert.equal(demographicParityDifference(y, p, groups, 0.75), 0);
  const [a] = groupMetrics(y, p, groups, 0.75);
  assert.equal(a.tpr, 1 / 3);
  // Positive means p > threshold, as in ml/metrics and scikit-learn's predict: a score at the threshold is negative.
  assert.equal(groupMetrics([0, 1], [0.5, 0.5], ['g', 'g'])[0].predictedPositives, 0);
});

test('a group without positives is left out of the TPR gap but counts for selection rate and FPR', () => {
  const y3 = Uint8Array.from([...y, 0, 0]);
  const p3 = Float64Array.from([...p, 0.9, 0.1]);
  const g3 = [...groups, 'C', 'C'];
  const table = groupMetrics(y3, p3, g3);
  assert.equal(table[2].tpr, null);
  assert.equal(table[2].fpr, 0.5);
  const gaps = fairnessGaps(table);
  assert.equal(gaps.demographic_parity, 1 / 2 - 1 / 6);
  assert.equal(gaps.equal_opportunity, 2 / 3 - 1 / 2);
  assert.equal(gaps.equalized_odds, 0.5);
});

test('a single group has no disparity', () => {
  assert.equal(equalizedOddsDifference(y, p, groups.map(() => 'all')), 0);
});

test('bad fairness input names the argument and what was expected', () => {
  assert.throws(() => groupMetrics(y, p.subarray(1), groups), /p: expected 12 predictions to match y, got 11/);
  assert.throws(() => groupMetrics(y, p, groups.slice(1)), /groups: expected 12 group labels to match y, got 11/);
  assert.throws(() => groupMetrics(Uint8Array.from([2]), [0.5], ['A']), /y\[0\]: expected 0 or 1, got 2/);
  assert.throws(() => groupMetrics([1], [0.5], { codes: Int32Array.from([3]), names: ['A'] }), /groups\.codes\[0\]: expected a code in \[0, 1\), got 3/);
});
