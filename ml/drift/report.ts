/**
 * The per-feature drift report that the validate stage and the monitor read: for each feature a two-sample test
 * (Kolmogorov-Smirnov for numeric, chi-square for categorical), its p-value Holm-corrected across features, and
 * the effect sizes (PSI, Jensen-Shannon distance, Wasserstein-1 for numeric, Cramér's V for categorical).
 *
 * The verdict has to survive sample size. With a million rows every p-value is tiny and a test alone would
 * flag shifts nobody cares about; with a few hundred rows, effect sizes are noisy and the p-value is the better
 * guide. So each feature is judged in one of two regimes, recorded in the report with the thresholds:
 * - `effect_size` when the sample is large enough that an effect of the minimum size (KS D = minKsEffect, or
 *   Cramér's V = minCramersV) would already be significant at α: the feature drifts only if it is significant
 *   after Holm's correction AND its effect is large (D ≥ minKsEffect or V ≥ minCramersV, or PSI ≥ psiThreshold);
 * - `p_value` otherwise: significance after Holm's correction decides alone (a significant result then implies
 *   an effect at least about as large as the minimum anyway).
 * Those tests compare only the values present, so two signals are judged on their own, and either flips the
 * feature's verdict (`reasons` says which fired):
 * - the missing rate: a feature half missing in the current window can keep its distribution (PSI 0.03) while the
 *   model sees half its inputs imputed. It drifts when the rate changed by at least `maxMissingRateChange` (an
 *   absolute change, default 0.05) and a two-proportion z-test finds the change significant at α (so a
 *   handful of rows cannot trip it);
 * - unseen categories: values of a categorical feature that the reference never had, which a model can only treat
 *   as missing. It drifts when their share of the current non-missing values exceeds `maxUnseenShare`
 *   (default 0.01).
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import { chiSquareSf, normalSf } from '../stats/distributions';
import { kolmogorovAsymptoticSf } from '../stats/kolmogorov';
import { ksTwoSample } from '../stats/ks';
import { holm } from '../stats/corrections';
import type { FeatureMatrix } from '../types';
import { chiSquareTest } from './chi-square';
import { checkBins, sortedFinite } from './histogram';
import { jensenShannonDistance, jensenShannonOnSorted } from './jensen-shannon';
import { categoricalPsi, psiOnSorted } from './psi';
import { wassersteinOnSorted } from './wasserstein';

export const DriftRegimes = { pValue: 'p_value', effectSize: 'effect_size' } as const;
export type DriftRegime = (typeof DriftRegimes)[keyof typeof DriftRegimes];

export const DriftTests = { ks: 'ks', chiSquare: 'chi_square' } as const;
export type DriftTest = (typeof DriftTests)[keyof typeof DriftTests];

/** A frame-like source (the `Frame` of ml/data): feature names and typed columns looked up by name. */
export interface FrameLike {
  readonly names: readonly string[];
  column(
    name: string,
  ): { readonly type: 'numeric'; readonly values: Float64Array } | { readonly type: 'categorical'; readonly codes: Int32Array; readonly categories: readonly string[] };
}

export type DriftData = FeatureMatrix | FrameLike;

export interface DriftReportOptions {
  /** Features to compare; default all of the reference's. */
  readonly features?: readonly string[];
  /** Features of a FeatureMatrix whose values are category codes (a frame's own types are used as well). */
  readonly categorical?: readonly string[];
  /** Family-wise significance level across features. Default 0.05. */
  readonly alpha?: number;
  /** Bins for PSI (reference quantiles) and Jensen-Shannon (pooled quantiles) on numeric features. Default 10. */
  readonly bins?: number;
  /** PSI at or above which an effect counts as large. Default 0.2 (the conventional "significant shift"). */
  readonly psiThreshold?: number;
  /** KS D at or above which a numeric effect counts as large. Default 0.1. */
  readonly minKsEffect?: number;
  /** Cramér's V at or above which a categorical effect counts as large. Default 0.1 (Cohen's "small"). */
  readonly minCramersV?: number;
  /** Absolute change of a feature's missing rate at or above which it counts (when also significant at α). Default 0.05. */
  readonly maxMissingRateChange?: number;
  /** Share of a categorical feature's current non-missing values in unseen categories above which it drifts. Default 0.01. */
  readonly maxUnseenShare?: number;
}

