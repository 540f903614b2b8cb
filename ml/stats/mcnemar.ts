/**
 * McNemar's test for two classifiers scored on the same examples: only the discordant pairs carry
 * information, b = examples A gets right and B gets wrong, c = the reverse. Under "equally accurate" each
 * discordant pair is a fair coin, so the exact test is a binomial test of c out of b + c at ½. The
 * continuity-corrected chi-square statistic (|b − c| − 1)² / (b + c) is reported alongside, as the classical
 * large-sample form (statsmodels' `mcnemar(exact=False, correction=True)`).
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import { binomialCdf, binomialSf, chiSquareSf } from './distributions';

export const McnemarAlternatives = { twoSided: 'two-sided', greater: 'greater', less: 'less' } as const;
/** 'greater': B is right more often than A on the discordant pairs (c > b); 'less': the reverse. */
export type McnemarAlternative = (typeof McnemarAlternatives)[keyof typeof McnemarAlternatives];

export interface McnemarOptions {
  readonly alternative?: McnemarAlternative;
}

export interface McnemarResult {
  /** A right, B wrong. */
  readonly b: number;
  /** A wrong, B right. */
  readonly c: number;
  /** Exact binomial p-value for the chosen alternative (two-sided: min(1, 2 · P(X ≤ min(b, c)))). */
  readonly pValue: number;
  /** (|b − c| − 1)² / (b + c); 0 when there are no discordant pairs. */
  readonly statistic: number;
  /** Two-sided p-value of `statistic` against chi-square with one degree of freedom. */
  readonly chiSquarePValue: number;
  readonly alternative: McnemarAlternative;
}

function requireCount(v: number, name: string): void {
  if (!(Number.isInteger(v) && v >= 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected an integer >= 0, got ${v}`);
}

/** McNemar's test from the discordant counts b (A right, B wrong) and c (A wrong, B right). */
export function mcnemarFromCounts(b: number, c: number, opts: McnemarOptions = {}): McnemarResult {
  requireCount(b, 'b');
  requireCount(c, 'c');
  const alternative = opts.alternative ?? 'two-sided';
  if (!Object.values(McnemarAlternatives).includes(alternative)) {
    throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `alternative: expected one of two-sided, greater, less, got ${String(alternative)}`);
  }
  const n = b + c;
  let pValue: number;
  if (n === 0) pValue = 1;
  else if (alternative === 'two-sided') pValue = Math.min(1, 2 * binomialCdf(Math.min(b, c), n, 0.5));
  else if (alternative === 'greater') pValue = binomialSf(c, n, 0.5);
  else pValue = binomialCdf(c, n, 0.5);
  const statistic = n === 0 ? 0 : (Math.abs(b - c) - 1) ** 2 / n;
  return { b, c, pValue, statistic, chiSquarePValue: n === 0 ? 1 : chiSquareSf(statistic, 1), alternative };
}

/**
 * McNemar's test from per-example correctness (1 = correct) of model A and model B on the same examples.
 */
export function mcnemarExact(correctA: Uint8Array, correctB: Uint8Array, opts: McnemarOptions = {}): McnemarResult {
  if (!(correctA instanceof Uint8Array)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'correctA: expected a Uint8Array of 0/1');
  if (!(correctB instanceof Uint8Array)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'correctB: expected a Uint8Array of 0/1');
  if (correctA.length !== correctB.length) {
    throw new MlRangeError(
      MlErrorCodes.INPUT_INVALID,
      `correctA and correctB: expected equal lengths, got correctA.length=${correctA.length} and correctB.length=${correctB.length}`,
    );
  }
  let b = 0;
  let c = 0;
  for (let i = 0; i < correctA.length; i++) {
    const a = correctA[i];
    const bb = correctB[i];
    if (a > 1) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `correctA[${i}]: expected 0 or 1, got ${a}`);
    if (bb > 1) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `correctB[${i}]: expected 0 or 1, got ${bb}`);
    if (a === 1 && bb === 0) b++;
    else if (a === 0 && bb === 1) c++;
  }
  return mcnemarFromCounts(b, c, opts);
}
