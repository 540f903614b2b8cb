/**
 * L2-regularised logistic regression with an unpenalised intercept, minimising scikit-learn's objective
 * C·Σ wᵢ·loglossᵢ + ½‖β‖² exactly. Small and medium feature counts are solved by damped Newton's method (IRLS with a
 * Cholesky factorisation of the (d+1)×(d+1) Hessian), which converges quadratically; wide data uses L-BFGS, whose
 * per-iteration cost does not grow with d². Features are centred and scaled internally for conditioning, with the
 * penalty transformed so that the optimum is that of the raw-scale objective.
 */
import { z } from 'zod';
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import type { FeatureMatrix, Labels } from '../types';
import * as fastmath from './fastmath';
import {
  checkFeatureNames,
  checkFitInputs,
  parseParams,
  parseSerialized,
  type FitOptions,
  type Model,
  type SerializedModel,
  type Trainer,
} from './types';

export const LogisticSolvers = { auto: 'auto', newton: 'newton', lbfgs: 'lbfgs' } as const;
export type LogisticSolver = (typeof LogisticSolvers)[keyof typeof LogisticSolvers];

// Module-level aliases: calls through the module namespace would not be inlined (see fastmath.ts).
const exp = fastmath.exp;
const sigmoid = fastmath.sigmoid;

function softplus(e: number): number {
  return e > 0 ? e + Math.log1p(exp(-e)) : Math.log1p(exp(e));
}

/** Above this many features 'auto' switches from Newton (O(n·d²) per step) to L-BFGS (O(n·d) per step). */
const NEWTON_MAX_FEATURES = 200;

export const logisticParamsSchema = z
  .object({
    /** Inverse regularisation strength, as in scikit-learn: larger C, weaker penalty. */
    C: z.number().positive().finite().default(1),
    /** Convergence: max |∂f/∂θ| / (C·Σw) ≤ tol, i.e. the gradient of the mean-loss form of the objective. */
    tol: z.number().positive().finite().default(1e-6),
    maxIter: z.number().int().min(1).default(100),
    solver: z.enum([LogisticSolvers.auto, LogisticSolvers.newton, LogisticSolvers.lbfgs]).default(LogisticSolvers.auto),
    fitIntercept: z.boolean().default(true),
    /** L-BFGS memory (pairs of past steps kept). */
    lbfgsMemory: z.number().int().min(1).max(100).default(10),
  })
  .strict();

export type LogisticParams = z.output<typeof logisticParamsSchema>;
export type LogisticParamsInput = z.input<typeof logisticParamsSchema>;

export interface LogisticFitInfo {
  readonly iterations: number;
  readonly converged: boolean;
  /** max |∂f/∂θ| / (C·Σw) at the returned coefficients, on the raw feature scale. */
  readonly gradientNorm: number;
  readonly solver: 'newton' | 'lbfgs';
}

const serializedSchema = z.object({
  kind: z.literal('logistic'),
  version: z.literal(1),
  featureNames: z.array(z.string()).min(1),
  coef: z.array(z.number()),
  intercept: z.number(),
  info: z
    .object({
      iterations: z.number().int().min(0),
      converged: z.boolean(),
      gradientNorm: z.number(),
      solver: z.enum(['newton', 'lbfgs']),
    })
    .optional(),
});

export class LogisticModel implements Model {
  readonly kind = 'logistic';

