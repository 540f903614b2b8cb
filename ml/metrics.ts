/**
 * Binary-classification metrics on typed arrays: labels `y` (Uint8Array of 0/1), predicted probabilities of
 * class 1 `p` (Float64Array), optional non-negative example weights. The catalogue `Metrics` records each
 * metric's direction and whether it is a mean of per-example values, which the paired bootstrap uses to pick
 * its fast path. Every metric also has a "prepared" form (`prepareMetric`) that evaluates it repeatedly under
 * different example weights in O(n), which is how bootstrap resamples (multiplicities as weights) are scored.
 *
 * Conventions: an example is predicted positive when p > threshold (scikit-learn's `predict` for a
 * probability threshold of 0.5). Undefined values are NaN, never an arbitrary 0: precision with no predicted
 * positives, recall with no positive labels, F1 when there are neither positives nor predicted positives,
 * ROC AUC when only one class is present.
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from './errors';

export const Metrics = {
  accuracy: { higherIsBetter: true, perExample: true, description: 'share of examples classified correctly' },
  logLoss: { higherIsBetter: false, perExample: true, description: 'mean negative log-likelihood, p clipped to [1e-15, 1 − 1e-15]' },
  brierScore: { higherIsBetter: false, perExample: true, description: 'mean squared error of the probability' },
  rocAuc: { higherIsBetter: true, perExample: false, description: 'area under the ROC curve, ties counted one half' },
  precision: { higherIsBetter: true, perExample: false, description: 'TP / (TP + FP)' },
  recall: { higherIsBetter: true, perExample: false, description: 'TP / (TP + FN)' },
  f1: { higherIsBetter: true, perExample: false, description: '2 TP / (2 TP + FP + FN)' },
  expectedCalibrationError: {
    higherIsBetter: false,
    perExample: false,
    description: 'Σ over equal-width probability bins of |Σ (y − p)| / n',
  },
} as const;

export type MetricName = keyof typeof Metrics;
export const MetricNames = Object.keys(Metrics) as MetricName[];

export function isMetricName(name: string): name is MetricName {
  return Object.prototype.hasOwnProperty.call(Metrics, name);
}

export interface MetricOptions {
  /** Decision threshold for accuracy, precision, recall and F1 (predicted positive when p > threshold). */
  readonly threshold?: number;
  /** Number of equal-width bins on [0, 1] for the expected calibration error. */
  readonly bins?: number;
  /** Non-negative example weights (for example bootstrap multiplicities or recency weights). */
  readonly weights?: Float64Array;
}

const LOG_LOSS_EPS = 1e-15;

// ---------------------------------------------------------------------------------------------------------
// validation

/** Checks labels, probabilities and weights once; throws a RangeError naming the offending argument. */
export function checkPredictions(y: Uint8Array, p: Float64Array, weights?: Float64Array, names = ['y', 'p']): void {
  if (!(y instanceof Uint8Array)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `${names[0]}: expected a Uint8Array of 0/1 labels`);
  if (!(p instanceof Float64Array)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `${names[1]}: expected a Float64Array of probabilities`);
  if (y.length !== p.length) {
    throw new MlRangeError(
      MlErrorCodes.INPUT_INVALID,
      `${names[0]} and ${names[1]}: expected equal lengths, got ${names[0]}.length=${y.length} and ${names[1]}.length=${p.length}`,
    );
  }
  if (y.length === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${names[0]}: expected at least one example, got none`);
  for (let i = 0; i < y.length; i++) {
    if (y[i] > 1) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${names[0]}[${i}]: expected a label 0 or 1, got ${y[i]}`);
    const v = p[i];
    if (!(v >= 0 && v <= 1)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${names[1]}[${i}]: expected a probability in [0, 1], got ${v}`);
  }
  if (weights !== undefined) {
    if (!(weights instanceof Float64Array)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'weights: expected a Float64Array');
    if (weights.length !== y.length) {
      throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${names[0]} and weights: expected equal lengths, got ${names[0]}.length=${y.length} and weights.length=${weights.length}`);
    }
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i];
      if (!(w >= 0 && w < Infinity)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `weights[${i}]: expected a finite weight >= 0, got ${w}`);
      total += w;
    }
    if (!(total > 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'weights: expected a positive total weight, got 0');
  }
}

