/**
 * The promotion policy: a declarative, zod-validated statement of when a candidate model may replace the
 * production model, and `evaluatePolicy`, which turns the two models' predictions on one fresh holdout into a
 * blessing: promote or not, with every check's evidence (both models' values, the difference, its interval,
 * the p-value, the threshold and a sentence saying why). A candidate is promoted only when
 * - the primary metric is significantly better, with the lower confidence bound of the improvement at least
 *   `minImprovement`;
 * - every guardrail metric is non-inferior within its margin (one-sided tests, corrected for multiplicity);
 * - no fairness gap is wider than production's by more than `maxWidening`;
 * - no hard example that production gets right is got wrong by the candidate (beyond `allowNewFailures`).
 * Metrics where lower is better (log loss, Brier, ECE) are handled by their direction throughout.
 *
 * Tests: the primary metric uses the policy's test (DeLong, exact McNemar or the paired bootstrap). Guardrails
 * are one-sided normal-theory non-inferiority tests on the difference and its standard error, which comes from
 * DeLong for ROC AUC, from the per-example differences for metrics that are means of per-example values
 * (accuracy, log loss, Brier: the paired z-test, to which the bootstrap converges, at O(n) instead of
 * O(n · resamples)), and from the paired bootstrap for the rest (ECE, precision, recall, F1).
 *
 * Pure and deterministic for the bootstrap seed, and free of Node built-ins, so workflow code may import it.
 */
import { z } from 'zod';
import { parseWith } from './data/errors';
import { fairnessGaps, FairnessMetrics, groupMetrics, type FairnessMetric, type GroupInput } from './fairness';
import { checkPredictions, computeMetric, METRICS, perExampleValues, type MetricName } from './metrics';
import { pairedBootstrap } from './stats/bootstrap';
import { benjaminiHochberg, holm } from './stats/corrections';
import { delongTest } from './stats/delong';
import { normalQuantile, normalSf } from './stats/distributions';
import { mcnemarExact } from './stats/mcnemar';
import { nonInferiorityTest } from './stats/noninferiority';

/** Metric names as a policy spells them, and the ml/metrics catalogue entry each one means. */
export const POLICY_METRICS = {
  roc_auc: 'rocAuc',
  accuracy: 'accuracy',
  log_loss: 'logLoss',
  brier: 'brierScore',
  ece: 'expectedCalibrationError',
  precision: 'precision',
  recall: 'recall',
  f1: 'f1',
} as const satisfies Record<string, MetricName>;
export type PolicyMetric = keyof typeof POLICY_METRICS;
const POLICY_METRIC_NAMES = Object.keys(POLICY_METRICS) as [PolicyMetric, ...PolicyMetric[]];

export const PrimaryTests = { bootstrap: 'bootstrap', delong: 'delong', mcnemar: 'mcnemar' } as const;
export type PrimaryTest = (typeof PrimaryTests)[keyof typeof PrimaryTests];

export const Corrections = { holm: 'holm', bh: 'bh', none: 'none' } as const;
export type Correction = (typeof Corrections)[keyof typeof Corrections];

export const CheckKinds = { primary: 'primary', guardrail: 'guardrail', fairness: 'fairness', hardExamples: 'hard_examples' } as const;
export type CheckKind = (typeof CheckKinds)[keyof typeof CheckKinds];

const probability = z.number().gt(0).lt(1);
const metric = z.enum(POLICY_METRIC_NAMES);

