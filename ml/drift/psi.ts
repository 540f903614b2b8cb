/**
 * Population Stability Index, the credit-scoring industry's drift score: Σ (cᵢ − rᵢ) · ln(cᵢ / rᵢ) over bins,
 * with rᵢ and cᵢ the reference's and current sample's proportions. Numeric features are binned at the
 * reference's quantiles (so each reference bin holds about 1/bins of it), categorical features by category.
 * Conventional reading: < 0.1 stable, 0.1–0.2 moderate shift, ≥ 0.2 significant shift.
 *
 * Empty bins: a proportion of zero makes the log infinite, so a zero proportion on either side is replaced by
 * `epsilon` (default 1e-4) before the sum, without renormalising the other bins. A bin empty on both sides
 * then contributes exactly 0, and a bin that appears from nowhere contributes a large but finite amount.
 */
import { MlErrorCodes, MlRangeError } from '../errors';
import { alignCounts, binCounts, categoryCounts, checkBins, quantileEdges, sortedFinite, total, type CategoricalSample } from './histogram';

export interface PsiOptions {
  /** Number of reference-quantile bins for numeric data (fewer when the reference has ties). Default 10. */
  readonly bins?: number;
  /** The proportion that stands in for an empty bin. Default 1e-4. */
  readonly epsilon?: number;
}

export interface PsiDetail {
  readonly psi: number;
  /** Interior cut points (numeric) or category codes (categorical), in bin order. */
  readonly edges?: Float64Array;
  readonly categories?: readonly number[];
  readonly referenceProportions: Float64Array;
  readonly currentProportions: Float64Array;
  /** Each bin's term (cᵢ − rᵢ) · ln(cᵢ / rᵢ), so a report can show where the shift is. */
  readonly contributions: Float64Array;
}

/** PSI of a numeric feature, binned at the reference's quantiles. Missing (non-finite) values are left out. */
export function psi(reference: ArrayLike<number>, current: ArrayLike<number>, options: PsiOptions = {}): number {
  return psiDetail(reference, current, options).psi;
}

export function psiDetail(reference: ArrayLike<number>, current: ArrayLike<number>, options: PsiOptions = {}): PsiDetail {
  const bins = options.bins ?? 10;
  checkBins(bins, 'options.bins');
  const ref = sortedFinite(reference, 'reference');
  const cur = sortedFinite(current, 'current');
  return psiOnSorted(ref, cur, bins, options.epsilon);
}

/** PSI on already-sorted finite samples, for callers (the drift report) that sort once for several measures. */
export function psiOnSorted(ref: Float64Array, cur: Float64Array, bins: number, epsilon?: number): PsiDetail {
  const edges = quantileEdges(ref, bins);
  const r = binCounts(ref, edges);
  const c = binCounts(cur, edges);
  return { edges, ...psiFromCounts(r, c, epsilon) };
}

/** PSI of a categorical feature from category codes (or code → count maps), one bin per category. */
export function categoricalPsi(reference: CategoricalSample, current: CategoricalSample, options: Pick<PsiOptions, 'epsilon'> = {}): PsiDetail {
  const { categories, a, b } = alignCounts(categoryCounts(reference, 'reference'), categoryCounts(current, 'current'));
  if (total(a) === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'reference: expected at least one non-missing category code');
  if (total(b) === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'current: expected at least one non-missing category code');
  return { categories, ...psiFromCounts(a, b, options.epsilon) };
}

/** PSI from bin counts (or proportions) of the reference and the current sample over the same bins. */
export function psiFromCounts(
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
  epsilon = 1e-4,
): Omit<PsiDetail, 'edges' | 'categories'> {
  const k = referenceCounts.length;
  if (currentCounts.length !== k) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `currentCounts: expected ${k} bins to match referenceCounts, got ${currentCounts.length}`);
  if (!(epsilon > 0 && epsilon < 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `epsilon: expected a number in (0, 1), got ${epsilon}`);
  const rp = proportions(referenceCounts, 'referenceCounts');
  const cp = proportions(currentCounts, 'currentCounts');
  const contributions = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const r = rp[i] > 0 ? rp[i] : epsilon;
    const c = cp[i] > 0 ? cp[i] : epsilon;
    const term = (c - r) * Math.log(c / r);
    contributions[i] = term;
    sum += term;
  }
  return { psi: sum, referenceProportions: rp, currentProportions: cp, contributions };
}

function proportions(counts: ArrayLike<number>, name: string): Float64Array {
  let s = 0;
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i];
    if (!(v >= 0 && Number.isFinite(v))) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}[${i}]: expected a non-negative count, got ${v}`);
    s += v;
  }
  if (s === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected a positive total, got all zeros`);
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) out[i] = counts[i] / s;
  return out;
}
