import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  binomialCdf,
  binomialPmf,
  binomialSf,
  chiSquareCdf,
  chiSquareSf,
  kolmogorovAsymptoticSf,
  kolmogorovSf,
  logGamma,
  normalCdf,
  normalQuantile,
  normalSf,
  regularizedBeta,
  regularizedGammaP,
  regularizedGammaQ,
  studentTCdf,
  studentTQuantile,
} from '../../ml/stats/distributions';

/** |actual − expected| ≤ tol·|expected|, with the relative error in the message. */
function close(actual: number, expected: number, tol: number, what: string): void {
  const rel = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(rel <= tol, `${what}: got ${actual}, expected ${expected} (relative error ${rel.toExponential(2)} > ${tol})`);
}

// Reference values: standard tables where they exist; otherwise 40-digit mpmath 1.2.1 (mp.ncdf, mp.loggamma,
// mp.gammainc, mp.betainc, root-finding on those for quantiles), evaluated at the double nearest the argument.

test('normal quantiles match the tables to full double precision, including 1e-10 and 1e-300 tails', () => {
  close(normalQuantile(0.975), 1.959963984540054, 1e-15, 'z(0.975)'); // the 1.96 of every 95% interval
  close(normalQuantile(0.995), 2.5758293035489004, 1e-15, 'z(0.995)');
  close(normalQuantile(0.025), -1.959963984540054, 1e-15, 'z(0.025)');
  close(normalQuantile(1e-10), -6.361340902404056, 1e-15, 'z(1e-10)');
  close(normalQuantile(1e-300), -37.0470962993612, 1e-14, 'z(1e-300)');
  assert.equal(normalQuantile(0.5), 0);
  assert.equal(normalQuantile(0), -Infinity);
  assert.equal(normalQuantile(1), Infinity);
});

test('the normal cdf keeps relative precision deep in both tails and inverts the quantile', () => {
  close(normalCdf(1.96), 0.9750021048517795, 1e-15, 'Φ(1.96)');
  close(normalSf(1.96), 0.024997895148220435, 1e-14, 'Q(1.96)');
  close(normalCdf(-1.5), 0.06680720126885807, 1e-14, 'Φ(−1.5)');
  close(normalCdf(-10), 7.619853024160525e-24, 1e-13, 'Φ(−10)');
  close(normalSf(8), 6.220960574271784e-16, 1e-13, 'Q(8)');
  close(normalCdf(-37.5), 4.605353009581955e-308, 1e-12, 'Φ(−37.5)');
  for (const p of [1e-12, 0.001, 0.2, 0.5, 0.77, 0.999]) close(normalCdf(normalQuantile(p)), p, 2e-15 / Math.min(1, p * 50), `Φ(Φ⁻¹(${p}))`);
});

test('log-gamma is exact at closed forms and keeps relative precision near its zeros', () => {
  close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-15, 'lnΓ(½) = ln √π');
  assert.equal(logGamma(1), 0);
  assert.equal(logGamma(2), 0);
  close(logGamma(10), Math.log(362880), 1e-15, 'lnΓ(10) = ln 9!');
  close(logGamma(1e-8), 18.42068073818021, 1e-15, 'lnΓ(1e-8)');
  close(logGamma(171.5), 709.1431630309282, 1e-15, 'lnΓ(171.5)');
  // lnΓ(1 + z) ≈ −γ z near the zero at 1: a formula through Γ itself would lose every digit here.
  const z = 1 + 1e-10 - 1; // the exact offset of the double nearest 1 + 1e-10
  close(logGamma(1 + z), -0.5772156649015329 * z + 0.8224670334241132 * z * z, 1e-14, 'lnΓ(1 + z) = −γz + ζ(2)z²/2 − …');
  close(logGamma(-0.5), Math.log(2 * Math.sqrt(Math.PI)), 1e-15, 'lnΓ(−½) = ln 2√π');
  assert.equal(logGamma(-3), Infinity);
});

