import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Rng } from '../../ml/random';
import { evaluatePolicy, parsePolicy, type Blessing, type PolicyInput } from '../../ml/policy';
import { InputError } from '../../ml/data/errors';
import { pairedBootstrap } from '../../ml/stats/bootstrap';
import { normalQuantile } from '../../ml/stats/distributions';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Labels with P(y = 1) = 0.4. */
function labels(seed: number, n: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n }, () => (rng.next() < 0.4 ? 1 : 0));
}

/**
 * A calibrated model of separation `a`: score L = a(2y − 1) + N(0, 1), and p = P(y = 1 | L) = σ(2aL + logit 0.4),
 * so its ROC AUC is Φ(a√2). `overconfidence` multiplies the log-odds (1 = calibrated); `shift(i)` adds to them.
 */
function model(y: Uint8Array, seed: number, a: number, overconfidence = 1, shift: (i: number) => number = () => 0): Float64Array {
  const rng = new Rng(seed);
  const prior = Math.log(0.4 / 0.6);
  return Float64Array.from(y, (yi, i) => sigmoid(overconfidence * (2 * a * (a * (2 * yi - 1) + rng.normal()) + prior) + shift(i)));
}

const n = 5000;
const y = labels(1, n);
const production = model(y, 2, 0.8);
const better = model(y, 3, 1.0);

const basePolicy: PolicyInput = {
  primary: { metric: 'roc_auc', minImprovement: 0.01 },
  guardrails: [
    { metric: 'log_loss', margin: 0.01 },
    { metric: 'brier', margin: 0.005 },
    { metric: 'accuracy', margin: 0.02 },
  ],
  // Fewer resamples than the default 2000 keep the suite quick; the decisions here are far from the edge.
  bootstrap: { resamples: 1000 },
};

function check(b: Blessing, name: string) {
  const c = b.checks.find((x) => x.name === name);
  assert.ok(c, `no check ${name} in ${b.checks.map((x) => x.name).join(', ')}`);
  return c;
}

function assertRefusalNames(b: Blessing, failing: string[]): void {
  assert.equal(b.promote, false);
  assert.deepEqual(b.checks.filter((c) => !c.pass).map((c) => c.name), failing);
  for (const name of failing) {
    const c = check(b, name);
    // The sentence names the metric (roc_auc, log_loss, demographic_parity) or, for the suite, "hard examples".
    const named = c.metric ?? name.replace('_', ' ');
    assert.ok(c.why.includes(named), `why of ${name} does not name ${named}: ${c.why}`);
    assert.ok(b.summary.includes(name), `summary does not name ${name}: ${b.summary}`);
  }
}

test('a clearly better candidate is promoted, with the evidence of every check', () => {
  const b = evaluatePolicy(basePolicy, { y, candidate: better, production });
  assert.equal(b.promote, true, b.summary);
  assert.deepEqual(b.checks.map((c) => c.name), ['primary:roc_auc', 'guardrail:log_loss', 'guardrail:brier', 'guardrail:accuracy']);
  const primary = check(b, 'primary:roc_auc');
  // Population AUCs Φ(0.8√2) = 0.871 and Φ(√2) = 0.921: a gain of about 0.05.
  assert.ok(Math.abs(primary.production - 0.871) < 0.01 && Math.abs(primary.candidate - 0.921) < 0.01, `${primary.production} ${primary.candidate}`);
  assert.ok(Math.abs(primary.estimate - (primary.candidate - primary.production)) < 1e-12);
  // One one-sided bound at 1 − α: the lower one for a higher-is-better metric, the upper side unbounded.
  assert.ok(primary.lower! > 0.01 && primary.lower! < primary.estimate);
  assert.equal(primary.upper, null);
  assert.equal(primary.confidence, 0.95);
  assert.equal(primary.test, 'DeLong');
  assert.ok(primary.pValue! < 1e-6);
  assert.match(primary.why, /^roc_auc improved by 0\.0\d+ \(DeLong; one-sided 95% lower bound 0\.0\d+, p=.* for H0 gain <= 0\.01\): the lower bound > minImprovement 0\.01, p < 0\.05$/);
  for (const g of b.checks.filter((c) => c.kind === 'guardrail')) {
    assert.ok(g.pValue! < 0.05 && g.pass, `${g.name}: ${g.why}`);
  }
  // Lower is better for log loss: the candidate's is lower, so the difference is negative.
  assert.ok(check(b, 'guardrail:log_loss').estimate < 0);
  assert.match(b.summary, /^promote: roc_auc improved/);
});

