import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../ml/random';
import { psi, psiDetail, categoricalPsi, psiFromCounts } from '../../ml/drift/psi';
import { jensenShannonDistance, jensenShannonFromCounts } from '../../ml/drift/jensen-shannon';
import { wasserstein1 } from '../../ml/drift/wasserstein';

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

function close(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `expected ${expected}, got ${actual}`);
}

test('PSI bins at the reference quartiles and matches a hand computation', () => {
  // Reference 0..99: type-7 quartiles 24.75, 49.5, 74.25 put 25 values in each bin (proportions 0.25).
  const reference = Float64Array.from(range(0, 100));
  // Current: 10, 20, 30 and 40 values in the four bins.
  const current = Float64Array.from([...range(0, 10), ...range(30, 50), ...range(50, 75), ...range(60, 65), ...range(75, 100), ...range(80, 95)]);
  const d = psiDetail(reference, current, { bins: 4 });
  assert.deepEqual([...d.edges!], [24.75, 49.5, 74.25]);
  assert.deepEqual([...d.referenceProportions], [0.25, 0.25, 0.25, 0.25]);
  assert.deepEqual([...d.currentProportions], [0.1, 0.2, 0.3, 0.4]);
  // Σ (c − r) ln(c / r), by hand: 0.137444 + 0.011157 + 0.009116 + 0.070501 = 0.228217.
  const expected = -0.15 * Math.log(0.4) - 0.05 * Math.log(0.8) + 0.05 * Math.log(1.2) + 0.15 * Math.log(1.6);
  close(d.psi, expected);
  close(d.psi, 0.228217, 1e-6);
  close(psi(reference, current, { bins: 4 }), expected);
});

test('PSI replaces an empty current bin by epsilon instead of dividing by zero', () => {
  const reference = Float64Array.from(range(0, 100));
  const current = Float64Array.from([...range(25, 75), ...range(50, 55), ...range(75, 100), ...range(75, 95)]);
  const d = psiDetail(reference, current, { bins: 4 });
  assert.deepEqual([...d.currentProportions], [0, 0.25, 0.3, 0.45]);
  const eps = 1e-4;
  const expected = (eps - 0.25) * Math.log(eps / 0.25) + 0 + 0.05 * Math.log(0.3 / 0.25) + 0.2 * Math.log(0.45 / 0.25);
  close(d.psi, expected);
  close(psiDetail(reference, current, { bins: 4, epsilon: 1e-3 }).psi, (1e-3 - 0.25) * Math.log(1e-3 / 0.25) + 0.05 * Math.log(1.2) + 0.2 * Math.log(1.8));
});

