/**
 * Seeded paired bootstrap for the difference of a metric between two models scored on the same examples:
 * every resample draws n examples with replacement and scores both models on the same draw, so the
 * interval reflects the pairing (what a candidate-versus-production comparison on one holdout needs).
 *
 * Three evaluation paths, all exact (the same distribution as drawing n indices):
 * - the metric is a mean of per-example values and the per-example differences take few distinct values
 *   (accuracy: −1, 0, +1): a resample is one multinomial draw of n over those values, O(K) per resample (for
 *   accuracy the three counts come from one pass over the predictions, so O(n) work is done once, not per
 *   resample);
 * - a mean of per-example values otherwise (log loss, Brier): the mean of n resampled differences;
 * - any other metric (AUC, precision, recall, F1, ECE): resample multiplicities used as example weights in a
 *   prepared metric, O(n) per resample with no re-sorting.
 * Index draws go block by block (see BlockResampler) so that a million examples stay cache-friendly.
 * Intervals are percentile intervals with NumPy's default (linear) quantile interpolation.
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import { Rng } from '../random';
import { Metrics, MetricNames, type MetricName, checkPredictions, isMetricName, perExampleValues, prepareMetric } from '../metrics';
import { BlockResampler, sampleMultinomial } from './sampling';

export interface BootstrapResult {
  /** The statistic on the original sample (for the paired bootstrap: metric(B) − metric(A)). */
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
  /** Standard deviation of the resampled statistics (n − 1 denominator). */
  readonly standardError: number;
  /** Resamples drawn. */
  readonly resamples: number;
  /** Resamples whose statistic was undefined (NaN, e.g. no positives drawn for recall) and were left out. */
  readonly undefinedResamples: number;
  readonly confidence: number;
  readonly method: 'percentile';
  /** The resampled statistics in ascending order, when `keepSamples` was set. */
  readonly samples?: Float64Array;
}

export const BootstrapStrategies = { auto: 'auto', indices: 'indices' } as const;
/**
 * 'auto' takes the multinomial shortcut where it applies; 'indices' always resamples example indices (the
 * same distribution, slower: for cross-checks and benchmarks).
 */
export type BootstrapStrategy = (typeof BootstrapStrategies)[keyof typeof BootstrapStrategies];

export interface BootstrapOptions {
  readonly resamples?: number;
  readonly confidence?: number;
  /** Seed for the xoshiro128** generator; equal seeds give equal results. */
  readonly seed: number;
  /** Return the sorted resampled statistics (for one-sided bootstrap tests). */
  readonly keepSamples?: boolean;
  readonly strategy?: BootstrapStrategy;
}

export interface PairedBootstrapOptions extends BootstrapOptions {
  readonly y: Uint8Array;
  /** Probabilities of the reference model (for example production). */
  readonly pA: Float64Array;
  /** Probabilities of the compared model (for example the candidate). */
  readonly pB: Float64Array;
  readonly metric: MetricName;
  readonly threshold?: number;
  readonly bins?: number;
}

/** Per-example differences with at most this many distinct values go through the multinomial path. */
const MAX_MULTINOMIAL_CATEGORIES = 16;