export interface DriftRule {
  readonly correction: 'holm';
  readonly alpha: number;
  readonly bins: number;
  readonly psiThreshold: number;
  readonly minKsEffect: number;
  readonly minCramersV: number;
  readonly maxMissingRateChange: number;
  readonly maxUnseenShare: number;
  readonly description: string;
}

export const DriftReasons = { distribution: 'distribution', missingRate: 'missing_rate', unseenCategories: 'unseen_categories' } as const;
export type DriftReason = (typeof DriftReasons)[keyof typeof DriftReasons];

/** The missing-value signal of one feature: rates are shares of all rows. */
export interface MissingDrift {
  readonly reference: number;
  readonly current: number;
  /** current − reference */
  readonly change: number;
  /** Two-sided p-value of the pooled two-proportion z-test (1 when both rates are 0 or both 1). */
  readonly pValue: number;
  readonly drift: boolean;
}

/** Categories of the current window that the reference never had (categorical features only). */
export interface UnseenCategories {
  /** Their names, most frequent first (the first 20). */
  readonly categories: readonly string[];
  /** How many distinct unseen categories there are. */
  readonly distinct: number;
  /** Current rows holding one of them. */
  readonly rows: number;
  /** rows / current non-missing rows. */
  readonly share: number;
  readonly drift: boolean;
}

export interface FeatureDrift {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  readonly test: DriftTest;
  /** KS D, or the chi-square statistic. */
  readonly statistic: number;
  readonly df?: number;
  readonly pValue: number;
  readonly adjustedPValue: number;
  readonly psi: number;
  readonly jsDistance: number;
  readonly wasserstein?: number;
  readonly cramersV?: number;
  /** Non-missing values compared on each side. */
  readonly nReference: number;
  readonly nCurrent: number;
  readonly regime: DriftRegime;
  readonly significant: boolean;
  readonly largeEffect: boolean;
  readonly missing: MissingDrift;
  /** Present for categorical features of frames (a FeatureMatrix's codes carry no names). */
  readonly unseen?: UnseenCategories;
  /** Whether the distribution test alone judged the feature drifted (the former meaning of `drift`). */
  readonly distributionDrift: boolean;
  /** Every signal that fired; empty when the feature did not drift. */
  readonly reasons: readonly DriftReason[];
  /** Any reason fired. */
  readonly drift: boolean;
  readonly why: string;
}

export interface DriftReport {
  readonly rule: DriftRule;
  readonly features: readonly FeatureDrift[];
  /** Names of the features judged to have drifted. */
  readonly drifted: readonly string[];
}

type Measured = Omit<FeatureDrift, 'adjustedPValue' | 'regime' | 'significant' | 'largeEffect' | 'drift' | 'why' | 'missing' | 'unseen' | 'distributionDrift' | 'reasons'> & {
  minEffectPValue: number;
  missing: MissingDrift;
  unseen?: UnseenCategories;
};