test('guardrails on per-example metrics use the paired z-test, whose interval agrees with the paired bootstrap', () => {
  const b = evaluatePolicy(basePolicy, { y, candidate: better, production });
  const g = check(b, 'guardrail:log_loss');
  assert.equal(g.test, 'non-inferiority (paired z on per-example differences)');
  // The bootstrap standard error converges to sd(d)/√n of the per-example differences d (Efron and Tibshirani,
  // An Introduction to the Bootstrap, 5.2), so with 2000 resamples the two agree to a few per cent.
  const boot = pairedBootstrap({ y, pA: production, pB: better, metric: 'logLoss', resamples: 2000, confidence: 0.95, seed: 1 });
  // Lower is better for log loss, so the guardrail's bound is the one-sided upper bound estimate + z(0.95)·SE.
  assert.equal(g.lower, null);
  const se = (g.upper! - g.estimate) / normalQuantile(0.95);
  assert.ok(Math.abs(se / boot.standardError - 1) < 0.06, `z SE ${se} vs bootstrap SE ${boot.standardError}`);
  assert.ok(Math.abs(g.estimate - boot.estimate) < 1e-12);
});

test('the blessing is deterministic for the bootstrap seed', () => {
  const policy: PolicyInput = { ...basePolicy, primary: { metric: 'brier', minImprovement: 0 } };
  assert.deepEqual(evaluatePolicy(policy, { y, candidate: better, production }), evaluatePolicy(policy, { y, candidate: better, production }));
});

test('a marginally better candidate is refused because the gain is not significant', () => {
  const marginal = model(y, 4, 0.802);
  const b = evaluatePolicy(basePolicy, { y, candidate: marginal, production });
  assertRefusalNames(b, ['primary:roc_auc']);
  assert.match(check(b, 'primary:roc_auc').why, /not significantly more than minImprovement 0\.01 .*: p >= 0\.05$|did not improve by more than minImprovement 0\.01/);
});

test('a significant gain smaller than minImprovement is refused by the lower confidence bound', () => {
  const b = evaluatePolicy({ ...basePolicy, primary: { metric: 'roc_auc', minImprovement: 0.045 } }, { y, candidate: better, production });
  assertRefusalNames(b, ['primary:roc_auc']);
  const p = check(b, 'primary:roc_auc');
  // The same data pass the test against no minimum (p far below α): the minimum is part of the null hypothesis.
  assert.ok(p.lower! < 0.045 && p.lower! > 0 && p.pValue! >= 0.05, `${p.why}`);
  assert.match(p.why, /^roc_auc improved by 0\.0\d+ but not significantly more than minImprovement 0\.045 \(DeLong; one-sided 95% lower bound 0\.0\d+, p=.*\): p >= 0\.05$/);
});

test('a better-ranking but overconfident candidate is refused by the log-loss guardrail', () => {
  // The same ranking as the better model (AUC unchanged by a monotone map) with tripled log-odds.
  const overconfident = model(y, 3, 1.0, 3);
  const b = evaluatePolicy(basePolicy, { y, candidate: overconfident, production });
  assert.equal(check(b, 'primary:roc_auc').pass, true);
  const g = check(b, 'guardrail:log_loss');
  assert.equal(g.pass, false);
  assert.ok(g.estimate > 0.01, `log loss difference ${g.estimate}`);
  assert.match(g.why, /^log_loss may be worse than production by more than its margin 0\.01: worse by .*one-sided 95% upper bound .*, non-inferiority p=.* >= 0\.05$/);
  assert.ok(!b.promote && b.summary.includes('guardrail:log_loss'));
});

test('a candidate that widens a fairness gap beyond maxWidening is refused', () => {
  const groups = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 'A' : 'B'));
  // Better overall, but it pushes group B's scores down: B's selection rate falls and the parity gap opens.
  const unfair = model(y, 5, 1.2, 1, (i) => (i % 2 === 1 ? -1.5 : 0));
  const policy: PolicyInput = {
    primary: { metric: 'roc_auc', minImprovement: 0 },
    guardrails: [],
    fairness: { groupColumn: 'sex', metrics: ['demographic_parity', 'equalized_odds'], maxWidening: 0.02 },
  };
  const fair = evaluatePolicy(policy, { y, candidate: better, production, groups });
  assert.equal(fair.promote, true, fair.summary);
  const b = evaluatePolicy(policy, { y, candidate: unfair, production, groups });
  assert.equal(check(b, 'primary:roc_auc').pass, true);
  assertRefusalNames(b, ['fairness:demographic_parity', 'fairness:equalized_odds']);
  const dp = check(b, 'fairness:demographic_parity');
  assert.ok(dp.candidate - dp.production > 0.02 && Math.abs(dp.estimate - (dp.candidate - dp.production)) < 1e-15);
  assert.ok(dp.lower! > 0.02 && dp.pValue! < 0.05 && dp.upper === null, dp.why);
  assert.match(dp.why, /^demographic_parity gap by sex .* vs production .*: widened by .*, significantly more than maxWidening 0\.02: one-sided 95% lower bound .* \(row bootstrap, 2000 resamples\), p=.* < 0\.05$/);
});