export const PolicySchema = z
  .object({
    primary: z
      .object({
        metric,
        /** The smallest improvement worth a promotion, in the metric's units, in its good direction. */
        minImprovement: z.number().min(0).default(0),
        alpha: probability.default(0.05),
        /** Default by metric: DeLong for roc_auc, exact McNemar for accuracy, the paired bootstrap otherwise. */
        test: z.enum([PrimaryTests.bootstrap, PrimaryTests.delong, PrimaryTests.mcnemar]).optional(),
      })
      .strict(),
    guardrails: z
      .array(
        z
          .object({
            metric,
            /** Non-inferiority margin: how much worse than production the candidate may be, in the metric's units. */
            margin: z.number().min(0),
          })
          .strict(),
      )
      .default([]),
    guardrailCorrection: z.enum([Corrections.holm, Corrections.bh, Corrections.none]).default(Corrections.holm),
    /** Significance level of the guardrail tests (after correction). */
    alpha: probability.default(0.05),
    /** Decision threshold for accuracy-type metrics, McNemar, fairness rates and hard examples (positive when p > threshold). */
    threshold: probability.default(0.5),
    fairness: z
      .object({
        /** The column holding the protected attribute; the caller passes its values as `groups`. */
        groupColumn: z.string().min(1),
        metrics: z.array(z.enum([FairnessMetrics.demographicParity, FairnessMetrics.equalOpportunity, FairnessMetrics.equalizedOdds])).min(1),
        /** How much wider than production's a gap may become. */
        maxWidening: z.number().min(0),
      })
      .strict()
      .optional(),
    hardExamples: z
      .object({ allowNewFailures: z.number().int().min(0).default(0) })
      .strict()
      .optional(),
    bootstrap: z
      .object({
        resamples: z.number().int().min(100).max(1_000_000).default(2000),
        seed: z.number().int().min(0).default(0),
        confidence: probability.default(0.95),
      })
      .strict()
      .default({ resamples: 2000, seed: 0, confidence: 0.95 }),
  })
  .strict()
  .superRefine((p, ctx) => {
    const test = p.primary.test;
    if (test === PrimaryTests.delong && p.primary.metric !== 'roc_auc') {
      ctx.addIssue({ code: 'custom', path: ['primary', 'test'], message: `"delong" compares ROC AUCs: expected primary.metric "roc_auc" with it, got ${JSON.stringify(p.primary.metric)}` });
    }
    if (test === PrimaryTests.mcnemar && p.primary.metric !== 'accuracy') {
      ctx.addIssue({ code: 'custom', path: ['primary', 'test'], message: `"mcnemar" compares accuracies: expected primary.metric "accuracy" with it, got ${JSON.stringify(p.primary.metric)}` });
    }
    const seen = new Map<string, number>();
    p.guardrails.forEach((g, j) => {
      const first = seen.get(g.metric);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['guardrails', j, 'metric'], message: `duplicate guardrail ${JSON.stringify(g.metric)} (also guardrails[${first}].metric)` });
      } else seen.set(g.metric, j);
    });
    if (p.fairness) {
      const dup = p.fairness.metrics.find((m, k) => p.fairness!.metrics.indexOf(m) !== k);
      if (dup) ctx.addIssue({ code: 'custom', path: ['fairness', 'metrics'], message: `duplicate fairness metric ${JSON.stringify(dup)}` });
    }
  });

export type PolicyInput = z.input<typeof PolicySchema>;
type ParsedPolicy = z.output<typeof PolicySchema>;
/** A validated policy with every default filled in, the primary test included. */
export type Policy = ParsedPolicy & { readonly primary: ParsedPolicy['primary'] & { readonly test: PrimaryTest } };

/**
 * Validates a policy (from a config file, a CLI flag, a workflow input) and fills in defaults; an InputError
 * names each bad field and the accepted values.
 */
export function parsePolicy(input: unknown): Policy {
  // The default test is resolved here rather than by a zod transform, which would hide the object's accepted
  // fields from the error formatter.
  const p = parseWith(PolicySchema, input, 'policy');
  return { ...p, primary: { ...p.primary, test: p.primary.test ?? defaultTest(p.primary.metric) } };
}

function defaultTest(m: PolicyMetric): PrimaryTest {
  return m === 'roc_auc' ? PrimaryTests.delong : m === 'accuracy' ? PrimaryTests.mcnemar : PrimaryTests.bootstrap;
}

/** Both models' predicted probabilities on the same holdout, and optionally on the hard-example suite. */
export interface PolicyData {
  readonly y: Uint8Array;
  readonly candidate: Float64Array;
  readonly production: Float64Array;
  /** The protected attribute per holdout row (the policy's `fairness.groupColumn`). */
  readonly groups?: GroupInput;
  readonly hardExamples?: { readonly y: Uint8Array; readonly candidate: Float64Array; readonly production: Float64Array };
}

export interface Check {
  /** `primary:roc_auc`, `guardrail:log_loss`, `fairness:equalized_odds`, `hard_examples`. */
  readonly name: string;
  readonly kind: CheckKind;
  readonly metric?: string;
  /** The candidate's value (metric, gap, or hard-example accuracy). */
  readonly candidate: number;
  readonly production: number;
  /** candidate − production (for hard examples: the number of new failures). */
  readonly estimate: number;
  /** Confidence interval of the difference, where there is one. */
  readonly lower: number | null;
  readonly upper: number | null;
  /** The test used for the p-value. */
  readonly test?: string;
  readonly pValue?: number;
  readonly adjustedPValue?: number;
  /** minImprovement, margin, maxWidening or allowNewFailures. */
  readonly threshold: number;
  readonly pass: boolean;
  readonly why: string;
  /** Hard examples: indices of the new failures (the first 100). */
  readonly newFailures?: readonly number[];
}

