/**
 * Seeded pseudo-random numbers for everything in ml/ that must be reproducible for a seed: synthetic streams,
 * bootstrap resamples, trainer initialisation and subsampling. xoshiro128** (Blackman and Vigna) on 32-bit
 * integer arithmetic: fast in V8, with a 2^128 - 1 period, seeded through SplitMix32 so that nearby seeds give
 * unrelated streams.
 */
import { MlErrorCodes, MlRangeError } from './errors';

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `seed: expected a finite number, got ${seed}`);
    let s = seed >>> 0 || 0x9e3779b9;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias (Lemire's method), for n up to 2^32. */
  nextInt(n: number): number {
    if (!(n > 0 && n <= 4294967296)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `n: expected an integer in [1, 2^32], got ${n}`);
    // Multiply-shift maps a 32-bit draw onto [0, n); rejecting the short tail removes the bias.
    const threshold = 4294967296 % n;
    for (;;) {
      const x = this.nextUint32();
      const m = x * n;
      const low = m % 4294967296;
      if (low >= threshold) return Math.floor(m / 4294967296);
    }
  }

  /** A standard normal draw (Marsaglia's polar method). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    for (;;) {
      const u = 2 * this.next() - 1;
      const v = 2 * this.next() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spareNormal = v * f;
        return u * f;
      }
    }
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(xs: T): T {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = xs[i];
      xs[i] = xs[j];
      xs[j] = t;
    }
    return xs;
  }

  /** An independent generator derived from this one, for parallel or nested streams. */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
