import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapMean, pairedBootstrap, quantileSorted } from '../../ml/stats/bootstrap';
import { BlockResampler, sampleBinomial, sampleMultinomial } from '../../ml/stats/sampling';
import { binomialPmf, chiSquareSf, normalCdf } from '../../ml/stats/distributions';
import { accuracy } from '../../ml/metrics';
import { Rng } from '../../ml/random';

// Coverage tolerance: with S simulations of a nominal 95% interval, the number covering is Bin(S, 0.95);
// we accept 0.95 ± 3 standard deviations (±0.046 for S = 200, ±0.065 for S = 100). The seeds are fixed, so
// the tests are deterministic; the tolerance says how unlucky a seed could have been.
function assertCoverage(covered: number, sims: number, what: string): void {
  const sd = Math.sqrt((0.95 * 0.05) / sims);
  const share = covered / sims;
  assert.ok(Math.abs(share - 0.95) <= 3 * sd, `${what}: coverage ${share} outside 0.95 ± ${(3 * sd).toFixed(3)}`);
}

/** Paired predictions where model A is right with probability accA and B with accB, independently. */
function pairedAccuracyData(rng: Rng, n: number, accA: number, accB: number): { y: Uint8Array; pA: Float64Array; pB: Float64Array } {
  const y = new Uint8Array(n);
  const pA = new Float64Array(n);
  const pB = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.5 ? 1 : 0;
    const rightA = rng.next() < accA;
    const rightB = rng.next() < accB;
    pA[i] = rightA === (y[i] === 1) ? 0.8 : 0.2;
    pB[i] = rightB === (y[i] === 1) ? 0.7 : 0.3;
  }
  return { y, pA, pB };
}

test('the paired accuracy-difference interval covers the true difference about 95% of the time', () => {
  const rng = new Rng(2024);
  const sims = 200;
  let covered = 0;
  for (let s = 0; s < sims; s++) {
    const data = pairedAccuracyData(rng, 400, 0.8, 0.85);
    const r = pairedBootstrap({ ...data, metric: 'accuracy', resamples: 1000, seed: s });
    if (r.lower <= 0.05 && 0.05 <= r.upper) covered++;
  }
  assertCoverage(covered, sims, 'accuracy difference');
});

test('the paired AUC-difference interval covers the binormal truth about 95% of the time', () => {
  // Scores N(μ·y, 1): AUC = Φ(μ/√2). μA = 1, μB = 1.4 on the same examples with independent noise.
  const truth = normalCdf(1.4 / Math.SQRT2) - normalCdf(1 / Math.SQRT2);
  const rng = new Rng(99);
  const sims = 100;
  let covered = 0;
  for (let s = 0; s < sims; s++) {
    const n = 240;
    const y = new Uint8Array(n);
    const pA = new Float64Array(n);
    const pB = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = rng.next() < 0.5 ? 1 : 0;
      pA[i] = normalCdf(1 * y[i] + rng.normal());
      pB[i] = normalCdf(1.4 * y[i] + rng.normal());
    }
    const r = pairedBootstrap({ y, pA, pB, metric: 'rocAuc', resamples: 300, seed: 1000 + s });
    if (r.lower <= truth && truth <= r.upper) covered++;
  }
  assertCoverage(covered, sims, 'AUC difference');
});

test('the bootstrap interval of a mean covers the true mean of skewed data about 95% of the time', () => {
  const rng = new Rng(7);
  const sims = 200;
  let covered = 0;
  for (let s = 0; s < sims; s++) {
    const values = new Float64Array(200).map(() => -Math.log(1 - rng.next())); // Exponential(1): mean 1
    const r = bootstrapMean(values, { resamples: 400, seed: s });
    if (r.lower <= 1 && 1 <= r.upper) covered++;
  }
  assertCoverage(covered, sims, 'mean');
});

