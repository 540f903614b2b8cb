/**
 * Group fairness of a binary classifier: per-group confusion counts and rates, and the three disparity measures
 * the promotion policy limits, defined as fairlearn defines them (the largest minus the smallest group rate):
 * demographic parity difference (selection rate), equal opportunity difference (true positive rate) and
 * equalized odds difference (the larger of the TPR and FPR gaps).
 *
 * One deliberate difference from fairlearn: a rate that is undefined for a group (TPR with no positives, FPR with
 * no negatives) is reported as null and the group is left out of that gap. fairlearn normalises the confusion
 * matrix through scikit-learn, which turns 0/0 into 0 and so reports a gap as large as the other groups' rate.
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from './errors';

export const FairnessMetrics = {
  demographicParity: 'demographic_parity',
  equalOpportunity: 'equal_opportunity',
  equalizedOdds: 'equalized_odds',
} as const;
export type FairnessMetric = (typeof FairnessMetrics)[keyof typeof FairnessMetrics];

/** Group membership per row: labels, or integer codes (optionally with the names they stand for). */
export type GroupInput = readonly string[] | Int32Array | { readonly codes: Int32Array; readonly names: readonly string[] };

export interface GroupMetrics {
  readonly group: string;
  readonly count: number;
  readonly positives: number;
  readonly negatives: number;
  readonly predictedPositives: number;
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
  /** Share predicted positive. */
  readonly selectionRate: number;
  /** tp / positives; null when the group has no positives. */
  readonly tpr: number | null;
  /** fp / negatives; null when the group has no negatives. */
  readonly fpr: number | null;
  readonly accuracy: number;
}

export type FairnessGaps = Readonly<Record<FairnessMetric, number>>;

/**
 * Confusion counts and rates per group, predicting positive when `p[i] > threshold` (ml/metrics' convention,
 * scikit-learn's `predict`; hard 0/1 predictions work with the default 0.5). Groups are listed in order of first appearance (labels) or by code (codes).
 */
export function groupMetrics(y: ArrayLike<number>, p: ArrayLike<number>, groups: GroupInput, threshold = 0.5): GroupMetrics[] {
  const n = y.length;
  if (p.length !== n) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `p: expected ${n} predictions to match y, got ${p.length}`);
  if (!Number.isFinite(threshold)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `threshold: expected a finite number, got ${threshold}`);
  const { codes, names } = groupCodes(groups, n);
  const k = names.length;
  // Four counters per group: tp, fp, tn, fn.
  const c = new Float64Array(4 * k);
  for (let i = 0; i < n; i++) {
    const yi = y[i];
    if (yi !== 0 && yi !== 1) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `y[${i}]: expected 0 or 1, got ${yi}`);
    const pi = p[i];
    if (pi !== pi) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `p[${i}]: expected a number, got NaN`);
    const g = codes[i];
    const predicted = pi > threshold ? 1 : 0;
    c[4 * g + (yi === 1 ? (predicted ? 0 : 3) : predicted ? 1 : 2)]++;
  }
  const out: GroupMetrics[] = [];
  for (let g = 0; g < k; g++) {
    const tp = c[4 * g];
    const fp = c[4 * g + 1];
    const tn = c[4 * g + 2];
    const fn = c[4 * g + 3];
    const count = tp + fp + tn + fn;
    if (count === 0) continue;
    const positives = tp + fn;
    const negatives = fp + tn;
    out.push({
      group: names[g],
      count,
      positives,
      negatives,
      predictedPositives: tp + fp,
      tp,
      fp,
      tn,
      fn,
      selectionRate: (tp + fp) / count,
      tpr: positives > 0 ? tp / positives : null,
      fpr: negatives > 0 ? fp / negatives : null,
      accuracy: (tp + tn) / count,
    });
  }
  return out;
}

/** All three disparity measures from a per-group table (cheaper than calling the three functions). */
export function fairnessGaps(table: readonly GroupMetrics[]): FairnessGaps {
  const tprGap = spread(table.map((g) => g.tpr));
  const fprGap = spread(table.map((g) => g.fpr));
  return {
    demographic_parity: spread(table.map((g) => g.selectionRate)),
    equal_opportunity: tprGap,
    equalized_odds: Math.max(tprGap, fprGap),
  };
}

/** Largest minus smallest selection rate across groups (fairlearn's `demographic_parity_difference`). */
export function demographicParityDifference(y: ArrayLike<number>, p: ArrayLike<number>, groups: GroupInput, threshold = 0.5): number {
  return fairnessGaps(groupMetrics(y, p, groups, threshold)).demographic_parity;
}

/** Largest minus smallest true positive rate across groups (fairlearn's `equal_opportunity_difference`). */
export function equalOpportunityDifference(y: ArrayLike<number>, p: ArrayLike<number>, groups: GroupInput, threshold = 0.5): number {
  return fairnessGaps(groupMetrics(y, p, groups, threshold)).equal_opportunity;
}

/** The larger of the TPR and FPR gaps across groups (fairlearn's `equalized_odds_difference`). */
export function equalizedOddsDifference(y: ArrayLike<number>, p: ArrayLike<number>, groups: GroupInput, threshold = 0.5): number {
  return fairnessGaps(groupMetrics(y, p, groups, threshold)).equalized_odds;
}

/** Max − min of the defined values; 0 with fewer than two. */
function spread(values: readonly (number | null)[]): number {
  let lo = Infinity;
  let hi = -Infinity;
  let m = 0;
  for (const v of values) {
    if (v === null) continue;
    m++;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return m < 2 ? 0 : hi - lo;
}

function groupCodes(groups: GroupInput, n: number): { codes: Int32Array; names: readonly string[] } {
  if (groups instanceof Int32Array || (typeof groups === 'object' && 'codes' in groups && groups.codes instanceof Int32Array)) {
    const codes = groups instanceof Int32Array ? groups : groups.codes;
    const given = groups instanceof Int32Array ? undefined : groups.names;
    const field = groups instanceof Int32Array ? 'groups' : 'groups.codes';
    if (codes.length !== n) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${field}: expected ${n} group codes to match y, got ${codes.length}`);
    let max = -1;
    for (let i = 0; i < n; i++) {
      const g = codes[i];
      if (g < 0 || (given && g >= given.length)) {
        throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${field}[${i}]: expected a code in [0, ${given ? given.length : '∞'}), got ${g}`);
      }
      if (g > max) max = g;
    }
    const names = given ?? Array.from({ length: max + 1 }, (_, g) => String(g));
    return { codes, names };
  }
  if (!Array.isArray(groups)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'groups: expected an array of group labels, an Int32Array of codes, or { codes, names }');
  const labels = groups as readonly string[];
  if (labels.length !== n) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `groups: expected ${n} group labels to match y, got ${labels.length}`);
  const index = new Map<string, number>();
  const names: string[] = [];
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (typeof label !== 'string') throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `groups[${i}]: expected a string, got ${JSON.stringify(label)}`);
    let g = index.get(label);
    if (g === undefined) {
      g = names.length;
      names.push(label);
      index.set(label, g);
    }
    codes[i] = g;
  }
  return { codes, names };
}
