/**
 * The promotion test's operating characteristics by simulation: how often equal models are promoted (the size,
 * which must be about α, not α/2) and how often a better model is (the power, against a figure computed
 * beforehand). Each count is compared with its expectation within binomial bounds over thousands of trials.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../ml/random';
import { evaluatePolicy, type Check, type PolicyInput } from '../../ml/policy';
import { binomialPmf, binomialSf, normalCdf, normalQuantile } from '../../ml/stats/distributions';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Asserts that `hits` of `trials` is within `sigmas` binomial standard deviations of the expected rate. */
function assertRate(hits: number, trials: number, expected: number, what: string, sigmas = 3): void {
  const rate = hits / trials;
  const sd = Math.sqrt((expected * (1 - expected)) / trials);
  assert.ok(Math.abs(rate - expected) <= sigmas * sd, `${what}: ${hits}/${trials} = ${rate}, expected ${expected.toFixed(4)} ± ${(sigmas * sd).toFixed(4)}`);
}

function primary(b: ReturnType<typeof evaluatePolicy>): Check {
  return b.checks[0];
}

/**
 * A holdout where each example's pair of outcomes is drawn directly: production right and the candidate wrong
 * with probability pb, the reverse with pc, both right with pBoth, otherwise both wrong. True accuracy gain:
 * pc − pb.
 */
function pairedOutcomes(rng: Rng, n: number, pb: number, pc: number, pBoth: number) {
  const y = new Uint8Array(n);
  const candidate = new Float64Array(n);
  const production = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.5 ? 1 : 0;
    const u = rng.next();
    const prodRight = u < pb || (u >= pb + pc && u < pb + pc + pBoth);
    const candRight = (u >= pb && u < pb + pc) || (u >= pb + pc && u < pb + pc + pBoth);
    const p = (right: boolean) => (right === (y[i] === 1) ? 0.8 : 0.2);
    production[i] = p(prodRight);
    candidate[i] = p(candRight);
  }
  return { y, candidate, production };
}

/**
 * The exact promotion probability of the one-sided exact McNemar test at α: given k discordant pairs
 * (Binomial(n, ψ)), the test promotes when c ≥ c_k, the smallest count with P(X ≥ c_k; k, ½) < α, and c is
 * Binomial(k, pc/ψ).
 */
function mcnemarPromotionRate(n: number, pb: number, pc: number, alpha: number): number {
  const psi = pb + pc;
  let rate = 0;
  for (let k = 1; k <= n; k++) {
    const weight = binomialPmf(k, n, psi);
    if (weight < 1e-15) continue;
    let lo = 0;
    let hi = k + 1; // binomialSf(k + 1, k, ½) = 0 < α
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (binomialSf(mid, k, 0.5) < alpha) hi = mid;
      else lo = mid + 1;
    }
    rate += weight * binomialSf(lo, k, pc / psi);
  }
  return rate;
}

test('equal models are promoted at about alpha by the default accuracy test (exact McNemar), not at alpha/2', () => {
  const n = 400;
  const trials = 3000;
  const alpha = 0.05;
  const rng = new Rng(11);
  const policy: PolicyInput = { primary: { metric: 'accuracy', alpha } };
  let promoted = 0;
  for (let t = 0; t < trials; t++) {
    const b = evaluatePolicy(policy, pairedOutcomes(rng, n, 0.2, 0.2, 0.5));
    assert.equal(primary(b).test, 'exact McNemar');
    if (b.promote) promoted++;
  }
  // The exact test is a little conservative (the binomial is discrete): its exact size here is 0.042.
  const size = mcnemarPromotionRate(n, 0.2, 0.2, alpha);
  assert.ok(size > 0.04 && size <= alpha, `exact size ${size}`);
  assertRate(promoted, trials, size, 'false promotions');
  // The old rule (two-sided at α, so one-sided at α/2) has exact size about 0.02 here; the observed rate is
  // more than 3 standard deviations above it.
  const oldSize = mcnemarPromotionRate(n, 0.2, 0.2, alpha / 2);
  assert.ok(promoted / trials > oldSize + 3 * Math.sqrt((oldSize * (1 - oldSize)) / trials), `false promotion rate ${promoted / trials}, old rule's ${oldSize}`);
});

test('a candidate 6 points more accurate (pb 0.07, pc 0.13, n 400) is promoted with the exact McNemar power of about 0.83', () => {
  const n = 400;
  const trials = 1500;
  const rng = new Rng(12);
  let promoted = 0;
  for (let t = 0; t < trials; t++) {
    if (evaluatePolicy({ primary: { metric: 'accuracy' } }, pairedOutcomes(rng, n, 0.07, 0.13, 0.7)).promote) promoted++;
  }
  const power = mcnemarPromotionRate(n, 0.07, 0.13, 0.05);
  // Normal approximation as a cross-check of the exact figure: Φ((Δ√n − z·√ψ) / √(ψ − Δ²)) = 0.853.
  const approx = normalCdf((0.06 * Math.sqrt(n) - normalQuantile(0.95) * Math.sqrt(0.2)) / Math.sqrt(0.2 - 0.06 ** 2));
  assert.ok(Math.abs(power - approx) < 0.03 && power > 0.82 && power < 0.88, `exact power ${power}, normal approximation ${approx}`);
  assertRate(promoted, trials, power, 'promotions');
});

