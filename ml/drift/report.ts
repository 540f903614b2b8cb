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
 */
import { chiSquareSf } from '../stats/distributions';
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
}

export interface DriftRule {
  readonly correction: 'holm';
  readonly alpha: number;
  readonly bins: number;
  readonly psiThreshold: number;
  readonly minKsEffect: number;
  readonly minCramersV: number;
  readonly description: string;
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
  readonly drift: boolean;
  readonly why: string;
}

export interface DriftReport {
  readonly rule: DriftRule;
  readonly features: readonly FeatureDrift[];
  /** Names of the features judged to have drifted. */
  readonly drifted: readonly string[];
}

type Measured = Omit<FeatureDrift, 'adjustedPValue' | 'regime' | 'significant' | 'largeEffect' | 'drift' | 'why'> & { minEffectPValue: number };

export function driftReport(reference: DriftData, current: DriftData, options: DriftReportOptions = {}): DriftReport {
  const alpha = options.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`options.alpha: expected a number in (0, 1), got ${alpha}`);
  const bins = options.bins ?? 10;
  checkBins(bins, 'options.bins');
  const psiThreshold = nonNegative('options.psiThreshold', options.psiThreshold ?? 0.2);
  const minKsEffect = unitInterval('options.minKsEffect', options.minKsEffect ?? 0.1);
  const minCramersV = unitInterval('options.minCramersV', options.minCramersV ?? 0.1);
  const features = options.features ?? reference.names;
  if (features.length === 0) throw new RangeError('options.features: expected at least one feature name');
  const categorical = new Set(options.categorical ?? []);
  for (const name of categorical) {
    if (!features.includes(name)) throw new RangeError(`options.categorical: ${JSON.stringify(name)} is not among the compared features`);
  }

  const measured: Measured[] = features.map((name) => {
    const ref = columnOf(reference, name, 'reference');
    const cur = columnOf(current, name, 'current');
    if (ref.kind !== cur.kind) throw new TypeError(`current.${name}: expected a ${ref.kind} column as in reference, got ${cur.kind}`);
    const isCategorical = ref.kind === 'categorical' || categorical.has(name);
    if (isCategorical) {
      const [a, b] = ref.kind === 'categorical' ? sharedCodes(ref, cur as CategoricalData) : [ref.values, (cur as NumericData).values];
      return measureCategorical(name, a, b, minCramersV);
    }
    return measureNumeric(name, ref.values, (cur as NumericData).values, bins, minKsEffect);
  });

  const adjusted = holm(Float64Array.from(measured.map((m) => m.pValue)));
  const featuresOut = measured.map((m, j): FeatureDrift => {
    const { minEffectPValue, ...rest } = m;
    const adjustedPValue = adjusted[j];
    const significant = adjustedPValue < alpha;
    const regime = minEffectPValue < alpha ? DriftRegimes.effectSize : DriftRegimes.pValue;
    const effect = m.kind === 'numeric' ? { name: 'KS D', value: m.statistic, min: minKsEffect } : { name: "Cramér's V", value: m.cramersV!, min: minCramersV };
    const largeEffect = effect.value >= effect.min || m.psi >= psiThreshold;
    const drift = regime === DriftRegimes.effectSize ? significant && largeEffect : significant;
    const p = `Holm-adjusted p=${fmt(adjustedPValue)} ${significant ? '<' : '>='} ${alpha}`;
    const size = `${effect.name}=${fmt(effect.value)} ${effect.value >= effect.min ? '>=' : '<'} ${effect.min}, PSI=${fmt(m.psi)} ${m.psi >= psiThreshold ? '>=' : '<'} ${psiThreshold}`;
    let why: string;
    if (regime === DriftRegimes.pValue) why = `${drift ? 'drift' : 'no drift'}: ${p} (small sample, the p-value decides; ${size})`;
    else if (!significant) why = `no drift: ${p} (${size})`;
    else why = `${drift ? 'drift' : 'no drift'}: ${p}, and with ${m.nReference} vs ${m.nCurrent} rows the effect decides: ${size}`;
    return { ...rest, adjustedPValue, regime, significant, largeEffect, drift, why };
  });

  return {
    rule: {
      correction: 'holm',
      alpha,
      bins,
      psiThreshold,
      minKsEffect,
      minCramersV,
      description:
        `A feature drifts when its test (KS numeric, chi-square categorical) is significant at ${alpha} after Holm's correction across features; ` +
        `when the sample is large enough that an effect of the minimum size (KS D ${minKsEffect}, Cramér's V ${minCramersV}) would be significant by itself, ` +
        `it must also show a large effect (that minimum, or PSI >= ${psiThreshold}).`,
    },
    features: featuresOut,
    drifted: featuresOut.filter((f) => f.drift).map((f) => f.feature),
  };
}

function measureNumeric(name: string, refValues: Float64Array, curValues: Float64Array, bins: number, minKsEffect: number): Measured {
  const a = finiteSorted(refValues, `reference.${name}`);
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

function measureCategorical(name: string, a: ArrayLike<number>, b: ArrayLike<number>, minCramersV: number): Measured {
  const chi = chiSquareTest(a, b);
  if (chi.nReference === 0) throw new RangeError(`reference.${name}: expected at least one non-missing value`);
  if (chi.nCurrent === 0) throw new RangeError(`current.${name}: expected at least one non-missing value`);
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
      throw new RangeError(`${side}: has no feature ${JSON.stringify(name)}; features: ${data.names.map((s) => JSON.stringify(s)).join(', ')}`);
    }
    return c.type === 'numeric' ? { kind: 'numeric', values: c.values } : { kind: 'categorical', codes: c.codes, categories: c.categories };
  }
  const matrix = data as FeatureMatrix;
  const j = matrix.names.indexOf(name);
  if (j < 0) throw new RangeError(`${side}: has no feature ${JSON.stringify(name)}; features: ${matrix.names.map((s) => JSON.stringify(s)).join(', ')}`);
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
    throw new RangeError(`${name}: expected at least one non-missing value, got ${values.length === 0 ? 'no rows' : 'only missing values'}`);
  }
}

function nonNegative(name: string, v: number): number {
  if (!(v >= 0 && Number.isFinite(v))) throw new RangeError(`${name}: expected a non-negative number, got ${v}`);
  return v;
}

function unitInterval(name: string, v: number): number {
  if (!(v > 0 && v <= 1)) throw new RangeError(`${name}: expected a number in (0, 1], got ${v}`);
  return v;
}

function fmt(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e4 ? String(Number(x.toPrecision(3))) : x.toExponential(2);
}