function checkThreshold(threshold: number): void {
  if (!(threshold >= 0 && threshold <= 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `threshold: expected a number in [0, 1], got ${threshold}`);
}

function checkBins(bins: number): void {
  if (!(Number.isInteger(bins) && bins >= 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `bins: expected an integer >= 1, got ${bins}`);
}

// ---------------------------------------------------------------------------------------------------------
// per-example metrics

/**
 * The per-example values whose (weighted) mean is the metric, for the metrics with `perExample: true`:
 * 1/0 correctness for accuracy, the clipped negative log-likelihood for log loss, (p − y)² for Brier.
 */
export function perExampleValues(name: 'accuracy' | 'logLoss' | 'brierScore', y: Uint8Array, p: Float64Array, threshold = 0.5): Float64Array {
  const n = y.length;
  const out = new Float64Array(n);
  if (name === 'accuracy') {
    for (let i = 0; i < n; i++) out[i] = (p[i] > threshold ? 1 : 0) === y[i] ? 1 : 0;
  } else if (name === 'logLoss') {
    for (let i = 0; i < n; i++) {
      const q = Math.min(Math.max(p[i], LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
      out[i] = y[i] === 1 ? -Math.log(q) : -Math.log1p(-q);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const d = p[i] - y[i];
      out[i] = d * d;
    }
  }
  return out;
}

function weightedMean(values: Float64Array, weights?: Float64Array): number {
  let s = 0;
  if (weights === undefined) {
    for (let i = 0; i < values.length; i++) s += values[i];
    return s / values.length;
  }
  let w = 0;
  for (let i = 0; i < values.length; i++) {
    s += weights[i] * values[i];
    w += weights[i];
  }
  return s / w;
}

/** Share of examples classified correctly at the threshold (predicted positive when p > threshold). */
export function accuracy(y: Uint8Array, p: Float64Array, threshold = 0.5, weights?: Float64Array): number {
  checkPredictions(y, p, weights);
  checkThreshold(threshold);
  let s = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights === undefined ? 1 : weights[i];
    if ((p[i] > threshold ? 1 : 0) === y[i]) s += w;
    total += w;
  }
  return s / total;
}

/**
 * Mean negative log-likelihood, with p clipped to [1e-15, 1 − 1e-15] (scikit-learn's long-standing `log_loss`
 * default; scikit-learn 1.2's `eps="auto"` clips at 2.2e-16 instead, which differs only where p is exactly 0 or 1).
 */
export function logLoss(y: Uint8Array, p: Float64Array, weights?: Float64Array): number {
  checkPredictions(y, p, weights);
  return weightedMean(perExampleValues('logLoss', y, p), weights);
}

/** Brier score: the mean of (p − y)². */
export function brierScore(y: Uint8Array, p: Float64Array, weights?: Float64Array): number {
  checkPredictions(y, p, weights);
  return weightedMean(perExampleValues('brierScore', y, p), weights);
}

// ---------------------------------------------------------------------------------------------------------
// confusion-matrix metrics

interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

function confusion(y: Uint8Array, p: Float64Array, threshold: number, weights?: Float64Array): Confusion {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights === undefined ? 1 : weights[i];
    if (p[i] > threshold) {
      if (y[i] === 1) tp += w;
      else fp += w;
    } else if (y[i] === 1) fn += w;
    else tn += w;
  }
  return { tp, fp, fn, tn };
}

const precisionOf = (c: Confusion): number => (c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : NaN);
const recallOf = (c: Confusion): number => (c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : NaN);
const f1Of = (c: Confusion): number => (2 * c.tp + c.fp + c.fn > 0 ? (2 * c.tp) / (2 * c.tp + c.fp + c.fn) : NaN);

/** TP / (TP + FP); NaN when nothing is predicted positive. */
export function precision(y: Uint8Array, p: Float64Array, threshold = 0.5, weights?: Float64Array): number {
  checkPredictions(y, p, weights);
  checkThreshold(threshold);
  return precisionOf(confusion(y, p, threshold, weights));
}

/** TP / (TP + FN); NaN when there are no positive labels. */
export function recall(y: Uint8Array, p: Float64Array, threshold = 0.5, weights?: Float64Array): number {
  checkPredictions(y, p, weights);
  checkThreshold(threshold);
  return recallOf(confusion(y, p, threshold, weights));
}

/** 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall; NaN when TP + FP + FN = 0. */
export function f1(y: Uint8Array, p: Float64Array, threshold = 0.5, weights?: Float64Array): number {
  checkPredictions(y, p, weights);
  checkThreshold(threshold);
  return f1Of(confusion(y, p, threshold, weights));
}

// ---------------------------------------------------------------------------------------------------------
// ROC AUC

/**
 * Area under the ROC curve: the probability that a random positive scores above a random negative, ties
 * counting one half (the Mann–Whitney U statistic over n₁n₀, i.e. average ranks for ties, as scikit-learn's
 * `roc_auc_score`). NaN when only one class is present.
 */
export function rocAuc(y: Uint8Array, p: Float64Array, weights?: Float64Array): number {
  checkPredictions(y, p, weights);
  if (weights !== undefined) return prepareRocAuc(y, p)(weights);
  let n1 = 0;
  for (let i = 0; i < y.length; i++) n1 += y[i];
  const n0 = y.length - n1;
  if (n1 === 0 || n0 === 0) return NaN;
  const pos = new Float64Array(n1);
  const neg = new Float64Array(n0);
  for (let i = 0, a = 0, b = 0; i < y.length; i++) {
    if (y[i] === 1) pos[a++] = p[i];
    else neg[b++] = p[i];
  }
  pos.sort();
  neg.sort();
  return aucFromSorted(pos, neg);
}

/** Σ over positives of (#negatives below + ½ #negatives tied), over n₁n₀, by one merge walk of sorted scores. */
export function aucFromSorted(pos: Float64Array, neg: Float64Array): number {
  let u = 0;
  let j = 0;
  let i = 0;
  const n1 = pos.length;
  const n0 = neg.length;
  while (i < n1) {
    const v = pos[i];
    while (j < n0 && neg[j] < v) j++;
    let k = j;
    while (k < n0 && neg[k] === v) k++;
    let i2 = i;
    while (i2 < n1 && pos[i2] === v) i2++;
    u += (i2 - i) * (j + 0.5 * (k - j));
    i = i2;
  }
  return u / n1 / n0;
}

/** Group index of each score among the distinct sorted scores, so weighted AUCs need no further sorting. */
function scoreGroups(p: Float64Array): { group: Int32Array; count: number } {
  const sorted = Float64Array.from(p).sort();
  let g = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[g++] = sorted[i];
  const distinct = sorted.subarray(0, g);
  const group = new Int32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    let lo = 0;
    let hi = g - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (distinct[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    group[i] = lo;
  }
  return { group, count: g };
}

function prepareRocAuc(y: Uint8Array, p: Float64Array): (weights: Float64Array) => number {
  const { group, count } = scoreGroups(p);
  const posW = new Float64Array(count);
  const negW = new Float64Array(count);
  return (weights) => {
    posW.fill(0);
    negW.fill(0);
    for (let i = 0; i < y.length; i++) {
      if (y[i] === 1) posW[group[i]] += weights[i];
      else negW[group[i]] += weights[i];
    }
    let below = 0;
    let u = 0;
    let w1 = 0;
    for (let g = 0; g < count; g++) {
      u += posW[g] * (below + 0.5 * negW[g]);
      below += negW[g];
      w1 += posW[g];
    }
    return w1 > 0 && below > 0 ? u / w1 / below : NaN;
  };
}

// ---------------------------------------------------------------------------------------------------------
// calibration

/**
 * Expected calibration error with `bins` equal-width bins [k/B, (k+1)/B) (the last one closed):
 * Σ_b (n_b / n) |mean(y)_b − mean(p)_b| = Σ_b |Σ_{i∈b} (y_i − p_i)| / n.
 */
export function expectedCalibrationError(y: Uint8Array, p: Float64Array, bins = 10, weights?: Float64Array): number {
  checkPredictions(y, p, weights);
  checkBins(bins);
  return prepareEce(y, p, bins)(weights);
}

function prepareEce(y: Uint8Array, p: Float64Array, bins: number): (weights?: Float64Array) => number {
  const bin = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) bin[i] = Math.min(bins - 1, Math.floor(p[i] * bins));
  const gap = new Float64Array(bins);
  return (weights) => {
    gap.fill(0);
    let total = 0;
    for (let i = 0; i < y.length; i++) {
      const w = weights === undefined ? 1 : weights[i];
      gap[bin[i]] += w * (y[i] - p[i]);
      total += w;
    }
    let s = 0;
    for (let b = 0; b < bins; b++) s += Math.abs(gap[b]);
    return s / total;
  };
}

// ---------------------------------------------------------------------------------------------------------
// prepared evaluation, all metrics, slices

/**
 * A metric prepared on fixed (y, p) for repeated evaluation under different example weights, in O(n) per
 * call (AUC sorts once up front). Inputs are validated once here, not on every call. The weights passed to
 * the returned function must have y's length; weights of 0 drop examples, integers count repeats.
 */
export function prepareMetric(name: MetricName, y: Uint8Array, p: Float64Array, opts: Omit<MetricOptions, 'weights'> = {}): (weights: Float64Array) => number {
  if (!isMetricName(name)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `metric: expected one of ${MetricNames.join(', ')}, got ${String(name)}`);
  checkPredictions(y, p);
  const threshold = opts.threshold ?? 0.5;
  checkThreshold(threshold);
  switch (name) {
    case 'accuracy':
    case 'logLoss':
    case 'brierScore': {
      const values = perExampleValues(name, y, p, threshold);
      return (w) => weightedMean(values, w);
    }
    case 'precision':
      return (w) => precisionOf(confusion(y, p, threshold, w));
    case 'recall':
      return (w) => recallOf(confusion(y, p, threshold, w));
    case 'f1':
      return (w) => f1Of(confusion(y, p, threshold, w));
    case 'rocAuc':
      return prepareRocAuc(y, p);
    case 'expectedCalibrationError': {
      const bins = opts.bins ?? 10;
      checkBins(bins);
      return prepareEce(y, p, bins);
    }
  }
}

/** Evaluates one metric by name. */
export function computeMetric(name: MetricName, y: Uint8Array, p: Float64Array, opts: MetricOptions = {}): number {
  const threshold = opts.threshold ?? 0.5;
  switch (name) {
    case 'accuracy':
      return accuracy(y, p, threshold, opts.weights);
    case 'logLoss':
      return logLoss(y, p, opts.weights);
    case 'brierScore':
      return brierScore(y, p, opts.weights);
    case 'rocAuc':
      return rocAuc(y, p, opts.weights);
    case 'precision':
      return precision(y, p, threshold, opts.weights);
    case 'recall':
      return recall(y, p, threshold, opts.weights);
    case 'f1':
      return f1(y, p, threshold, opts.weights);
    case 'expectedCalibrationError':
      return expectedCalibrationError(y, p, opts.bins ?? 10, opts.weights);
    default:
      throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `metric: expected one of ${MetricNames.join(', ')}, got ${String(name)}`);
  }
}

/** Every metric in the catalogue. */
export function computeMetrics(y: Uint8Array, p: Float64Array, opts: MetricOptions = {}): Record<MetricName, number> {
  checkPredictions(y, p, opts.weights);
  const out = {} as Record<MetricName, number>;
  for (const name of MetricNames) out[name] = computeMetric(name, y, p, opts);
  return out;
}

export interface SliceMetrics {
  /** The slice code or name as given. */
  readonly slice: number | string;
  readonly count: number;
  readonly positives: number;
  readonly metrics: Partial<Record<MetricName, number>>;
}

/**
 * Metrics per slice: `sliceCodes[i]` names the slice of example i (an Int32Array of codes or an array of
 * names). Slices are returned in ascending order of code or name. A slice with one class only gets NaN for
 * the metrics that need both (AUC; recall without positives), as documented above.
 */
export function metricsBySlice(
  y: Uint8Array,
  p: Float64Array,
  sliceCodes: Int32Array | readonly string[],
  metrics: readonly MetricName[] = MetricNames,
  opts: MetricOptions = {},
): SliceMetrics[] {
  checkPredictions(y, p, opts.weights);
  if (sliceCodes.length !== y.length) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `y and sliceCodes: expected equal lengths, got y.length=${y.length} and sliceCodes.length=${sliceCodes.length}`);
  }
  for (const m of metrics) {
    if (!isMetricName(m)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `metrics: expected names from ${MetricNames.join(', ')}, got ${String(m)}`);
  }
  const members = new Map<number | string, number[]>();
  for (let i = 0; i < y.length; i++) {
    const key = sliceCodes[i];
    let list = members.get(key);
    if (list === undefined) members.set(key, (list = []));
    list.push(i);
  }
  const keys = [...members.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((slice) => {
    const idx = members.get(slice)!;
    const ys = new Uint8Array(idx.length);
    const ps = new Float64Array(idx.length);
    const ws = opts.weights === undefined ? undefined : new Float64Array(idx.length);
    let positives = 0;
    idx.forEach((i, j) => {
      ys[j] = y[i];
      ps[j] = p[i];
      if (ws !== undefined) ws[j] = opts.weights![i];
      positives += y[i];
    });
    const values: Partial<Record<MetricName, number>> = {};
    for (const m of metrics) {
      values[m] = ws !== undefined && !ws.some((w) => w > 0) ? NaN : computeMetric(m, ys, ps, { ...opts, weights: ws });
    }
    return { slice, count: idx.length, positives, metrics: values };
  });
}