/**
 * Binormal scores: a latent z = N(0, 1) shared by both models plus each model's own N(0, σ²) noise, shifted by
 * μ for positives. Each model's AUC is Φ(μ / √(2(1 + σ²))); the logistic map keeps the ranking.
 */
function binormalScores(rng: Rng, n: number, muProduction: number, muCandidate: number, sigma = 1) {
  const y = new Uint8Array(n);
  const candidate = new Float64Array(n);
  const production = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.5 ? 1 : 0;
    const z = rng.normal();
    production[i] = sigmoid(y[i] * muProduction + z + sigma * rng.normal());
    candidate[i] = sigmoid(y[i] * muCandidate + z + sigma * rng.normal());
  }
  return { y, candidate, production };
}

test('equal models are promoted at about alpha by the default ROC AUC test (DeLong)', () => {
  const n = 300;
  const trials = 3000;
  const rng = new Rng(13);
  let promoted = 0;
  for (let t = 0; t < trials; t++) {
    const b = evaluatePolicy({ primary: { metric: 'roc_auc' } }, binormalScores(rng, n, 1.5, 1.5));
    assert.equal(primary(b).test, 'DeLong');
    if (b.promote) promoted++;
  }
  assertRate(promoted, trials, 0.05, 'false promotions');
});

test('a candidate 0.07 better in ROC AUC is promoted with the power its standard error predicts', () => {
  const n = 300;
  const trials = 1000;
  const rng = new Rng(14);
  // AUCs Φ(1.5/2) = 0.773 and Φ(2/2) = 0.841: a true gain of 0.068.
  const gain = normalCdf(2 / 2) - normalCdf(1.5 / 2);
  let promoted = 0;
  const estimates: number[] = [];
  for (let t = 0; t < trials; t++) {
    const b = evaluatePolicy({ primary: { metric: 'roc_auc' } }, binormalScores(rng, n, 1.5, 2));
    estimates.push(primary(b).estimate);
    if (b.promote) promoted++;
  }
  // The spread of the estimated gains across trials is the true standard error (independent of DeLong's
  // formula); with it, the one-sided z-test's power is Φ(gain / SE − z(0.95)).
  const mean = estimates.reduce((s, v) => s + v, 0) / trials;
  const se = Math.sqrt(estimates.reduce((s, v) => s + (v - mean) ** 2, 0) / (trials - 1));
  assert.ok(Math.abs(mean - gain) < 0.005, `mean estimated gain ${mean} vs ${gain}`);
  const power = normalCdf(gain / se - normalQuantile(0.95));
  assert.ok(power > 0.6 && power < 0.95, `predicted power ${power} (SE ${se})`);
  // A little slack beyond the binomial bound for the SE being estimated from the same trials.
  assertRate(promoted, trials, power, 'promotions', 3.5);
});

test('with a minimum improvement equal to the true gain, a better model is promoted at about alpha', () => {
  // H0 is "gain ≤ minImprovement": at its boundary the test must hold its level, as at gain 0.
  const n = 400;
  const trials = 1500;
  const rng = new Rng(15);
  let promoted = 0;
  for (let t = 0; t < trials; t++) {
    if (evaluatePolicy({ primary: { metric: 'accuracy', minImprovement: 0.06 } }, pairedOutcomes(rng, n, 0.07, 0.13, 0.7)).promote) promoted++;
  }
  assertRate(promoted, trials, 0.05, 'promotions at the boundary', 3.5);
});

test('the primary bound and the p-value make the same decision for every test, at the edge too', () => {
  // Candidates from no better to clearly better, so some decisions fall near α; for each, the bound exceeds
  // minImprovement exactly when p < α, whichever test computed them.
  const rng = new Rng(16);
  const cases: { policy: PolicyInput; data: () => ReturnType<typeof pairedOutcomes> }[] = [
    { policy: { primary: { metric: 'accuracy', minImprovement: 0.01 } }, data: () => pairedOutcomes(rng, 400, 0.09, 0.09 + 0.06 * rng.next(), 0.7) },
    { policy: { primary: { metric: 'roc_auc', minImprovement: 0.01 } }, data: () => binormalScores(rng, 300, 1.5, 1.5 + rng.next()) },
    { policy: { primary: { metric: 'accuracy', test: 'bootstrap', minImprovement: 0.01 }, bootstrap: { resamples: 200 } }, data: () => pairedOutcomes(rng, 400, 0.09, 0.09 + 0.06 * rng.next(), 0.7) },
    { policy: { primary: { metric: 'brier', minImprovement: 0.002 }, bootstrap: { resamples: 200 } }, data: () => binormalScores(rng, 300, 1.5, 1.5 + rng.next()) },
  ];
  for (const { policy, data } of cases) {
    let passes = 0;
    for (let t = 0; t < 60; t++) {
      const p = primary(evaluatePolicy(policy, data()));
      const bound = p.lower ?? -p.upper!;
      assert.equal(bound > p.threshold, p.pValue! < 0.05, `${p.name}: ${p.why}`);
      assert.equal(p.pass, p.pValue! < 0.05);
      if (p.pass) passes++;
    }
    assert.ok(passes > 5 && passes < 55, `${JSON.stringify(policy.primary)}: ${passes} of 60 passed, expected a mix`);
  }
});
