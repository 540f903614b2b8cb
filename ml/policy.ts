/**
 * The promotion policy: a declarative, zod-validated statement of when a candidate model may replace the
 * production model, and `evaluatePolicy`, which turns the two models' predictions on one fresh holdout into a
 * blessing: promote or not, with every check's evidence (both models' values, the difference, its one-sided
 * confidence bound, the p-value, the threshold and a sentence saying why). A candidate is promoted only when
 * - the primary metric is better by more than `minImprovement`: ONE one-sided test at `primary.alpha` of
 *   H0 "gain ≤ minImprovement", whose (1 − α) lower confidence bound of the gain is the same decision (the bound
 *   exceeds minImprovement exactly when p < α), so equal models are promoted at rate α, not α/2;
 * - every guardrail metric is non-inferior within its margin (one-sided tests at `alpha`). Every guardrail must
 *   pass, an intersection-union test, whose error rate is at most α without any multiplicity correction (Berger,
 *   Technometrics 24, 1982): a correction would only cost power;
 * - no fairness gap is wider than production's by more than `maxWidening` with confidence: the check fails only
 *   when the (1 − α) lower bound of the widening, from a seeded bootstrap over holdout rows, exceeds the limit, so
 *   the noise of small groups does not refuse a fair candidate at random;
 * - no hard example that production gets right is got wrong by the candidate (beyond `allowNewFailures`).
 * Metrics where lower is better (log loss, Brier, ECE) are handled by their direction throughout.
 *
 * Primary tests: DeLong (one-sided z on the AUC difference and DeLong's standard error), McNemar (the exact
 * binomial test on the discordant pairs, conditional on their number; with a minimum improvement δ the null
 * share of candidate-right pairs is ½ + δ/(2ψ̂), ψ̂ the discordant share, and the bound is ψ̂(2π_L − 1) from the
 * Clopper-Pearson bound π_L) or the paired bootstrap (the p-value is the share of resampled gains at or below
 * minImprovement, and the bound the order statistic that makes the same decision). Guardrails are one-sided
 * normal-theory non-inferiority tests on the difference and its standard error, which comes from DeLong for
 * ROC AUC, from the per-example differences for metrics that are means of per-example values (accuracy, log
 * loss, Brier: the paired z-test, to which the bootstrap converges, at O(n) instead of O(n · resamples)), and
 * from the paired bootstrap for the rest (ECE, precision, recall, F1).
 *
 * Pure and deterministic for the bootstrap seed, and free of Node built-ins, so workflow code may import it.
 */
import { z } from 'zod';
import { parseWith } from './data/errors';
import { MlErrorCodes, MlTypeError } from './errors';
import { fairnessGaps, FairnessMetrics, groupMetrics, type FairnessGaps, type FairnessMetric, type GroupInput, type GroupMetrics } from './fairness';
import { checkPredictions, computeMetric, Metrics, perExampleValues, type MetricName } from './metrics';
import { Rng } from './random';
import { pairedBootstrap } from './stats/bootstrap';
import { delongTest } from './stats/delong';
import { binomialSf, normalQuantile, normalSf } from './stats/distributions';
import { mcnemarExact } from './stats/mcnemar';
import { nonInferiorityTest } from './stats/noninferiority';
import { sampleMultinomial } from './stats/sampling';

/** Metric names as a policy spells them, and the ml/metrics catalogue entry each one means. */
export const PolicyMetrics = {
  roc_auc: 'rocAuc',
  accuracy: 'accuracy',
  log_loss: 'logLoss',
  brier: 'brierScore',
  ece: 'expectedCalibrationError',
  precision: 'precision',
  recall: 'recall',
  f1: 'f1',
} as const satisfies Record<string, MetricName>;
export type PolicyMetric = keyof typeof PolicyMetrics;
const POLICY_METRIC_NAMES = Object.keys(PolicyMetrics) as [PolicyMetric, ...PolicyMetric[]];

