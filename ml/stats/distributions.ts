/**
 * Distribution functions for the statistical tests: log-gamma, the regularized incomplete gamma and beta
 * functions, and from them the normal, chi-square, Student t and binomial distributions, plus the Kolmogorov
 * distributions behind the KS test. Checked against 40-digit mpmath values: about 1e-13 relative or better in
 * the body, and full relative precision far into the tails (survival functions are computed directly, never
 * as 1 − cdf when the cdf is near 1), because p-values of 1e-10 and quantiles for 99.9% intervals are routine
 * here.
 *
 * Conventions: a NaN argument gives NaN; an argument outside the function's domain (a probability outside
 * [0, 1], a non-positive shape, a non-integer count) raises a RangeError naming the argument.
 */
import { MlErrorCodes, MlRangeError } from '../errors';
import { LN_SQRT_2PI, log1pmx, logBeta, logGamma, stirlingRemainder } from './special';

export { logGamma, logBeta, log1pmx } from './special';
export { kolmogorovSf, kolmogorovAsymptoticSf, smirnovSf } from './kolmogorov';

const SQRT_2PI = 2.506628274631000502415765284811;
const EPS = 2.220446049250313e-16;
const TINY = 1e-300;

function requireFinitePositive(value: number, name: string): void {
  if (!(value > 0) || value === Infinity) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected a finite number > 0, got ${value}`);
}

function requireProbability(value: number, name: string): void {
  if (!(value >= 0 && value <= 1)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected a probability in [0, 1], got ${value}`);
}

// ---------------------------------------------------------------------------------------------------------
// incomplete gamma

/** ln(x^a e^−x / Γ(a)), evaluated through Stirling for large a so that the a ln a terms cancel analytically. */
function logGammaPrefactor(a: number, x: number): number {
  if (a >= 10) {
    // a ln(x/a) − (x − a): through log1pmx near the peak (x − a is then exact), directly away from it,
    // where 1 + (x − a)/a would lose the digits of a small ratio x/a.
    const r = x / a;
    const core = r >= 0.5 && r <= 2 ? a * log1pmx((x - a) / a) : a * Math.log(r) - (x - a);
    return core + 0.5 * Math.log(a) - LN_SQRT_2PI - stirlingRemainder(a);
  }
  return a * Math.log(x) - x - logGamma(a);
}

function gammaSeries(a: number, x: number): number {
  // P(a, x) = x^a e^−x / Γ(a + 1) · Σ x^n / ((a + 1)…(a + n))
  let term = 1;
  let sum = 1;
  for (let n = 1; n < 100000; n++) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * EPS * 0.5) break;
  }
  return Math.exp(logGammaPrefactor(a, x) - Math.log(a)) * sum;
}

function gammaContinuedFraction(a: number, x: number): number {
  // Q(a, x) = x^a e^−x / Γ(a) · 1 / (x + 1 − a − 1(1 − a) / (x + 3 − a − …)), modified Lentz.
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(logGammaPrefactor(a, x)) * h;
}

/** Regularized lower incomplete gamma P(a, x) = γ(a, x) / Γ(a), for a > 0 and x ≥ 0. */
export function regularizedGammaP(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x)) return NaN;
  requireFinitePositive(a, 'a');
  if (!(x >= 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `x: expected a number >= 0, got ${x}`);
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  if (x < a + 1) return Math.min(1, gammaSeries(a, x));
  return 1 - gammaContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = 1 − P(a, x), computed directly in the upper tail. */
export function regularizedGammaQ(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x)) return NaN;
  requireFinitePositive(a, 'a');
  if (!(x >= 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `x: expected a number >= 0, got ${x}`);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  if (x < a + 1) return 1 - Math.min(1, gammaSeries(a, x));
  return gammaContinuedFraction(a, x);
}

// ---------------------------------------------------------------------------------------------------------
// incomplete beta

/**
 * a ln(x/x0) − s (x − x0) with x0 = a/s: one half of the beta prefactor around its mode, where the linear
 * terms of the two halves cancel exactly. log1pmx near the mode (x − x0 is exact there), direct elsewhere.
 */
function centredLog(a: number, s: number, x: number, x0: number): number {
  const r = x / x0;
  if (r >= 0.5 && r <= 2) return a * log1pmx((x - x0) / x0);
  return a * Math.log(r) - s * (x - x0);
}

