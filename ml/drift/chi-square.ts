/**
 * Chi-square test of homogeneity for a categorical feature: do the reference and current samples share one
 * category distribution? The 2 × k contingency table (rows: the two samples, columns: categories) gives
 * Σ (O − E)² / E with k − 1 degrees of freedom, as `scipy.stats.chi2_contingency(table, correction=False)`.
 * Homogeneity (both rows are samples) rather than goodness of fit against the reference's proportions, because
 * the reference is itself a sample and usually not much larger than the current one.
 *
 * Rare categories: the chi-square approximation needs expected counts of about 5 or more (Cochran's rule), so
 * every category whose smaller expected count is below `minExpected` goes into one pooled "other" column; if
 * that pool is still below it, the pool joins the smallest remaining category. The merged codes are reported.
 * With fewer than two columns left there is nothing to test (statistic 0, p-value 1, df 0).
 */
import { MlErrorCodes, MlRangeError } from '../errors';
import { chiSquareSf } from '../stats/distributions';
import { alignCounts, categoryCounts, total, type CategoricalSample } from './histogram';

export interface ChiSquareOptions {
  /** Smallest acceptable expected count per cell before a category is pooled. Default 5. */
  readonly minExpected?: number;
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
  /** Effect size: sqrt(χ² / N) for a 2-row table, in [0, 1] and independent of N. */
  readonly cramersV: number;
  readonly nReference: number;
  readonly nCurrent: number;
  /** Category codes that were pooled with others to meet `minExpected`. */
  readonly merged: readonly number[];
}

/**
 * Tests whether two samples of category codes (or code → count maps) come from one distribution. Missing codes
 * (NaN, negative) are left out.
 */
export function chiSquareTest(reference: CategoricalSample, current: CategoricalSample, options: ChiSquareOptions = {}): ChiSquareResult {
  const minExpected = options.minExpected ?? 5;
  if (!(minExpected >= 0 && Number.isFinite(minExpected))) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `options.minExpected: expected a non-negative number, got ${minExpected}`);
  const { categories, a, b } = alignCounts(categoryCounts(reference, 'reference'), categoryCounts(current, 'current'));
  const r1 = total(a);
  const r2 = total(b);
  if (r1 === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'reference: expected at least one non-missing category code');
  if (r2 === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'current: expected at least one non-missing category code');
  const n = r1 + r2;
  const smaller = Math.min(r1, r2);
  // Columns as [reference count, current count, codes]; rare ones pooled.
  const kept: { a: number; b: number; codes: number[] }[] = [];
  const pool = { a: 0, b: 0, codes: [] as number[] };
  categories.forEach((code, j) => {
    const col = a[j] + b[j];
    if ((smaller * col) / n < minExpected) {
      pool.a += a[j];
      pool.b += b[j];
      pool.codes.push(code);
    } else kept.push({ a: a[j], b: b[j], codes: [code] });
  });
  if (pool.codes.length > 0) {
    if ((smaller * (pool.a + pool.b)) / n >= minExpected || kept.length === 0) kept.push(pool);
    else {
      let s = 0;
      for (let j = 1; j < kept.length; j++) if (kept[j].a + kept[j].b < kept[s].a + kept[s].b) s = j;
      kept[s].a += pool.a;
      kept[s].b += pool.b;
      kept[s].codes.push(...pool.codes);
    }
  }
  const merged = kept.filter((c) => c.codes.length > 1).flatMap((c) => c.codes).sort((x, y) => x - y);
  if (kept.length < 2) return { statistic: 0, df: 0, pValue: 1, cramersV: 0, nReference: r1, nCurrent: r2, merged };
  let statistic = 0;
  for (const c of kept) {
    const col = c.a + c.b;
    const e1 = (r1 * col) / n;
    const e2 = (r2 * col) / n;
    statistic += ((c.a - e1) * (c.a - e1)) / e1 + ((c.b - e2) * (c.b - e2)) / e2;
  }
  const df = kept.length - 1;
  return {
    statistic,
    df,
    pValue: chiSquareSf(statistic, df),
    cramersV: Math.min(1, Math.sqrt(statistic / n)),
    nReference: r1,
    nCurrent: r2,
    merged,
  };
}
