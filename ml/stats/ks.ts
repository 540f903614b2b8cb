/**
 * The two-sample Kolmogorov–Smirnov test, computed as `scipy.stats.ks_2samp` (SciPy 1.10, the version Debian
 * bookworm ships) computes it, so that drift reports agree with the reference implementation: the same
 * statistic to the last bit, the same choice between exact and asymptotic p-values, and the same formulas on
 * each branch. Samples are sorted (bucketed by their top bits, then the native typed-array sort per bucket)
 * and the empirical CDFs compared in one merge walk, so a million against a million takes a fraction of a
 * second.
 *
 * Method choice ('auto'): exact when both samples have at most 10,000 values, else asymptotic. Exact
 * two-sided p-values count lattice paths that leave the band |i/n₁ − j/n₂| < d (Hodges 1958, in the
 * numerically stable form of Viehmann 2021 that tracks the probability of having left the band, so small
 * p-values keep their digits); exact one-sided ones count paths that cross one side. When the exact
 * computation is not possible in double precision (one-sided with C(n₁+n₂, n₁) beyond 1.8e308, or
 * lcm(n₁, n₂) ≥ 2³¹ with method 'exact'), it falls back to the asymptotic branch as SciPy does, and `method`
 * in the result says which branch produced the p-value. Asymptotic two-sided: the one-sample Kolmogorov
 * distribution with n = round(mn/(m+n)); one-sided: Hodges' approximation exp(−2z² − 2z(m+2n)/√(mn(m+n))/3),
 * z = d √(mn/(m+n)), m ≥ n.
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import { kolmogorovSf } from './kolmogorov';
import { sortedCopy } from './sort';

export const KsAlternatives = { twoSided: 'two-sided', less: 'less', greater: 'greater' } as const;
export type KsAlternative = (typeof KsAlternatives)[keyof typeof KsAlternatives];

export const KsMethods = { auto: 'auto', exact: 'exact', asymp: 'asymp' } as const;
export type KsMethod = (typeof KsMethods)[keyof typeof KsMethods];

export interface KsOptions {
  /**
   * 'two-sided' (default): the distributions differ. 'greater': the CDF of `a` lies above that of `b` somewhere
   * (statistic max(F_a − F_b)). 'less': below (statistic max(F_b − F_a)).
   */
  readonly alternative?: KsAlternative;
  readonly method?: KsMethod;
}

export interface KsResult {
  /** The KS statistic D (for the exact branch rounded to the lattice value h / lcm(n₁, n₂), as SciPy does). */
  readonly statistic: number;
  readonly pValue: number;
  /** The branch that produced the p-value. */
  readonly method: 'exact' | 'asymp';
  /** The value at which the ECDF difference attains the statistic. */
  readonly statisticLocation: number;
  /** +1 when F_a − F_b attains the statistic, −1 when F_b − F_a does. */
  readonly statisticSign: 1 | -1;
}

/** Largest sample size for which 'auto' computes the exact p-value. */
export const KS_MAX_AUTO_EXACT_N = 10000;

function checkSample(x: Float64Array, name: string): void {
  if (!(x instanceof Float64Array)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `${name}: expected a Float64Array`);
  if (x.length === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected at least one value, got an empty sample`);
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i])) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}[${i}]: expected a number, got NaN`);
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** numpy's round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface EcdfExtremes {
  maxDiff: number;
  maxLoc: number;
  minDiff: number;
  minLoc: number;
}

/**
 * max and min over all sample points of F_a(x) − F_b(x), with F = count(≤ x)/n in floating point exactly as
 * SciPy forms it, and the location SciPy reports: the first point attaining the extreme in the concatenation
 * [sorted a, sorted b], i.e. the smallest such point of a if there is one, else the smallest of b.
 */
