/**
 * Multiple-comparison adjustments of p-values, as R's `p.adjust` (and statsmodels' `multipletests`) compute
 * them: Holm's step-down family-wise correction and Benjamini–Hochberg's false-discovery-rate step-up
 * correction. Adjusted p-values are compared with the unadjusted level: reject where adjusted ≤ α. NaN
 * entries stay NaN and do not count towards the number of tests, as with R's default `n = length(p)` after
 * removing NAs.
 */
import { MlErrorCodes, MlRangeError } from '../errors';

function toChecked(pValues: ArrayLike<number>): Float64Array {
  const p = Float64Array.from(pValues as ArrayLike<number>);
  for (let i = 0; i < p.length; i++) {
    const v = p[i];
    if (!Number.isNaN(v) && !(v >= 0 && v <= 1)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `pValues[${i}]: expected a p-value in [0, 1], got ${v}`);
  }
  return p;
}

function finiteOrder(p: Float64Array): number[] {
  const idx: number[] = [];
  for (let i = 0; i < p.length; i++) if (!Number.isNaN(p[i])) idx.push(i);
  return idx.sort((a, b) => p[a] - p[b] || a - b);
}

/** Holm (1979) step-down adjusted p-values: max over j ≤ i of min(1, (m − j + 1) p₍ⱼ₎). */
export function holm(pValues: ArrayLike<number>): Float64Array {
  const p = toChecked(pValues);
  const out = new Float64Array(p.length).fill(NaN);
  const order = finiteOrder(p);
  const m = order.length;
  let running = 0;
  order.forEach((idx, j) => {
    running = Math.max(running, Math.min(1, (m - j) * p[idx]));
    out[idx] = running;
  });
  return out;
}

/** Benjamini–Hochberg (1995) adjusted p-values: min over j ≥ i of min(1, m p₍ⱼ₎ / j), monotone in p. */
export function benjaminiHochberg(pValues: ArrayLike<number>): Float64Array {
  const p = toChecked(pValues);
  const out = new Float64Array(p.length).fill(NaN);
  const order = finiteOrder(p);
  const m = order.length;
  let running = 1;
  for (let j = m - 1; j >= 0; j--) {
    const idx = order[j];
    running = Math.min(running, (m / (j + 1)) * p[idx]);
    out[idx] = running;
  }
  return out;
}