  constructor(
    readonly featureNames: readonly string[],
    readonly coef: Float64Array,
    readonly intercept: number,
    readonly info?: LogisticFitInfo,
  ) {
    if (coef.length !== featureNames.length) {
      throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `coef: expected ${featureNames.length} coefficients, one per feature, got ${coef.length}`);
    }
  }

  /** The linear predictor b + xβ (log-odds). */
  decisionFunction(x: FeatureMatrix): Float64Array {
    checkFeatureNames(this.kind, this.featureNames, x);
    const n = x.nRows;
    const eta = new Float64Array(n).fill(this.intercept);
    for (let j = 0; j < this.coef.length; j++) {
      const c = x.columns[j];
      const bj = this.coef[j];
      for (let i = 0; i < n; i++) eta[i] += bj * c[i];
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(eta[i])) throw nonFiniteError(x, i);
    }
    return eta;
  }

  predictProba(x: FeatureMatrix): Float64Array {
    const eta = this.decisionFunction(x);
    for (let i = 0; i < eta.length; i++) eta[i] = sigmoid(eta[i]);
    return eta;
  }

  toJSON(): SerializedModel {
    return {
      kind: this.kind,
      version: 1,
      featureNames: [...this.featureNames],
      coef: Array.from(this.coef),
      intercept: this.intercept,
      ...(this.info ? { info: { ...this.info } } : {}),
    };
  }

  static fromJSON(json: unknown): LogisticModel {
    const m = parseSerialized('logistic', serializedSchema, json);
    if (m.coef.length !== m.featureNames.length) {
      throw new MlTypeError(
        MlErrorCodes.MODEL_FORMAT,
        `logistic model JSON.coef: expected ${m.featureNames.length} coefficients, one per feature, got ${m.coef.length}`,
      );
    }
    return new LogisticModel(m.featureNames, Float64Array.from(m.coef), m.intercept, m.info);
  }
}

function nonFiniteError(x: FeatureMatrix, i: number): RangeError {
  for (let j = 0; j < x.columns.length; j++) {
    const v = x.columns[j][i];
    if (!Number.isFinite(v)) {
      return new MlRangeError(
        MlErrorCodes.INPUT_INVALID,
        `x.columns[${j}] (${x.names[j]}) row ${i}: logistic regression needs finite values, got ${v}`,
      );
    }
  }
  return new MlRangeError(MlErrorCodes.INPUT_INVALID, `x row ${i}: the linear predictor overflowed (feature values too large)`);
}

export class LogisticRegressionTrainer implements Trainer<LogisticParams> {
  readonly kind = 'logistic';
  readonly params: Readonly<LogisticParams>;

  constructor(params?: LogisticParamsInput) {
    this.params = parseParams('logistic', logisticParamsSchema, params);
  }

  fit(x: FeatureMatrix, y: Labels, opts?: FitOptions): LogisticModel {
    checkFitInputs(x, y, opts);
    return fitLogistic(x, y, this.params, opts);
  }
}

/** Shorthand for `new LogisticRegressionTrainer(params)`. */
export function logisticRegression(params?: LogisticParamsInput): LogisticRegressionTrainer {
  return new LogisticRegressionTrainer(params);
}

/**
 * The problem in standardised coordinates zᵢⱼ = (xᵢⱼ − μⱼ)/sⱼ with coefficients γⱼ = βⱼ·sⱼ and the intercept last
 * (θ = [γ, b]); the penalty ½Σ(γⱼ/sⱼ)² keeps the raw-scale objective.
 */
class Problem {
  readonly n: number;
  readonly d: number;
  /** Dimension of θ: d, plus one for the intercept. */
  readonly p: number;
  readonly z: Float64Array[];
  /** z plus a column of ones for the intercept, so gradient and Hessian treat it like any column. */
  readonly zAll: Float64Array[];
  readonly mu: Float64Array;
  readonly scale: Float64Array;
  /** Penalty diagonal on γ: 1/sⱼ². */
  readonly pen: Float64Array;
  /** C·wᵢ (the per-row loss multiplier). */
  readonly cw: Float64Array;
  readonly y: Labels;
  /** C·Σw, the scale that turns the objective into a mean. */
  readonly total: number;
  readonly fitIntercept: boolean;

