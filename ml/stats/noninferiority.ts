/**
 * One-sided tests for promotion decisions on a metric difference Δ = metric(candidate) − metric(production):
 * non-inferiority ("not worse by more than the margin") for guardrail metrics and superiority ("better by at
 * least the minimum improvement") for the primary metric. Both come in a normal-theory form (from an
 * estimate and its standard error, e.g. DeLong's for AUC) and a paired-bootstrap form (from the resampled
 * differences, for any metric). "Better" follows the metric's direction: for a lower-is-better metric such
 * as log loss, non-inferiority means Δ < margin and superiority Δ ≤ −minImprovement.
 *
 * Margins and minimum improvements are non-negative magnitudes in the metric's own units. The one-sided
 * confidence bound is at level 1 − α: the test passes when the bound clears the margin, which for the
 * normal form is the same as p < α.
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import { Metrics } from '../metrics';
import { pairedBootstrap, quantileSorted, type BootstrapResult, type PairedBootstrapOptions } from './bootstrap';
import { normalQuantile, normalSf } from './distributions';

export interface OneSidedTestResult {
  readonly estimate: number;
  readonly standardError: number;
  readonly pValue: number;
  /** One-sided confidence bound at 1 − α: the lower bound when higher is better (upper = +∞), else the upper bound. */
  readonly lower: number;
  readonly upper: number;
  readonly pass: boolean;
  readonly alpha: number;
  readonly higherIsBetter: boolean;
  readonly method: 'normal' | 'bootstrap';
}

export interface NonInferiorityResult extends OneSidedTestResult {
  readonly margin: number;
}

export interface SuperiorityResult extends OneSidedTestResult {
  readonly minImprovement: number;
}

interface NormalInput {
  readonly estimate: number;
  readonly standardError: number;
  readonly higherIsBetter: boolean;
  readonly alpha?: number;
}

function checkCommon(input: NormalInput): number {
  const alpha = input.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `alpha: expected a number in (0, 1), got ${alpha}`);
  if (!Number.isFinite(input.estimate)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `estimate: expected a finite number, got ${input.estimate}`);
  if (!(input.standardError >= 0 && input.standardError < Infinity)) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `standardError: expected a finite number >= 0, got ${input.standardError}`);
  }
  if (typeof input.higherIsBetter !== 'boolean') throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'higherIsBetter: expected a boolean');
  return alpha;
}