function ecdfExtremes(sa: Float64Array, sb: Float64Array): EcdfExtremes {
  const n1 = sa.length;
  const n2 = sb.length;
  let i = 0;
  let j = 0;
  let maxA = -Infinity;
  let maxALoc = NaN;
  let maxB = -Infinity;
  let maxBLoc = NaN;
  let minA = Infinity;
  let minALoc = NaN;
  let minB = Infinity;
  let minBLoc = NaN;
  while (i < n1 || j < n2) {
    // The next distinct value, and whether it occurs in a, in b, or in both.
    const va = i < n1 ? sa[i] : Infinity;
    const vb = j < n2 ? sb[j] : Infinity;
    const inA = i < n1 && (va <= vb || j >= n2);
    const inB = j < n2 && (vb <= va || i >= n1);
    const v = inA ? va : vb;
    if (inA) while (i < n1 && sa[i] === v) i++;
    if (inB) while (j < n2 && sb[j] === v) j++;
    const diff = i / n1 - j / n2; // division, not a reciprocal product: the same bits as SciPy's cdf1 − cdf2
    if (inA) {
      if (diff > maxA) {
        maxA = diff;
        maxALoc = v;
      }
      if (diff < minA) {
        minA = diff;
        minALoc = v;
      }
    }
    if (inB) {
      if (diff > maxB) {
        maxB = diff;
        maxBLoc = v;
      }
      if (diff < minB) {
        minB = diff;
        minBLoc = v;
      }
    }
  }
  return {
    maxDiff: maxA >= maxB ? maxA : maxB,
    maxLoc: maxA >= maxB ? maxALoc : maxBLoc,
    minDiff: minA <= minB ? minA : minB,
    minLoc: minA <= minB ? minALoc : minBLoc,
  };
}

/**
 * Two-sample Kolmogorov–Smirnov test of a against b. Matches `scipy.stats.ks_2samp(a, b, alternative, method)`
 * of SciPy 1.10: the statistic bit for bit, p-values to about 1e-12 relative. NaN values are rejected.
 */
export function ksTwoSample(a: Float64Array, b: Float64Array, opts: KsOptions = {}): KsResult {
  checkSample(a, 'a');
  checkSample(b, 'b');
  const alternative = opts.alternative ?? 'two-sided';
  const method = opts.method ?? 'auto';
  if (!Object.values(KsAlternatives).includes(alternative)) {
    throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `alternative: expected one of two-sided, less, greater, got ${String(alternative)}`);
  }
  if (!Object.values(KsMethods).includes(method)) {
    throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `method: expected one of auto, exact, asymp, got ${String(method)}`);
  }
  const sa = sortedCopy(a);
  const sb = sortedCopy(b);
  const n1 = sa.length;
  const n2 = sb.length;
  const ext = ecdfExtremes(sa, sb);
  const minS = Math.min(Math.max(-ext.minDiff, 0), 1);
  const maxS = ext.maxDiff;
  let d: number;
  let location: number;
  let sign: 1 | -1;
  if (alternative === 'less' || (alternative === 'two-sided' && minS > maxS)) {
    d = minS;
    location = ext.minLoc;
    sign = -1;
  } else {
    d = maxS;
    location = ext.maxLoc;
    sign = 1;
  }

  const g = gcd(n1, n2);
  const n1g = n1 / g;
  const n2g = n2 / g;
  let branch: 'exact' | 'asymp' = method === 'auto' ? (Math.max(n1, n2) <= KS_MAX_AUTO_EXACT_N ? 'exact' : 'asymp') : method;
  if (method === 'exact' && n1g >= 2147483647 / n2g) branch = 'asymp';
  let p = NaN;
  if (branch === 'exact') {
    const exact = exactKsPValue(n1, n2, g, d, alternative);
    d = exact.d;
    if (exact.ok) p = exact.p;
    else branch = 'asymp';
  }
  if (branch === 'asymp') {
    const m = Math.max(n1, n2);
    const n = Math.min(n1, n2);
    const en = (m * n) / (m + n);
    if (alternative === 'two-sided') {
      const ne = roundHalfEven(en);
      p = ne >= 1 ? kolmogorovSf(d, ne) : NaN;
    } else {
      const z = Math.sqrt(en) * d;
      p = Math.exp(-2 * z * z - (2 * z * (m + 2 * n)) / Math.sqrt(m * n * (m + n)) / 3);
    }
  }
  p = Math.min(Math.max(p, 0), 1);
  return { statistic: d, pValue: p, method: branch, statisticLocation: location, statisticSign: sign };
}