export const PrimaryTests = { bootstrap: 'bootstrap', delong: 'delong', mcnemar: 'mcnemar' } as const;
export type PrimaryTest = (typeof PrimaryTests)[keyof typeof PrimaryTests];

export const CheckKinds = { primary: 'primary', guardrail: 'guardrail', fairness: 'fairness', hardExamples: 'hard_examples' } as const;
export type CheckKind = (typeof CheckKinds)[keyof typeof CheckKinds];

const probability = z.number().gt(0).lt(1);
const metric = z.enum(POLICY_METRIC_NAMES);

/**
 * Fields an earlier version of the policy accepted and that no longer have any effect. They are refused with a
 * message saying why rather than accepted silently: a config that asks for a Holm correction or a 99% interval
 * expects something to happen, and no stored config uses them (the policy had no consumer yet).
 */
const REMOVED_FIELDS = {
  guardrailCorrection:
    'removed: every guardrail must pass (an intersection-union test), which keeps the error rate at alpha without a multiplicity correction; delete the field',
  'bootstrap.confidence':
    'removed: the confidence of every bound is 1 − alpha (primary.alpha for the primary metric, alpha for guardrails and fairness), so the bound and the test agree; delete the field',
} as const;

export const PolicySchema = z
  .object({
    primary: z
      .object({
        metric: metric.describe('The metric the candidate must improve significantly.'),
        minImprovement: z.number().min(0).default(0).describe('The smallest improvement worth a promotion, in the metric\'s units, in its good direction: H0 is gain ≤ minImprovement.'),
        alpha: probability.default(0.05).describe('Level of the one-sided test; the reported bound is at confidence 1 − alpha.'),
        test: z.enum([PrimaryTests.bootstrap, PrimaryTests.delong, PrimaryTests.mcnemar]).optional().describe('Default by metric: DeLong for roc_auc, exact McNemar for accuracy, the paired bootstrap otherwise.'),
      })
      .strict()
      .describe('The primary metric: the candidate is promoted only when it is significantly better on it.'),
    guardrails: z
      .array(
        z
          .object({
            metric: metric.describe('A metric the candidate must not make worse.'),
            margin: z.number().min(0).describe('Non-inferiority margin: how much worse than production the candidate may be, in the metric\'s units.'),
          })
          .strict(),
      )
      .default([])
      .describe('Metrics that must not get worse by more than their margin (one-sided non-inferiority tests).'),
    /** Refused with an explanation (see REMOVED_FIELDS). */
    guardrailCorrection: z.unknown().optional(),
    alpha: probability.default(0.05).describe('Level of each one-sided guardrail test and of each fairness check (no correction: all must pass).'),
    threshold: probability.default(0.5).describe('Decision threshold for accuracy-type metrics, McNemar, fairness rates and hard examples (positive when p > threshold).'),
    fairness: z
      .object({
        groupColumn: z.string().min(1).describe('The column holding the protected attribute; the caller passes its values as `groups`.'),
        metrics: z.array(z.enum([FairnessMetrics.demographicParity, FairnessMetrics.equalOpportunity, FairnessMetrics.equalizedOdds])).min(1).describe('The fairness gaps checked between groups.'),
        maxWidening: z.number().min(0).describe('How much wider than production\'s a gap may become before a (one-sided, level alpha) test refuses it.'),
      })
      .strict()
      .optional()
      .describe('Fairness gaps between the groups of `groupColumn` must not widen beyond `maxWidening`.'),
    hardExamples: z
      .object({ allowNewFailures: z.number().int().min(0).default(0).describe('How many known-hard examples production gets right the candidate may get wrong.') })
      .strict()
      .optional()
      .describe('Known-hard examples: the candidate must not newly fail them.'),
    bootstrap: z
      .object({
        resamples: z.number().int().min(100).max(1_000_000).default(2000).describe('Resamples of the paired bootstrap (primary test, guardrails on ECE/precision/recall/F1) and of the fairness bounds.'),
        seed: z.number().int().min(0).default(0).describe('Seeds the bootstrap, so a gate decision is reproducible.'),
        /** Refused with an explanation (see REMOVED_FIELDS). */
        confidence: z.unknown().optional(),
      })
      .strict()
      .default({ resamples: 2000, seed: 0 })
      .describe('The paired bootstrap behind the intervals.'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.guardrailCorrection !== undefined) ctx.addIssue({ code: 'custom', path: ['guardrailCorrection'], message: REMOVED_FIELDS.guardrailCorrection });
    if (p.bootstrap.confidence !== undefined) ctx.addIssue({ code: 'custom', path: ['bootstrap', 'confidence'], message: REMOVED_FIELDS['bootstrap.confidence'] });
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
export type Policy = Omit<ParsedPolicy, 'guardrailCorrection' | 'bootstrap' | 'primary'> & {
  readonly primary: ParsedPolicy['primary'] & { readonly test: PrimaryTest };
  readonly bootstrap: { readonly resamples: number; readonly seed: number };
};

/**
 * Validates a policy (from a config file, a CLI flag, a workflow input) and fills in defaults; an InputError
 * names each bad field and the accepted values.
 */
export function parsePolicy(input: unknown): Policy {
  // The default test is resolved here rather than by a zod transform, which would hide the object's accepted
  // fields from the error formatter.
  const p = parseWith(PolicySchema, input, 'policy');
  const { guardrailCorrection: _removed, bootstrap, ...rest } = p;
  return {
    ...rest,
    primary: { ...p.primary, test: p.primary.test ?? defaultTest(p.primary.metric) },
    bootstrap: { resamples: bootstrap.resamples, seed: bootstrap.seed },
  };
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
  /**
   * The one-sided confidence bound of the difference at `confidence`, on the side the test looks at: `lower`
   * for a higher-is-better metric and for a fairness widening, `upper` for a lower-is-better metric; the other
   * side is null (unbounded). Both null for hard examples.
   */
  readonly lower: number | null;
  readonly upper: number | null;
  /** 1 − α of the check's test, the confidence of its bound. */
  readonly confidence?: number;
  /** The test used for the p-value. */
  readonly test?: string;
  /** One-sided p-value of the check's null hypothesis (primary: gain ≤ minImprovement; guardrail: worse by at least the margin; fairness: widened by at most maxWidening). */
  readonly pValue?: number;
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

/** A one-sided test of H0 "gain ≤ minImprovement", gain in the metric's good direction. */
interface GainTest {
  candidate: number;
  production: number;
  /** candidate − production */
  estimate: number;
  /** The (1 − α) lower confidence bound of the gain; it exceeds minImprovement exactly when pValue < α. */
  gainLower: number;
  pValue: number;
  test: string;
}

function primaryCheck(policy: Policy, data: PolicyData): Check {
  const { metric: name, minImprovement, alpha, test } = policy.primary;
  const key = PolicyMetrics[name];
  const higherIsBetter = Metrics[key].higherIsBetter;
  const sign = higherIsBetter ? 1 : -1;
  const t =
    test === PrimaryTests.delong ? delongGain(data, minImprovement, alpha)
    : test === PrimaryTests.mcnemar ? mcnemarGain(data, policy.threshold, minImprovement, alpha)
    : bootstrapGain(key, policy, data, minImprovement, alpha);
  const gain = sign * t.estimate;
  const pass = t.pValue < alpha;
  const confidence = 1 - alpha;
  const bound = `${pct(confidence)} lower bound ${fmt(t.gainLower)}`;
  const evidence = `(${t.test}; one-sided ${bound}, p=${fmt(t.pValue)} for H0 gain <= ${minImprovement})`;
  let why: string;
  if (pass) why = `${name} improved by ${fmt(gain)} ${evidence}: the lower bound > minImprovement ${minImprovement}, p < ${alpha}`;
  else if (!(gain > minImprovement)) why = `${name} did not improve by more than minImprovement ${minImprovement}: ${higherIsBetter ? 'change' : 'improvement'} ${fmt(gain)} ${evidence}`;
  else why = `${name} improved by ${fmt(gain)} but not significantly more than minImprovement ${minImprovement} ${evidence}: p >= ${alpha}`;
  const boundOfDifference = Number.isFinite(t.gainLower) ? sign * t.gainLower : null;
  return {
    name: `primary:${name}`,
    kind: CheckKinds.primary,
    metric: name,
    candidate: t.candidate,
    production: t.production,
    estimate: t.estimate,
    lower: higherIsBetter ? boundOfDifference : null,
    upper: higherIsBetter ? null : boundOfDifference,
    confidence,
    test: t.test,
    pValue: t.pValue,
    threshold: minImprovement,
    pass,
    why,
  };
}

/** DeLong's z for AUC(candidate) − AUC(production), shifted by the minimum improvement. */
function delongGain(data: PolicyData, minImprovement: number, alpha: number): GainTest {
  const r = delongTest(data.y, data.production, data.candidate);
  const se = r.standardError;
  const excess = r.difference - minImprovement;
  return {
    candidate: r.aucB,
    production: r.aucA,
    estimate: r.difference,
    gainLower: r.difference - normalQuantile(1 - alpha) * se,
    // Identical rankings give se = 0: then only an exact excess over the threshold counts.
    pValue: se > 0 ? normalSf(excess / se) : excess > 0 ? 0 : 1,
    test: 'DeLong',
  };
}

/**
 * The exact McNemar test, conditional on the k = b + c discordant pairs: c (candidate right, production wrong)
 * is Binomial(k, π) with Δ = ψ(2π − 1), ψ the discordant share. H0 "Δ ≤ δ" is π ≤ π0 = ½ + δ/(2ψ̂), so with
 * δ = 0 this is the classical one-sided exact McNemar. The bound inverts the same binomial test (Clopper-
 * Pearson): π_L solves P(X ≥ c; π_L) = α, so ψ̂(2π_L − 1) > δ exactly when p < α. Plugging in ψ̂ for δ > 0
 * ignores the variance of ψ̂, which changes the variance of Δ̂ by Δ²(1 − ψ)/ψ per example: negligible for the
 * improvements a policy asks for.
 */
function mcnemarGain(data: PolicyData, threshold: number, minImprovement: number, alpha: number): GainTest {
  const { y, candidate, production } = data;
  const n = y.length;
  const okA = new Uint8Array(n);
  const okB = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    okA[i] = (production[i] > threshold ? 1 : 0) === y[i] ? 1 : 0;
    okB[i] = (candidate[i] > threshold ? 1 : 0) === y[i] ? 1 : 0;
  }
  const { b, c } = mcnemarExact(okA, okB);
  const k = b + c;
  const psi = k / n;
  const p0 = k > 0 ? 0.5 + minImprovement / (2 * psi) : 1;
  return {
    candidate: computeMetric('accuracy', y, candidate, { threshold }),
    production: computeMetric('accuracy', y, production, { threshold }),
    estimate: (c - b) / n,
    gainLower: psi * (2 * clopperPearsonLower(c, k, alpha) - 1),
    // A null share of 1 or more cannot be beaten: the improvement asked for exceeds the discordant share.
    pValue: p0 >= 1 ? 1 : binomialSf(c, k, p0),
    test: 'exact McNemar',
  };
}

/** The π with P(X ≥ c; k, π) = α (0 when c = 0): the one-sided (1 − α) Clopper-Pearson lower bound. */
function clopperPearsonLower(c: number, k: number, alpha: number): number {
  if (c === 0) return 0;
  let lo = 0;
  let hi = 1;
  // P(X ≥ c; π) increases with π; 60 halvings reach double precision on [0, 1].
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (binomialSf(c, k, mid) < alpha) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The paired bootstrap test: p = (1 + #{resampled gains ≤ δ}) / (1 + resamples), and as the bound the order
 * statistic that makes the same decision (the j-th smallest resampled gain, j the largest count of resamples at
 * or below δ that still gives p < α), rather than an interpolated percentile that can disagree with p at the edge.
 */
function bootstrapGain(key: MetricName, policy: Policy, data: PolicyData, minImprovement: number, alpha: number): GainTest {
  const { y, candidate, production } = data;
  const { resamples, seed } = policy.bootstrap;
  const threshold = policy.threshold;
  const sign = Metrics[key].higherIsBetter ? 1 : -1;
  const r = pairedBootstrap({ y, pA: production, pB: candidate, metric: key, resamples, seed, threshold, confidence: 1 - 2 * Math.min(alpha, 0.25), keepSamples: true });
  const diffs = r.samples!;
  const m = diffs.length;
  // Gains in ascending order: the differences as they are, or negated and reversed when lower is better.
  const gains = sign > 0 ? diffs : Float64Array.from(diffs, (_, i) => -diffs[m - 1 - i]);
  let atOrBelow = 0;
  while (atOrBelow < m && gains[atOrBelow] <= minImprovement) atOrBelow++;
  const j = Math.ceil(alpha * (1 + m) - 1) - 1;
  return {
    candidate: computeMetric(key, y, candidate, { threshold }),
    production: computeMetric(key, y, production, { threshold }),
    estimate: r.estimate,
    gainLower: j >= 0 && m > 0 ? gains[j] : -Infinity,
    pValue: (1 + atOrBelow) / (1 + m),
    test: `paired bootstrap, ${resamples} resamples`,
  };
}

function guardrailChecks(policy: Policy, data: PolicyData): Check[] {
  return policy.guardrails.map((g): Check => {
    const key = PolicyMetrics[g.metric];
    const c = compare(key, g.metric === 'roc_auc' ? PrimaryTests.delong : Metrics[key].perExample ? PAIRED_MEAN : PrimaryTests.bootstrap, policy, data);
    const higherIsBetter = Metrics[key].higherIsBetter;
    const ni = nonInferiorityTest({ estimate: c.estimate, standardError: c.standardError, margin: g.margin, higherIsBetter, alpha: policy.alpha });
    const worse = higherIsBetter ? -c.estimate : c.estimate;
    const bound = higherIsBetter ? ni.lower : ni.upper;
    const change = `${worse > 0 ? 'worse' : 'better'} by ${fmt(Math.abs(c.estimate))}, difference ${fmt(c.estimate)}, one-sided ${pct(1 - policy.alpha)} ${higherIsBetter ? 'lower' : 'upper'} bound ${fmt(bound)} (${c.test})`;
    const p = `non-inferiority p=${fmt(ni.pValue)}`;
    const why = ni.pass
      ? `${g.metric} is within its margin ${g.margin}: ${change}, ${p} < ${policy.alpha}`
      : `${g.metric} may be worse than production by more than its margin ${g.margin}: ${change}, ${p} >= ${policy.alpha}`;
    return {
      name: `guardrail:${g.metric}`,
      kind: CheckKinds.guardrail,
      metric: g.metric,
      candidate: c.candidate,
      production: c.production,
      estimate: c.estimate,
      lower: higherIsBetter ? ni.lower : null,
      upper: higherIsBetter ? null : ni.upper,
      confidence: 1 - policy.alpha,
      test: `non-inferiority (${c.test})`,
      pValue: ni.pValue,
      threshold: g.margin,
      pass: ni.pass,
      why,
    };
  });
}

/**
 * Each fairness gap is a max − min of group rates, whose noise grows as groups shrink: comparing point estimates
 * would refuse a fair candidate whenever a small group's rate wobbled. So the widening W = gap(candidate) −
 * gap(production) is tested, H0 "W ≤ maxWidening" at level alpha, with a paired bootstrap over holdout rows:
 * both models' gaps are recomputed on the same resampled rows, which keeps their strong correlation. A row only
 * matters through its cell (group, label, candidate's and production's decisions), so one resample is one
 * multinomial draw over those cells: O(groups) per resample however large the holdout.
 */
function fairnessChecks(policy: Policy, data: PolicyData): Check[] {
  const spec = policy.fairness!;
  if (data.groups === undefined) {
    throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `groups: the policy limits fairness gaps by ${JSON.stringify(spec.groupColumn)}, so its values per holdout row are required`);
  }
  const t = policy.threshold;
  // Validates the groups and gives the point estimates exactly as ml/fairness reports them.
  const cand = fairnessGaps(groupMetrics(data.y, data.candidate, data.groups, t));
  const prod = fairnessGaps(groupMetrics(data.y, data.production, data.groups, t));
  const { codes, count: groupCount } = rowGroups(data.groups);
  const cells = new Float64Array(8 * groupCount);
  for (let i = 0; i < codes.length; i++) {
    cells[8 * codes[i] + 4 * data.y[i] + 2 * (data.candidate[i] > t ? 1 : 0) + (data.production[i] > t ? 1 : 0)]++;
  }
  const { resamples, seed } = policy.bootstrap;
  const rng = new Rng(seed);
  const draw = new Float64Array(cells.length);
  const widenings = spec.metrics.map(() => new Float64Array(resamples));
  for (let r = 0; r < resamples; r++) {
    sampleMultinomial(rng, codes.length, cells, draw);
    const [gc, gp] = gapsFromCells(draw, groupCount);
    spec.metrics.forEach((m, k) => {
      widenings[k][r] = gc[m] - gp[m];
    });
  }
  const alpha = policy.alpha;
  const j = Math.ceil(alpha * (1 + resamples) - 1) - 1;
  return spec.metrics.map((m: FairnessMetric, k): Check => {
    const widening = cand[m] - prod[m];
    const sorted = widenings[k].sort();
    // The same order-statistic pairing of p-value and bound as the primary bootstrap test; a hair of tolerance so
    // that equal gaps computed in a different order never count as a widening.
    const limit = spec.maxWidening + 1e-12;
    let atOrBelow = 0;
    while (atOrBelow < resamples && sorted[atOrBelow] <= limit) atOrBelow++;
    const pValue = (1 + atOrBelow) / (1 + resamples);
    const lower = j >= 0 ? sorted[j] : null;
    const pass = !(pValue < alpha);
    const gaps = `${m} gap by ${spec.groupColumn} ${fmt(cand[m])} vs production ${fmt(prod[m])}`;
    const evidence = `one-sided ${pct(1 - alpha)} lower bound ${lower === null ? '-Infinity' : fmt(lower)} (row bootstrap, ${resamples} resamples), p=${fmt(pValue)}`;
    const why = pass
      ? `${gaps}: ${widening > 0 ? `widened by ${fmt(widening)}` : 'not wider'}, not significantly more than maxWidening ${spec.maxWidening}: ${evidence} >= ${alpha}`
      : `${gaps}: widened by ${fmt(widening)}, significantly more than maxWidening ${spec.maxWidening}: ${evidence} < ${alpha}`;
    return {
      name: `fairness:${m}`,
      kind: CheckKinds.fairness,
      metric: m,
      candidate: cand[m],
      production: prod[m],
      estimate: widening,
      lower,
      upper: null,
      confidence: 1 - alpha,
      test: 'paired row bootstrap of the widening',
      pValue,
      threshold: spec.maxWidening,
      pass,
      why,
    };
  });
}

/** Group codes per row (0-based, dense enough for a cell table) and their count; the input is already validated. */
function rowGroups(groups: GroupInput): { codes: Int32Array; count: number } {
  if (groups instanceof Int32Array || (typeof groups === 'object' && 'codes' in groups && groups.codes instanceof Int32Array)) {
    const codes = groups instanceof Int32Array ? groups : groups.codes;
    let max = -1;
    for (let i = 0; i < codes.length; i++) if (codes[i] > max) max = codes[i];
    return { codes, count: max + 1 };
  }
  const labels = groups as readonly string[];
  const index = new Map<string, number>();
  const codes = Int32Array.from(labels, (label) => {
    let g = index.get(label);
    if (g === undefined) index.set(label, (g = index.size));
    return g;
  });
  return { codes, count: index.size };
}

/** Both models' gaps from a cell table: per group 8 counts indexed by 4·y + 2·candidate decision + production decision. */
function gapsFromCells(cells: Float64Array, groupCount: number): [FairnessGaps, FairnessGaps] {
  const tables: [GroupMetrics[], GroupMetrics[]] = [[], []];
  for (let g = 0; g < groupCount; g++) {
    const o = 8 * g;
    for (const model of [0, 1] as const) {
      // model 0 is the candidate (bit 2 of the cell index), model 1 production (bit 1).
      let tp = 0;
      let fp = 0;
      let tn = 0;
      let fn = 0;
      for (let cell = 0; cell < 8; cell++) {
        const w = cells[o + cell];
        if (w === 0) continue;
        const yi = cell >> 2;
        const predicted = model === 0 ? (cell >> 1) & 1 : cell & 1;
        if (yi === 1) predicted ? (tp += w) : (fn += w);
        else predicted ? (fp += w) : (tn += w);
      }
      const count = tp + fp + tn + fn;
      if (count === 0) continue;
      const positives = tp + fn;
      const negatives = fp + tn;
      tables[model].push({
        group: String(g),
        count,
        positives,
        negatives,
        predictedPositives: tp + fp,
        tp,
        fp,
        tn,
        fn,
        selectionRate: (tp + fp) / count,
        tpr: positives > 0 ? tp / positives : null,
        fpr: negatives > 0 ? fp / negatives : null,
        accuracy: (tp + tn) / count,
      });
    }
  }
  return [fairnessGaps(tables[0]), fairnessGaps(tables[1])];
}

function hardExampleCheck(policy: Policy, data: PolicyData): Check {
  const allowed = policy.hardExamples!.allowNewFailures;
  const h = data.hardExamples;
  if (h === undefined) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'hardExamples: the policy checks the hard-example suite, so its labels and both models\' predictions are required');
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

/** A guardrail's difference candidate − production with its standard error, for a normal-theory test. */
interface Comparison {
  candidate: number;
  production: number;
  estimate: number;
  standardError: number;
  test: string;
}

/** The guardrails' method for metrics that are means of per-example values. */
const PAIRED_MEAN = 'paired_mean';

function compare(key: MetricName, method: typeof PrimaryTests.delong | typeof PrimaryTests.bootstrap | typeof PAIRED_MEAN, policy: Policy, data: PolicyData): Comparison {
  const { y, candidate, production } = data;
  const { resamples, seed } = policy.bootstrap;
  const threshold = policy.threshold;
  if (method === PAIRED_MEAN) {
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
    return { candidate: sb / n, production: sa / n, estimate: mean, standardError: n > 1 ? Math.sqrt(ss / (n - 1) / n) : 0, test: 'paired z on per-example differences' };
  }
  if (method === PrimaryTests.delong) {
    const r = delongTest(y, production, candidate);
    return { candidate: r.aucB, production: r.aucA, estimate: r.difference, standardError: r.standardError, test: 'DeLong' };
  }
  const r = pairedBootstrap({ y, pA: production, pB: candidate, metric: key, resamples, seed, threshold });
  return {
    candidate: computeMetric(key, y, candidate, { threshold }),
    production: computeMetric(key, y, production, { threshold }),
    estimate: r.estimate,
    standardError: r.standardError,
    test: `paired bootstrap standard error, ${resamples} resamples`,
  };
}

function pct(confidence: number): string {
  return `${Number((confidence * 100).toPrecision(4))}%`;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(3))) : x.toExponential(1);
}
