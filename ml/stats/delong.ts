/**
 * DeLong's test for the difference between two correlated ROC AUCs (both models scored on the same examples;
 * DeLong, DeLong and Clarke-Pearson, Biometrics 44, 1988), with the O(n log n) midrank computation of Sun and
 * Xu (IEEE Signal Processing Letters 21, 2014). Each model's AUC is the mean of its "structural components"
 * V10 (per positive: share of negatives scored below, ties ½) and V01 (per negative: share of positives scored
 * above); the covariance of the two AUCs is S10/m + S01/n from the sample covariances of those components
 * across the m positives and n negatives. The z statistic for AUC(B) − AUC(A) is two-sided normal.
 */
import { MlErrorCodes, MlRangeError } from '../errors';
import { checkPredictions } from '../metrics';
import { normalQuantile, normalSf } from './distributions';

export interface DelongOptions {
  /** Confidence level of the interval for the difference (default 0.95). */
  readonly confidence?: number;
}

export interface DelongResult {
  readonly aucA: number;
  readonly aucB: number;
  /** aucB − aucA */
  readonly difference: number;
  readonly standardError: number;
  readonly z: number;
  /** Two-sided p-value. */
  readonly pValue: number;
  /** Normal-theory interval for the difference at `confidence`. */
  readonly lower: number;
  readonly upper: number;
  readonly confidence: number;
  readonly positives: number;
  readonly negatives: number;
}

/** Midranks (1-based, ties get the mean of their ranks) of `x`, in the original order. */
export function midranks(x: Float64Array): Float64Array {
  const n = x.length;
  const sorted = Float64Array.from(x).sort();
  // Midrank per distinct value: a tie run occupying sorted positions [s, e) has ranks s+1 … e, mean (s + e + 1)/2.
  const values = new Float64Array(n);
  const ranks = new Float64Array(n);
  let g = 0;
  for (let s = 0; s < n; ) {
    let e = s + 1;
    while (e < n && sorted[e] === sorted[s]) e++;
    values[g] = sorted[s];
    ranks[g] = (s + e + 1) / 2;
    g++;
    s = e;
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = x[i];
    let lo = 0;
    let hi = g - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    out[i] = ranks[lo];
  }
  return out;
}

interface Components {
  auc: number;
  v10: Float64Array;
  v01: Float64Array;
}

function structuralComponents(pos: Float64Array, neg: Float64Array): Components {
  const m = pos.length;
  const n = neg.length;
  const all = new Float64Array(m + n);
  all.set(pos, 0);
  all.set(neg, m);
  const tz = midranks(all);
  const tx = midranks(pos);
  const ty = midranks(neg);
  const v10 = new Float64Array(m);
  const v01 = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < m; i++) {
    v10[i] = (tz[i] - tx[i]) / n;
    sum += v10[i];
  }
  for (let j = 0; j < n; j++) v01[j] = 1 - (tz[m + j] - ty[j]) / m;
  return { auc: sum / m, v10, v01 };
}

function covariance(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[i] - ma) * (b[i] - mb);
  return s / (n - 1);
}

/**
 * DeLong test of AUC(B) − AUC(A) for two models' probabilities on the same labelled examples. Needs at
 * least two positives and two negatives (the component covariances are undefined otherwise).
 */
export function delongTest(y: Uint8Array, pA: Float64Array, pB: Float64Array, opts: DelongOptions = {}): DelongResult {
  checkPredictions(y, pA, undefined, ['y', 'pA']);
  checkPredictions(y, pB, undefined, ['y', 'pB']);
  const confidence = opts.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `confidence: expected a number in (0, 1), got ${confidence}`);
  let m = 0;
  for (let i = 0; i < y.length; i++) m += y[i];
  const n = y.length - m;
  if (m < 2 || n < 2) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `y: expected at least 2 positives and 2 negatives for DeLong's variance, got ${m} positives and ${n} negatives`);
  }
  const split = (p: Float64Array): [Float64Array, Float64Array] => {
    const pos = new Float64Array(m);
    const neg = new Float64Array(n);
    for (let i = 0, a = 0, b = 0; i < y.length; i++) {
      if (y[i] === 1) pos[a++] = p[i];
      else neg[b++] = p[i];
    }
    return [pos, neg];
  };
  const [posA, negA] = split(pA);
  const [posB, negB] = split(pB);
  const A = structuralComponents(posA, negA);
  const B = structuralComponents(posB, negB);
  const varA = covariance(A.v10, A.v10) / m + covariance(A.v01, A.v01) / n;
  const varB = covariance(B.v10, B.v10) / m + covariance(B.v01, B.v01) / n;
  const cov = covariance(A.v10, B.v10) / m + covariance(A.v01, B.v01) / n;
  const variance = Math.max(0, varA + varB - 2 * cov);
  const difference = B.auc - A.auc;
  const standardError = Math.sqrt(variance);
  // Identical (or perfectly concordant) score rankings give zero variance: z is 0 for no difference.
  const z = standardError > 0 ? difference / standardError : difference === 0 ? 0 : difference > 0 ? Infinity : -Infinity;
  const pValue = Math.min(1, 2 * normalSf(Math.abs(z)));
  const q = normalQuantile(1 - (1 - confidence) / 2);
  return {
    aucA: A.auc,
    aucB: B.auc,
    difference,
    standardError,
    z,
    pValue,
    lower: difference - q * standardError,
    upper: difference + q * standardError,
    confidence,
    positives: m,
    negatives: n,
  };
}
