/**
 * Low-level special functions shared by the distribution functions and the Kolmogorov distributions: log-gamma,
 * log-beta, Stirling's remainder and log(1 + u) − u, each written to keep full relative precision where the
 * textbook formula cancels (log-gamma near its zeros at 1 and 2, log-beta and gamma prefactors for large
 * arguments).
 */
import { MlErrorCodes, MlRangeError } from '../errors';

export const LN_SQRT_2PI = 0.91893853320467274178032973640562;
const EULER_GAMMA = 0.57721566490153286060651209008240;
const EPS = 2.220446049250313e-16;

function requireFinitePositive(value: number, name: string): void {
  if (!(value > 0) || value === Infinity) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected a finite number > 0, got ${value}`);
}

/**
 * Stirling's remainder δ(x) = lnΓ(x) − [(x − ½) ln x − x + ½ ln 2π]. The asymptotic series is used from x = 10,
 * where seven terms leave an error below 1e-17; below that it is computed from logGamma.
 */
export function stirlingRemainder(x: number): number {
  if (x >= 10) {
    const r = 1 / x;
    const r2 = r * r;
    return (
      r *
      (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - r2 * (691 / 360360 - r2 / 156))))))
    );
  }
  return logGamma(x) - ((x - 0.5) * Math.log(x) - x + LN_SQRT_2PI);
}

/**
 * Coefficients of lnΓ(2 + z) = (1 − γ) z + Σ_{k≥2} (−1)^k (ζ(k) − 1) z^k / k. ζ(k) − 1 comes from the
 * Euler–Maclaurin formula with 18 explicit terms, exact to the last bit for every k used.
 */
const LGAMMA2_COEFFS: Float64Array = (() => {
  const bernoulliOverFactorial = [1 / 6 / 2, -1 / 30 / 24, 1 / 42 / 720, -1 / 30 / 40320, 5 / 66 / 3628800, -691 / 2730 / 479001600];
  const N = 20;
  const out = new Float64Array(42);
  for (let k = 2; k < out.length; k++) {
    let tail = Math.pow(N, 1 - k) / (k - 1) + Math.pow(N, -k) / 2;
    let rising = k; // k (k+1) … (k + 2j − 2)
    for (let j = 1; j <= bernoulliOverFactorial.length; j++) {
      tail += bernoulliOverFactorial[j - 1] * rising * Math.pow(N, -k - 2 * j + 1);
      rising *= (k + 2 * j - 1) * (k + 2 * j);
    }
    let s = tail;
    for (let n = N - 1; n >= 2; n--) s += Math.pow(n, -k);
    out[k] = ((k % 2 === 0 ? 1 : -1) * s) / k;
  }
  return out;
})();

/** lnΓ(2 + z) for |z| ≤ 0.5, keeping relative accuracy at the zero z = 0 (and so near Γ(1) via recursion). */
function logGammaNear2(z: number): number {
  let sum = 0;
  for (let k = LGAMMA2_COEFFS.length - 1; k >= 2; k--) sum = sum * z + LGAMMA2_COEFFS[k];
  return z * (1 - EULER_GAMMA + z * sum);
}

function sinPi(x: number): number {
  // Reduce exactly to r in [−1, 1], then to |r| ≤ ½, so that small arguments keep their relative precision.
  const r = x - 2 * Math.round(x / 2);
  const a = Math.abs(r);
  const s = a > 0.5 ? Math.sin(Math.PI * (1 - a)) : Math.sin(Math.PI * a);
  return r < 0 ? -s : s;
}

/** ln|Γ(x)|: +Infinity at the poles (0 and negative integers). */
export function logGamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return Infinity;
  if (x <= 0) {
    if (Number.isInteger(x)) return Infinity;
    return Math.log(Math.PI / Math.abs(sinPi(x))) - logGamma(1 - x);
  }
  if (x >= 10) return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingRemainder(x);
  if (x < 0.5) return logGammaNear2(x) - Math.log(x) - Math.log1p(x);
  if (x < 1.5) return logGammaNear2(x - 1) - Math.log1p(x - 1);
  if (x < 2.5) return logGammaNear2(x - 2);
  let prod = 1;
  let y = x;
  while (y >= 2.5) {
    y -= 1;
    prod *= y;
  }
  return Math.log(prod) + logGammaNear2(y - 2);
}

/** ln B(a, b) for a, b > 0, without the cancellation of lnΓ(a) + lnΓ(b) − lnΓ(a + b) for large arguments. */
export function logBeta(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  requireFinitePositive(a, 'a');
  requireFinitePositive(b, 'b');
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (lo >= 10) {
    return (
      -0.5 * Math.log(hi) +
      LN_SQRT_2PI +
      stirlingRemainder(lo) +
      stirlingRemainder(hi) -
      stirlingRemainder(lo + hi) +
      (lo - 0.5) * Math.log(lo / (lo + hi)) +
      hi * Math.log1p(-lo / (lo + hi))
    );
  }
  if (hi >= 10) {
    // lnΓ(hi) − lnΓ(hi + lo) by Stirling, so the large parts cancel analytically.
    const corr = stirlingRemainder(hi) - stirlingRemainder(hi + lo);
    return logGamma(lo) + corr + lo - lo * Math.log(hi) - (hi + lo - 0.5) * Math.log1p(lo / hi);
  }
  return logGamma(lo) + logGamma(hi) - logGamma(lo + hi);
}

/** log(1 + u) − u, accurate also where the two terms nearly cancel (small u). */
export function log1pmx(u: number): number {
  if (Math.abs(u) > 0.5) return Math.log1p(u) - u;
  // log1p(u) = 2 atanh(s), s = u / (2 + u); 2s − u = −s u, so the leading terms cancel analytically.
  const s = u / (2 + u);
  const s2 = s * s;
  let term = s * s2;
  let sum = 0;
  for (let k = 3; k < 200; k += 2) {
    const t = term / k;
    sum += t;
    if (Math.abs(t) <= EPS * 1e-3 * Math.abs(sum)) break;
    term *= s2;
  }
  return -s * u + 2 * sum;
}