test('incomplete gamma and beta agree with their closed forms', () => {
  // P(3, x) = 1 − e^−x (1 + x + x²/2)
  close(regularizedGammaP(3, 2), 1 - Math.exp(-2) * (1 + 2 + 2), 1e-15, 'P(3, 2)');
  close(regularizedGammaQ(3, 40), Math.exp(-40) * (1 + 40 + 800), 1e-13, 'Q(3, 40) deep in the tail');
  // P(½, x) = erf(√x): P(½, 2) = 1 − 2Q(2) in normal terms
  close(regularizedGammaP(0.5, 2), 1 - 2 * normalSf(2), 1e-15, 'P(½, 2)');
  // I_x(2, 3) = 6x² − 8x³ + 3x⁴ (integrating 12 t (1 − t)²)
  close(regularizedBeta(0.3, 2, 3), 6 * 0.09 - 8 * 0.027 + 3 * 0.0081, 1e-15, 'I_0.3(2, 3)');
  // I_x(a, 1) = x^a
  close(regularizedBeta(0.99, 50.5, 1), Math.pow(0.99, 50.5), 1e-14, 'I_0.99(50.5, 1)');
  // I_x(a, b) + I_{1−x}(b, a) = 1, with x and 1 − x both exact doubles
  close(regularizedBeta(0.375, 40.5, 60.25) + regularizedBeta(0.625, 60.25, 40.5), 1, 1e-15, 'I_x(a,b) + I_{1−x}(b,a)');
  close(regularizedBeta(1e-10, 0.5, 1e6), 0.011283414145798852, 1e-12, 'I_1e-10(½, 10⁶)');
});

test('chi-square upper points match the standard table to 1e-13', () => {
  // x with P(χ²_k > x) = α: 3.841 (k=1, 5%), 18.307 (k=10, 5%), 23.209 (k=10, 1%), 59.703 (k=30, 0.1%), 124.342 (k=100, 5%)
  const table: [number, number, number][] = [
    [1, 0.05, 3.841458820694126],
    [2, 0.05, 5.991464547107982],
    [10, 0.05, 18.307038053275146],
    [10, 0.01, 23.20925115895436],
    [30, 0.001, 59.70306430442993],
    [100, 0.05, 124.34211340400408],
  ];
  for (const [k, alpha, x] of table) {
    close(chiSquareSf(x, k), alpha, 1e-13, `P(χ²_${k} > ${x})`);
    close(chiSquareCdf(x, k), 1 - alpha, 1e-14, `P(χ²_${k} ≤ ${x})`);
  }
  // k = 2 is exponential: P(χ²_2 > x) = e^(−x/2), far into the tail
  close(chiSquareSf(1400, 2), Math.exp(-700), 1e-13, 'P(χ²_2 > 1400)');
});

test('Student t quantiles match the table and the closed forms for 1 and 2 degrees of freedom', () => {
  close(studentTQuantile(0.975, 1), 1 / Math.tan(Math.PI * 0.025), 1e-15, 't(0.975; 1) = cot(π/40)');
  close(studentTQuantile(0.975, 2), 4.302652729749462, 1e-14, 't(0.975; 2)');
  close(studentTQuantile(0.975, 5), 2.5705818356363146, 1e-13, 't(0.975; 5)');
  close(studentTQuantile(0.975, 10), 2.2281388519862744, 1e-13, 't(0.975; 10)');
  close(studentTQuantile(0.995, 30), 2.749995653567225, 1e-13, 't(0.995; 30)');
  close(studentTQuantile(0.95, 100), 1.6602343260853392, 1e-13, 't(0.95; 100)');
  close(studentTQuantile(1 - 1e-8, 3), 479.5250687765639, 1e-12, 't(1 − 1e-8; 3)');
  close(studentTQuantile(0.025, 10), -2.2281388519862744, 1e-13, 't(0.025; 10)');
  // Cauchy cdf: ½ + atan(t)/π
  close(studentTCdf(-40, 1), 0.5 + Math.atan(-40) / Math.PI, 1e-13, 'Cauchy cdf at −40');
  close(studentTCdf(-40, 3), 1.7190340394579263e-5, 1e-13, 'T_3 cdf at −40');
  close(studentTCdf(2, 1e12), normalCdf(2), 1e-12, 'huge df approaches the normal');
  close(studentTCdf(-2, 1e7), 0.022750145445921476, 1e-12, 'T_(1e7) cdf at −2');
});