test('a new failure on the hard examples is refused and the row is named', () => {
  // A 50-example suite: production right on 40; the candidate fixes 5 of the others but breaks row 7.
  const hy = Uint8Array.from({ length: 50 }, (_, i) => i % 2);
  const right = (i: number) => (hy[i] ? 0.9 : 0.1);
  const wrong = (i: number) => (hy[i] ? 0.1 : 0.9);
  const hp = Float64Array.from(hy, (_, i) => (i < 40 ? right(i) : wrong(i)));
  const fixes = Float64Array.from(hy, (_, i) => (i < 45 ? right(i) : wrong(i)));
  const breaks = Float64Array.from(fixes, (v, i) => (i === 7 ? wrong(i) : v));
  const policy: PolicyInput = { ...basePolicy, hardExamples: { allowNewFailures: 0 } };
  const ok = evaluatePolicy(policy, { y, candidate: better, production, hardExamples: { y: hy, candidate: fixes, production: hp } });
  assert.equal(ok.promote, true, ok.summary);
  assert.match(check(ok, 'hard_examples').why, /no new failures on 50 hard examples .*5 fixed/);
  const b = evaluatePolicy(policy, { y, candidate: better, production, hardExamples: { y: hy, candidate: breaks, production: hp } });
  assertRefusalNames(b, ['hard_examples']);
  const h = check(b, 'hard_examples');
  assert.deepEqual(h.newFailures, [7]);
  assert.equal(h.estimate, 1);
  assert.match(h.why, /^1 new failure on 50 hard examples \(rows 7\).*more than the 0 allowed$/);
  // Allowing one new failure lets the same candidate through.
  assert.equal(evaluatePolicy({ ...policy, hardExamples: { allowNewFailures: 1 } }, { y, candidate: better, production, hardExamples: { y: hy, candidate: breaks, production: hp } }).promote, true);
});