export interface Blessing {
  readonly promote: boolean;
  readonly checks: readonly Check[];
  readonly summary: string;
}

/** Evaluates the policy on a holdout: every check is run, so a refusal carries all the evidence, not the first failure. */
export function evaluatePolicy(policyInput: PolicyInput | Policy, data: PolicyData): Blessing {
  const policy = parsePolicy(policyInput);
  checkPredictions(data.y, data.candidate, undefined, ['y', 'candidate']);
  checkPredictions(data.y, data.production, undefined, ['y', 'production']);
  const checks: Check[] = [primaryCheck(policy, data), ...guardrailChecks(policy, data)];
  if (policy.fairness) checks.push(...fairnessChecks(policy, data));
  if (policy.hardExamples) checks.push(hardExampleCheck(policy, data));
  const promote = checks.every((c) => c.pass);
  const failed = checks.filter((c) => !c.pass);
  const summary = promote
    ? `promote: ${checks[0].why}${checks.length > 1 ? `; all ${checks.length - 1} other checks passed` : ''}`
    : `do not promote: ${failed.length} of ${checks.length} checks failed: ${failed.map((c) => `${c.name}: ${c.why}`).join('; ')}`;
  return { promote, checks, summary };
}

// ---------------------------------------------------------------------------------------------------------
// checks

interface Comparison {
  candidate: number;
  production: number;
  estimate: number;
  lower: number;
  upper: number;
  standardError: number;
  pValue: number;
  test: string;
}

function primaryCheck(policy: Policy, data: PolicyData): Check {
  const { metric: name, minImprovement, alpha, test } = policy.primary;
  const key = POLICY_METRICS[name];
  const c = compare(key, test, policy, data);
  const sign = METRICS[key].higherIsBetter ? 1 : -1;
  const gain = sign * c.estimate;
  const [gainLo, gainHi] = sign > 0 ? [c.lower, c.upper] : [-c.upper, -c.lower];
  const significant = c.pValue < alpha;
  const pass = gain > 0 && significant && gainLo >= minImprovement;
  const ci = `[${fmt(gainLo)}, ${fmt(gainHi)}] (${c.test})`;
  const p = `p=${fmt(c.pValue)}`;
  let why: string;
  if (!(gain > 0)) why = `${name} did not improve: ${sign > 0 ? 'change' : 'improvement'} ${fmt(gain)} ${ci}, ${p}`;
  else if (!significant) why = `${name} improved by ${fmt(gain)} ${ci} but not significantly: ${p} >= ${alpha}`;
  else if (gainLo < minImprovement) why = `${name} improved by ${fmt(gain)} ${ci}, ${p} < ${alpha}, but the lower bound ${fmt(gainLo)} < minImprovement ${minImprovement}`;
  else why = `${name} improved by ${fmt(gain)} ${ci}, ${p} < ${alpha} and the lower bound ${fmt(gainLo)} >= minImprovement ${minImprovement}`;
  return {
    name: `primary:${name}`,
    kind: CheckKinds.primary,
    metric: name,
    candidate: c.candidate,
    production: c.production,
    estimate: c.estimate,
    lower: c.lower,
    upper: c.upper,
    test: c.test,
    pValue: c.pValue,
    threshold: minImprovement,
    pass,
    why,
  };
}

