/**
 * The Kolmogorov–Smirnov distributions: the exact one-sample two-sided distribution of D_n (SciPy's `kstwo`),
 * its limit (`kstwobign`, Kolmogorov's K), and the one-sided Smirnov distribution of D_n⁺. The two-sample KS
 * test takes its asymptotic p-value from `kolmogorovSf(d, round(mn/(m+n)))`, so these follow the algorithm
 * choice of Simard and L'Ecuyer (J. Stat. Software 39(11), 2011) as SciPy applies it, which makes our p-values
 * agree with SciPy's to far better than 1e-6 relative: Ruben–Gambino closed forms at the ends, the
 * Durbin matrix (Marsaglia, Tsang and Wang 2003) for small n·d², the Pelz–Good expansion for large n, and
 * 2 × the exact Smirnov tail (Birnbaum–Tingey sum) in the upper tail.
 */
import { MlErrorCodes, MlRangeError } from '../errors';
import { LN_SQRT_2PI, log1pmx, logGamma, stirlingRemainder } from './special';

const MIN_LOG = -708.3964185322641; // log of the smallest normal double
const LN2 = Math.LN2;
const EPS = 2.220446049250313e-16;
const TWO_128 = 2 ** 128;
const TWO_M128 = 2 ** -128;

function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

function requireSampleCount(n: number): void {
  if (!(Number.isInteger(n) && n >= 1)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `n: expected an integer >= 1, got ${n}`);
}

/**
 * Kolmogorov's limiting survival function K̄(x) = P(√n D_n > x) as n → ∞ = 2 Σ (−1)^(k−1) e^(−2k²x²),
 * switching to the Jacobi-theta form √(2π)/x Σ e^(−(2k−1)²π²/(8x²)) below x = 0.82 where it converges faster.
 */
export function kolmogorovAsymptoticSf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= Math.PI / Math.sqrt(746 * 8)) return 1; // the cdf underflows
  if (x <= 0.82) {
    const w = Math.sqrt(2 * Math.PI) / x;
    const logu8 = (-Math.PI * Math.PI) / (x * x);
    const u = Math.exp(logu8 / 8);
    if (u === 0) return clip01(1 - Math.exp(logu8 / 8 + Math.log(w)));
    const u8 = Math.exp(logu8);
    const series = 1 + u8 * (1 + u8 * u8 * (1 + u8 * u8 * u8)); // 1 + u^8 + u^24 + u^48
    return clip01(1 - w * u * series);
  }
  const v = Math.exp(-2 * x * x);
  const v3 = v * v * v;
  const series = 1 - v3 * (1 - v3 * v * v * (1 - v3 * v3 * v)); // 1 − v³ + v⁸ − v¹⁵
  return clip01(2 * v * series);
}

// ---------------------------------------------------------------------------------------------------------
// one-sided: Smirnov

/** floor(n·x) and the fractional part of n·x, computed from the exact product (Dekker's two-product). */
function floorAndFraction(n: number, x: number): [number, number] {
  const p = n * x;
  const split = 134217729; // 2^27 + 1
  const nh = n * split - (n * split - n);
  const nl = n - nh;
  const xh = x * split - (x * split - x);
  const xl = x - xh;
  const err = nh * xh - p + nh * xl + nl * xh + nl * xl; // n·x = p + err exactly
  let fl = Math.floor(p);
  let alpha = p - fl + err;
  if (alpha < 0) {
    fl -= 1;
    alpha += 1;
  }
  if (alpha >= 1) {
    fl += 1;
    alpha = 0;
  }
  return [fl, alpha];
}

/**
 * P(D_n⁺ ≥ x), the one-sided Smirnov survival function (SciPy `smirnov(n, x)`), for an integer n ≥ 1 and
 * 0 ≤ x ≤ 1. Exact (Birnbaum–Tingey sum, each term evaluated in log form with Stirling's remainders so
 * nothing cancels) up to n = 10⁶, and the approximation e^(−(6nx+1)²/(18n)) beyond, as SciPy does.
 */
