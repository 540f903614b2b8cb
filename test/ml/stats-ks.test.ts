import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ksTwoSample, type KsAlternative, type KsMethod } from '../../ml/stats/ks';
import { Rng } from '../../ml/random';

/** ((i·mult) mod m)/m + shift: identical doubles in JavaScript and NumPy, so SciPy's numbers apply exactly. */
function sequence(n: number, mult: number, mod: number, shift = 0): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i * mult) % mod) / mod + shift;
  return out;
}

test('completely separated samples of three have D = 1 and the exact p-value 2/C(6,3) = 0.1', () => {
  const r = ksTwoSample(Float64Array.of(1, 2, 3), Float64Array.of(4, 5, 6));
  assert.equal(r.statistic, 1);
  assert.ok(Math.abs(r.pValue - 0.1) < 1e-15, `p = ${r.pValue}`);
  assert.equal(r.method, 'exact');
  assert.equal(r.statisticLocation, 3);
  assert.equal(r.statisticSign, 1);
});

test('statistic, location and p-value match scipy.stats.ks_2samp on tied and untied samples', () => {
  // Reference: scipy.stats.ks_2samp(a, b, alternative, method) with SciPy 1.10.1 (Debian bookworm's
  // python3-scipy), on the same sequences built with NumPy: ((arange(n)*mult) % mod)/mod + shift.
  const cases: [number, number, number, number, number, number, number, KsAlternative, KsMethod, number, number, number, 1 | -1][] = [
    [40, 7, 41, 30, 11, 31, 0.15, 'two-sided', 'auto', 0.18333333333333332, 0.5594424218214804, 0.8048780487804879, 1],
    [40, 7, 41, 30, 11, 31, 0.15, 'greater', 'auto', 0.18333333333333332, 0.2857520508777787, 0.8048780487804879, 1],
    [40, 7, 41, 30, 11, 31, 0.15, 'less', 'auto', 0, 1, 1.117741935483871, -1],
    [200, 7919, 10007, 200, 104729, 10009, 0.08, 'two-sided', 'auto', 0.085, 0.46628639073563594, 0.7836514439892076, 1],
    [300, 7919, 10007, 250, 104729, 10009, -0.05, 'two-sided', 'asymp', 0.066, 0.571214907080024, 0.4527475272254971, -1],
    // more than 10,000 values: the asymptotic branch (kstwo with n = round(mn/(m+n))); values repeat, so ties
    [20000, 7919, 10007, 15000, 104729, 10009, 0.012, 'two-sided', 'auto', 0.01261666666666672, 0.12947989634037327, 0.7690616568402119, 1],
    [20000, 7919, 10007, 15000, 104729, 10009, 0.012, 'greater', 'auto', 0.01261666666666672, 0.0645173799479039, 0.7690616568402119, 1],
    [20000, 7919, 10007, 15000, 104729, 10009, 0.012, 'less', 'auto', 0, 1, 1.0119000899190729, -1],
  ];
  for (const [n1, m1, mod1, n2, m2, mod2, shift, alternative, method, d, p, loc, sign] of cases) {
    const r = ksTwoSample(sequence(n1, m1, mod1), sequence(n2, m2, mod2, shift), { alternative, method });
    const label = `${n1} vs ${n2}, ${alternative}, ${method}`;
    assert.ok(Math.abs(r.statistic - d) <= 1e-12, `${label}: D = ${r.statistic}, SciPy ${d}`);
    assert.ok(Math.abs(r.pValue - p) <= 1e-9 * p, `${label}: p = ${r.pValue}, SciPy ${p}`);
    assert.equal(r.statisticLocation, loc, `${label}: location`);
    assert.equal(r.statisticSign, sign, `${label}: sign`);
  }
});

test('ties are handled as SciPy does: the ECDFs are compared after each distinct value', () => {
  // scipy.stats.ks_2samp([0,1,1,2,2,2], [1,2,3,3]) → statistic 0.5 at 2.0, p 0.5523809523809524 (exact), 0.5 (asymp)
  const a = Float64Array.of(0, 1, 1, 2, 2, 2);
  const b = Float64Array.of(1, 2, 3, 3);
  const exact = ksTwoSample(a, b);
  assert.equal(exact.statistic, 0.5);
  assert.equal(exact.statisticLocation, 2);
  assert.ok(Math.abs(exact.pValue - 0.5523809523809524) < 1e-14, `exact p = ${exact.pValue}`);
  const asymp = ksTwoSample(a, b, { method: 'asymp' });
  assert.ok(Math.abs(asymp.pValue - 0.5) < 1e-14, `asymptotic p = ${asymp.pValue}`);
  assert.equal(asymp.method, 'asymp');
});

test('one-sided statistics follow the direction of the shift and swap when the samples are swapped', () => {
  const rng = new Rng(3);
  const a = new Float64Array(300).map(() => rng.normal());
  const b = new Float64Array(250).map(() => rng.normal() + 0.4); // b is shifted up: F_a lies above F_b
  const greater = ksTwoSample(a, b, { alternative: 'greater' });
  const less = ksTwoSample(a, b, { alternative: 'less' });
  assert.ok(greater.pValue < 0.01, `greater p = ${greater.pValue}`);
  assert.ok(less.pValue > 0.5, `less p = ${less.pValue}`);
  const swapped = ksTwoSample(b, a, { alternative: 'less' });
  assert.equal(swapped.statistic, greater.statistic);
  assert.ok(Math.abs(swapped.pValue - greater.pValue) < 1e-12);
});

test('samples drawn from one distribution give p-values spread over (0, 1)', () => {
  const rng = new Rng(11);
  let below = 0;
  const trials = 200;
  for (let t = 0; t < trials; t++) {
    const a = new Float64Array(60).map(() => rng.normal());
    const b = new Float64Array(45).map(() => rng.normal());
    if (ksTwoSample(a, b).pValue < 0.1) below++;
  }
  // Discrete exact test: P(p < 0.1) ≤ 0.1; 200 trials, so well under 0.1 + 3 sd = 0.164 and above 0.02
  assert.ok(below / trials < 0.164 && below / trials > 0.02, `share of p < 0.1: ${below / trials}`);
});

// Its speed is measured in bench/ml (the `ks` case, as a ratio against scipy.stats.ks_2samp on the same data).
test('a million against a million takes the asymptotic path and gives a p-value in (0, 1)', () => {
  const rng = new Rng(5);
  const n = 1_000_000;
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rng.next();
    b[i] = rng.next() + 0.001;
  }
  const r = ksTwoSample(a, b);
  assert.equal(r.method, 'asymp');
  assert.ok(r.pValue > 0 && r.pValue < 1);
});

test('bad input is rejected with the argument named', () => {
  assert.throws(() => ksTwoSample(new Float64Array(0), Float64Array.of(1)), /a: expected at least one value/);
  assert.throws(() => ksTwoSample(Float64Array.of(1, NaN), Float64Array.of(1)), /a\[1\]: expected a number, got NaN/);
  assert.throws(() => ksTwoSample(Float64Array.of(1), Float64Array.of(2), { alternative: 'bigger' as KsAlternative }), /alternative: expected one of/);
  assert.throws(() => ksTwoSample(Float64Array.of(1), [2] as unknown as Float64Array), /b: expected a Float64Array/);
});
