import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chiSquareTest } from '../../ml/drift/chi-square';
import { normalSf } from '../../ml/stats/distributions';

function close(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `expected ${expected}, got ${actual}`);
}

const counts = (xs: number[]): Map<number, number> => new Map(xs.map((c, k) => [k, c]));
const codes = (xs: number[]): Float64Array => Float64Array.from(xs.flatMap((c, k) => Array<number>(c).fill(k)));

test('the chi-square homogeneity test matches a closed-form 2 x 3 table', () => {
  // Rows [30, 50, 20] and [20, 50, 30]: every expected count is 25, 50, 25, so χ² = 2 (25/25 + 0 + 25/25) = 4
  // with 2 df, whose survival function is exp(−x/2) in closed form: p = e^−2.
  const r = chiSquareTest(counts([30, 50, 20]), counts([20, 50, 30]));
  close(r.statistic, 4);
  assert.equal(r.df, 2);
  close(r.pValue, Math.exp(-2), 1e-13);
  close(r.cramersV, Math.sqrt(4 / 200));
  assert.deepEqual(r.merged, []);
  // The same data as raw codes gives the same test.
  assert.deepEqual(chiSquareTest(codes([30, 50, 20]), codes([20, 50, 30])), r);
});

test('a category too rare for the approximation is pooled, and the pool joins the smallest category', () => {
  // Category 2 has 4 rows in all: expected 2 per sample < 5, so it is pooled; the pool alone is still rare and
  // joins category 0 (80 rows), leaving the 2 x 2 table [52, 48] / [32, 68].
  const r = chiSquareTest(counts([50, 48, 2]), counts([30, 68, 2]));
  assert.deepEqual(r.merged, [0, 2]);
  assert.equal(r.df, 1);
  // Expected counts 42 and 58 in each row: χ² = 2 (10²/42 + 10²/58); with 1 df, p = 2 · (1 − Φ(√χ²)).
  const stat = 2 * (100 / 42 + 100 / 58);
  close(r.statistic, stat);
  close(r.pValue, 2 * normalSf(Math.sqrt(stat)), 1e-12);
});

test('a new category with many rows is kept and drives the statistic', () => {
  const r = chiSquareTest(counts([500, 500, 0]), counts([400, 400, 200]));
  assert.deepEqual(r.merged, []);
  assert.equal(r.df, 2);
  assert.ok(r.pValue < 1e-40, `p = ${r.pValue}`);
});

test('identical samples give statistic 0 and p-value 1; a single category leaves nothing to test', () => {
  const same = chiSquareTest(codes([10, 20, 30]), codes([10, 20, 30]));
  assert.equal(same.statistic, 0);
  assert.equal(same.pValue, 1);
  const single = chiSquareTest(codes([10]), codes([5]));
  assert.deepEqual([single.statistic, single.df, single.pValue], [0, 0, 1]);
});

test('missing category codes are left out', () => {
  const r = chiSquareTest(Float64Array.from([0, 0, 1, NaN, -1]), Float64Array.from([0, 1, 1, NaN]), { minExpected: 0 });
  assert.equal(r.nReference, 3);
  assert.equal(r.nCurrent, 3);
});

test('bad chi-square input names the argument and what was expected', () => {
  assert.throws(() => chiSquareTest([], [1]), /reference: expected at least one non-missing category code/);
  assert.throws(() => chiSquareTest(new Map([[0, -1]]), [1]), /reference: expected non-negative counts, got -1 for category 0/);
  assert.throws(() => chiSquareTest([1], [1], { minExpected: -1 }), /options\.minExpected: expected a non-negative number, got -1/);
});