// ---------------------------------------------------------------------------------------------------------
// exact p-values

function exactKsPValue(n1: number, n2: number, g: number, d: number, alternative: KsAlternative): { ok: boolean; d: number; p: number } {
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  d = h / lcm;
  if (h === 0) return { ok: true, d, p: 1 };
  let p: number;
  if (alternative === 'two-sided') {
    p = n1 === n2 ? probOutsideSquare(n1, h) : probLeavingBand(n1, n2, g, h, true);
  } else if (n1 === n2) {
    // P(D⁺ ≥ h/n) = C(2n, n − h) / C(2n, n) = Π_{j<h} (n − j)/(n + j + 1)
    p = 1;
    for (let j = 0; j < h; j++) p *= (n1 - j) / (n1 + j + 1);
  } else {
    // SciPy counts these paths as integers and divides by C(n₁+n₂, n₁), giving up when that overflows.
    if (logBinomial(n1 + n2, n1) > 709.782712893384) return { ok: false, d, p: NaN };
    p = probLeavingBand(n1, n2, g, h, false);
  }
  if (!(p >= 0 && p <= 1)) return { ok: false, d, p };
  return { ok: true, d, p };
}

function logBinomial(n: number, k: number): number {
  let s = 0;
  const kk = Math.min(k, n - k);
  for (let j = 1; j <= kk; j++) s += Math.log((n - kk + j) / j);
  return s;
}

/**
 * P(D_{n,n} ≥ h/n) = 2 Σ_{k≥1} (−1)^(k−1) C(2n, n − kh) / C(2n, n), each ratio a product of h factors, summed
 * Horner-fashion from the innermost term so that the alternating series does not cancel.
 */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * Probability that a uniformly random monotone lattice path from (0, 0) to (m, n) reaches
 * i·(n/g) − j·(m/g) ≥ h (one-sided) or |i·(n/g) − j·(m/g)| ≥ h (two-sided). Each cell holds the probability
 * that a random path to it has already left the band (1 outside it); a cell's value is the mix of its two
 * predecessors in proportions i/(i+j) and j/(i+j), so every number stays in [0, 1] and small results keep
 * their relative precision.
 */
function probLeavingBand(n1: number, n2: number, g: number, h: number, twoSided: boolean): number {
  // Columns run over the first sample (i), cells over the second (j); the one-sided condition is not
  // symmetric in the samples, so the roles are kept (the result is symmetric for two-sided).
  let m = n1;
  let n = n2;
  if (twoSided && m < n) {
    m = n2;
    n = n1;
  }
  const mg = m / g;
  const ng = n / g;
  // Inside at column i: j > (i·ng − h)/mg and, two-sided, j < (i·ng + h)/mg.
  const lowJ = (i: number): number => Math.max(Math.floor((i * ng - h) / mg) + 1, 0);
  const highJ = (i: number): number => (twoSided ? Math.min(Math.ceil((i * ng + h) / mg) - 1, n) : n);
  let prev = new Float64Array(n + 1);
  let cur = new Float64Array(n + 1);
  // Column 0: (0, j) lies above the lower line for every j, and below the upper one for j < h/mg.
  let plo = 0;
  let phi = highJ(0);
  for (let j = 0; j <= phi; j++) prev[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lo = lowJ(i);
    const hi = highJ(i);
    if (hi < lo) return 1; // the band is empty at this column: every path has left it
    for (let j = lo; j <= hi; j++) {
      const left = j >= plo && j <= phi ? prev[j] : 1; // (i − 1, j); cells outside the band hold 1
      if (j === 0) {
        cur[0] = left;
      } else {
        const down = j - 1 >= lo ? cur[j - 1] : 1; // (i, j − 1)
        cur[j] = (i * left + j * down) / (i + j);
      }
    }
    const t = prev;
    prev = cur;
    cur = t;
    plo = lo;
    phi = hi;
  }
  return prev[n];
}