/** ln(x^a y^b / B(a, b)) with y = 1 − x supplied by the caller (so it can be exact when x is near 1). */
function logBetaPrefactor(a: number, b: number, x: number, y: number): number {
  if (a >= 10 && b >= 10) {
    // Centre on the mode x0 = a/(a+b): the first-order terms cancel exactly, leaving log1pmx terms.
    const s = a + b;
    const x0 = a / s;
    const y0 = b / s;
    return (
      centredLog(a, s, x, x0) +
      centredLog(b, s, y, y0) +
      0.5 * Math.log((a / s) * b) -
      LN_SQRT_2PI -
      (stirlingRemainder(a) + stirlingRemainder(b) - stirlingRemainder(s))
    );
  }
  const lx = x < 0.5 ? Math.log(x) : Math.log1p(-y);
  const ly = y < 0.5 ? Math.log(y) : Math.log1p(-x);
  return a * lx + b * ly - logBeta(a, b);
}

function betaContinuedFraction(a: number, b: number, x: number, y: number): number {
  // The continued fraction of I_x(a, b) (Numerical Recipes §6.4), modified Lentz.
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  // 1 − (a + b)x/(a + 1): near the switch-over point both forms cancel, the direct one by a factor ~(a + b),
  // the one written with y = 1 − x by ~b/(a + 1); take the better.
  let d = b < qap ? (1 - b + qab * y) / qap : 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < 100000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}

/**
 * I_x(a, b) with the complement y = 1 − x passed separately; returns [I_x(a, b), 1 − I_x(a, b)], each computed
 * without cancellation on its small side.
 */
export function incompleteBetaPair(x: number, y: number, a: number, b: number): [number, number] {
  if (x <= 0) return [0, 1];
  if (y <= 0) return [1, 0];
  if (x < (a + 1) / (a + b + 2)) {
    const v = Math.exp(logBetaPrefactor(a, b, x, y)) * betaContinuedFraction(a, b, x, y) / a;
    return [v, 1 - v];
  }
  const w = Math.exp(logBetaPrefactor(b, a, y, x)) * betaContinuedFraction(b, a, y, x) / b;
  return [1 - w, w];
}

/**
 * Regularized incomplete beta I_x(a, b), for 0 ≤ x ≤ 1 and a, b > 0. Relative error about 1e-13, except when
 * one parameter is very large, the other small and x close to 1 − its mean, where the continued fraction
 * loses about max(a, b)·1e-16 (so 1e-10 at a = 10⁶); the Student t functions avoid that region.
 */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (Number.isNaN(x) || Number.isNaN(a) || Number.isNaN(b)) return NaN;
  requireProbability(x, 'x');
  requireFinitePositive(a, 'a');
  requireFinitePositive(b, 'b');
  return incompleteBetaPair(x, 1 - x, a, b)[0];
}

// ---------------------------------------------------------------------------------------------------------
// normal

/** exp(−x²/2), splitting x so that x² carries no rounding error (matters for x beyond 5 or so). */
function expHalfSquare(x: number): number {
  const xh = Math.floor(x * 16) / 16;
  const xl = x - xh;
  return Math.exp(-0.5 * xh * xh) * Math.exp(-0.5 * xl * (x + xh));
}

/** Standard normal density. */
export function normalPdf(x: number): number {
  return expHalfSquare(Math.abs(x)) / SQRT_2PI;
}

/** Upper tail Q(x) for x ≥ 0. */
function normalUpperTail(x: number): number {
  if (x < 1.5) return 0.5 - normalCentral(x);
  if (x > 38.5) return 0;
  // Laplace's continued fraction Q(x) = φ(x) / (x + 1/(x + 2/(x + 3/(x + …)))), modified Lentz.
  let f = x;
  let c = x;
  let d = 0;
  for (let j = 1; j < 5000; j++) {
    d = x + j * d;
    if (d === 0) d = TINY;
    c = x + j / c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return normalPdf(x) / f;
}

/** Φ(x) − ½ for |x| < 1.5, by the series φ(x) Σ x^(2k+1) / (2k+1)!!, all of whose terms have one sign. */
function normalCentral(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let k = 1; k < 200; k++) {
    term *= x2 / (2 * k + 1);
    sum += term;
    if (Math.abs(term) < EPS * 0.25 * Math.abs(sum)) break;
  }
  return normalPdf(x) * sum;
}

/** Standard normal cumulative distribution Φ(x). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) < 1.5) return 0.5 + normalCentral(x);
  return x < 0 ? normalUpperTail(-x) : 1 - normalUpperTail(x);
}

/** Standard normal survival function 1 − Φ(x), accurate in the upper tail. */
export function normalSf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  return normalCdf(-x);
}

