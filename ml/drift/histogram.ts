/**
 * Binning shared by the distribution-distance measures: sorted copies without missing values, type-7
 * (NumPy's default, linear) quantiles, cut points at quantiles and bin counts. PSI bins at the reference's
 * quantiles, Jensen-Shannon at the pooled sample's, so both live here, as does category counting.
 */
import { MlErrorCodes, MlRangeError } from '../errors';

/** The finite values of `values`, sorted ascending, in a new array. NaN and ±Infinity count as missing. */
export function sortedFinite(values: ArrayLike<number>, name: string): Float64Array {
  const n = values.length;
  let m = 0;
  for (let i = 0; i < n; i++) if (Number.isFinite(values[i])) m++;
  const out = new Float64Array(m);
  if (m === n && values instanceof Float64Array) out.set(values);
  else {
    let k = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (Number.isFinite(v)) out[k++] = v;
    }
  }
  if (m === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected at least one finite value, got ${n === 0 ? 'an empty array' : `${n} missing values`}`);
  return out.sort();
}

/** The q-quantile of ascending `sorted` with linear interpolation between order statistics (Hyndman-Fan type 7). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo];
  const b = sorted[hi];
  return a === b ? a : a + (h - lo) * (b - a);
}

/**
 * Interior cut points at the k/bins quantiles (k = 1..bins-1) of ascending `sorted`, with repeats dropped:
 * a feature with heavy ties (a binary flag, a zero-inflated amount) yields fewer, non-empty bins instead of
 * empty duplicates.
 */
export function quantileEdges(sorted: Float64Array, bins: number): Float64Array {
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const e = quantileSorted(sorted, k / bins);
    if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
  }
  return Float64Array.from(edges);
}

/**
 * Counts of `sorted` (ascending) in the bins (-inf, e0], (e0, e1], ..., (e_last, +inf): right-closed, so a
 * value equal to a cut point falls with the values below it, as the quantile that produced the cut does.
 * One forward pass, since both the values and the edges are sorted.
 */
export function binCounts(sorted: Float64Array, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let bin = 0;
  let start = 0;
  const n = sorted.length;
  for (let i = 0; i < n; i++) {
    const v = sorted[i];
    if (bin < edges.length && v > edges[bin]) {
      counts[bin] += i - start;
      start = i;
      bin++;
      while (bin < edges.length && v > edges[bin]) bin++;
    }
  }
  counts[bin] += n - start;
  return counts;
}

export function checkBins(bins: number, name = 'bins'): void {
  if (!Number.isInteger(bins) || bins < 2) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected an integer >= 2, got ${bins}`);
}

/**
 * Category counts of a sample given as codes (NaN and negative codes are missing), or passed through when it is
 * already a code → count map (a monitor may keep only the reference's counts).
 */
export type CategoricalSample = ArrayLike<number> | ReadonlyMap<number, number>;

export function categoryCounts(sample: CategoricalSample, name: string): Map<number, number> {
  if (sample instanceof Map) {
    const out = new Map<number, number>();
    for (const [code, count] of sample as ReadonlyMap<number, number>) {
      if (!(Number.isFinite(count) && count >= 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected non-negative counts, got ${count} for category ${code}`);
      if (count > 0) out.set(code, (out.get(code) ?? 0) + count);
    }
    return out;
  }
  const codes = sample as ArrayLike<number>;
  const n = codes.length;
  // Small non-negative integer codes (the usual case) count into a dense array; anything else into a map.
  let max = -1;
  let dense = true;
  for (let i = 0; i < n; i++) {
    const c = codes[i];
    if (c !== c || c < 0) continue;
    if (!Number.isInteger(c) || c > 65535) {
      dense = false;
      break;
    }
    if (c > max) max = c;
  }
  const out = new Map<number, number>();
  if (dense) {
    const counts = new Float64Array(max + 1);
    for (let i = 0; i < n; i++) {
      const c = codes[i];
      if (c >= 0) counts[c]++;
    }
    for (let c = 0; c <= max; c++) if (counts[c] > 0) out.set(c, counts[c]);
  } else {
    for (let i = 0; i < n; i++) {
      const c = codes[i];
      if (c !== c || c < 0) continue;
      out.set(c, (out.get(c) ?? 0) + 1);
    }
  }
  return out;
}

/** Two count maps laid out on one sorted list of categories, zeros where a category is absent from one side. */
export function alignCounts(
  a: ReadonlyMap<number, number>,
  b: ReadonlyMap<number, number>,
): { categories: number[]; a: Float64Array; b: Float64Array } {
  const categories = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
  const ca = new Float64Array(categories.length);
  const cb = new Float64Array(categories.length);
  categories.forEach((c, k) => {
    ca[k] = a.get(c) ?? 0;
    cb[k] = b.get(c) ?? 0;
  });
  return { categories, a: ca, b: cb };
}

export function total(xs: Float64Array): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}
