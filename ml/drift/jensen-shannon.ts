/**
 * Jensen-Shannon distance: the square root of the Jensen-Shannon divergence, in base 2 so it lies in [0, 1]
 * (0 for identical distributions, 1 for disjoint supports). Unlike PSI it is symmetric, bounded and a metric,
 * which makes it easy to threshold and to compare across features.
 *
 * Numeric samples are compared on shared bins at the quantiles of the pooled sample (reference and current
 * together), not the reference's: bins that cover only the reference's range would put all of a current sample
 * that has moved away into the outermost reference bin and hide how far apart the two are. With pooled-quantile
 * bins, two samples that do not overlap land in separate bins whenever a cut point falls between them (always
 * for equal sizes and an even number of bins), and the distance is then 1.
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import { alignCounts, binCounts, categoryCounts, checkBins, quantileEdges, sortedFinite, total, type CategoricalSample } from './histogram';

export const DistributionKinds = { numeric: 'numeric', categorical: 'categorical' } as const;
export type DistributionKind = (typeof DistributionKinds)[keyof typeof DistributionKinds];

export interface JensenShannonOptions {
  /** `numeric` (default): values binned on pooled quantiles. `categorical`: values are category codes. */
  readonly kind?: DistributionKind;
  /** Number of pooled-quantile bins for numeric data. Default 10. */
  readonly bins?: number;
}

/**
 * Jensen-Shannon distance between the distributions of two samples. Missing values (non-finite numbers,
 * negative or NaN category codes) are left out.
 */
export function jensenShannonDistance(
  reference: ArrayLike<number> | CategoricalSample,
  current: ArrayLike<number> | CategoricalSample,
  options: JensenShannonOptions = {},
): number {
  const kind = options.kind ?? DistributionKinds.numeric;
  if (kind === DistributionKinds.categorical) {
    const { a, b } = alignCounts(categoryCounts(reference, 'reference'), categoryCounts(current, 'current'));
    if (total(a) === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'reference: expected at least one non-missing category code');
    if (total(b) === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'current: expected at least one non-missing category code');
    return jensenShannonFromCounts(a, b);
  }
  if (kind !== DistributionKinds.numeric) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `options.kind: expected "numeric" | "categorical", got ${JSON.stringify(kind)}`);
  if (reference instanceof Map || current instanceof Map) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'reference, current: category count maps need options.kind "categorical"');
  const bins = options.bins ?? 10;
  checkBins(bins, 'options.bins');
  return jensenShannonOnSorted(sortedFinite(reference as ArrayLike<number>, 'reference'), sortedFinite(current as ArrayLike<number>, 'current'), bins);
}

/** The numeric distance on already-sorted finite samples (the drift report sorts once for several measures). */
export function jensenShannonOnSorted(ref: Float64Array, cur: Float64Array, bins: number): number {
  const edges = quantileEdges(mergeSorted(ref, cur), bins);
  return jensenShannonFromCounts(binCounts(ref, edges), binCounts(cur, edges));
}

/**
 * Jensen-Shannon distance (base 2) between two histograms over the same bins; counts are normalised, as
 * `scipy.spatial.distance.jensenshannon(p, q, base=2)` does.
 */
export function jensenShannonFromCounts(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const k = p.length;
  if (q.length !== k) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `q: expected ${k} bins to match p, got ${q.length}`);
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < k; i++) {
    if (!(p[i] >= 0 && Number.isFinite(p[i]))) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `p[${i}]: expected a non-negative count, got ${p[i]}`);
    if (!(q[i] >= 0 && Number.isFinite(q[i]))) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `q[${i}]: expected a non-negative count, got ${q[i]}`);
    sp += p[i];
    sq += q[i];
  }
  if (sp === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'p: expected a positive total, got all zeros');
  if (sq === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'q: expected a positive total, got all zeros');
  // Weighting the log terms by raw counts and dividing once keeps exact cases exact (disjoint supports give 1).
  let jp = 0;
  let jq = 0;
  for (let i = 0; i < k; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = 0.5 * (a + b);
    if (a > 0) jp += p[i] * Math.log2(a / m);
    if (b > 0) jq += q[i] * Math.log2(b / m);
  }
  const js = 0.5 * (jp / sp + jq / sq);
  // Rounding can leave a hair below 0 or above 1; the distance is defined on [0, 1].
  return Math.sqrt(Math.min(1, Math.max(0, js)));
}

function mergeSorted(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i] <= b[j] ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}