function checkBootstrapOptions(opts: BootstrapOptions): { resamples: number; confidence: number; strategy: BootstrapStrategy } {
  const strategy = opts.strategy ?? 'auto';
  if (strategy !== 'auto' && strategy !== 'indices') throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `strategy: expected auto or indices, got ${String(strategy)}`);
  const resamples = opts.resamples ?? 2000;
  const confidence = opts.confidence ?? 0.95;
  if (!(Number.isInteger(resamples) && resamples >= 2)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `resamples: expected an integer >= 2, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `confidence: expected a number in (0, 1), got ${confidence}`);
  if (!Number.isFinite(opts.seed)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `seed: expected a finite number, got ${opts.seed}`);
  return { resamples, confidence, strategy };
}

/** Quantile of sorted values with linear interpolation between order statistics (NumPy's default). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

function summarize(estimate: number, stats: Float64Array, confidence: number, keepSamples: boolean): BootstrapResult {
  let finite = 0;
  for (let i = 0; i < stats.length; i++) if (!Number.isNaN(stats[i])) stats[finite++] = stats[i];
  const values = stats.slice(0, finite).sort();
  let mean = 0;
  for (let i = 0; i < finite; i++) mean += values[i];
  mean /= finite;
  let ss = 0;
  for (let i = 0; i < finite; i++) ss += (values[i] - mean) * (values[i] - mean);
  const tail = (1 - confidence) / 2;
  return {
    estimate,
    lower: quantileSorted(values, tail),
    upper: quantileSorted(values, 1 - tail),
    standardError: finite > 1 ? Math.sqrt(ss / (finite - 1)) : NaN,
    resamples: stats.length,
    undefinedResamples: stats.length - finite,
    confidence,
    method: 'percentile',
    ...(keepSamples ? { samples: values } : {}),
  };
}

/**
 * Resampled means of `values` (n draws with replacement each): by multinomial counts over the distinct values
 * when there are few of them, else by summing n drawn values.
 */
function resampledMeans(values: Float64Array, resamples: number, rng: Rng, strategy: BootstrapStrategy): Float64Array {
  const n = values.length;
  const out = new Float64Array(resamples);
  const levels = strategy === 'auto' ? distinctLevels(values, MAX_MULTINOMIAL_CATEGORIES) : undefined;
  if (levels !== undefined) {
    const draw = new Float64Array(levels.values.length);
    for (let r = 0; r < resamples; r++) {
      sampleMultinomial(rng, n, levels.counts, draw);
      let s = 0;
      for (let k = 0; k < draw.length; k++) s += draw[k] * levels.values[k];
      out[r] = s / n;
    }
    return out;
  }
  const resampler = new BlockResampler(rng, n);
  for (let r = 0; r < resamples; r++) out[r] = resampler.sum(values) / n;
  return out;
}

/** How many examples only A classifies right and how many only B does; the rest (both or neither) differ by 0. */
interface AccuracyOutcomes {
  readonly onlyA: number;
  readonly onlyB: number;
}

/**
 * The accuracy outcome counts in one pass, or undefined when any input is not valid (wrong types or lengths, a
 * label above 1, a probability outside [0, 1] or NaN), so that the caller reports it through checkPredictions.
 */
function accuracyOutcomes(y: Uint8Array, pA: Float64Array, pB: Float64Array, threshold: number): AccuracyOutcomes | undefined {
  if (!(y instanceof Uint8Array && pA instanceof Float64Array && pB instanceof Float64Array)) return undefined;
  const n = y.length;
  if (n === 0 || pA.length !== n || pB.length !== n) return undefined;
  // (p > t) as 0/1 without a branch: for p and t in [0, 1], p − t lies in [−1, 1] and is non-zero exactly when
  // p ≠ t, so ceil(p − t) is 1 above the threshold and −1 or 0 otherwise, and (ceil + 1) >> 1 maps that to 1 or
  // 0. On random probabilities the comparison's branch mispredicts half the time, which made this pass 4× slower.
  // Another threshold (not validated for accuracy, as perExampleValues takes any) uses plain comparisons.
  const unit = threshold >= 0 && threshold <= 1;
  let onlyA = 0;
  let onlyB = 0;
  for (let i = 0; i < n; i++) {
    const label = y[i];
    const a = pA[i];
    const b = pB[i];
    if (!(label <= 1 && a >= 0 && a <= 1 && b >= 0 && b <= 1)) return undefined;
    const aboveA = unit ? (Math.ceil(a - threshold) + 1) >> 1 : a > threshold ? 1 : 0;
    const aboveB = unit ? (Math.ceil(b - threshold) + 1) >> 1 : b > threshold ? 1 : 0;
    // A prediction is wrong when its side of the threshold differs from the label.
    const wrongA = aboveA ^ label;
    const wrongB = aboveB ^ label;
    onlyA += wrongB & (wrongA ^ 1);
    onlyB += wrongA & (wrongB ^ 1);
  }
  return { onlyA, onlyB };
}

/**
 * Resampled accuracy differences: in a resample of n examples, how many land on "only B right" (+1) and "only A
 * right" (−1) is one multinomial draw, done as two chained binomials into a buffer reused across resamples.
 */
function resampledDifferences(outcomes: AccuracyOutcomes, n: number, resamples: number, rng: Rng): Float64Array {
  const out = new Float64Array(resamples);
  const shares = Float64Array.of(outcomes.onlyA, outcomes.onlyB, n - outcomes.onlyA - outcomes.onlyB);
  const draw = new Float64Array(3);
  for (let r = 0; r < resamples; r++) {
    sampleMultinomial(rng, n, shares, draw);
    out[r] = (draw[1] - draw[0]) / n;
  }
  return out;
}

/** The distinct values and their counts, or undefined when there are more than `max` of them. */
function distinctLevels(values: Float64Array, max: number): { values: Float64Array; counts: Float64Array } | undefined {
  const levels = new Float64Array(max);
  const counts = new Float64Array(max);
  let k = 0;
  let last = 0; // index of the most recent level: runs of equal values are common
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (k > 0 && levels[last] === v) {
      counts[last]++;
      continue;
    }
    let j = 0;
    while (j < k && levels[j] !== v) j++;
    if (j === k) {
      if (k === max) return undefined;
      levels[k++] = v;
    }
    counts[j]++;
    last = j;
  }
  return { values: levels.slice(0, k), counts: counts.slice(0, k) };
}

/** Percentile bootstrap interval for the mean of `values`. */
export function bootstrapMean(values: Float64Array, opts: BootstrapOptions): BootstrapResult {
  if (!(values instanceof Float64Array)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'values: expected a Float64Array');
  if (values.length === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'values: expected at least one value, got none');
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `values[${i}]: expected a finite number, got ${values[i]}`);
  }
  const { resamples, confidence, strategy } = checkBootstrapOptions(opts);
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i];
  mean /= values.length;
  const rng = new Rng(opts.seed);
  return summarize(mean, resampledMeans(values, resamples, rng, strategy), confidence, opts.keepSamples ?? false);
}

/**
 * Paired bootstrap of metric(B) − metric(A) on the same resampled examples. Both models' probabilities are
 * scored against the same labels; the seed fixes the resamples.
 */
export function pairedBootstrap(opts: PairedBootstrapOptions): BootstrapResult {
  const { y, pA, pB, metric } = opts;
  const threshold = opts.threshold ?? 0.5;
  // Accuracy differences by multinomial counts need only how many examples B alone and A alone get right: one
  // fused pass that also validates, with no per-example arrays (on a million examples the arrays, not the
  // resampling, were the cost). Invalid input falls through to checkPredictions for its exact message.
  const outcomes = metric === 'accuracy' && (opts.strategy ?? 'auto') === 'auto' ? accuracyOutcomes(y, pA, pB, threshold) : undefined;
  if (outcomes === undefined) {
    checkPredictions(y, pA, undefined, ['y', 'pA']);
    checkPredictions(y, pB, undefined, ['y', 'pB']);
  }
  if (!isMetricName(metric)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `metric: expected one of ${MetricNames.join(', ')}, got ${String(metric)}`);
  const { resamples, confidence, strategy } = checkBootstrapOptions(opts);
  const rng = new Rng(opts.seed);
  const n = y.length;
  const keep = opts.keepSamples ?? false;

  if (outcomes !== undefined) {
    const estimate = (outcomes.onlyB - outcomes.onlyA) / n;
    return summarize(estimate, resampledDifferences(outcomes, n, resamples, rng), confidence, keep);
  }

  if (Metrics[metric].perExample && (metric === 'accuracy' || metric === 'logLoss' || metric === 'brierScore')) {
    const a = perExampleValues(metric, y, pA, threshold);
    const b = perExampleValues(metric, y, pB, threshold);
    const diff = new Float64Array(n);
    let estimate = 0;
    for (let i = 0; i < n; i++) {
      diff[i] = b[i] - a[i];
      estimate += diff[i];
    }
    estimate /= n;
    return summarize(estimate, resampledMeans(diff, resamples, rng, strategy), confidence, keep);
  }

  const evalA = prepareMetric(metric, y, pA, { threshold, bins: opts.bins });
  const evalB = prepareMetric(metric, y, pB, { threshold, bins: opts.bins });
  const ones = new Float64Array(n).fill(1);
  const estimate = evalB(ones) - evalA(ones);
  const counts = new Float64Array(n);
  const stats = new Float64Array(resamples);
  const resampler = new BlockResampler(rng, n);
  for (let r = 0; r < resamples; r++) {
    resampler.counts(counts);
    stats[r] = evalB(counts) - evalA(counts);
  }
  return summarize(estimate, stats, confidence, keep);
}
