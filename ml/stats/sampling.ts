/**
 * Exact discrete samplers on the project's seeded generator, for resampling without touching every example:
 * a bootstrap resample of n examples whose per-example values take only K distinct values is, in
 * distribution, one multinomial draw of n over K categories, and a multinomial is a chain of binomials.
 * Binomials use inversion for small means and Hörmann's BTRD (transformed rejection with decomposition,
 * J. Statist. Comput. Simul. 46, 1993) otherwise, both exact, in O(1) expected time for any n.
 */
import { MlErrorCodes, MlRangeError } from '../errors';
import type { Rng } from '../random';
import { LN_SQRT_2PI, logGamma } from './special';

/** ln k! − [(k + ½) ln(k + 1) − (k + 1) + ½ ln 2π], the correction BTRD's final acceptance test needs. */
const FC_TABLE = Array.from({ length: 10 }, (_, k) => logGamma(k + 1) - (k + 0.5) * Math.log(k + 1) + (k + 1) - LN_SQRT_2PI);

function stirlingCorrection(k: number): number {
  if (k < 10) return FC_TABLE[k];
  const r = 1 / (k + 1);
  const r2 = r * r;
  return (1 / 12 - (1 / 360 - r2 / 1260) * r2) * r;
}

/** One draw from Binomial(n, p) for an integer n ≥ 0 and 0 ≤ p ≤ 1. */
export function sampleBinomial(rng: Rng, n: number, p: number): number {
  if (!(Number.isInteger(n) && n >= 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `n: expected an integer >= 0, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `p: expected a probability in [0, 1], got ${p}`);
  if (n === 0 || p === 0) return 0;
  if (p === 1) return n;
  if (p > 0.5) return n - binomialAtMostHalf(rng, n, 1 - p);
  return binomialAtMostHalf(rng, n, p);
}

function binomialAtMostHalf(rng: Rng, n: number, p: number): number {
  const q = 1 - p;
  if (n * p < 10) {
    // Inversion: walk the pmf from 0; the mean is below 10, so the walk is short.
    for (;;) {
      let u = rng.next();
      let f = Math.exp(n * Math.log1p(-p));
      const ratio = p / q;
      for (let k = 0; k <= n; k++) {
        if (u < f) return k;
        u -= f;
        f *= ((n - k) / (k + 1)) * ratio;
      }
      // Rounding left u just above the total mass: draw again rather than bias the top value.
    }
  }
  const m = Math.floor((n + 1) * p);
  const r = p / q;
  const nr = (n + 1) * r;
  const npq = n * p * q;
  const sq = Math.sqrt(npq);
  const b = 1.15 + 2.53 * sq;
  const a = -0.0873 + 0.0248 * b + 0.01 * p;
  const c = n * p + 0.5;
  const alpha = (2.83 + 5.1 / b) * sq;
  const vr = 0.92 - 4.2 / b;
  const urvr = 0.86 * vr;
  for (;;) {
    let v = rng.next();
    let u: number;
    if (v <= urvr) {
      u = v / vr - 0.43;
      return Math.floor(((2 * a) / (0.5 - Math.abs(u)) + b) * u + c);
    }
    if (v >= vr) {
      u = rng.next() - 0.5;
    } else {
      u = v / vr - 0.93;
      u = (u < 0 ? -0.5 : 0.5) - u;
      v = rng.next() * vr;
    }
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + c);
    if (k < 0 || k > n) continue;
    v = (v * alpha) / (a / (us * us) + b);
    const km = Math.abs(k - m);
    if (km <= 15) {
      // Ratio f(k)/f(m) by the recursion f(i)/f(i−1) = (n+1−i)/i · p/q.
      let f = 1;
      if (m < k) {
        for (let i = m + 1; i <= k; i++) f *= nr / i - r;
      } else if (m > k) {
        for (let i = k + 1; i <= m; i++) v *= nr / i - r;
      }
      if (v <= f) return k;
      continue;
    }
    // Squeeze on ln f(k)/f(m) around its normal approximation, then the exact test.
    const lv = Math.log(v);
    const rho = (km / npq) * (((km / 3 + 0.625) * km + 1 / 6) / npq + 0.5);
    const t = (-km * km) / (2 * npq);
    if (lv < t - rho) return k;
    if (lv > t + rho) continue;
    const nm = n - m + 1;
    const h = (m + 0.5) * Math.log((m + 1) / (r * nm)) + stirlingCorrection(m) + stirlingCorrection(n - m);
    const nk = n - k + 1;
    if (lv <= h + (n + 1) * Math.log(nm / nk) + (k + 0.5) * Math.log((nk * r) / (k + 1)) - stirlingCorrection(k) - stirlingCorrection(n - k)) {
      return k;
    }
  }
}

/**
 * One draw from Multinomial(n, counts / Σ counts) into `out`, as a chain of conditional binomials (category k
 * gets Bin(remaining n, counts[k] / remaining mass)). `counts` are non-negative category weights.
 */
export function sampleMultinomial(rng: Rng, n: number, counts: ArrayLike<number>, out: Float64Array): Float64Array {
  let remainingMass = 0;
  for (let k = 0; k < counts.length; k++) remainingMass += counts[k];
  let remaining = n;
  for (let k = 0; k < counts.length; k++) {
    if (k === counts.length - 1 || remaining === 0) {
      out[k] = remaining;
      remaining = 0;
      continue;
    }
    const pk = remainingMass > 0 ? Math.min(1, counts[k] / remainingMass) : 0;
    const draw = sampleBinomial(rng, remaining, pk);
    out[k] = draw;
    remaining -= draw;
    remainingMass -= counts[k];
  }
  return out;
}

/**
 * Uniform random indices in bulk: xoshiro128** (seeded from the project generator) with its state in local
 * int32 variables for the length of a fill, and Lemire's multiply-and-reject for the range. Resampling a
 * million examples draws a million indices per resample, where a method call per draw would dominate.
 */
export class IndexSampler {
  private readonly state = new Int32Array(4);

  constructor(rng: Rng) {
    for (let k = 0; k < 4; k++) this.state[k] = rng.nextUint32() | 0;
    if ((this.state[0] | this.state[1] | this.state[2] | this.state[3]) === 0) this.state[0] = 1;
  }

  /**
   * Σ values[start + i] over `count` uniform draws of i in [0, 2^bits), bits ≤ 16: generation and gather
   * fused, two indices per 32-bit word from disjoint bit fields (independent and exactly uniform, since every
   * output bit of xoshiro128** is), so no rejection step is needed.
   */
  sumPowerOfTwo(values: Float64Array, start: number, count: number, bits: number): number {
    if (!(bits >= 1 && bits <= 16)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `bits: expected an integer in [1, 16], got ${bits}`);
    const st = this.state;
    let a = st[0];
    let b = st[1];
    let c = st[2];
    let d = st[3];
    const shift = 32 - bits;
    const mask = (1 << bits) - 1;
    let s = 0;
    for (let j = 0; j < count; j += 2) {
      const r = Math.imul(b, 5);
      const x = Math.imul((r << 7) | (r >>> 25), 9);
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
      s += values[start + (x >>> shift)];
      if (j + 1 < count) s += values[start + (x & mask)];
    }
    st[0] = a;
    st[1] = b;
    st[2] = c;
    st[3] = d;
    return s;
  }

  /** Adds 1 to out[start + i] for `count` uniform draws of i in [0, 2^bits), bits ≤ 16 (as sumPowerOfTwo). */
  countPowerOfTwo(out: Float64Array, start: number, count: number, bits: number): void {
    if (!(bits >= 1 && bits <= 16)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `bits: expected an integer in [1, 16], got ${bits}`);
    const st = this.state;
    let a = st[0];
    let b = st[1];
    let c = st[2];
    let d = st[3];
    const shift = 32 - bits;
    const mask = (1 << bits) - 1;
    for (let j = 0; j < count; j += 2) {
      const r = Math.imul(b, 5);
      const x = Math.imul((r << 7) | (r >>> 25), 9);
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
      out[start + (x >>> shift)] += 1;
      if (j + 1 < count) out[start + (x & mask)] += 1;
    }
    st[0] = a;
    st[1] = b;
    st[2] = c;
    st[3] = d;
  }

  /** Fills `out` with independent uniform integers in [0, n), 1 ≤ n ≤ 2^31. */
  fill(out: Int32Array, n: number): Int32Array {
    if (!(Number.isInteger(n) && n >= 1 && n <= 2147483648)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `n: expected an integer in [1, 2^31], got ${n}`);
    const st = this.state;
    let a = st[0];
    let b = st[1];
    let c = st[2];
    let d = st[3];
    const threshold = 4294967296 % n; // low product words below this would bias the result
    // x·n must be exact: one double product below 2^53 while n ≤ 2^21, else split n into 16-bit halves.
    const small = n <= 2097152;
    const nHigh = Math.floor(n / 65536);
    const nLow = n % 65536;
    const len = out.length;
    let i = 0;
    while (i < len) {
      const r = Math.imul(b, 5);
      const x = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
      let high: number;
      let low: number;
      if (small) {
        const m = x * n;
        low = m >>> 0;
        high = (m - low) * 2.3283064365386963e-10;
      } else {
        const ph = x * nHigh; // < 2^47
        const phLow = ph % 65536;
        const sum = phLow * 65536 + x * nLow; // < 2^49
        low = sum % 4294967296;
        high = (ph - phLow) / 65536 + (sum - low) / 4294967296;
      }
      if (low >= threshold) out[i++] = high;
    }
    st[0] = a;
    st[1] = b;
    st[2] = c;
    st[3] = d;
    return out;
  }
}

/**
 * Bootstrap resamples of n examples drawn block by block: first how many of the n draws fall in each block of
 * 2^k consecutive examples (one multinomial draw, probabilities proportional to block sizes), then uniform
 * indices inside each block. The resample has exactly the distribution of n independent uniform indices,
 * but every gather or scatter stays inside a cache-sized block, and inside a full block an index is simply
 * k bits of a random word (two per word); on a million examples this is several times faster than indexing the
 * whole array at random.
 */
export class BlockResampler {
  private readonly sampler: IndexSampler;
  private readonly sizes: Float64Array;
  private readonly perBlock: Float64Array;
  private readonly buffer: Int32Array;
  private readonly blockSize: number;

  constructor(
    private readonly rng: Rng,
    private readonly n: number,
    private readonly blockBits = 12,
  ) {
    if (!(Number.isInteger(n) && n >= 1)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `n: expected an integer >= 1, got ${n}`);
    if (!(Number.isInteger(blockBits) && blockBits >= 1 && blockBits <= 16)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `blockBits: expected an integer in [1, 16], got ${blockBits}`);
    this.blockSize = 2 ** blockBits;
    this.sampler = new IndexSampler(rng);
    const blocks = Math.ceil(n / this.blockSize);
    this.sizes = new Float64Array(blocks);
    for (let k = 0; k < blocks; k++) this.sizes[k] = Math.min(this.blockSize, n - k * this.blockSize);
    this.perBlock = new Float64Array(blocks);
    this.buffer = new Int32Array(Math.min(n, 1 << 16));
  }

  /** Σ values[i] over the n draws of the next resample. */
  sum(values: Float64Array): number {
    sampleMultinomial(this.rng, this.n, this.sizes, this.perBlock);
    let s = 0;
    for (let k = 0; k < this.sizes.length; k++) {
      const start = k * this.blockSize;
      if (this.sizes[k] === this.blockSize) {
        s += this.sampler.sumPowerOfTwo(values, start, this.perBlock[k], this.blockBits);
        continue;
      }
      const buf = this.buffer;
      for (let remaining = this.perBlock[k]; remaining > 0; ) {
        const count = Math.min(remaining, buf.length);
        this.sampler.fill(count === buf.length ? buf : buf.subarray(0, count), this.sizes[k]);
        let t = 0;
        for (let j = 0; j < count; j++) t += values[start + buf[j]];
        s += t;
        remaining -= count;
      }
    }
    return s;
  }

  /** Multiplicity of each example in the next resample, written to `out` (length n). */
  counts(out: Float64Array): Float64Array {
    sampleMultinomial(this.rng, this.n, this.sizes, this.perBlock);
    out.fill(0);
    for (let k = 0; k < this.sizes.length; k++) {
      const start = k * this.blockSize;
      if (this.sizes[k] === this.blockSize) {
        this.sampler.countPowerOfTwo(out, start, this.perBlock[k], this.blockBits);
        continue;
      }
      const buf = this.buffer;
      for (let remaining = this.perBlock[k]; remaining > 0; ) {
        const count = Math.min(remaining, buf.length);
        this.sampler.fill(count === buf.length ? buf : buf.subarray(0, count), this.sizes[k]);
        for (let j = 0; j < count; j++) out[start + buf[j]] += 1;
        remaining -= count;
      }
    }
    return out;
  }
}