/**
 * Standard normal quantile Φ⁻¹(p): Wichura's algorithm AS 241 (PPND16, Applied Statistics 37, 1988,
 * 477–484), rational approximations with relative error about 1e-16 over the whole range.
 */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p)) return NaN;
  requireProbability(p, 'p');
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r +
          45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r +
          133.14166789178437745) * r + 3.3871328727963666080)) /
      (((((((5226.4952788528545610 * r + 28729.085735721942674) * r + 39307.895800092710610) * r +
        21213.794301586595867) * r + 5394.1960214247511077) * r + 687.18700749205790830) * r +
        42.313330701600911252) * r + 1)
    );
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let value: number;
  if (r <= 5) {
    r -= 1.6;
    value =
      (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r + 2.41780725177450611770e-1) * r +
        1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.76949722146069140550) * r +
        4.63033784615654529590) * r + 1.42343711074968357734) /
      (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r + 1.51986665636164571966e-2) * r +
        1.48103976427480074590e-1) * r + 6.89767334985100004550e-1) * r + 1.67638483018380384940) * r +
        2.05319162663775882187) * r + 1);
  } else {
    r -= 5;
    value =
      (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.24266094738807843860e-3) * r +
        2.65321895265761230930e-2) * r + 2.96560571828504891230e-1) * r + 1.78482653991729133580) * r +
        5.46378491116411436990) * r + 6.65790464350110377720) /
      (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r + 1.84631831751005468180e-5) * r +
        7.86869131145613259100e-4) * r + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1) * r +
        5.99832206555887937690e-1) * r + 1);
  }
  return q < 0 ? -value : value;
}

// ---------------------------------------------------------------------------------------------------------
// chi-square and Student t

/** Chi-square cumulative distribution with k > 0 degrees of freedom. */
export function chiSquareCdf(x: number, k: number): number {
  if (Number.isNaN(x) || Number.isNaN(k)) return NaN;
  requireFinitePositive(k, 'k');
  if (x <= 0) return 0;
  return regularizedGammaP(k / 2, x / 2);
}

/** Chi-square survival function (upper-tail p-value) with k > 0 degrees of freedom. */
export function chiSquareSf(x: number, k: number): number {
  if (Number.isNaN(x) || Number.isNaN(k)) return NaN;
  requireFinitePositive(k, 'k');
  if (x <= 0) return 1;
  return regularizedGammaQ(k / 2, x / 2);
}

/**
 * For large df the incomplete-beta continued fraction is evaluated near x = 1 with a huge first parameter and
 * loses digits (about df·1e-16). Hill's asymptotic normalising transformation (Algorithm 396 / 395, Comm. ACM
 * 13(10), 1970) is accurate to about 1e-14 relative there: P(T > t) = Q(z(t)).
 */
const HILL_MIN_DF = 20000;

function hillNormalDeviate(t: number, df: number): number {
  const a = df - 0.5;
  const b = 48 * a * a;
  const y = a * Math.log1p((t * t) / df);
  return (((((-0.4 * y - 3.3) * y - 24) * y - 85.5) / (0.8 * y * y + 100 + b) + y + 3) / b + 1) * Math.sqrt(y);
}

/** P(T > |t|) for Student's t with df degrees of freedom (one tail). */
function studentTTail(t: number, df: number): number {
  const at = Math.abs(t);
  if (df === Infinity) return normalSf(at);
  if (df >= HILL_MIN_DF) return normalSf(hillNormalDeviate(at, df));
  const t2 = at * at;
  if (t2 < df) {
    // I_{t²/(df+t²)}(½, df/2) = P(|T| < |t|): its complement is the two-sided tail.
    const z = t2 / (df + t2);
    const [, upper] = incompleteBetaPair(z, df / (df + t2), 0.5, df / 2);
    return 0.5 * upper;
  }
  const x = t2 === Infinity ? 0 : df / (df + t2);
  const y = t2 === Infinity ? 1 : 1 / (1 + df / t2);
  return 0.5 * incompleteBetaPair(x, y, df / 2, 0.5)[0];
}

/** Student t density. */
function studentTPdf(t: number, df: number): number {
  if (df === Infinity) return normalPdf(t);
  const logc = -logBeta(0.5, df / 2) - 0.5 * Math.log(df);
  return Math.exp(logc - ((df + 1) / 2) * Math.log1p((t * t) / df));
}

/** Student t cumulative distribution with df > 0 degrees of freedom (df = Infinity gives the normal). */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || Number.isNaN(df)) return NaN;
  if (!(df > 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `df: expected a number > 0, got ${df}`);
  const tail = studentTTail(t, df);
  return t > 0 ? 1 - tail : tail;
}