export function driftReport(reference: DriftData, current: DriftData, options: DriftReportOptions = {}): DriftReport {
  const alpha = options.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `options.alpha: expected a number in (0, 1), got ${alpha}`);
  const bins = options.bins ?? 10;
  checkBins(bins, 'options.bins');
  const psiThreshold = nonNegative('options.psiThreshold', options.psiThreshold ?? 0.2);
  const minKsEffect = unitInterval('options.minKsEffect', options.minKsEffect ?? 0.1);
  const minCramersV = unitInterval('options.minCramersV', options.minCramersV ?? 0.1);
  const maxMissingRateChange = unitInterval('options.maxMissingRateChange', options.maxMissingRateChange ?? 0.05);
  const maxUnseenShare = nonNegative('options.maxUnseenShare', options.maxUnseenShare ?? 0.01);
  const features = options.features ?? reference.names;
  if (features.length === 0) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, 'options.features: expected at least one feature name');
  const categorical = new Set(options.categorical ?? []);
  for (const name of categorical) {
    if (!features.includes(name)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `options.categorical: ${JSON.stringify(name)} is not among the compared features`);
  }

  const measured: Measured[] = features.map((name) => {
    const ref = columnOf(reference, name, 'reference');
    const cur = columnOf(current, name, 'current');
    if (ref.kind !== cur.kind) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `current.${name}: expected a ${ref.kind} column as in reference, got ${cur.kind}`);
    const isCategorical = ref.kind === 'categorical' || categorical.has(name);
    if (isCategorical) {
      const [a, b] = ref.kind === 'categorical' ? sharedCodes(ref, cur as CategoricalData) : [ref.values, (cur as NumericData).values];
      const missing = missingDrift(a, b, alpha, maxMissingRateChange);
      const unseen = ref.kind === 'categorical' ? unseenCategories(ref, cur as CategoricalData, maxUnseenShare) : undefined;
      return { ...measureCategorical(name, a, b, minCramersV), missing, ...(unseen ? { unseen } : {}) };
    }
    const curValues = (cur as NumericData).values;
    return { ...measureNumeric(name, ref.values, curValues, bins, minKsEffect), missing: missingDrift(ref.values, curValues, alpha, maxMissingRateChange) };
  });

  const adjusted = holm(Float64Array.from(measured.map((m) => m.pValue)));
  const featuresOut = measured.map((m, j): FeatureDrift => {
    const { minEffectPValue, ...rest } = m;
    const adjustedPValue = adjusted[j];
    const significant = adjustedPValue < alpha;
    const regime = minEffectPValue < alpha ? DriftRegimes.effectSize : DriftRegimes.pValue;
    const effect = m.kind === 'numeric' ? { name: 'KS D', value: m.statistic, min: minKsEffect } : { name: "Cramér's V", value: m.cramersV!, min: minCramersV };
    const largeEffect = effect.value >= effect.min || m.psi >= psiThreshold;
    const distributionDrift = m.nCurrent > 0 && (regime === DriftRegimes.effectSize ? significant && largeEffect : significant);
    const p = `Holm-adjusted p=${fmt(adjustedPValue)} ${significant ? '<' : '>='} ${alpha}`;
    const size = `${effect.name}=${fmt(effect.value)} ${effect.value >= effect.min ? '>=' : '<'} ${effect.min}, PSI=${fmt(m.psi)} ${m.psi >= psiThreshold ? '>=' : '<'} ${psiThreshold}`;
    let distribution: string;
    if (m.nCurrent === 0) distribution = 'no non-missing current values to compare';
    else if (regime === DriftRegimes.pValue) distribution = `${distributionDrift ? 'distribution drift' : 'no distribution drift'}: ${p} (small sample, the p-value decides; ${size})`;
    else if (!significant) distribution = `no distribution drift: ${p} (${size})`;
    else distribution = `${distributionDrift ? 'distribution drift' : 'no distribution drift'}: ${p}, and with ${m.nReference} vs ${m.nCurrent} rows the effect decides: ${size}`;
    const mi = m.missing;
    const missingWhy =
      `missing rate ${pct(mi.reference)} -> ${pct(mi.current)} (change ${mi.change >= 0 ? '+' : ''}${pct(mi.change)}, p=${fmt(mi.pValue)}` +
      `${mi.drift ? `; >= ${maxMissingRateChange} and significant` : ''})`;
    const un = m.unseen;
    const unseenWhy = un === undefined || un.rows === 0 ? '' : `; ${un.distinct} unseen categor${un.distinct === 1 ? 'y' : 'ies'} (${un.categories.slice(0, 5).map((c) => JSON.stringify(c)).join(', ')}${un.distinct > 5 ? ', ...' : ''}) in ${pct(un.share)} of current values${un.drift ? ` > ${maxUnseenShare}` : ''}`;
    const reasons: DriftReason[] = [];
    if (distributionDrift) reasons.push(DriftReasons.distribution);
    if (mi.drift) reasons.push(DriftReasons.missingRate);
    if (un?.drift) reasons.push(DriftReasons.unseenCategories);
    const drift = reasons.length > 0;
    const why = `${drift ? `drift (${reasons.join(', ')})` : 'no drift'}: ${distribution}; ${missingWhy}${unseenWhy}`;
    return { ...rest, adjustedPValue, regime, significant, largeEffect, distributionDrift, reasons, drift, why };
  });

  return {
    rule: {
      correction: 'holm',
      alpha,
      bins,
      psiThreshold,
      minKsEffect,
      minCramersV,
      maxMissingRateChange,
      maxUnseenShare,
      description:
        `A feature drifts when its test (KS numeric, chi-square categorical) is significant at ${alpha} after Holm's correction across features; ` +
        `when the sample is large enough that an effect of the minimum size (KS D ${minKsEffect}, Cramér's V ${minCramersV}) would be significant by itself, ` +
        `it must also show a large effect (that minimum, or PSI >= ${psiThreshold}). ` +
        `A feature also drifts when its missing rate changes by at least ${maxMissingRateChange} (absolute) with a two-proportion z-test significant at ${alpha}, ` +
        `or when more than ${maxUnseenShare} of its current values are categories the reference never had.`,
    },
    features: featuresOut,
    drifted: featuresOut.filter((f) => f.drift).map((f) => f.feature),
  };
}

