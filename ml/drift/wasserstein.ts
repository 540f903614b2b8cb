/**
 * Wasserstein-1 (earth mover's) distance between two 1-D empirical distributions, exactly: ∫ |F_u(x) − F_v(x)| dx,
 * the area between the two empirical CDFs, as `scipy.stats.wasserstein_distance` computes it, with optional
 * non-negative weights per value. It is in the feature's own units ("the typical value moved by 3.2"), which
 * makes it the most readable of the drift measures.
 */
import { MlErrorCodes, MlRangeError } from '../errors';

/**
 * W1 between the empirical distributions of `u` and `v` (optionally weighted). Sorting dominates: O((n + m) log(n + m)).
 */
export function wasserstein1(
  u: ArrayLike<number>,
  v: ArrayLike<number>,
  uWeights?: ArrayLike<number>,
  vWeights?: ArrayLike<number>,
): number {
  const a = sortedWeighted(u, uWeights, 'u');
  const b = sortedWeighted(v, vWeights, 'v');
  return wassersteinOnSorted(a.values, b.values, a.weights, b.weights);
}

/**
 * W1 on ascending samples; `wa`/`wb` are weights aligned with them (uniform when absent). Walks the merged
 * order once, adding |F_u − F_v| times the gap to the next value.
 */
export function wassersteinOnSorted(a: Float64Array, b: Float64Array, wa?: Float64Array, wb?: Float64Array): number {
  const n = a.length;
  const m = b.length;
  const sa = wa ? sum(wa) : n;
  const sb = wb ? sum(wb) : m;
  // CDFs as running count (or weight) over total, as SciPy does, rather than summed steps that accumulate rounding.
  let i = 0;
  let j = 0;
  let ca = 0;
  let cb = 0;
  let prev = Math.min(a[0], b[0]);
  let area = 0;
  while (i < n || j < m) {
    const takeA = j >= m || (i < n && a[i] <= b[j]);
    const x = takeA ? a[i] : b[j];
    if (x !== prev) area += Math.abs(ca / sa - cb / sb) * (x - prev);
    prev = x;
    if (takeA) {
      ca += wa ? wa[i] : 1;
      i++;
    } else {
      cb += wb ? wb[j] : 1;
      j++;
    }
  }
  return area;
}

function sortedWeighted(
  values: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
  name: string,
): { values: Float64Array; weights?: Float64Array } {
  const n = values.length;
  if (n === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected at least one value, got an empty array`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i])) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}[${i}]: expected a finite number, got ${values[i]}`);
  }
  if (!weights) return { values: Float64Array.from(values).sort() };
  const wname = `${name}Weights`;
  if (weights.length !== n) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${wname}: expected ${n} weights to match ${name}, got ${weights.length}`);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (!(w >= 0 && Number.isFinite(w))) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${wname}[${i}]: expected a non-negative finite weight, got ${w}`);
    s += w;
  }
  if (!(s > 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${wname}: expected a positive total weight, got ${s}`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((x, y) => values[x] - values[y]);
  const sv = new Float64Array(n);
  const sw = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    sv[i] = values[order[i]];
    sw[i] = weights[order[i]];
  }
  return { values: sv, weights: sw };
}

function sum(xs: Float64Array): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}
