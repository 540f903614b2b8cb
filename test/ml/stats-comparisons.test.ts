import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mcnemarExact, mcnemarFromCounts } from '../../ml/stats/mcnemar';
import { delongTest } from '../../ml/stats/delong';
import { nonInferiorityFromBootstrap, nonInferiorityTest, pairedNonInferiorityTest, pairedSuperiorityTest, superiorityTest } from '../../ml/stats/noninferiority';
import { benjaminiHochberg, holm } from '../../ml/stats/corrections';
import { normalSf } from '../../ml/stats/distributions';
import { pairedBootstrap } from '../../ml/stats/bootstrap';
import { rocAuc } from '../../ml/metrics';
import { Rng } from '../../ml/random';

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.abs(expected), `${what}: got ${actual}, expected ${expected}`);
}

// ---------------------------------------------------------------------------------------------------------
// McNemar

test("McNemar reproduces Agresti's presidential approval example", () => {
  // Agresti, An Introduction to Categorical Data Analysis (2nd ed., 2007), Table 8.1: 1600 people rated the
  // president twice; 794 approve/approve, 150 approve→disapprove, 86 disapprove→approve, 570 disapprove
  // twice. Agresti's z = (86 − 150)/√236 = −4.17 (z² = 17.36, uncorrected); with continuity correction
  // (|150 − 86| − 1)²/236 = 16.818. Exact two-sided p = 2·P(X ≤ 86), X ~ Bin(236, ½) = 3.715936139571387e-05
  // (scipy.stats.binomtest(86, 236).pvalue, SciPy 1.10.1).
  const r = mcnemarFromCounts(150, 86);
  close(r.pValue, 3.715936139571387e-5, 1e-12, 'exact p');
  close(r.statistic, 3969 / 236, 1e-15, 'continuity-corrected chi-square');
  close(r.chiSquarePValue, 4.114562281345944e-5, 1e-12, 'chi-square p');
  const z = (86 - 150) / Math.sqrt(236);
  assert.ok(Math.abs(z + 4.17) < 0.005 && Math.abs(z * z - 17.36) < 0.005, 'Agresti z and z²');
  // One-sided: A (first survey) right more often means 'less' for B: P(X ≤ 86)
  close(mcnemarFromCounts(150, 86, { alternative: 'less' }).pValue, 1.8579680697856936e-5, 1e-12, 'one-sided p');
  assert.ok(mcnemarFromCounts(150, 86, { alternative: 'greater' }).pValue > 0.9999);
});

test('McNemar exact p-values equal binomial sums in closed form', () => {
  // b = 1, c = 9: 2·P(X ≤ 1 | 10, ½) = 2·11/1024
  close(mcnemarFromCounts(1, 9).pValue, 22 / 1024, 1e-13, 'b=1, c=9');
  close(mcnemarFromCounts(1, 9, { alternative: 'greater' }).pValue, 11 / 1024, 1e-13, 'P(X ≥ 9)');
  assert.equal(mcnemarFromCounts(5, 5).pValue, 1); // 2·P(X ≤ 5 | 10) > 1 is capped
  const none = mcnemarFromCounts(0, 0);
  assert.equal(none.pValue, 1);
  assert.equal(none.statistic, 0);
});

test('McNemar from per-example correctness counts only the discordant pairs', () => {
  const a = Uint8Array.of(1, 1, 1, 0, 0, 1, 0, 1, 1, 0);
  const b = Uint8Array.of(1, 0, 1, 1, 1, 1, 1, 0, 1, 1);
  const r = mcnemarExact(a, b);
  assert.equal(r.b, 2); // A right, B wrong: positions 1 and 7
  assert.equal(r.c, 4); // A wrong, B right: positions 3, 4, 6, 9
  assert.equal(r.pValue, mcnemarFromCounts(2, 4).pValue);
  assert.throws(() => mcnemarExact(a, b.subarray(0, 9)), /correctA and correctB: expected equal lengths, got correctA\.length=10 and correctB\.length=9/);
  assert.throws(() => mcnemarExact(a, Uint8Array.of(1, 0, 1, 1, 1, 1, 1, 0, 1, 2)), /correctB\[9\]: expected 0 or 1, got 2/);
  assert.throws(() => mcnemarFromCounts(-1, 3), /b: expected an integer >= 0/);
});