test('the estimate is the full-sample difference and the standard error matches theory', () => {
  const rng = new Rng(5);
  const data = pairedAccuracyData(rng, 5000, 0.7, 0.75);
  const r = pairedBootstrap({ ...data, metric: 'accuracy', resamples: 4000, seed: 1 });
  assert.equal(r.estimate, accuracy(data.y, data.pB) - accuracy(data.y, data.pA));
  // d_i ∈ {−1, 0, 1}: the standard error of its mean is sd(d)/√n
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < data.y.length; i++) {
    const d = (data.pB[i] > 0.5 ? 1 : 0) === data.y[i] ? 1 : 0;
    const e = (data.pA[i] > 0.5 ? 1 : 0) === data.y[i] ? 1 : 0;
    s1 += d - e;
    s2 += (d - e) ** 2;
  }
  const n = data.y.length;
  const sdMean = Math.sqrt((s2 / n - (s1 / n) ** 2) / n);
  assert.ok(Math.abs(r.standardError / sdMean - 1) < 0.05, `bootstrap SE ${r.standardError} vs analytic ${sdMean}`);
  assert.equal(r.method, 'percentile');
  assert.equal(r.resamples, 4000);
});

test('multinomial resampling of few-valued data and index resampling agree in distribution', () => {
  // Accuracy differences take the values −1, 0, +1: 'auto' draws multinomial counts, 'indices' draws n indices
  // per resample. The standard errors and bounds must agree to Monte Carlo precision (~2% at 4000 resamples).
  const data = pairedAccuracyData(new Rng(17), 3000, 0.75, 0.77);
  const a = pairedBootstrap({ ...data, metric: 'accuracy', resamples: 4000, seed: 3 });
  const b = pairedBootstrap({ ...data, metric: 'accuracy', resamples: 4000, seed: 4, strategy: 'indices' });
  assert.equal(a.estimate, b.estimate);
  assert.ok(Math.abs(a.standardError / b.standardError - 1) < 0.08, `SE ${a.standardError} vs ${b.standardError}`);
  assert.ok(Math.abs(a.lower - b.lower) < 0.15 * (a.upper - a.lower), `lower ${a.lower} vs ${b.lower}`);
});

test('block resampling draws each example with probability 1/n, like n independent indices', () => {
  // n = 10,000 in blocks of 4096: the draws landing in the last, partial block (examples 8192…9999, 1808 of
  // them) are Bin(10000, 0.1808)
  const n = 10000;
  const resampler = new BlockResampler(new Rng(12), n);
  const counts = new Float64Array(n);
  const inSecond: number[] = [];
  let firstExample = 0;
  const resamples = 1000;
  for (let r = 0; r < resamples; r++) {
    resampler.counts(counts);
    let total = 0;
    let second = 0;
    for (let i = 0; i < n; i++) {
      total += counts[i];
      if (i >= 8192) second += counts[i];
    }
    assert.equal(total, n);
    inSecond.push(second);
    firstExample += counts[0];
  }
  const mean = inSecond.reduce((x, v) => x + v, 0) / inSecond.length;
  const variance = inSecond.reduce((x, v) => x + (v - mean) ** 2, 0) / (inSecond.length - 1);
  const p = 1808 / n;
  assert.ok(Math.abs(mean - n * p) < 4 * Math.sqrt((n * p * (1 - p)) / resamples), `mean ${mean}`);
  assert.ok(Math.abs(variance / (n * p * (1 - p)) - 1) < 0.15, `variance ${variance}`);
  // one example's multiplicity is Bin(n, 1/n): mean 1 (sd of the average over 1000 resamples ≈ 0.032)
  assert.ok(Math.abs(firstExample / resamples - 1) < 0.13, `mean multiplicity ${firstExample / resamples}`);
});

test('equal seeds give identical results and different seeds different resamples', () => {
  const data = pairedAccuracyData(new Rng(1), 300, 0.7, 0.72);
  for (const metric of ['accuracy', 'logLoss', 'rocAuc', 'f1'] as const) {
    const a = pairedBootstrap({ ...data, metric, resamples: 200, seed: 42, keepSamples: true });
    const b = pairedBootstrap({ ...data, metric, resamples: 200, seed: 42, keepSamples: true });
    const c = pairedBootstrap({ ...data, metric, resamples: 200, seed: 43, keepSamples: true });
    assert.deepEqual(a, b, `${metric}: same seed`);
    assert.notDeepEqual(a.samples, c.samples, `${metric}: different seed`);
  }
});