function checkMagnitude(value: number, name: string): void {
  if (!(value >= 0 && value < Infinity)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected a finite number >= 0, got ${value}`);
}

/**
 * One-sided z-test of H0: Δ ≤ threshold (higher is better; Δ ≥ threshold when lower is better, with the sign
 * of the threshold given by the caller).
 */
function oneSidedNormal(input: NormalInput, alpha: number, threshold: number): Omit<OneSidedTestResult, 'method'> {
  const { estimate, standardError, higherIsBetter } = input;
  const excess = higherIsBetter ? estimate - threshold : threshold - estimate; // > 0 favours the alternative
  const pValue = standardError > 0 ? normalSf(excess / standardError) : excess > 0 ? 0 : 1;
  const q = normalQuantile(1 - alpha);
  const lower = higherIsBetter ? estimate - q * standardError : -Infinity;
  const upper = higherIsBetter ? Infinity : estimate + q * standardError;
  const pass = higherIsBetter ? lower > threshold : upper < threshold;
  return { estimate, standardError, pValue, lower, upper, pass, alpha, higherIsBetter };
}

/**
 * Non-inferiority z-test: H0 "B is worse than A by at least `margin`" against "worse by less than the margin
 * (or better)". Passes when the one-sided (1 − α) bound of Δ clears −margin (higher is better) or +margin.
 */
export function nonInferiorityTest(input: NormalInput & { readonly margin: number }): NonInferiorityResult {
  const alpha = checkCommon(input);
  checkMagnitude(input.margin, 'margin');
  const threshold = input.higherIsBetter ? -input.margin : input.margin;
  return { ...oneSidedNormal(input, alpha, threshold), margin: input.margin, method: 'normal' };
}

/**
 * Superiority z-test: H0 "B improves on A by at most `minImprovement`" against "by more". With
 * minImprovement = 0 this is the ordinary one-sided test of an improvement.
 */
export function superiorityTest(input: NormalInput & { readonly minImprovement: number }): SuperiorityResult {
  const alpha = checkCommon(input);
  checkMagnitude(input.minImprovement, 'minImprovement');
  const threshold = input.higherIsBetter ? input.minImprovement : -input.minImprovement;
  return { ...oneSidedNormal(input, alpha, threshold), minImprovement: input.minImprovement, method: 'normal' };
}

/**
 * The bootstrap form: the one-sided bound is the α (or 1 − α) percentile of the resampled differences, and
 * the p-value the share of resamples on the null side of the threshold, (1 + count) / (1 + resamples).
 */
function oneSidedBootstrap(boot: BootstrapResult, alpha: number, higherIsBetter: boolean, threshold: number): Omit<OneSidedTestResult, 'method'> {
  const samples = boot.samples;
  if (samples === undefined || samples.length === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'bootstrap: expected resampled differences (run it with keepSamples: true)');
  let nullSide = 0;
  for (let i = 0; i < samples.length; i++) {
    if (higherIsBetter ? samples[i] <= threshold : samples[i] >= threshold) nullSide++;
  }
  const pValue = (1 + nullSide) / (1 + samples.length);
  const lower = higherIsBetter ? quantileSorted(samples, alpha) : -Infinity;
  const upper = higherIsBetter ? Infinity : quantileSorted(samples, 1 - alpha);
  const pass = higherIsBetter ? lower > threshold : upper < threshold;
  return { estimate: boot.estimate, standardError: boot.standardError, pValue, lower, upper, pass, alpha, higherIsBetter };
}

export interface PairedTestOptions extends Omit<PairedBootstrapOptions, 'keepSamples' | 'confidence'> {
  readonly alpha?: number;
}

/**
 * Paired-bootstrap non-inferiority test of metric(B) − metric(A) with the metric's own direction from the
 * Metrics catalogue. Returns the test and the bootstrap it was computed from.
 */
export function pairedNonInferiorityTest(opts: PairedTestOptions & { readonly margin: number }): NonInferiorityResult & { readonly bootstrap: BootstrapResult } {
  const alpha = opts.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `alpha: expected a number in (0, 1), got ${alpha}`);
  checkMagnitude(opts.margin, 'margin');
  const higherIsBetter: boolean = Metrics[opts.metric]?.higherIsBetter;
  const boot = pairedBootstrap({ ...opts, confidence: 1 - 2 * Math.min(alpha, 0.25), keepSamples: true });
  const threshold = higherIsBetter ? -opts.margin : opts.margin;
  return { ...oneSidedBootstrap(boot, alpha, higherIsBetter, threshold), margin: opts.margin, method: 'bootstrap', bootstrap: boot };
}

/** Paired-bootstrap superiority test of metric(B) − metric(A) against a minimum improvement. */
export function pairedSuperiorityTest(opts: PairedTestOptions & { readonly minImprovement: number }): SuperiorityResult & { readonly bootstrap: BootstrapResult } {
  const alpha = opts.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `alpha: expected a number in (0, 1), got ${alpha}`);
  checkMagnitude(opts.minImprovement, 'minImprovement');
  const higherIsBetter: boolean = Metrics[opts.metric]?.higherIsBetter;
  const boot = pairedBootstrap({ ...opts, confidence: 1 - 2 * Math.min(alpha, 0.25), keepSamples: true });
  const threshold = higherIsBetter ? opts.minImprovement : -opts.minImprovement;
  return {
    ...oneSidedBootstrap(boot, alpha, higherIsBetter, threshold),
    minImprovement: opts.minImprovement,
    method: 'bootstrap',
    bootstrap: boot,
  };
}

/** Non-inferiority from a bootstrap already run with `keepSamples: true`. */
export function nonInferiorityFromBootstrap(boot: BootstrapResult, opts: { readonly margin: number; readonly higherIsBetter: boolean; readonly alpha?: number }): NonInferiorityResult {
  const alpha = opts.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `alpha: expected a number in (0, 1), got ${alpha}`);
  checkMagnitude(opts.margin, 'margin');
  const threshold = opts.higherIsBetter ? -opts.margin : opts.margin;
  return { ...oneSidedBootstrap(boot, alpha, opts.higherIsBetter, threshold), margin: opts.margin, method: 'bootstrap' };
}