// ---------------------------------------------------------------------------------------------------------
// DeLong

test('DeLong matches a variance computed by hand on a six-example dataset', () => {
  // Positives (y=1): A = 0.9, 0.8, 0.4; B = 0.7, 0.9, 0.6. Negatives: A = 0.5, 0.3, 0.8; B = 0.2, 0.5, 0.6.
  // Structural components (share of the other class beaten, ties ½):
  //   A: V10 = [1, 5/6, 1/3], V01 = [2/3, 1, 1/2]  → AUC_A = 13/18
  //   B: V10 = [1, 1, 5/6],  V01 = [1, 1, 5/6]    → AUC_B = 17/18
  // Sample covariances (n − 1 = 2): S10 = [[13/108, 7/216], [7/216, 1/108]], S01 = [[7/108, 1/54], [1/54, 1/108]]
  // Var(A) = (13/108 + 7/108)/3 = 5/81, Var(B) = (1/108 + 1/108)/3 = 1/162, Cov = (7/216 + 1/54)/3 = 11/648
  // Var(B − A) = 5/81 + 1/162 − 22/648 = 11/324; SE = √11/18; z = (4/18)/(√11/18) = 4/√11.
  const y = Uint8Array.of(1, 1, 1, 0, 0, 0);
  const pA = Float64Array.of(0.9, 0.8, 0.4, 0.5, 0.3, 0.8);
  const pB = Float64Array.of(0.7, 0.9, 0.6, 0.2, 0.5, 0.6);
  const r = delongTest(y, pA, pB);
  close(r.aucA, 13 / 18, 1e-15, 'AUC A');
  close(r.aucB, 17 / 18, 1e-15, 'AUC B');
  close(r.difference, 4 / 18, 1e-14, 'difference');
  close(r.standardError, Math.sqrt(11) / 18, 1e-14, 'standard error');
  close(r.z, 4 / Math.sqrt(11), 1e-14, 'z');
  close(r.pValue, 2 * normalSf(4 / Math.sqrt(11)), 1e-14, 'two-sided p');
  close(r.upper - r.difference, 1.959963984540054 * (Math.sqrt(11) / 18), 1e-14, 'interval half-width');
});

test('DeLong AUCs equal the Mann–Whitney U over n₁n₀ and its variance matches the O(n²) definition', () => {
  const rng = new Rng(8);
  const n = 300;
  const y = new Uint8Array(n);
  const pA = new Float64Array(n);
  const pB = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.4 ? 1 : 0;
    pA[i] = Math.round(100 / (1 + Math.exp(-(y[i] + rng.normal())))) / 100; // rounded: ties
    pB[i] = Math.round(100 / (1 + Math.exp(-(1.3 * y[i] + rng.normal())))) / 100;
  }
  const r = delongTest(y, pA, pB);
  close(r.aucA, rocAuc(y, pA), 1e-14, 'AUC A');
  close(r.aucB, rocAuc(y, pB), 1e-14, 'AUC B');
  // Direct definition: ψ(x, z) = 1 if x > z, ½ if equal; V10_i = mean_j ψ(X_i, Y_j), V01_j = mean_i ψ(X_i, Y_j)
  const pos = [...y.keys()].filter((i) => y[i] === 1);
  const neg = [...y.keys()].filter((i) => y[i] === 0);
  const psi = (a: number, b: number): number => (a > b ? 1 : a === b ? 0.5 : 0);
  const comps = (p: Float64Array): [number[], number[]] => [
    pos.map((i) => neg.reduce((s, j) => s + psi(p[i], p[j]), 0) / neg.length),
    neg.map((j) => pos.reduce((s, i) => s + psi(p[i], p[j]), 0) / pos.length),
  ];
  const cov = (a: number[], b: number[]): number => {
    const ma = a.reduce((s, v) => s + v, 0) / a.length;
    const mb = b.reduce((s, v) => s + v, 0) / b.length;
    return a.reduce((s, v, k) => s + (v - ma) * (b[k] - mb), 0) / (a.length - 1);
  };
  const [a10, a01] = comps(pA);
  const [b10, b01] = comps(pB);
  const variance =
    (cov(a10, a10) + cov(b10, b10) - 2 * cov(a10, b10)) / pos.length + (cov(a01, a01) + cov(b01, b01) - 2 * cov(a01, b01)) / neg.length;
  close(r.standardError, Math.sqrt(variance), 1e-12, 'standard error');
});