  constructor(x: FeatureMatrix, y: Labels, C: number, w: Float64Array | undefined, fitIntercept: boolean) {
    const n = x.nRows;
    const d = x.columns.length;
    this.n = n;
    this.d = d;
    this.p = d + (fitIntercept ? 1 : 0);
    this.y = y;
    this.fitIntercept = fitIntercept;
    this.cw = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const ci = C * (w ? w[i] : 1);
      this.cw[i] = ci;
      total += ci;
    }
    this.total = total;
    this.mu = new Float64Array(d);
    this.scale = new Float64Array(d);
    this.pen = new Float64Array(d);
    this.z = new Array<Float64Array>(d);
    for (let j = 0; j < d; j++) {
      const c = x.columns[j];
      // Weighted moments, so that a weight of k standardises exactly like k copies of the row.
      let mean = 0;
      let sw = 0;
      for (let i = 0; i < n; i++) {
        const v = c[i];
        if (!Number.isFinite(v)) {
          throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `x.columns[${j}] (${x.names[j]}) row ${i}: logistic regression needs finite values, got ${v}`);
        }
        const wi = w ? w[i] : 1;
        mean += wi * v;
        sw += wi;
      }
      mean /= sw;
      let ss = 0;
      for (let i = 0; i < n; i++) ss += (w ? w[i] : 1) * (c[i] - mean) * (c[i] - mean);
      // Without an intercept, centring would change the model, so only scale (by the root mean square).
      const centre = fitIntercept ? mean : 0;
      let s = fitIntercept ? Math.sqrt(ss / sw) : Math.sqrt(ss / sw + mean * mean);
      if (!(s > 1e-300) || !Number.isFinite(s)) s = 1;
      const inv = 1 / s;
      const zc = new Float64Array(n);
      for (let i = 0; i < n; i++) zc[i] = (c[i] - centre) * inv;
      this.z[j] = zc;
      this.mu[j] = centre;
      this.scale[j] = s;
      this.pen[j] = inv * inv;
    }
    this.zAll = fitIntercept ? [...this.z, new Float64Array(n).fill(1)] : this.z;
  }

  /** η = Zγ + b into `eta`. */
  linear(theta: Float64Array, eta: Float64Array): void {
    const n = this.n;
    eta.fill(this.fitIntercept ? theta[this.d] : 0);
    for (let j = 0; j < this.d; j++) {
      const zc = this.z[j];
      const g = theta[j];
      if (g === 0) continue;
      for (let i = 0; i < n; i++) eta[i] += g * zc[i];
    }
  }

  penalty(theta: Float64Array): number {
    let s = 0;
    for (let j = 0; j < this.d; j++) s += this.pen[j] * theta[j] * theta[j];
    return 0.5 * s;
  }

  /**
   * The change of Σ C·wᵢ·ℓᵢ when η moves to η + t·δ, computed term by term as
   * softplus(η + x) − softplus(η) = log1p(σ(η)·expm1(x)), which stays accurate for the tiny steps near the optimum
   * where the difference of two full sums would be lost in rounding. `p` holds σ(η).
   */
  lossChange(eta: Float64Array, p: Float64Array, delta: Float64Array, t: number): number {
    const n = this.n;
    const y = this.y;
    const cw = this.cw;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const x = t * delta[i];
      let d = Math.log1p(p[i] * Math.expm1(x));
      // σ(η) rounds to 1 for large η, and expm1 overflows for huge steps: fall back to the plain difference.
      if (!(d > -Infinity && d < Infinity)) d = softplus(eta[i] + x) - softplus(eta[i]);
      s += cw[i] * (d - (y[i] === 1 ? x : 0));
    }
    return s;
  }

  /** The penalty's change ½Σ penⱼ·((θⱼ + t·dⱼ)² − θⱼ²), without cancellation. */
  penaltyChange(theta: Float64Array, dir: Float64Array, t: number): number {
    let s = 0;
    for (let j = 0; j < this.d; j++) s += this.pen[j] * t * dir[j] * (theta[j] + 0.5 * t * dir[j]);
    return s;
  }

  /**
   * Fills p = σ(η), r = C·wᵢ·(pᵢ − yᵢ) and, when asked, h = C·wᵢ·pᵢ(1 − pᵢ). Returns the loss Σ C·wᵢ·ℓᵢ at η
   * when `withLoss` (only progress reports need it, and its log1p per row is not free), else NaN.
   */
  residuals(eta: Float64Array, p: Float64Array, r: Float64Array, h: Float64Array | null, withLoss: boolean): number {
    const n = this.n;
    const y = this.y;
    const cw = this.cw;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const e = eta[i];
      // exp of a non-positive argument only, so it cannot overflow.
      const q = exp(-Math.abs(e));
      const pi = e >= 0 ? 1 / (1 + q) : q / (1 + q);
      const yi = y[i];
      const ci = cw[i];
      p[i] = pi;
      r[i] = ci * (pi - yi);
      if (h !== null) h[i] = ci * pi * (1 - pi);
      if (withLoss) s += ci * ((e > 0 ? e : 0) + Math.log1p(q) - (yi === 1 ? e : 0));
    }
    return withLoss ? s : NaN;
  }

  /** ∇f from residuals: Zᵀr + penalty, and Σr for the intercept. */
  gradient(theta: Float64Array, r: Float64Array, grad: Float64Array): void {
    dotMany(r, this.zAll, 0, grad);
    for (let j = 0; j < this.d; j++) grad[j] += this.pen[j] * theta[j];
  }

  /** The Hessian Zᵀ diag(h) Z + diag(pen) (Z with the column of ones when there is an intercept), row-major. */
  hessian(h: Float64Array, hz: Float64Array, row: Float64Array, hess: Float64Array): void {
    const n = this.n;
    const p = this.p;
    const cols = this.zAll;
    for (let j = 0; j < p; j++) {
      const zj = cols[j];
      for (let i = 0; i < n; i++) hz[i] = h[i] * zj[i];
      dotMany(hz, cols, j, row);
      for (let k = j; k < p; k++) {
        hess[j * p + k] = row[k];
        hess[k * p + j] = row[k];
      }
      if (j < this.d) hess[j * p + j] += this.pen[j];
    }
  }

  /**
   * max |∂f/∂θ| on the raw scale, per unit of C·Σw: ∂f/∂βⱼ = sⱼ·∂f/∂γⱼ + μⱼ·∂f/∂b, since b' = b + Σβⱼμⱼ.
   */
  rawGradientNorm(grad: Float64Array): number {
    const gb = this.fitIntercept ? grad[this.d] : 0;
    let m = Math.abs(gb);
    for (let j = 0; j < this.d; j++) m = Math.max(m, Math.abs(this.scale[j] * grad[j] + this.mu[j] * gb));
    return m / this.total;
  }

  /** θ for raw-scale coefficients and intercept (the inverse of toRaw), for warm starts. */
  fromRaw(coef: Float64Array, intercept: number): Float64Array {
    const theta = new Float64Array(this.p);
    let b = intercept;
    for (let j = 0; j < this.d; j++) {
      theta[j] = coef[j] * this.scale[j];
      b += coef[j] * this.mu[j];
    }
    if (this.fitIntercept) theta[this.d] = b;
    return theta;
  }

  /** Coefficients and intercept on the raw feature scale. */
  toRaw(theta: Float64Array): { coef: Float64Array; intercept: number } {
    const coef = new Float64Array(this.d);
    let intercept = this.fitIntercept ? theta[this.d] : 0;
    for (let j = 0; j < this.d; j++) {
      coef[j] = theta[j] / this.scale[j];
      intercept -= coef[j] * this.mu[j];
    }
    return { coef, intercept };
  }
}