export function smirnovSf(n: number, x: number): number {
  if (Number.isNaN(x) || Number.isNaN(n)) return NaN;
  requireSampleCount(n);
  if (!(x >= 0 && x <= 1)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `x: expected a number in [0, 1], got ${x}`);
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const [nxfl, alpha] = floorAndFraction(n, x);
  // Terms with v > n(1 − x) (v = n(1 − x) itself when it is an integer) are outside the sum.
  let lastLower = n - nxfl - (alpha === 0 ? 0 : 1);
  let firstUpper = n - nxfl;
  if (alpha === 0) {
    lastLower -= 1;
    firstUpper += 1;
  }
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    // x ≤ 1/n: P(D_n⁺ < x) = x (1 + x)^(n−1)
    return clip01(1 - x * Math.exp((n - 1) * Math.log1p(x)));
  }
  if (-2 * n * x * x < MIN_LOG) return 0;
  if (nxfl >= n - 1) return Math.pow(1 - x, n);
  if (n > 1000000) {
    const logp = -Math.pow(6 * n * x + 1, 2) / 18 / n;
    return logp < -LN2 ? Math.exp(logp) : 1 + Math.expm1(logp);
  }
  const upperTerms = n - firstUpper + 1;
  const useUpper = (upperTerms <= 1 && x < 0.5) || (n >= 10 && upperTerms <= 3 && x <= 0.5 / Math.sqrt(n));
  if (useUpper) {
    // P(D_n⁺ < x) = x Σ_{v > n(1−x)} C(n, v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v): a few alternating terms.
    let sum = 0;
    let binom = 1; // C(n, j) with j = n − v
    for (let j = 0; j < upperTerms; j++) {
      const v = n - j;
      sum += binom * Math.exp((v - 1) * Math.log1p(x - j / n)) * Math.pow(j / n - x, j);
      binom = (binom * (n - j)) / (j + 1);
    }
    return clip01(1 - x * sum);
  }
  // P(D_n⁺ ≥ x) = x Σ_{v=0}^{⌊n(1−x)⌋} A_v, A_v = C(n, v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v).
  // ln A_v = v·log1pmx(nx/v) + (n−v)·log1pmx(−nx/(n−v)) − ln(x + v/n) − ½ ln(2π v(n−v)/n) + δ(n) − δ(v) − δ(n−v),
  // where δ is Stirling's remainder: the n·H(v/n) parts of ln C(n, v) cancel against the powers exactly.
  const nx = n * x;
  const deltaN = stirlingRemainder(n);
  let sum = Math.exp(n * Math.log1p(-x)) / x; // v = 0
  const vmid = Math.floor(n / 2);
  for (let v = 1; v <= lastLower; v++) {
    const w = n - v;
    const logA =
      v * log1pmx(nx / v) +
      w * log1pmx(-nx / w) -
      Math.log(x + v / n) -
      0.5 * Math.log((2 * Math.PI * v * w) / n) +
      deltaN -
      stirlingDelta(v) -
      stirlingDelta(w);
    const a = Math.exp(logA);
    sum += a;
    if (a !== 0) {
      if (4 * (lastLower + 1 - v) * a < EPS * sum && v !== lastLower) break;
    } else if (v > vmid) break;
  }
  return clip01(x * sum);
}

const SMALL_DELTA: Float64Array = (() => {
  const t = new Float64Array(16);
  for (let k = 1; k < 16; k++) t[k] = logGamma(k) - ((k - 0.5) * Math.log(k) - k + LN_SQRT_2PI);
  return t;
})();

function stirlingDelta(k: number): number {
  return k < 16 ? SMALL_DELTA[k] : stirlingRemainder(k);
}

// ---------------------------------------------------------------------------------------------------------
// two-sided, finite n

/** ln(n! / nⁿ) */
function logFactorialOverPower(n: number): number {
  return 0.5 * Math.log(2 * Math.PI * n) - n + stirlingRemainder(n);
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const oi = i * m;
    for (let k = 0; k < m; k++) {
      const aik = a[oi + k];
      if (aik === 0) continue;
      const bk = k * m;
      for (let j = 0; j < m; j++) out[oi + j] += aik * b[bk + j];
    }
  }
  return out;
}

/** Rescales a matrix by a power of two (exact) when its entries grow past 2^128; returns the exponent taken out. */
function rescale(a: Float64Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > max) max = v;
  }
  let e = 0;
  while (max > TWO_128) {
    for (let i = 0; i < a.length; i++) a[i] *= TWO_M128;
    max *= TWO_M128;
    e += 128;
  }
  return e;
}

/**
 * P(D_n < d) by Durbin's matrix formula: with nd = k − h, the (k, k) entry of Hⁿ times n!/nⁿ, H the
 * (2k−1)×(2k−1) matrix of Marsaglia, Tsang and Wang (2003). Exact up to rounding, O(k³ log n).
 */