function guardrailChecks(policy: Policy, data: PolicyData): Check[] {
  if (policy.guardrails.length === 0) return [];
  const rows = policy.guardrails.map((g) => {
    const key = POLICY_METRICS[g.metric];
    const c = compare(key, g.metric === 'roc_auc' ? PrimaryTests.delong : METRICS[key].perExample ? PAIRED_MEAN : PrimaryTests.bootstrap, policy, data);
    const higherIsBetter = METRICS[key].higherIsBetter;
    const ni = nonInferiorityTest({ estimate: c.estimate, standardError: c.standardError, margin: g.margin, higherIsBetter, alpha: policy.alpha });
    return { g, c, higherIsBetter, pValue: ni.pValue };
  });
  const ps = Float64Array.from(rows.map((r) => r.pValue));
  const adjusted = policy.guardrailCorrection === Corrections.holm ? holm(ps) : policy.guardrailCorrection === Corrections.bh ? benjaminiHochberg(ps) : ps;
  const label = policy.guardrailCorrection === Corrections.holm ? 'Holm' : policy.guardrailCorrection === Corrections.bh ? 'BH' : 'uncorrected';
  return rows.map(({ g, c, higherIsBetter, pValue }, j): Check => {
    const adj = adjusted[j];
    const pass = adj < policy.alpha;
    const worse = higherIsBetter ? -c.estimate : c.estimate;
    const change = `${worse > 0 ? 'worse' : 'better'} by ${fmt(Math.abs(c.estimate))}, difference ${fmt(c.estimate)} [${fmt(c.lower)}, ${fmt(c.upper)}] (${c.test})`;
    const p = `non-inferiority p=${fmt(pValue)}${policy.guardrailCorrection === Corrections.none ? '' : ` (${label}-adjusted ${fmt(adj)})`}`;
    const why = pass
      ? `${g.metric} is within its margin ${g.margin}: ${change}, ${p} < ${policy.alpha}`
      : `${g.metric} may be worse than production by more than its margin ${g.margin}: ${change}, ${p} >= ${policy.alpha}`;
    return {
      name: `guardrail:${g.metric}`,
      kind: CheckKinds.guardrail,
      metric: g.metric,
      candidate: c.candidate,
      production: c.production,
      estimate: c.estimate,
      lower: c.lower,
      upper: c.upper,
      test: `non-inferiority (${c.test})`,
      pValue,
      adjustedPValue: adj,
      threshold: g.margin,
      pass,
      why,
    };
  });
}

function fairnessChecks(policy: Policy, data: PolicyData): Check[] {
  const spec = policy.fairness!;
  if (data.groups === undefined) {
    throw new TypeError(`groups: the policy limits fairness gaps by ${JSON.stringify(spec.groupColumn)}, so its values per holdout row are required`);
  }
  const cand = fairnessGaps(groupMetrics(data.y, data.candidate, data.groups, policy.threshold));
  const prod = fairnessGaps(groupMetrics(data.y, data.production, data.groups, policy.threshold));
  return spec.metrics.map((m: FairnessMetric): Check => {
    const widening = cand[m] - prod[m];
    // A hair of tolerance so that equal gaps computed in a different order never fail a zero-widening limit.
    const pass = widening <= spec.maxWidening + 1e-12;
    const gaps = `${m} gap by ${spec.groupColumn} ${fmt(cand[m])} vs production ${fmt(prod[m])}`;
    const why = pass
      ? `${gaps}: ${widening > 0 ? `widened by ${fmt(widening)}` : 'not wider'}, within maxWidening ${spec.maxWidening}`
      : `${gaps}: widened by ${fmt(widening)} > maxWidening ${spec.maxWidening}`;
    return {
      name: `fairness:${m}`,
      kind: CheckKinds.fairness,
      metric: m,
      candidate: cand[m],
      production: prod[m],
      estimate: widening,
      lower: null,
      upper: null,
      threshold: spec.maxWidening,
      pass,
      why,
    };
  });
}

function hardExampleCheck(policy: Policy, data: PolicyData): Check {
  const allowed = policy.hardExamples!.allowNewFailures;
  const h = data.hardExamples;
  if (h === undefined) throw new TypeError('hardExamples: the policy checks the hard-example suite, so its labels and both models\' predictions are required');
  checkPredictions(h.y, h.candidate, undefined, ['hardExamples.y', 'hardExamples.candidate']);
  checkPredictions(h.y, h.production, undefined, ['hardExamples.y', 'hardExamples.production']);
  const t = policy.threshold;
  const newFailures: number[] = [];
  let count = 0;
  let fixed = 0;
  let candRight = 0;
  let prodRight = 0;
  for (let i = 0; i < h.y.length; i++) {
    const cOk = (h.candidate[i] > t ? 1 : 0) === h.y[i];
    const pOk = (h.production[i] > t ? 1 : 0) === h.y[i];
    if (cOk) candRight++;
    if (pOk) prodRight++;
    if (pOk && !cOk) {
      count++;
      if (newFailures.length < 100) newFailures.push(i);
    } else if (cOk && !pOk) fixed++;
  }
  const n = h.y.length;
  const pass = count <= allowed;
  const rows = `${newFailures.slice(0, 10).join(', ')}${count > 10 ? ', ...' : ''}`;
  const why = count === 0
    ? `no new failures on ${n} hard examples (production got ${prodRight} right, the candidate ${candRight}; ${fixed} fixed)`
    : `${count} new failure${count === 1 ? '' : 's'} on ${n} hard examples (rows ${rows}): production got ${count === 1 ? 'it' : 'them'} right, the candidate wrong; ${pass ? 'within' : 'more than'} the ${allowed} allowed`;
  return {
    name: 'hard_examples',
    kind: CheckKinds.hardExamples,
    candidate: candRight / n,
    production: prodRight / n,
    estimate: count,
    lower: null,
    upper: null,
    threshold: allowed,
    pass,
    why,
    newFailures,
  };
}