/**
 * out[k] = Σᵢ a[i]·cols[k][i] for k = from..cols.length − 1. Four columns share a pass, each with its own
 * accumulator: a single running sum is bound by the latency of floating-point addition.
 */
function dotMany(a: Float64Array, cols: readonly Float64Array[], from: number, out: Float64Array): void {
  const n = a.length;
  const m = cols.length;
  let k = from;
  for (; k + 4 <= m; k += 4) {
    const c0 = cols[k];
    const c1 = cols[k + 1];
    const c2 = cols[k + 2];
    const c3 = cols[k + 3];
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = 0; i < n; i++) {
      const ai = a[i];
      s0 += ai * c0[i];
      s1 += ai * c1[i];
      s2 += ai * c2[i];
      s3 += ai * c3[i];
    }
    out[k] = s0;
    out[k + 1] = s1;
    out[k + 2] = s2;
    out[k + 3] = s3;
  }
  for (; k < m; k++) {
    const c = cols[k];
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      s0 += a[i] * c[i];
      s1 += a[i + 1] * c[i + 1];
      s2 += a[i + 2] * c[i + 2];
      s3 += a[i + 3] * c[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * c[i];
    out[k] = s0 + s1 + (s2 + s3);
  }
}

function fitLogistic(x: FeatureMatrix, y: Labels, params: LogisticParams, opts: FitOptions | undefined): LogisticModel {
  const prob = new Problem(x, y, params.C, opts?.sampleWeight, params.fitIntercept);
  const solver: 'newton' | 'lbfgs' =
    params.solver === 'auto' ? (prob.d <= NEWTON_MAX_FEATURES ? 'newton' : 'lbfgs') : params.solver;
  // A checkpoint of this fit is further along than the model it was warm-started from, so it wins.
  const init = opts?.init ?? opts?.warmStart;
  if (init !== undefined && !(init instanceof LogisticModel)) {
    throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `${opts?.init ? 'init' : 'warmStart'}: expected a logistic model to warm-start from, got ${init.kind}`);
  }
  // A warm start only moves the starting point: the objective is strictly convex, so the solver reaches the same
  // optimum (to within tol), not the same sequence of iterates.
  const theta0 = init ? prob.fromRaw(init.coef, init.intercept) : new Float64Array(prob.p);
  const hooks: SolveHooks = {
    onProgress: opts?.onProgress,
    checkpoint: opts?.onCheckpoint
      ? {
          every: opts.checkpointEvery ?? 10,
          emit: (theta, iterations) => {
            const raw = prob.toRaw(theta);
            opts.onCheckpoint!(new LogisticModel([...x.names], raw.coef, raw.intercept), iterations);
          },
        }
      : undefined,
  };
  const res = solver === 'newton' ? newton(prob, params, theta0, hooks) : lbfgs(prob, params, theta0, hooks);
  const { coef, intercept } = prob.toRaw(res.theta);
  return new LogisticModel([...x.names], coef, intercept, {
    iterations: res.iterations,
    converged: res.converged,
    gradientNorm: res.gradientNorm,
    solver,
  });
}