function durbinMatrixCdf(n: number, d: number): number {
  const nd = n * d;
  if (nd <= 0.5) return 0;
  if (d >= 1) return 1;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const invFact = new Float64Array(m + 1);
  invFact[0] = 1;
  for (let j = 1; j <= m; j++) invFact[j] = invFact[j - 1] / j;
  let H: Float64Array<ArrayBuffer> = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= Math.min(i + 1, m - 1); j++) H[i * m + j] = invFact[i - j + 1];
  }
  for (let i = 0; i < m; i++) {
    H[i * m] = (1 - Math.pow(h, i + 1)) * invFact[i + 1];
    H[(m - 1) * m + (m - 1 - i)] = (1 - Math.pow(h, i + 1)) * invFact[i + 1];
  }
  H[(m - 1) * m] = (1 - 2 * Math.pow(h, m) + Math.pow(Math.max(2 * h - 1, 0), m)) * invFact[m];

  let P: Float64Array<ArrayBuffer> | undefined;
  let pExp = 0;
  let hExp = 0;
  for (let nn = n; nn > 0; nn >>= 1) {
    if (nn & 1) {
      P = P === undefined ? H.slice() : matmul(P, H, m);
      pExp += hExp + rescale(P);
    }
    if (nn > 1) {
      H = matmul(H, H, m);
      hExp = 2 * hExp + rescale(H);
    }
  }
  let p = P![(k - 1) * m + (k - 1)];
  // Multiply by n!/nⁿ step by step, rescaling, so nothing underflows for n up to 10⁵.
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_M128) {
      p *= TWO_128;
      pExp -= 128;
    }
  }
  return clip01(p * Math.pow(2, pExp));
}

/**
 * The Pelz–Good (1976) expansion P(D_n ≤ x) ≈ K0(z) + K1(z)/√n + K2(z)/n + K3(z)/n^(3/2), z = x√n, each K_i
 * in its theta-function form suited to small z (Simard and L'Ecuyer 2011, eq. (3)–(6)).
 */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const pi2 = Math.PI * Math.PI;
  const pi4 = pi2 * pi2;
  const pi6 = pi4 * pi2;
  const qlog = -pi2 / 8 / z2;
  if (qlog < -708) return 0;
  const maxk = Math.ceil((16 * z) / Math.PI);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = maxk; k >= 1; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qm = Math.exp(qlog * m2); // q^(m²)
    s0 += qm;
    s1 += (-z2 + (pi2 / 4) * m2) * qm;
    s2 += (6 * z6 + 2 * z4 + ((2 * z4 - 5 * z2) * pi2 * m2) / 4 + (pi4 * (1 - 2 * z2) * m4) / 16) * qm;
    s3 +=
      (-30 * z6 -
        90 * z4 * z4 +
        (pi2 * (135 * z4 - 96 * z6) * m2) / 4 +
        (pi4 * (-60 * z2 + 212 * z4) * m4) / 16 +
        (pi6 * (5 - 30 * z2) * m6) / 64) *
      qm;
  }
  const root2pi = Math.sqrt(2 * Math.PI);
  let k0 = (root2pi * s0) / z;
  let k1 = (root2pi * s1) / (6 * z4);
  let k2 = (root2pi * s2) / (72 * z6 * z);
  let k3 = (root2pi * s3) / (6480 * z4 * z6);
  // The second sums, over all k ≥ 1 of k² e^(−π²k²/(2z²)).
  let e2 = 0;
  let e3 = 0;
  for (let k = maxk; k >= 1; k--) {
    const k2sq = k * k;
    const qk = Math.exp((-pi2 / 2 / z2) * k2sq);
    e2 += k2sq * qk;
    e3 += (3 * z2 - pi2 * k2sq) * k2sq * qk;
  }
  k2 += (e2 * pi2 * root2pi) / (-36 * z3);
  k3 += (e3 * pi2 * root2pi) / (216 * z6);
  const rn = Math.sqrt(n);
  return k0 + k1 / rn + k2 / n + k3 / (n * rn);
}

/**
 * P(D_n ≥ d), the survival function of the two-sided one-sample Kolmogorov–Smirnov statistic with n samples
 * (SciPy `kstwo.sf(d, n)`). n must be an integer ≥ 1.
 */
export function kolmogorovSf(d: number, n: number): number {
  if (Number.isNaN(d) || Number.isNaN(n)) return NaN;
  requireSampleCount(n);
  if (d >= 1) return 0;
  if (d <= 0) return 1;
  const t = n * d;
  if (t <= 1) {
    // Ruben–Gambino: P(D_n ≤ d) = n!/nⁿ (2t − 1)ⁿ for 1/(2n) ≤ d ≤ 1/n
    if (t <= 0.5) return 1;
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      const f = 2 * t - 1;
      for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * f;
    } else {
      cdf = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * Math.pow(1 - d, n)); // Ruben–Gambino
  if (d >= 0.5) return clip01(2 * smirnovSf(n, d)); // the two one-sided events are disjoint
  const nd2 = t * d;
  if (n <= 140) {
    if (nd2 <= 4) return clip01(1 - durbinMatrixCdf(n, d));
    return clip01(2 * smirnovSf(n, d));
  }
  if (nd2 >= 370) return 0;
  if (nd2 >= 2.2) return clip01(2 * smirnovSf(n, d));
  const cdf = n <= 100000 && n * Math.pow(d, 1.5) <= 1.4 ? durbinMatrixCdf(n, d) : pelzGoodCdf(n, d);
  return clip01(1 - cdf);
}