test('percentiles interpolate linearly between order statistics, as NumPy does by default', () => {
  const sorted = Float64Array.of(1, 2, 4, 8);
  assert.equal(quantileSorted(sorted, 0), 1);
  assert.equal(quantileSorted(sorted, 1), 8);
  assert.equal(quantileSorted(sorted, 0.5), 3); // np.percentile([1,2,4,8], 50) = 3.0
  assert.ok(Math.abs(quantileSorted(sorted, 0.9) - 6.8) < 1e-12); // position 2.7: 4 + 0.7·4
});

/**
 * Chi-square goodness of fit of observed counts (value → times drawn) against the exact Bin(n, p) pmf, cells
 * pooled until each expects at least 20 draws; the p-value. Values beyond 7 sd are in the end cells' reach only
 * through pooling, and their mass (< 1e-11) cannot move the statistic.
 */
function binomialFitPValue(counts: Map<number, number>, draws: number, n: number, p: number): number {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  let chi = 0;
  let df = -1;
  let e = 0;
  let o = 0;
  const lo = Math.max(0, Math.floor(mean - 7 * sd));
  const hi = Math.min(n, Math.ceil(mean + 7 * sd));
  for (const k of counts.keys()) assert.ok(k >= lo && k <= hi, `Bin(${n}, ${p}): drew ${k}, beyond 7 sd of the mean`);
  for (let k = lo; k <= hi; k++) {
    e += draws * binomialPmf(k, n, p);
    o += counts.get(k) ?? 0;
    if (e >= 20 || k === hi) {
      chi += (o - e) ** 2 / e;
      df++;
      e = 0;
      o = 0;
    }
  }
  return chiSquareSf(chi, df);
}