/** Student t quantile with df > 0 degrees of freedom, accurate in the far tails as well. */
export function studentTQuantile(p: number, df: number): number {
  if (Number.isNaN(p) || Number.isNaN(df)) return NaN;
  requireProbability(p, 'p');
  if (!(df > 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `df: expected a number > 0, got ${df}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  if (df === Infinity) return normalQuantile(p);
  const sign = p < 0.5 ? -1 : 1;
  const q = p < 0.5 ? p : 1 - p; // the one-tail probability to hit
  if (df === 1) return sign / Math.tan(Math.PI * q);
  if (df === 2) return (sign * (1 - 2 * q)) / Math.sqrt(2 * q * (1 - q));
  // Two starting points: Cornish–Fisher around the normal quantile, and the power-law tail
  // P(T > t) ≈ c df^((df−1)/2) t^−df. Keep whichever is closer, then Newton on log tail(t) − log q.
  const z = -normalQuantile(q);
  const z2 = z * z;
  const cf =
    z +
    (z * (z2 + 1)) / (4 * df) +
    (z * ((5 * z2 + 16) * z2 + 3)) / (96 * df * df) +
    (z * (((3 * z2 + 19) * z2 + 17) * z2 - 15)) / (384 * df * df * df);
  const logc = -logBeta(0.5, df / 2) - 0.5 * Math.log(df);
  const power = Math.exp((logc + ((df - 1) / 2) * Math.log(df) - Math.log(q)) / df);
  const logq = Math.log(q);
  const g = (t: number): number => Math.log(studentTTail(t, df)) - logq;
  let t = Math.abs(g(cf)) < Math.abs(g(power)) ? cf : power;
  let lo = 0;
  let hi = Infinity;
  for (let iter = 0; iter < 200; iter++) {
    const tail = studentTTail(t, df);
    const gt = Math.log(tail) - logq;
    if (gt === 0) break;
    if (gt > 0) lo = t;
    else hi = t;
    // d/dt log tail(t) = −pdf(t) / tail(t)
    let next = t + (gt * tail) / studentTPdf(t, df);
    if (!(next > lo && next < hi)) next = hi === Infinity ? 2 * t + 1 : (lo + hi) / 2;
    const done = Math.abs(next - t) <= 4 * EPS * Math.abs(t);
    t = next;
    if (done) break;
  }
  return sign * t;
}

// ---------------------------------------------------------------------------------------------------------
// binomial

/** n ln(n/M) + M − n, Loader's "deviance" term, accurate when n ≈ M. */
function bd0(x: number, m: number): number {
  const u = (x - m) / m;
  return m * (log1pmx(u) + u * Math.log1p(u));
}

function requireCount(value: number, name: string): void {
  if (!(Number.isInteger(value) && value >= 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected an integer >= 0, got ${value}`);
}

/**
 * Binomial probability P(X = k) for X ~ Bin(n, p), by Loader's saddle-point form (2000), which stays
 * accurate to the last digits for large n where naive products underflow or lose precision.
 */
export function binomialPmf(k: number, n: number, p: number): number {
  if (Number.isNaN(k) || Number.isNaN(n) || Number.isNaN(p)) return NaN;
  requireCount(n, 'n');
  requireProbability(p, 'p');
  if (!Number.isInteger(k)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `k: expected an integer, got ${k}`);
  if (k < 0 || k > n) return 0;
  const q = 1 - p;
  if (p === 0) return k === 0 ? 1 : 0;
  if (q === 0) return k === n ? 1 : 0;
  if (k === 0) return Math.exp(n * Math.log1p(-p));
  if (k === n) return Math.exp(n * Math.log(p));
  const lc =
    stirlingRemainder(n) - stirlingRemainder(k) - stirlingRemainder(n - k) - bd0(k, n * p) - bd0(n - k, n * q);
  return Math.exp(lc) * Math.sqrt(n / (2 * Math.PI * k * (n - k)));
}

/** Binomial cumulative probability P(X ≤ k) for X ~ Bin(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (Number.isNaN(k) || Number.isNaN(n) || Number.isNaN(p)) return NaN;
  requireCount(n, 'n');
  requireProbability(p, 'p');
  const kk = Math.floor(k);
  if (kk < 0) return 0;
  if (kk >= n) return 1;
  if (p === 0) return 1;
  if (p === 1) return 0;
  // P(X ≤ k) = I_{1−p}(n − k, k + 1)
  return incompleteBetaPair(1 - p, p, n - kk, kk + 1)[0];
}

/** Binomial upper tail P(X ≥ k), computed directly rather than as 1 − cdf. */
export function binomialSf(k: number, n: number, p: number): number {
  if (Number.isNaN(k) || Number.isNaN(n) || Number.isNaN(p)) return NaN;
  requireCount(n, 'n');
  requireProbability(p, 'p');
  const kk = Math.ceil(k);
  if (kk <= 0) return 1;
  if (kk > n) return 0;
  if (p === 0) return 0;
  if (p === 1) return 1;
  // P(X ≥ k) = I_p(k, n − k + 1)
  return incompleteBetaPair(p, 1 - p, kk, n - kk + 1)[0];
}