interface SolveResult {
  theta: Float64Array;
  iterations: number;
  converged: boolean;
  gradientNorm: number;
}

interface SolveHooks {
  readonly onProgress: FitOptions['onProgress'];
  readonly checkpoint?: { readonly every: number; readonly emit: (theta: Float64Array, iterations: number) => void };
}

function afterStep(hooks: SolveHooks, theta: Float64Array, iterations: number, total: number, loss: number): void {
  // The checkpoint before the progress report of the same step, so a listener can send both in one heartbeat.
  const c = hooks.checkpoint;
  if (c && iterations % c.every === 0) c.emit(theta, iterations);
  hooks.onProgress?.({ iteration: iterations, total, loss });
}

/**
 * Backtracking (Armijo) line search along `dir`, with η moving along `etaDir` = Z·dir so each trial costs O(n), and
 * the decrease measured directly (see lossChange). Returns the accepted step, or 0 if none decreases the objective.
 */
function lineSearch(
  prob: Problem,
  theta: Float64Array,
  dir: Float64Array,
  eta: Float64Array,
  p: Float64Array,
  etaDir: Float64Array,
  slope: number,
  t0: number,
): number {
  let t = t0;
  for (let k = 0; k < 50; k++) {
    const change = prob.lossChange(eta, p, etaDir, t) + prob.penaltyChange(theta, dir, t);
    if (change <= 1e-4 * t * slope) return t;
    t *= 0.5;
  }
  return 0;
}