test('DeLong gives z = 0 and p = 1 for identical scores, and needs two of each class', () => {
  const y = Uint8Array.of(1, 0, 1, 0, 1, 0);
  const p = Float64Array.of(0.9, 0.2, 0.6, 0.7, 0.4, 0.1);
  const r = delongTest(y, p, p);
  assert.equal(r.difference, 0);
  assert.equal(r.z, 0);
  assert.equal(r.pValue, 1);
  assert.throws(() => delongTest(Uint8Array.of(1, 0, 0), Float64Array.of(0.5, 0.4, 0.3), Float64Array.of(0.5, 0.4, 0.3)), /y: expected at least 2 positives and 2 negatives/);
  assert.throws(() => delongTest(y, p, p.subarray(0, 4)), /y and pB: expected equal lengths, got y\.length=6 and pB\.length=4/);
});

// ---------------------------------------------------------------------------------------------------------
// non-inferiority and superiority

test('non-inferiority passes exactly when the one-sided bound clears the margin, in both directions', () => {
  // Higher is better: Δ = −0.005, SE = 0.004, margin 0.02: z = (−0.005 + 0.02)/0.004 = 3.75
  const ok = nonInferiorityTest({ estimate: -0.005, standardError: 0.004, margin: 0.02, higherIsBetter: true });
  close(ok.pValue, normalSf(3.75), 1e-14, 'p');
  close(ok.lower, -0.005 - 1.6448536269514722 * 0.004, 1e-14, 'lower bound at 95%');
  assert.equal(ok.upper, Infinity);
  assert.equal(ok.pass, true);
  const fail = nonInferiorityTest({ estimate: -0.015, standardError: 0.004, margin: 0.02, higherIsBetter: true });
  assert.equal(fail.pass, false);
  assert.equal(fail.pass, fail.pValue < 0.05);
  // Lower is better (log loss): Δ = +0.01 with margin 0.02 and SE 0.005: z = (0.02 − 0.01)/0.005 = 2
  const loss = nonInferiorityTest({ estimate: 0.01, standardError: 0.005, margin: 0.02, higherIsBetter: false });
  close(loss.pValue, normalSf(2), 1e-14, 'p, lower is better');
  close(loss.upper, 0.01 + 1.6448536269514722 * 0.005, 1e-14, 'upper bound');
  assert.equal(loss.pass, true);
});

test('superiority needs the bound beyond the minimum improvement', () => {
  const r = superiorityTest({ estimate: 0.03, standardError: 0.01, minImprovement: 0.01, higherIsBetter: true });
  close(r.pValue, normalSf(2), 1e-14, 'p');
  assert.equal(r.pass, true);
  assert.equal(superiorityTest({ estimate: 0.03, standardError: 0.01, minImprovement: 0.02, higherIsBetter: true }).pass, false);
  const lowerBetter = superiorityTest({ estimate: -0.03, standardError: 0.01, minImprovement: 0.01, higherIsBetter: false });
  close(lowerBetter.pValue, normalSf(2), 1e-14, 'p, lower is better');
  assert.throws(() => superiorityTest({ estimate: 0.03, standardError: -1, minImprovement: 0, higherIsBetter: true }), /standardError: expected a finite number >= 0/);
  assert.throws(() => nonInferiorityTest({ estimate: 0, standardError: 1, margin: -0.1, higherIsBetter: true }), /margin: expected a finite number >= 0/);
});

