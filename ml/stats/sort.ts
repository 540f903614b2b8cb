/**
 * Sorting large Float64Arrays faster than TypedArray.prototype.sort alone: one counting pass buckets the
 * values by the top 16 bits of an order-preserving key (sign, exponent and four mantissa bits; negative
 * values have their bits flipped), a second pass moves each value into its bucket, and the native sort
 * finishes each bucket, which is small and cache-resident. Data concentrated in one bucket degrades
 * gracefully to the native sort.
 */

const BUCKETING_MIN = 16384; // below this the native sort alone is as fast

/** A sorted copy of `values` (ascending; the input is not modified). NaN must have been rejected by the caller. */
export function sortedCopy(values: Float64Array): Float64Array {
  const n = values.length;
  if (n < BUCKETING_MIN) return Float64Array.from(values).sort();
  const words = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  const bucket = new Uint16Array(n);
  const next = new Uint32Array(65537);
  for (let i = 0; i < n; i++) {
    const h = words[2 * i + 1]; // high word (little-endian): sign, exponent, top mantissa bits
    const k = (h & 0x80000000 ? ~h : h | 0x80000000) >>> 16;
    bucket[i] = k;
    next[k + 1]++;
  }
  for (let k = 0; k < 65536; k++) next[k + 1] += next[k];
  const start = next.slice();
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[next[bucket[i]]++] = values[i];
  for (let k = 0; k < 65536; k++) {
    const s = start[k];
    const e = start[k + 1];
    if (e - s > 1) out.subarray(s, e).sort();
  }
  return out;
}