function newton(prob: Problem, params: LogisticParams, theta0: Float64Array, hooks: SolveHooks): SolveResult {
  const { n, p } = prob;
  const theta = Float64Array.from(theta0);
  const wantLoss = hooks.onProgress !== undefined;
  const eta = new Float64Array(n);
  const prb = new Float64Array(n);
  const r = new Float64Array(n);
  const h = new Float64Array(n);
  const hz = new Float64Array(n);
  const etaDir = new Float64Array(n);
  const grad = new Float64Array(p);
  const hess = new Float64Array(p * p);
  const hessRow = new Float64Array(p);
  const dir = new Float64Array(p);
  prob.linear(theta, eta);
  let iterations = 0;
  let gnorm = Infinity;
  prob.residuals(eta, prb, r, h, false);
  for (;;) {
    prob.gradient(theta, r, grad);
    gnorm = prob.rawGradientNorm(grad);
    if (gnorm <= params.tol) return { theta, iterations, converged: true, gradientNorm: gnorm };
    if (iterations >= params.maxIter) break;
    prob.hessian(h, hz, hessRow, hess);
    for (let j = 0; j < p; j++) dir[j] = -grad[j];
    choleskySolve(hess, p, dir);
    let slope = 0;
    for (let j = 0; j < p; j++) slope += grad[j] * dir[j];
    if (!(slope < 0)) break; // not a descent direction: the Hessian is numerically singular
    prob.linear(dir, etaDir);
    const t = lineSearch(prob, theta, dir, eta, prb, etaDir, slope, 1);
    iterations++;
    if (t === 0) break;
    for (let j = 0; j < p; j++) theta[j] += t * dir[j];
    for (let i = 0; i < n; i++) eta[i] += t * etaDir[i];
    const loss = prob.residuals(eta, prb, r, h, wantLoss);
    afterStep(hooks, theta, iterations, params.maxIter, (loss + prob.penalty(theta)) / prob.total);
  }
  prob.gradient(theta, r, grad);
  gnorm = prob.rawGradientNorm(grad);
  return { theta, iterations, converged: gnorm <= params.tol, gradientNorm: gnorm };
}

/**
 * Solves A·x = b in place (b becomes x) for a symmetric positive definite A (row-major p×p, overwritten by its
 * Cholesky factor). Adds a growing ridge if rounding makes A indefinite.
 */
function choleskySolve(a: Float64Array, p: number, b: Float64Array): void {
  const orig = Float64Array.from(a);
  let maxDiag = 0;
  for (let j = 0; j < p; j++) maxDiag = Math.max(maxDiag, Math.abs(a[j * p + j]));
  let jitter = 0;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (attempt > 0) {
      jitter = jitter === 0 ? maxDiag * 1e-12 : jitter * 10;
      a.set(orig);
      for (let j = 0; j < p; j++) a[j * p + j] += jitter;
    }
    if (choleskyInPlace(a, p)) {
      // Forward then back substitution with L (lower triangle of a).
      for (let i = 0; i < p; i++) {
        let s = b[i];
        for (let k = 0; k < i; k++) s -= a[i * p + k] * b[k];
        b[i] = s / a[i * p + i];
      }
      for (let i = p - 1; i >= 0; i--) {
        let s = b[i];
        for (let k = i + 1; k < p; k++) s -= a[k * p + i] * b[k];
        b[i] = s / a[i * p + i];
      }
      return;
    }
  }
  b.fill(0);
}

function choleskyInPlace(a: Float64Array, p: number): boolean {
  for (let j = 0; j < p; j++) {
    let s = a[j * p + j];
    for (let k = 0; k < j; k++) s -= a[j * p + k] * a[j * p + k];
    if (!(s > 0)) return false;
    const l = Math.sqrt(s);
    a[j * p + j] = l;
    for (let i = j + 1; i < p; i++) {
      let t = a[i * p + j];
      for (let k = 0; k < j; k++) t -= a[i * p + k] * a[j * p + k];
      a[i * p + j] = t / l;
    }
  }
  return true;
}