test('the bootstrap forms use the resampled differences and agree with a bootstrap run by hand', () => {
  const rng = new Rng(4);
  const n = 2000;
  const y = new Uint8Array(n);
  const pA = new Float64Array(n);
  const pB = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.5 ? 1 : 0;
    pA[i] = (rng.next() < 0.8) === (y[i] === 1) ? 0.7 : 0.3;
    pB[i] = (rng.next() < 0.81) === (y[i] === 1) ? 0.7 : 0.3;
  }
  const ni = pairedNonInferiorityTest({ y, pA, pB, metric: 'accuracy', margin: 0.02, resamples: 2000, seed: 9 });
  const boot = pairedBootstrap({ y, pA, pB, metric: 'accuracy', resamples: 2000, seed: 9, keepSamples: true });
  const again = nonInferiorityFromBootstrap(boot, { margin: 0.02, higherIsBetter: true });
  assert.equal(ni.lower, again.lower);
  assert.equal(ni.pValue, again.pValue);
  const below = boot.samples!.filter((d) => d <= -0.02).length;
  assert.equal(ni.pValue, (1 + below) / 2001);
  assert.equal(ni.pass, ni.lower > -0.02);
  // log loss is lower-is-better: the catalogue's direction is used
  const sup = pairedSuperiorityTest({ y, pA, pB, metric: 'logLoss', minImprovement: 0, resamples: 500, seed: 2 });
  assert.equal(sup.higherIsBetter, false);
  assert.equal(sup.lower, -Infinity);
  assert.throws(() => nonInferiorityFromBootstrap({ ...boot, samples: undefined }, { margin: 0.02, higherIsBetter: true }), /keepSamples/);
});

// ---------------------------------------------------------------------------------------------------------
// multiple comparisons

// The 15 p-values of Benjamini and Hochberg (1995, J. R. Statist. Soc. B 57, §4): at q = 0.05 their procedure
// rejects the four smallest, Bonferroni (and Holm) three. Adjusted values follow R's p.adjust definitions:
// Holm pmin(1, cummax((n − i + 1) p₍ᵢ₎)), BH pmin(1, cummin(n/i p₍ᵢ₎)) from the largest down.
const bh1995 = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1.0];

test('Holm adjusts the Benjamini–Hochberg 1995 p-values as R does and rejects three', () => {
  const expected = [0.0015, 0.0056, 0.0247, 0.114, 0.2211, 0.278, 0.278, 0.278, 0.3213, 1, 1, 1, 1, 1, 1];
  const adj = holm(bh1995);
  expected.forEach((e, i) => close(adj[i], e, 1e-13, `Holm[${i}]`));
  assert.equal(adj.filter((v) => v <= 0.05).length, 3);
});

test('Benjamini–Hochberg adjusts the 1995 p-values as R does, monotone and capped at 1, and rejects four', () => {
  const expected = [
    0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.06385714285714286, 0.06385714285714286, 0.0645, 0.0765, 0.486, 0.5811818181818181,
    0.714875, 0.7532307692307693, 0.8132142857142857, 1,
  ];
  const adj = benjaminiHochberg(bh1995);
  expected.forEach((e, i) => close(adj[i], e, 1e-13, `BH[${i}]`));
  assert.equal(adj.filter((v) => v <= 0.05).length, 4);
  // order of the input does not matter; NaN stays NaN and does not count as a test
  const shuffled = [bh1995[9], NaN, bh1995[0], bh1995[3]];
  const out = benjaminiHochberg(shuffled);
  assert.ok(Number.isNaN(out[1]));
  close(out[2], 3 * 0.0001, 1e-13, 'smallest of three');
  close(out[0], 0.324, 1e-13, 'largest of three');
  assert.throws(() => holm([0.5, 1.2]), /pValues\[1\]: expected a p-value in \[0, 1\], got 1\.2/);
});