/** The candidate − production difference of one metric with its interval, standard error and two-sided p-value. */
/** The guardrails' method for metrics that are means of per-example values. */
const PAIRED_MEAN = 'paired_mean';

function compare(key: MetricName, test: PrimaryTest | typeof PAIRED_MEAN, policy: Policy, data: PolicyData): Comparison {
  const { y, candidate, production } = data;
  const { confidence, resamples, seed } = policy.bootstrap;
  const threshold = policy.threshold;
  if (test === PAIRED_MEAN) {
    const name = key as 'accuracy' | 'logLoss' | 'brierScore';
    const a = perExampleValues(name, y, production, threshold);
    const b = perExampleValues(name, y, candidate, threshold);
    const n = y.length;
    let sa = 0;
    let sb = 0;
    for (let i = 0; i < n; i++) {
      sa += a[i];
      sb += b[i];
    }
    const mean = (sb - sa) / n;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const d = b[i] - a[i] - mean;
      ss += d * d;
    }
    const se = n > 1 ? Math.sqrt(ss / (n - 1) / n) : 0;
    const z = normalQuantile(1 - (1 - confidence) / 2);
    return {
      candidate: sb / n,
      production: sa / n,
      estimate: mean,
      lower: mean - z * se,
      upper: mean + z * se,
      standardError: se,
      pValue: se > 0 ? Math.min(1, 2 * normalSf(Math.abs(mean) / se)) : mean === 0 ? 1 : 0,
      test: 'paired z on per-example differences',
    };
  }
  if (test === PrimaryTests.delong) {
    const r = delongTest(y, production, candidate, { confidence });
    return {
      candidate: r.aucB,
      production: r.aucA,
      estimate: r.difference,
      lower: r.lower,
      upper: r.upper,
      standardError: r.standardError,
      pValue: r.pValue,
      test: 'DeLong',
    };
  }
  if (test === PrimaryTests.mcnemar) {
    const n = y.length;
    const okA = new Uint8Array(n);
    const okB = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      okA[i] = (production[i] > threshold ? 1 : 0) === y[i] ? 1 : 0;
      okB[i] = (candidate[i] > threshold ? 1 : 0) === y[i] ? 1 : 0;
    }
    const r = mcnemarExact(okA, okB);
    // b: production right and candidate wrong; c: the reverse. The difference of paired proportions has the
    // Wald standard error sqrt(b + c − (c − b)²/n) / n (Agresti, Categorical Data Analysis, 10.1).
    const d = (r.c - r.b) / n;
    const se = Math.sqrt(Math.max(0, r.b + r.c - ((r.c - r.b) * (r.c - r.b)) / n)) / n;
    const z = normalQuantile(1 - (1 - confidence) / 2);
    return {
      candidate: computeMetric('accuracy', y, candidate, { threshold }),
      production: computeMetric('accuracy', y, production, { threshold }),
      estimate: d,
      lower: d - z * se,
      upper: d + z * se,
      standardError: se,
      pValue: r.pValue,
      test: 'exact McNemar',
    };
  }
  const r = pairedBootstrap({ y, pA: production, pB: candidate, metric: key, resamples, confidence, seed, threshold });
  return {
    candidate: computeMetric(key, y, candidate, { threshold }),
    production: computeMetric(key, y, production, { threshold }),
    estimate: r.estimate,
    lower: r.lower,
    upper: r.upper,
    standardError: r.standardError,
    // Two-sided, from the bootstrap standard error (normal approximation).
    pValue: r.standardError > 0 ? Math.min(1, 2 * normalSf(Math.abs(r.estimate) / r.standardError)) : r.estimate === 0 ? 1 : 0,
    test: `paired bootstrap, ${resamples} resamples`,
  };
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(3))) : x.toExponential(1);
}