function lbfgs(prob: Problem, params: LogisticParams, theta0: Float64Array, hooks: SolveHooks): SolveResult {
  const { n, p } = prob;
  const m = params.lbfgsMemory;
  const theta = Float64Array.from(theta0);
  const wantLoss = hooks.onProgress !== undefined;
  const eta = new Float64Array(n);
  const prb = new Float64Array(n);
  const r = new Float64Array(n);
  const etaDir = new Float64Array(n);
  const grad = new Float64Array(p);
  const gradPrev = new Float64Array(p);
  const dir = new Float64Array(p);
  const sHist = Array.from({ length: m }, () => new Float64Array(p));
  const yHist = Array.from({ length: m }, () => new Float64Array(p));
  const rho = new Float64Array(m);
  const alpha = new Float64Array(m);
  let stored = 0;
  let head = 0;
  prob.linear(theta, eta);
  prob.residuals(eta, prb, r, null, false);
  prob.gradient(theta, r, grad);
  let gnorm = prob.rawGradientNorm(grad);
  let iterations = 0;
  while (gnorm > params.tol && iterations < params.maxIter) {
    // Two-loop recursion: dir = −H·grad with H the L-BFGS inverse-Hessian estimate.
    for (let j = 0; j < p; j++) dir[j] = -grad[j];
    for (let k = 0; k < stored; k++) {
      const idx = (head - 1 - k + m) % m;
      let a = 0;
      for (let j = 0; j < p; j++) a += sHist[idx][j] * dir[j];
      a *= rho[idx];
      alpha[idx] = a;
      for (let j = 0; j < p; j++) dir[j] -= a * yHist[idx][j];
    }
    let t0 = 1;
    if (stored > 0) {
      const last = (head - 1 + m) % m;
      let sy = 0;
      let yy = 0;
      for (let j = 0; j < p; j++) {
        sy += sHist[last][j] * yHist[last][j];
        yy += yHist[last][j] * yHist[last][j];
      }
      const gamma = sy / yy;
      for (let j = 0; j < p; j++) dir[j] *= gamma;
    } else {
      let gg = 0;
      for (let j = 0; j < p; j++) gg += grad[j] * grad[j];
      t0 = 1 / Math.sqrt(gg);
    }
    for (let k = stored - 1; k >= 0; k--) {
      const idx = (head - 1 - k + m) % m;
      let b = 0;
      for (let j = 0; j < p; j++) b += yHist[idx][j] * dir[j];
      b *= rho[idx];
      for (let j = 0; j < p; j++) dir[j] += sHist[idx][j] * (alpha[idx] - b);
    }
    let slope = 0;
    for (let j = 0; j < p; j++) slope += grad[j] * dir[j];
    if (!(slope < 0)) {
      // The estimate lost positive definiteness (rounding); restart from steepest descent.
      stored = 0;
      for (let j = 0; j < p; j++) dir[j] = -grad[j];
      slope = 0;
      for (let j = 0; j < p; j++) slope += grad[j] * dir[j];
    }
    prob.linear(dir, etaDir);
    const t = lineSearch(prob, theta, dir, eta, prb, etaDir, slope, t0);
    iterations++;
    if (t === 0) break;
    gradPrev.set(grad);
    for (let j = 0; j < p; j++) theta[j] += t * dir[j];
    for (let i = 0; i < n; i++) eta[i] += t * etaDir[i];
    const loss = prob.residuals(eta, prb, r, null, wantLoss);
    prob.gradient(theta, r, grad);
    gnorm = prob.rawGradientNorm(grad);
    const s = sHist[head];
    const yv = yHist[head];
    let sy = 0;
    for (let j = 0; j < p; j++) {
      s[j] = t * dir[j];
      yv[j] = grad[j] - gradPrev[j];
      sy += s[j] * yv[j];
    }
    if (sy > 1e-300) {
      rho[head] = 1 / sy;
      head = (head + 1) % m;
      stored = Math.min(stored + 1, m);
    }
    afterStep(hooks, theta, iterations, params.maxIter, (loss + prob.penalty(theta)) / prob.total);
  }
  return { theta, iterations, converged: gnorm <= params.tol, gradientNorm: gnorm };
}