test('PSI on a tied (binary) feature merges repeated cut points and equals the per-category PSI', () => {
  const reference = Float64Array.from([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  const current = Float64Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  // Proportions 0.4/0.6 → 0.5/0.5: 0.1 ln(0.5/0.4) + 0.1 ln(0.6/0.5) = 0.040546.
  const expected = 0.1 * Math.log(0.5 / 0.4) + 0.1 * Math.log(0.6 / 0.5);
  close(psi(reference, current), expected);
  close(categoricalPsi(reference, current).psi, expected);
  close(psiFromCounts([4, 6], [5, 5]).psi, expected);
});

test('PSI of a sample against itself is 0 and grows with the size of a shift', () => {
  const rng = new Rng(1);
  const a = Float64Array.from({ length: 20_000 }, () => rng.normal());
  assert.equal(psi(a, a), 0);
  const small = psi(a, a.map((x) => x + 0.1));
  const large = psi(a, a.map((x) => x + 1));
  assert.ok(small > 0 && small < 0.1, `small shift ${small}`);
  assert.ok(large > 0.2, `large shift ${large}`);
});

test('PSI leaves missing values out', () => {
  const reference = Float64Array.from([...range(0, 100), NaN, NaN]);
  const current = Float64Array.from([...range(0, 100), NaN]);
  assert.equal(psi(reference, current), 0);
});

test('Jensen-Shannon distance matches SciPy documented examples, in base 2', () => {
  // scipy.spatial.distance.jensenshannon docs: ([1,0,0], [0,1,0], base 2) = 1.0; ([1,0], [0.5,0.5]) = 0.46450140402245893
  // in natural log, and the base-2 distance is that divided by sqrt(ln 2); identical vectors give 0.
  assert.equal(jensenShannonFromCounts([1, 0, 0], [0, 1, 0]), 1);
  close(jensenShannonFromCounts([1, 0], [0.5, 0.5]), 0.46450140402245893 / Math.sqrt(Math.LN2), 1e-14);
  assert.equal(jensenShannonFromCounts([1, 0, 0], [1, 0, 0]), 0);
  // Counts are normalised first.
  close(jensenShannonFromCounts([10, 0], [3, 3]), 0.46450140402245893 / Math.sqrt(Math.LN2), 1e-14);
});

test('Jensen-Shannon distance is 0 for identical samples and 1 for disjoint ones, numeric and categorical', () => {
  const rng = new Rng(2);
  const a = Float64Array.from({ length: 5000 }, () => rng.normal());
  assert.equal(jensenShannonDistance(a, a), 0);
  assert.equal(jensenShannonDistance(a, a.map((x) => x + 100)), 1);
  const codesA = Float64Array.from([0, 1, 1, 2, 2, 2]);
  assert.equal(jensenShannonDistance(codesA, codesA, { kind: 'categorical' }), 0);
  assert.equal(jensenShannonDistance(codesA, Float64Array.from([3, 4, 4]), { kind: 'categorical' }), 1);
  // Count maps work as category samples: {0: 1, 1: 1} vs {0: 2} is the [0.5, 0.5] vs [1, 0] case above.
  close(jensenShannonDistance(new Map([[0, 1], [1, 1]]), new Map([[0, 2]]), { kind: 'categorical' }), 0.46450140402245893 / Math.sqrt(Math.LN2), 1e-14);
});

test('Jensen-Shannon distance grows with the shift and stays in [0, 1]', () => {
  const rng = new Rng(3);
  const a = Float64Array.from({ length: 20_000 }, () => rng.normal());
  const d1 = jensenShannonDistance(a, a.map((x) => x + 0.2));
  const d2 = jensenShannonDistance(a, a.map((x) => x + 1));
  const d3 = jensenShannonDistance(a, a.map((x) => x + 3));
  assert.ok(0 < d1 && d1 < d2 && d2 < d3 && d3 <= 1, `${d1} ${d2} ${d3}`);
});

test('Wasserstein-1 matches scipy.stats.wasserstein_distance documented examples', () => {
  // scipy.stats.wasserstein_distance docs.
  assert.equal(wasserstein1([0, 1, 3], [5, 6, 8]), 5);
  close(wasserstein1([0, 1], [0, 1], [3, 1], [2, 2]), 0.25);
  close(wasserstein1([3.4, 3.9, 7.5, 7.8], [4.5, 1.4], [1.4, 0.9, 3.1, 7.2], [3.2, 3.5]), 4.0781331438047861);
});

test('Wasserstein-1 between a sample and its shift is the shift, and does not depend on order', () => {
  const rng = new Rng(4);
  const a = Float64Array.from({ length: 10_001 }, () => rng.normal());
  close(wasserstein1(a, a.map((x) => x + 2.5)), 2.5, 1e-9);
  const reversed = Float64Array.from(a).reverse();
  assert.equal(wasserstein1(a, a), 0);
  assert.equal(wasserstein1(reversed, a.map((x) => x * 2)), wasserstein1(a, a.map((x) => x * 2)));
  // Closed form for two point masses at 0 and 1 with unequal sizes: |F_u − F_v| = 1 − 1/2 on [0, 1).
  close(wasserstein1([0], [0, 1]), 0.5);
});

test('bad distance input names the argument and what was expected', () => {
  assert.throws(() => psi([], [1, 2]), /reference: expected at least one finite value, got an empty array/);
  assert.throws(() => psi([1, 2], [NaN]), /current: expected at least one finite value, got 1 missing values/);
  assert.throws(() => psi([1, 2], [1], { bins: 1 }), /options\.bins: expected an integer >= 2, got 1/);
  assert.throws(() => psiFromCounts([1, 2], [1]), /currentCounts: expected 2 bins to match referenceCounts, got 1/);
  assert.throws(() => jensenShannonFromCounts([1, -1], [1, 1]), /p\[1\]: expected a non-negative count, got -1/);
  assert.throws(() => wasserstein1([1, 2], [1], [1]), /uWeights: expected 2 weights to match u, got 1/);
  assert.throws(() => wasserstein1([1, NaN], [1]), /u\[1\]: expected a finite number, got NaN/);
});