type Measurement = Omit<Measured, 'missing' | 'unseen'>;

function measureNumeric(name: string, refValues: Float64Array, curValues: Float64Array, bins: number, minKsEffect: number): Measurement {
  const a = finiteSorted(refValues, `reference.${name}`);
  // A current window with no values at all is judged by its missing rate alone.
  if (!hasValue(curValues)) return unmeasured(name, 'numeric', DriftTests.ks, a.length);
  const b = finiteSorted(curValues, `current.${name}`);
  const ks = ksTwoSample(a, b);
  const n = a.length;
  const m = b.length;
  return {
    feature: name,
    kind: 'numeric',
    test: DriftTests.ks,
    statistic: ks.statistic,
    pValue: ks.pValue,
    psi: psiOnSorted(a, b, bins).psi,
    jsDistance: jensenShannonOnSorted(a, b, bins),
    wasserstein: wassersteinOnSorted(a, b),
    nReference: n,
    nCurrent: m,
    // The asymptotic p-value a D of exactly the minimum effect would get at these sizes.
    minEffectPValue: kolmogorovAsymptoticSf(minKsEffect * Math.sqrt((n * m) / (n + m))),
  };
}

function measureCategorical(name: string, a: ArrayLike<number>, b: ArrayLike<number>, minCramersV: number): Measurement {
  if (!hasValue(a)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `reference.${name}: expected at least one non-missing value`);
  if (!hasValue(b)) return unmeasured(name, 'categorical', DriftTests.chiSquare, countValues(a));
  const chi = chiSquareTest(a, b);
  const n = chi.nReference + chi.nCurrent;
  return {
    feature: name,
    kind: 'categorical',
    test: DriftTests.chiSquare,
    statistic: chi.statistic,
    df: chi.df,
    pValue: chi.pValue,
    psi: categoricalPsi(a, b).psi,
    jsDistance: jensenShannonDistance(a, b, { kind: 'categorical' }),
    cramersV: chi.cramersV,
    nReference: chi.nReference,
    nCurrent: chi.nCurrent,
    // For a 2-row table V = sqrt(χ²/N), so V at the minimum corresponds to χ² = N·V².
    minEffectPValue: chi.df > 0 ? chiSquareSf(n * minCramersV * minCramersV, chi.df) : 1,
  };
}

function hasValue(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] === values[i]) return true;
  return false;
}

function countValues(values: ArrayLike<number>): number {
  let k = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === values[i]) k++;
  return k;
}

/** A feature whose current window is entirely missing: no distribution to compare (its missing rate decides). */
function unmeasured(name: string, kind: 'numeric' | 'categorical', test: DriftTest, nReference: number): Measurement {
  return { feature: name, kind, test, statistic: 0, pValue: 1, psi: 0, jsDistance: 0, nReference, nCurrent: 0, minEffectPValue: 1 };
}

