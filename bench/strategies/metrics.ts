/**
 * The benchmark's figures, computed from what production actually predicted (the prediction log) against the true
 * labels: prequential accuracy, Cohen's kappa (against chance agreement from the marginals) and kappa-temporal
 * (against the "no change" classifier that repeats the previous row's label, which is strong on autocorrelated
 * labels such as Elec2's; Žliobaitė et al. 2015). Also the one-sided binomial bound the honesty check uses.
 */
import { binomialSf } from '../../ml/stats/distributions';

export interface Confusion {
  /** Rows scored. */
  n: number;
  correct: number;
  /** Predicted positive, and labelled positive. */
  predictedPositive: number;
  actualPositive: number;
  /** Rows where the "no change" classifier (previous row's label) is right; the first row of the stream has none. */
  noChangeCorrect: number;
  noChangeRows: number;
}

export function emptyConfusion(): Confusion {
  return { n: 0, correct: 0, predictedPositive: 0, actualPositive: 0, noChangeCorrect: 0, noChangeRows: 0 };
}

/**
 * Adds rows to a confusion: `pred` and `y` are 0/1 per row; `previous` is each row's preceding label in the whole
 * stream (null for the very first row), for the no-change baseline.
 */
export function addRows(c: Confusion, pred: ArrayLike<number>, y: ArrayLike<number>, previous: ArrayLike<number | null>): void {
  for (let i = 0; i < pred.length; i++) {
    c.n++;
    if (pred[i] === y[i]) c.correct++;
    c.predictedPositive += pred[i];
    c.actualPositive += y[i];
    const prev = previous[i];
    if (prev !== null) {
      c.noChangeRows++;
      if (prev === y[i]) c.noChangeCorrect++;
    }
  }
}

export function accuracy(c: Confusion): number {
  return c.n ? c.correct / c.n : NaN;
}

/** Cohen's kappa: agreement beyond what the two marginals give by chance. */
export function kappa(c: Confusion): number {
  if (!c.n) return NaN;
  const p0 = c.correct / c.n;
  const pp = c.predictedPositive / c.n;
  const ap = c.actualPositive / c.n;
  const pe = pp * ap + (1 - pp) * (1 - ap);
  return pe >= 1 ? 0 : (p0 - pe) / (1 - pe);
}

/** Accuracy of the no-change classifier over the same rows. */
export function noChangeAccuracy(c: Confusion): number {
  return c.noChangeRows ? c.noChangeCorrect / c.noChangeRows : NaN;
}

/** Kappa-temporal: 1 is perfect, 0 is as good as repeating the last label, negative is worse than that. */
export function kappaTemporal(c: Confusion): number {
  const pnc = noChangeAccuracy(c);
  const p0 = accuracy(c);
  if (!(pnc < 1)) return p0 >= 1 ? 0 : -Infinity;
  return (p0 - pnc) / (1 - pnc);
}

/**
 * Whether `correct` of `n` is more than chance at one-sided level `alpha`, where chance is `p0` (the majority
 * share for a classifier that learned nothing: the best a label-blind guess can do). Returns the p-value too.
 */
export function beatsChance(correct: number, n: number, p0: number, alpha = 0.001): { beats: boolean; pValue: number } {
  // P(X >= correct) under Binomial(n, p0) (binomialSf is the upper tail including k).
  const pValue = binomialSf(correct, n, p0);
  return { beats: pValue < alpha, pValue };
}