test('binomial draws follow the exact pmf for small and large n·p, on every branch of the sampler', () => {
  // Inversion below n·p = 10, BTRD above (its short-walk test within 15 of the mode and its squeeze beyond),
  // and p > 1/2 by symmetry. At the 1% level each case fails by chance 1 time in 100; the seeds are fixed.
  const cases: [number, number][] = [
    [12, 0.3], // n·p = 3.6: inversion
    [1000, 0.0099], // n·p = 9.9: inversion at its edge
    [1000, 0.0101], // n·p = 10.1: BTRD at its edge, everything within 15 of the mode
    [200, 0.4], // n·p = 80
    [50, 0.85], // p > 1/2: n − Bin(n, 0.15), inversion
    [1_000_000, 0.001], // n·p = 1000
    [1_000_000, 0.3], // n·p = 300,000: the squeeze and the exact log test
    [3_000_000, 0.7], // p > 1/2 on BTRD
  ];
  for (const [n, p] of cases) {
    const rng = new Rng(n + Math.round(p * 1e4));
    const draws = 40000;
    const counts = new Map<number, number>();
    for (let i = 0; i < draws; i++) {
      const k = sampleBinomial(rng, n, p);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const pValue = binomialFitPValue(counts, draws, n, p);
    assert.ok(pValue > 0.01, `Bin(${n}, ${p}): chi-square p = ${pValue}`);
  }
});

test('a multinomial draw sums to n, leaves empty categories empty, and each count is binomial', () => {
  const out = sampleMultinomial(new Rng(1), 1000, [1, 0, 3], new Float64Array(3));
  assert.equal(out[0] + out[1] + out[2], 1000);
  assert.equal(out[1], 0);
  // Category k of Multinomial(n, w) is Bin(n, w_k / Σw) whatever its place in the chain of binomials; the last
  // one is what the others left over, so it is checked too.
  const weights = [120, 30, 850];
  const n = 5000;
  const draws = 20000;
  const rng = new Rng(99);
  const counts = weights.map(() => new Map<number, number>());
  const draw = new Float64Array(3);
  for (let i = 0; i < draws; i++) {
    sampleMultinomial(rng, n, weights, draw);
    assert.equal(draw[0] + draw[1] + draw[2], n);
    for (let k = 0; k < 3; k++) counts[k].set(draw[k], (counts[k].get(draw[k]) ?? 0) + 1);
  }
  for (let k = 0; k < 3; k++) {
    const pValue = binomialFitPValue(counts[k], draws, n, weights[k] / 1000);
    assert.ok(pValue > 0.01, `category ${k}: chi-square p = ${pValue}`);
  }
});

test('binomial and multinomial draws are the same for the same seed', () => {
  const a = new Rng(7);
  const b = new Rng(7);
  for (const [n, p] of [[20, 0.2], [100000, 0.4]] as const) {
    for (let i = 0; i < 100; i++) assert.equal(sampleBinomial(a, n, p), sampleBinomial(b, n, p));
  }
  const da = new Float64Array(4);
  const db = new Float64Array(4);
  for (let i = 0; i < 100; i++) assert.deepEqual(sampleMultinomial(a, 10000, [1, 2, 3, 4], da), sampleMultinomial(b, 10000, [1, 2, 3, 4], db));
});

test('the accuracy difference counts every example once, at any threshold, including probabilities on it', () => {
  // Probabilities on a grid of tenths so that some equal the threshold exactly (p > t is then false).
  const rng = new Rng(31);
  const n = 2000;
  const y = new Uint8Array(n);
  const pA = new Float64Array(n);
  const pB = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.5 ? 1 : 0;
    pA[i] = Math.floor(rng.next() * 11) / 10;
    pB[i] = Math.floor(rng.next() * 11) / 10;
  }
  for (const threshold of [0, 0.3, 0.5, 1, -0.5, 1.5]) {
    let expected = 0;
    for (let i = 0; i < n; i++) expected += ((pB[i] > threshold ? 1 : 0) === y[i] ? 1 : 0) - ((pA[i] > threshold ? 1 : 0) === y[i] ? 1 : 0);
    const fast = pairedBootstrap({ y, pA, pB, metric: 'accuracy', threshold, resamples: 500, seed: 2 });
    const indices = pairedBootstrap({ y, pA, pB, metric: 'accuracy', threshold, resamples: 500, seed: 2, strategy: 'indices' });
    assert.equal(fast.estimate, expected / n, `threshold ${threshold}`);
    assert.equal(indices.estimate, expected / n, `threshold ${threshold} (indices)`);
  }
  // Invalid values are still reported by name and position.
  const bad = pB.slice();
  bad[17] = NaN;
  assert.throws(() => pairedBootstrap({ y, pA, pB: bad, metric: 'accuracy', seed: 1 }), /pB\[17\]: expected a probability in \[0, 1\], got NaN/);
  const badY = y.slice();
  badY[3] = 2;
  assert.throws(() => pairedBootstrap({ y: badY, pA, pB, metric: 'accuracy', seed: 1 }), /y\[3\]: expected a label 0 or 1, got 2/);
});

test('bad input names the arguments: both lengths on a mismatch, the range of the options', () => {
  const data = pairedAccuracyData(new Rng(1), 50, 0.7, 0.7);
  assert.throws(
    () => pairedBootstrap({ ...data, pB: data.pB.subarray(0, 49), metric: 'accuracy', seed: 1 }),
    /y and pB: expected equal lengths, got y\.length=50 and pB\.length=49/,
  );
  assert.throws(() => pairedBootstrap({ ...data, metric: 'accuracy', seed: 1, resamples: 1 }), /resamples: expected an integer >= 2/);
  assert.throws(() => pairedBootstrap({ ...data, metric: 'accuracy', seed: 1, confidence: 95 }), /confidence: expected a number in \(0, 1\)/);
  assert.throws(() => pairedBootstrap({ ...data, metric: 'mse' as 'accuracy', seed: 1 }), /metric: expected one of accuracy, logLoss/);
  assert.throws(() => bootstrapMean(Float64Array.of(1, Infinity), { seed: 1 }), /values\[1\]: expected a finite number/);
  assert.throws(() => bootstrapMean(Float64Array.of(1, 2), { seed: 1, strategy: 'fast' as 'auto' }), /strategy: expected auto or indices/);
});