test('a lower-is-better primary metric is judged by its direction', () => {
  const b = evaluatePolicy({ primary: { metric: 'log_loss', minImprovement: 0.01 }, bootstrap: { resamples: 1000 } }, { y, candidate: better, production });
  const p = check(b, 'primary:log_loss');
  assert.equal(p.test, 'paired bootstrap, 1000 resamples');
  // Lower is better: the bound is the upper one of the difference, and it must be below −minImprovement.
  assert.ok(p.estimate < 0 && p.upper! < -0.01 && p.lower === null, `difference ${p.estimate}, upper bound ${p.upper}`);
  assert.equal(b.promote, true, b.summary);
  assert.match(p.why, /^log_loss improved by 0\.\d+ \(paired bootstrap, 1000 resamples; one-sided 95% lower bound 0\.\d+/);
  // Swapping the roles makes it a loss.
  const worse = evaluatePolicy({ primary: { metric: 'log_loss' }, bootstrap: { resamples: 1000 } }, { y, candidate: production, production: better });
  assert.equal(worse.promote, false);
  assert.match(check(worse, 'primary:log_loss').why, /^log_loss did not improve by more than minImprovement 0: improvement -0\.\d+/);
});

test('accuracy as the primary metric uses the exact McNemar test by default', () => {
  const b = evaluatePolicy({ primary: { metric: 'accuracy' } }, { y, candidate: better, production });
  const p = check(b, 'primary:accuracy');
  assert.equal(p.test, 'exact McNemar');
  assert.ok(Math.abs(p.estimate - (p.candidate - p.production)) < 1e-12);
  assert.equal(b.promote, true, b.summary);
});

test('bad policy input is refused with the field and the accepted values named', () => {
  const fails = (input: unknown, pattern: RegExp) => {
    assert.throws(() => parsePolicy(input), (e: unknown) => e instanceof InputError && pattern.test(e.message), String(pattern));
  };
  fails({ primary: { metric: 'auc' } }, /primary\.metric: expected one of "roc_auc" \| "accuracy" \| "log_loss" \| "brier"/);
  fails({ primary: { metric: 'roc_auc', minImprovement: -0.1 } }, /primary\.minImprovement: expected a number >= 0, got -0\.1/);
  fails({ primary: { metric: 'log_loss', test: 'delong' } }, /primary\.test: "delong" compares ROC AUCs: expected primary\.metric "roc_auc" with it, got "log_loss"/);
  fails({ primary: { metric: 'roc_auc' }, guardrails: [{ metric: 'brier' }] }, /guardrails\[0\]\.margin: required/);
  fails({ primary: { metric: 'roc_auc' }, guardrailCorrection: 'holm' }, /guardrailCorrection: removed: every guardrail must pass \(an intersection-union test\)/);
  fails({ primary: { metric: 'roc_auc' }, bootstrap: { confidence: 0.99 } }, /bootstrap\.confidence: removed: the confidence of every bound is 1 − alpha/);
  fails({ primary: { metric: 'roc_auc' }, fairness: { groupColumn: 'sex', metrics: ['parity'], maxWidening: 0.1 } }, /fairness\.metrics\[0\]: expected one of "demographic_parity" \| "equal_opportunity" \| "equalized_odds"/);
  fails({ primary: { metric: 'roc_auc' }, bootstrap: { reps: 100 } }, /bootstrap: unknown field "reps"; accepted fields: resamples, seed, confidence/);
  fails({ primary: { metric: 'roc_auc' }, extra: 1 }, /unknown field "extra"; accepted fields: primary, guardrails/);
});

test('missing inputs that the policy needs are named', () => {
  assert.throws(
    () => evaluatePolicy({ primary: { metric: 'roc_auc' }, fairness: { groupColumn: 'sex', metrics: ['equal_opportunity'], maxWidening: 0 } }, { y, candidate: better, production }),
    /groups: the policy limits fairness gaps by "sex"/,
  );
  assert.throws(() => evaluatePolicy({ primary: { metric: 'roc_auc' }, hardExamples: {} }, { y, candidate: better, production }), /hardExamples: .* required/);
  assert.throws(() => evaluatePolicy(basePolicy, { y, candidate: better.subarray(1), production }), /candidate/);
});

test('the policy module imports no Node built-ins, so workflow code can use it', () => {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
      const spec = m[1];
      assert.ok(!spec.startsWith('node:') && !['fs', 'path', 'os', 'crypto', 'child_process'].includes(spec), `${file} imports ${spec}`);
      if (spec.startsWith('.')) {
        const base = resolve(dirname(file), spec);
        visit(existsSync(`${base}.ts`) ? `${base}.ts` : `${base}/index.ts`);
      }
    }
  };
  visit(resolve(__dirname, '../../ml/policy.ts'));
  assert.ok(seen.size > 3);
});

test('a fair candidate is not refused at random because a small group makes its gap noisy', () => {
  // Candidate and production are equally good draws of the same model; group B has only 40 of 2000 rows, so
  // either model's gap swings by several points from one holdout to the next.
  const m = 2000;
  const groups = Array.from({ length: m }, (_, i) => (i % 50 === 0 ? 'B' : 'A'));
  const policy: PolicyInput = {
    primary: { metric: 'roc_auc' },
    fairness: { groupColumn: 'region', metrics: ['demographic_parity', 'equalized_odds'], maxWidening: 0.02 },
    bootstrap: { resamples: 500 },
  };
  const trials = 60;
  let widened = 0;
  let refused = 0;
  for (let t = 0; t < trials; t++) {
    const yt = labels(100 + t, m);
    const b = evaluatePolicy(policy, { y: yt, candidate: model(yt, 200 + t, 0.9), production: model(yt, 300 + t, 0.9), groups });
    const fairness = b.checks.filter((c) => c.kind === 'fairness');
    if (fairness.some((c) => c.estimate > 0.02)) widened++;
    if (fairness.some((c) => !c.pass)) refused++;
    for (const c of fairness) assert.ok(c.lower !== null && c.lower < c.estimate && c.confidence === 0.95, c.why);
  }
  // Comparing the point estimates with maxWidening would refuse most of these equal candidates.
  assert.ok(widened > trials / 2, `${widened} of ${trials} widened a gap by more than 0.02`);
  // The one-sided test refuses at about α per check (two checks here).
  assert.ok(refused <= 0.15 * trials, `${refused} of ${trials} refused`);
});