test('binomial pmf and cdf match exact sums, including n = 10,000', () => {
  close(binomialPmf(3, 10, 0.5), 120 / 1024, 1e-15, 'C(10,3)/2¹⁰');
  close(binomialCdf(3, 10, 0.5), 176 / 1024, 1e-14, '(1 + 10 + 45 + 120)/2¹⁰');
  close(binomialSf(8, 10, 0.5), 56 / 1024, 1e-14, 'P(X ≥ 8) = (45 + 10 + 1)/2¹⁰');
  close(binomialPmf(5000, 10000, 0.5), 0.007978646139382154, 1e-13, 'C(10000, 5000)/2¹⁰⁰⁰⁰');
  close(binomialCdf(4900, 10000, 0.5), 0.023292763852473693, 1e-12, 'P(X ≤ 4900), n = 10000');
  assert.equal(binomialCdf(10, 10, 0.3), 1);
  assert.equal(binomialPmf(11, 10, 0.3), 0);
});

test('the Kolmogorov distribution matches closed forms at its ends and SciPy 1.10.1 kstwo in between', () => {
  // Ruben–Gambino: for 1/(2n) ≤ d ≤ 1/n, P(D_n ≤ d) = n!/nⁿ (2nd − 1)ⁿ: n = 5, d = 0.15 gives 120/3125 · ½⁵
  close(kolmogorovSf(0.15, 5), 1 - (120 / 3125) / 32, 1e-15, 'kstwo.sf(0.15, 5)');
  // for d ≥ 1 − 1/n, P(D_n ≥ d) = 2(1 − d)ⁿ
  close(kolmogorovSf(0.9, 5), 2 * Math.pow(0.1, 5), 1e-13, 'kstwo.sf(0.9, 5)');
  // scipy.stats.kstwo.sf(d, n), SciPy 1.10.1 (Durbin matrix, Pelz–Good and Smirnov branches)
  const scipy: [number, number, number][] = [
    [0.3, 10, 0.27053557479999946],
    [0.35, 20, 0.01075496344438931],
    [0.1, 100, 0.2526927570063874],
    [0.05, 1000, 0.013012074781090332],
    [0.02, 5000, 0.03613941395325637],
    [0.0025, 500000, 0.0038544560212235442],
  ];
  for (const [d, n, p] of scipy) close(kolmogorovSf(d, n), p, 1e-10, `kstwo.sf(${d}, ${n})`);
  // Kolmogorov's limit: the 5% critical value 1.3581 of the KS tables
  close(kolmogorovAsymptoticSf(1.3580986393225507), 0.05, 1e-14, 'K̄(1.358)');
  close(kolmogorovAsymptoticSf(0.5), 0.9639452436648751, 1e-14, 'K̄(0.5)');
  close(kolmogorovAsymptoticSf(2), 2 * (Math.exp(-8) - Math.exp(-32) + Math.exp(-72)), 1e-15, 'K̄(2) series');
});

test('invalid distribution arguments raise RangeErrors that name the argument', () => {
  assert.throws(() => normalQuantile(1.5), /p: expected a probability in \[0, 1\], got 1\.5/);
  assert.throws(() => chiSquareSf(3, 0), /k: expected a finite number > 0/);
  assert.throws(() => studentTQuantile(0.5, -1), /df: expected a number > 0/);
  assert.throws(() => binomialCdf(3, 10.5, 0.5), /n: expected an integer >= 0/);
  assert.throws(() => kolmogorovSf(0.1, 0), /n: expected an integer >= 1/);
  assert.throws(() => regularizedBeta(0.5, 0, 1), /a: expected a finite number > 0/);
  assert.ok(Number.isNaN(normalCdf(NaN)));
});