/** Missing (NaN) shares of both samples and the pooled two-proportion z-test of their difference. */
function missingDrift(reference: ArrayLike<number>, current: ArrayLike<number>, alpha: number, minChange: number): MissingDrift {
  const n1 = reference.length;
  const n2 = current.length;
  const x1 = n1 - countValues(reference);
  const x2 = n2 - countValues(current);
  const r1 = n1 > 0 ? x1 / n1 : 0;
  const r2 = n2 > 0 ? x2 / n2 : 0;
  const pooled = n1 + n2 > 0 ? (x1 + x2) / (n1 + n2) : 0;
  const se = n1 > 0 && n2 > 0 ? Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) : 0;
  const pValue = se > 0 ? Math.min(1, 2 * normalSf(Math.abs(r2 - r1) / se)) : 1;
  const change = r2 - r1;
  // A hair of tolerance so that a change of exactly the threshold, computed from counts, counts.
  return { reference: r1, current: r2, change, pValue, drift: Math.abs(change) >= minChange - 1e-12 && pValue < alpha };
}

/** Current categories missing from the reference, by name, with their row counts. */
function unseenCategories(ref: CategoricalData, cur: CategoricalData, maxShare: number): UnseenCategories {
  const known = new Set(ref.categories);
  const counts = new Float64Array(cur.categories.length);
  let present = 0;
  for (let i = 0; i < cur.codes.length; i++) {
    const c = cur.codes[i];
    if (c < 0) continue;
    present++;
    counts[c]++;
  }
  const unseen = cur.categories
    .map((name, k) => ({ name, rows: counts[k] }))
    .filter((u) => u.rows > 0 && !known.has(u.name))
    .sort((a, b) => b.rows - a.rows || (a.name < b.name ? -1 : 1));
  const rows = unseen.reduce((s, u) => s + u.rows, 0);
  const share = present > 0 ? rows / present : 0;
  return { categories: unseen.slice(0, 20).map((u) => u.name), distinct: unseen.length, rows, share, drift: share > maxShare };
}

function pct(x: number): string {
  return `${Number((x * 100).toPrecision(3))}%`;
}

interface NumericData {
  readonly kind: 'numeric';
  readonly values: Float64Array;
}
interface CategoricalData {
  readonly kind: 'categorical';
  readonly codes: Int32Array;
  readonly categories: readonly string[];
}

function columnOf(data: DriftData, name: string, side: string): NumericData | CategoricalData {
  if (typeof (data as FrameLike).column === 'function') {
    let c: ReturnType<FrameLike['column']>;
    try {
      c = (data as FrameLike).column(name);
    } catch {
      throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${side}: has no feature ${JSON.stringify(name)}; features: ${data.names.map((s) => JSON.stringify(s)).join(', ')}`);
    }
    return c.type === 'numeric' ? { kind: 'numeric', values: c.values } : { kind: 'categorical', codes: c.codes, categories: c.categories };
  }
  const matrix = data as FeatureMatrix;
  const j = matrix.names.indexOf(name);
  if (j < 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${side}: has no feature ${JSON.stringify(name)}; features: ${matrix.names.map((s) => JSON.stringify(s)).join(', ')}`);
  return { kind: 'numeric', values: matrix.columns[j] };
}

/** Both samples' codes on one code list, matched by category name (two frames may code categories differently). */
function sharedCodes(ref: CategoricalData, cur: CategoricalData): [Float64Array, Float64Array] {
  const index = new Map(ref.categories.map((s, k) => [s, k]));
  const remap = cur.categories.map((s) => {
    let k = index.get(s);
    if (k === undefined) {
      k = index.size;
      index.set(s, k);
    }
    return k;
  });
  const a = Float64Array.from(ref.codes, (c) => (c < 0 ? NaN : c));
  const b = Float64Array.from(cur.codes, (c) => (c < 0 ? NaN : remap[c]));
  return [a, b];
}

function finiteSorted(values: Float64Array, name: string): Float64Array {
  try {
    return sortedFinite(values, name);
  } catch {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected at least one non-missing value, got ${values.length === 0 ? 'no rows' : 'only missing values'}`);
  }
}

function nonNegative(name: string, v: number): number {
  if (!(v >= 0 && Number.isFinite(v))) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected a non-negative number, got ${v}`);
  return v;
}

function unitInterval(name: string, v: number): number {
  if (!(v > 0 && v <= 1)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected a number in (0, 1], got ${v}`);
  return v;
}

function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e4 ? String(Number(x.toPrecision(3))) : x.toExponential(2);
}
