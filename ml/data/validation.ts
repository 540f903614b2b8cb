/**
 * Validating a batch of new data against the training reference before it is used: a report of every problem
 * rather than the first error, so the validate stage can fail a run with everything an operator must fix, and
 * the report (plain JSON with capped row lists) can travel through workflow history into the HTML report. The
 * batch may be a Frame, CSV text or raw records: a CSV with a type error in one cell cannot become a Frame (the
 * strict loader refuses it), so raw input is read leniently here, cell by cell, against the reference's schema.
 *
 * Checks per column: presence (schema), missing rate against the reference's, numeric values outside the range
 * the reference itself implies (so a sentinel such as 9999 is caught with no per-column configuration), unseen
 * categories, values of the wrong type, label values that are neither the positive nor an accepted negative
 * value; and per feature the distribution against the reference (ml/drift), reported as a warning, since a
 * shifted distribution is a reason to retrain rather than bad data.
 *
 * Out-of-range values are judged (policy `auto`, the default) rather than failed outright, because on drifting
 * data the reference's range is exactly what goes stale: if every value beyond production's training range failed
 * the batch, nothing would be promoted once a column moved, the reference would never widen, and retraining would
 * be blocked exactly when drift makes it needed. See `judgeOutOfRange` for the rule that tells a data error from
 * drift.
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import { driftReport, type FrameLike } from '../drift/report';
import { normalSf } from '../stats/distributions';
import { Frame } from './frame';
import { LabelCoder } from './labels';
import { FeatureTypes } from './schema';

export const ValidationChecks = {
  schema: 'schema',
  empty: 'empty',
  missingRate: 'missing_rate',
  outOfRange: 'out_of_range',
  unseenCategory: 'unseen_category',
  type: 'type',
  label: 'label',
  distribution: 'distribution',
} as const;
export type ValidationCheck = (typeof ValidationChecks)[keyof typeof ValidationChecks];

/** CSV text with a header row, read cell by cell (RFC 4180 quoting; blank lines skipped, as the loader does). */
export interface CsvBatch {
  readonly csv: string;
  /** One character; `,` by default. */
  readonly delimiter?: string;
  /** Values that mean "missing"; the loader's defaults ('', NA, NaN, ?) unless given. */
  readonly missing?: readonly string[];
}

/** Rows as objects keyed by column name (JSON lines, an API payload); null and undefined are missing. */
export interface RecordsBatch {
  readonly records: readonly Readonly<Record<string, unknown>>[];
  readonly missing?: readonly string[];
}

export type BatchInput = Frame | CsvBatch | RecordsBatch;

/**
 * What values outside a numeric column's allowed range do to the verdict: `fail` (any share above
 * `maxOutOfRangeShare` fails), `warn` (never fail, report only), `auto` (fail data errors, warn on drift:
 * see `judgeOutOfRange`).
 */
export const OutOfRangePolicies = { fail: 'fail', warn: 'warn', auto: 'auto' } as const;
export type OutOfRangePolicy = (typeof OutOfRangePolicies)[keyof typeof OutOfRangePolicies];

/** Why a column's out-of-range values failed the batch or only warned (`auto` tells them apart). */
export const RangeVerdicts = {
  /** At or below `maxOutOfRangeShare`: tolerated by configuration. */
  tolerated: 'tolerated',
  /** Outside a range the caller gave explicitly (`ranges`): known bounds are hard. */
  explicit: 'explicit',
  /** Policy `fail`: any share above the tolerance fails. */
  strict: 'strict',
  /** Policy `warn`: reported, never failed. */
  warned: 'warned',
  /** A value absurdly far beyond the reference range (many reference widths): a sentinel or a unit error. */
  far: 'far',
  /** Most out-of-range values are one repeated value: the signature of a sentinel or a default. */
  repeated: 'repeated',
  /** Too few out-of-range values to be a shift of the distribution: isolated bad values. */
  few: 'few',
  /** A broad, varied spread of values beyond the old range: the column drifted. A warning. */
  drift: 'drift',
} as const;
export type RangeVerdict = (typeof RangeVerdicts)[keyof typeof RangeVerdicts];

export interface ValidationOptions {
  /** Largest rise of a column's missing rate over the reference's (absolute) that passes. Default 0.05. */
  readonly missingTolerance?: number;
  /** Share of a numeric column's values allowed outside its range with only a warning, whatever they look like. Default 0. */
  readonly maxOutOfRangeShare?: number;
  /** What out-of-range values beyond that share do: `fail`, `warn` or `auto` (default: data errors fail, drift warns). */
  readonly outOfRange?: OutOfRangePolicy;
  /** `auto`: out-of-range values are drift only when at least this share of the column's values (default 0.01); fewer fail as isolated errors. */
  readonly minDriftShare?: number;
  /** `auto`: a value more than this many reference widths beyond the reference range fails as absurd (default 10). */
  readonly maxDriftWidths?: number;
  /** Explicit allowed ranges for columns whose reference range is not the right guide (heavy tails, known bounds). */
  readonly ranges?: Readonly<Record<string, { readonly min?: number; readonly max?: number }>>;
  /** Share of a categorical column's values in unseen categories above which the batch fails (at or below: a warning). Default 0.01. */
  readonly maxUnseenShare?: number;
  /** Whether the label column must be present. Default false: an unlabelled batch goes to labelling. */
  readonly requireLabels?: boolean;
  /** Compare each feature's distribution with the reference's (warnings only). Default true. */
  readonly distribution?: boolean;
  /** Row numbers listed per finding. Default 20. */
  readonly maxRows?: number;
}

export interface ValidationFinding {
  readonly column: string | null;
  readonly check: ValidationCheck;
  readonly message: string;
  /** 1-based data rows (the CSV header is row 0), the first `maxRows`. */
  readonly rows?: readonly number[];
  /** How many rows the finding concerns (rows lists only the first few). */
  readonly count?: number;
}

export interface RowSample {
  readonly count: number;
  readonly rows: readonly number[];
  /** The offending values as read, for the same rows. */
  readonly values: readonly (string | number)[];
}

export interface ColumnValidation {
  readonly column: string;
  readonly role: 'feature' | 'label';
  readonly type: 'numeric' | 'categorical' | 'label';
  readonly present: boolean;
  readonly missingRate: number;
  readonly referenceMissingRate: number;
  /** Numeric features: the reference's range and the range allowed in a batch. */
  readonly range?: { readonly referenceMin: number; readonly referenceMax: number; readonly allowedMin: number; readonly allowedMax: number };
  readonly outOfRange?: RowSample;
  /** How the out-of-range values were judged (failure or warning, and why). */
  readonly rangeVerdict?: RangeVerdict;
  readonly unseen?: { readonly categories: readonly string[]; readonly count: number; readonly share: number; readonly rows: readonly number[] };
  readonly typeErrors?: RowSample;
  readonly labelErrors?: RowSample;
}

export interface ValidationReport {
  readonly passed: boolean;
  readonly rows: number;
  readonly failures: readonly ValidationFinding[];
  readonly warnings: readonly ValidationFinding[];
  readonly columns: readonly ColumnValidation[];
  /** Features whose distribution drifted from the reference's (ml/drift's distribution verdict). */
  readonly drifted: readonly string[];
  readonly rule: {
    readonly missingTolerance: number;
    readonly maxOutOfRangeShare: number;
    readonly maxUnseenShare: number;
    readonly range: string;
    readonly outOfRange: OutOfRangePolicy;
    readonly minDriftShare: number;
    readonly maxDriftWidths: number;
  };
}

const DEFAULT_MISSING: readonly string[] = ['', 'NA', 'NaN', '?'];
/** The missing-rate rise must also be significant at this level, so that a 20-row batch with 2 blanks does not fail. */
const MISSING_ALPHA = 0.01;
const RANGE_RULE =
  'allowed range = reference [min, max] widened on each side by the reference range (max - min); ' +
  'a column whose reference values are all >= 0 also refuses negative values; policy auto fails values beyond it ' +
  'that are absurdly far, mostly one repeated value, or too few to be a shift, and warns on a broad shift (drift)';

/** Validates `batch` against `reference` (the training data, or a sample of it), collecting every problem. */
export function validateBatch(reference: Frame, batch: BatchInput, options: ValidationOptions = {}): ValidationReport {
  if (!(reference instanceof Frame)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'reference: expected a Frame (the training data the batch is compared with)');
  const opts = checkOptions(options);
  const table = readBatch(reference, batch);
  const failures: ValidationFinding[] = [];
  const warnings: ValidationFinding[] = [];
  const schema = reference.schema;
  const cap = (rows: number[]) => rows.slice(0, opts.maxRows);

  const expected = [...schema.features.map((f) => f.name), schema.label.name, ...(schema.time ? [schema.time.name] : [])];
  for (const f of schema.features) {
    if (!table.has(f.name)) failures.push({ column: f.name, check: ValidationChecks.schema, message: `missing column ${JSON.stringify(f.name)} (a ${f.type} feature of the reference)` });
  }
  if (!table.has(schema.label.name)) {
    const message = `missing label column ${JSON.stringify(schema.label.name)}`;
    (opts.requireLabels ? failures : warnings).push({ column: schema.label.name, check: ValidationChecks.schema, message: opts.requireLabels ? message : `${message}: the batch needs labelling` });
  }
  if (schema.time && !table.has(schema.time.name)) failures.push({ column: schema.time.name, check: ValidationChecks.schema, message: `missing time column ${JSON.stringify(schema.time.name)}` });
  const extra = table.columns.filter((c) => !expected.includes(c));
  if (extra.length > 0) warnings.push({ column: null, check: ValidationChecks.schema, message: `extra column${extra.length > 1 ? 's' : ''} ${extra.map((c) => JSON.stringify(c)).join(', ')} not in the reference (ignored)` });
  if (table.rows === 0) failures.push({ column: null, check: ValidationChecks.empty, message: 'the batch has no rows' });

  const columns: ColumnValidation[] = [];
  const parsed: { name: string; column: ReturnType<FrameLike['column']> }[] = [];
  for (const f of schema.features) {
    const ref = reference.column(f.name);
    const refMissing = missingShare(ref);
    if (!table.has(f.name)) {
      columns.push({ column: f.name, role: 'feature', type: f.type, present: false, missingRate: 1, referenceMissingRate: refMissing });
      continue;
    }
    const base = { column: f.name, role: 'feature' as const, type: f.type, present: true, referenceMissingRate: refMissing };
    if (ref.type === FeatureTypes.numeric) {
      const { values, typeErrors } = table.numeric(f.name, opts.maxRows);
      const missing = share(values, (v) => v !== v) - typeErrors.count / Math.max(1, table.rows);
      const range = allowedRange(ref.values, opts.ranges[f.name]);
      const isOut = (v: number) => v === v && (v < range.allowedMin || v > range.allowedMax);
      const out: RowSample = sample(values, isOut, opts.maxRows);
      const judged = out.count > 0 ? judgeOutOfRange(values.filter(isOut), countPresent(values), range, opts.ranges[f.name], opts) : undefined;
      columns.push({ ...base, missingRate: missing, range, ...(out.count > 0 ? { outOfRange: out } : {}), ...(judged ? { rangeVerdict: judged.verdict } : {}), ...(typeErrors.count > 0 ? { typeErrors } : {}) });
      if (typeErrors.count > 0) {
        failures.push({ column: f.name, check: ValidationChecks.type, message: `${typeErrors.count} value${typeErrors.count > 1 ? 's are' : ' is'} not a number (${describeSample(typeErrors)})`, rows: typeErrors.rows, count: typeErrors.count });
      }
      if (judged) {
        const finding: ValidationFinding = {
          column: f.name,
          check: ValidationChecks.outOfRange,
          message: `${out.count} value${out.count > 1 ? 's' : ''} outside the allowed range [${fmt(range.allowedMin)}, ${fmt(range.allowedMax)}] (reference [${fmt(range.referenceMin)}, ${fmt(range.referenceMax)}]): ${describeSample(out)}; ${judged.why}`,
          rows: out.rows,
          count: out.count,
        };
        (judged.fails ? failures : warnings).push(finding);
      }
      checkMissing(f.name, missing, refMissing, table.rows, reference.nRows, opts.missingTolerance, failures);
      // Type errors are NaN here, so the distribution compares the readable values only.
      parsed.push({ name: f.name, column: { type: 'numeric', values } });
    } else {
      const names = table.categorical(f.name);
      const known = new Set(ref.categories);
      const unseenRows: number[] = [];
      const unseenCounts = new Map<string, number>();
      let present = 0;
      names.forEach((s, i) => {
        if (s === null) return;
        present++;
        if (!known.has(s)) {
          unseenRows.push(i + 1);
          unseenCounts.set(s, (unseenCounts.get(s) ?? 0) + 1);
        }
      });
      const missing = 1 - present / Math.max(1, table.rows);
      const unseenShare = present > 0 ? unseenRows.length / present : 0;
      const categories = [...unseenCounts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([s]) => s);
      columns.push({
        ...base,
        missingRate: missing,
        ...(unseenRows.length > 0 ? { unseen: { categories: categories.slice(0, opts.maxRows), count: unseenRows.length, share: unseenShare, rows: cap(unseenRows) } } : {}),
      });
      if (unseenRows.length > 0) {
        const finding: ValidationFinding = {
          column: f.name,
          check: ValidationChecks.unseenCategory,
          message: `${categories.length} categor${categories.length > 1 ? 'ies' : 'y'} not in the reference (${categories.slice(0, 5).map((s) => `${JSON.stringify(s)} x${unseenCounts.get(s)}`).join(', ')}${categories.length > 5 ? ', ...' : ''}) in ${pct(unseenShare)} of values; a model treats them as missing`,
          rows: cap(unseenRows),
          count: unseenRows.length,
        };
        (unseenShare > opts.maxUnseenShare ? failures : warnings).push(finding);
      }
      checkMissing(f.name, missing, refMissing, table.rows, reference.nRows, opts.missingTolerance, failures);
      const codes = new Map<string, number>();
      const batchCategories: string[] = [];
      const coded = Int32Array.from(names, (s) => {
        if (s === null) return -1;
        let k = codes.get(s);
        if (k === undefined) {
          codes.set(s, (k = batchCategories.length));
          batchCategories.push(s);
        }
        return k;
      });
      parsed.push({ name: f.name, column: { type: 'categorical', codes: coded, categories: batchCategories } });
    }
  }

  if (table.has(schema.label.name)) {
    const labels = table.labels(schema.label.name);
    let missing = 0;
    const bad = { count: 0, rows: [] as number[], values: [] as string[] };
    const coder = new LabelCoder(schema.label, (i) => `row ${i + 1}`);
    labels.forEach((v, i) => {
      if (v === null) {
        missing++;
        return;
      }
      const r = coder.code(v);
      if (typeof r === 'object') {
        bad.count++;
        if (bad.rows.length < opts.maxRows) {
          bad.rows.push(i + 1);
          bad.values.push(v);
        }
      }
    });
    const accepted = schema.label.negative ? [schema.label.positive, ...schema.label.negative] : undefined;
    columns.push({
      column: schema.label.name,
      role: 'label',
      type: 'label',
      present: true,
      missingRate: missing / Math.max(1, table.rows),
      referenceMissingRate: 0,
      ...(bad.count > 0 ? { labelErrors: bad } : {}),
    });
    if (bad.count > 0) {
      failures.push({
        column: schema.label.name,
        check: ValidationChecks.label,
        message:
          `${bad.count} label value${bad.count > 1 ? 's are' : ' is'} neither the positive ${JSON.stringify(schema.label.positive)} nor ` +
          `${accepted ? `an accepted negative (${accepted.slice(1).map((s) => JSON.stringify(s)).join(', ')})` : 'the one other value the column holds (declare label.negative to accept more)'}: ${describeSample(bad)}`,
        rows: bad.rows,
        count: bad.count,
      });
    }
    if (missing > 0) warnings.push({ column: schema.label.name, check: ValidationChecks.missingRate, message: `${missing} row${missing > 1 ? 's have' : ' has'} no label` });
  }

  let drifted: string[] = [];
  if (opts.distribution && table.rows > 0 && parsed.length > 0) {
    const batchFrame: FrameLike = {
      names: parsed.map((p) => p.name),
      column: (name) => {
        const hit = parsed.find((p) => p.name === name);
        if (!hit) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `no column ${JSON.stringify(name)}`);
        return hit.column;
      },
    };
    // Features with no values on either side have nothing to compare; their missing rate is reported above.
    const comparable = parsed.filter((p) => hasValue(p.column) && hasValue(reference.column(p.name))).map((p) => p.name);
    if (comparable.length > 0) {
      const drift = driftReport(reference, batchFrame, { features: comparable });
      drifted = drift.features.filter((f) => f.distributionDrift).map((f) => f.feature);
      for (const f of drift.features) {
        if (!f.distributionDrift) continue;
        const effect = f.kind === 'numeric' ? `KS D=${fmt(f.statistic)}` : `Cramér's V=${fmt(f.cramersV ?? NaN)}`;
        warnings.push({ column: f.feature, check: ValidationChecks.distribution, message: `distribution differs from the reference: ${effect}, PSI=${fmt(f.psi)}, Holm-adjusted p=${fmt(f.adjustedPValue)} (ml/drift)` });
      }
    }
  }

  return {
    passed: failures.length === 0,
    rows: table.rows,
    failures,
    warnings,
    columns,
    drifted,
    rule: {
      missingTolerance: opts.missingTolerance,
      maxOutOfRangeShare: opts.maxOutOfRangeShare,
      maxUnseenShare: opts.maxUnseenShare,
      range: RANGE_RULE,
      outOfRange: opts.outOfRange,
      minDriftShare: opts.minDriftShare,
      maxDriftWidths: opts.maxDriftWidths,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// reading the batch

interface BatchTable {
  readonly rows: number;
  readonly columns: readonly string[];
  has(name: string): boolean;
  /** Numbers (NaN for missing and for type errors, which are listed). */
  numeric(name: string, maxRows: number): { values: Float64Array; typeErrors: RowSample };
  /** Category names, null for missing. */
  categorical(name: string): (string | null)[];
  /** Label values as text, null for missing. */
  labels(name: string): (string | null)[];
}

function readBatch(reference: Frame, batch: BatchInput): BatchTable {
  if (batch instanceof Frame) return frameTable(reference, batch);
  if (batch !== null && typeof batch === 'object' && typeof (batch as CsvBatch).csv === 'string') {
    const b = batch as CsvBatch;
    const records = splitCsv(b.csv, delimiterOf(b.delimiter));
    const header = records.shift() ?? [];
    const index = new Map(header.map((h, j) => [h.trim(), j]));
    return cellTable(header.map((h) => h.trim()), records.length, (name, i) => records[i][index.get(name)!] ?? '', new Set(b.missing ?? DEFAULT_MISSING));
  }
  if (batch !== null && typeof batch === 'object' && Array.isArray((batch as RecordsBatch).records)) {
    const b = batch as RecordsBatch;
    const names: string[] = [];
    const seen = new Set<string>();
    for (const r of b.records) {
      if (r === null || typeof r !== 'object') throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'batch.records: expected objects keyed by column name');
      for (const k of Object.keys(r)) if (!seen.has(k)) names.push(k), seen.add(k);
    }
    return cellTable(names, b.records.length, (name, i) => b.records[i][name], new Set(b.missing ?? DEFAULT_MISSING));
  }
  throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'batch: expected a Frame, { csv: string } or { records: object[] }');
}

function cellTable(columns: readonly string[], rows: number, cell: (name: string, row: number) => unknown, missing: ReadonlySet<string>): BatchTable {
  const present = new Set(columns);
  const isMissing = (v: unknown): boolean => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) || (typeof v === 'string' && (missing.has(v.trim()) || v.trim() === ''));
  const text = (name: string): (string | null)[] =>
    Array.from({ length: rows }, (_, i) => {
      const v = cell(name, i);
      return isMissing(v) ? null : typeof v === 'string' ? v.trim() : String(v);
    });
  return {
    rows,
    columns,
    has: (name) => present.has(name),
    numeric(name, maxRows) {
      const values = new Float64Array(rows);
      const typeErrors = { count: 0, rows: [] as number[], values: [] as (string | number)[] };
      for (let i = 0; i < rows; i++) {
        const v = cell(name, i);
        if (isMissing(v)) {
          values[i] = NaN;
          continue;
        }
        const x = typeof v === 'number' ? v : typeof v === 'string' ? +v : NaN;
        if (Number.isFinite(x)) values[i] = x;
        else {
          values[i] = NaN;
          typeErrors.count++;
          if (typeErrors.rows.length < maxRows) {
            typeErrors.rows.push(i + 1);
            typeErrors.values.push(typeof v === 'string' || typeof v === 'number' ? v : JSON.stringify(v) ?? String(v));
          }
        }
      }
      return { values, typeErrors };
    },
    categorical: text,
    labels: text,
  };
}

function frameTable(reference: Frame, batch: Frame): BatchTable {
  const features = batch.names;
  const columns = [...features, batch.schema.label.name, ...(batch.schema.time ? [batch.schema.time.name] : [])];
  const present = new Set(columns);
  const kindMismatch = (name: string) => {
    const want = reference.column(name).type;
    const got = batch.column(name).type;
    if (want !== got) throw new MlTypeError(MlErrorCodes.SCHEMA_MISMATCH, `batch.${name}: expected a ${want} column as in the reference, got ${got}`);
  };
  const label = batch.schema.label;
  return {
    rows: batch.nRows,
    columns,
    has: (name) => present.has(name),
    numeric(name) {
      kindMismatch(name);
      const c = batch.column(name);
      return { values: (c as { values: Float64Array }).values, typeErrors: { count: 0, rows: [], values: [] } };
    },
    categorical(name) {
      kindMismatch(name);
      const c = batch.column(name) as { codes: Int32Array; categories: readonly string[] };
      return Array.from(c.codes, (k) => (k < 0 ? null : c.categories[k]));
    },
    // A frame's labels are already coded: its loader refused any other value.
    labels: () => Array.from(batch.labels, (y) => (y === 1 ? label.positive : (label.negative?.[0] ?? `not ${label.positive}`))),
  };
}

/**
 * RFC 4180 records: quoted fields with `""` escapes, CRLF or LF, blank lines skipped (so row numbers match the
 * loader's). Lenient where the loader is strict: a malformed quote is kept as text and becomes a type error of
 * its column rather than stopping the read.
 */
function splitCsv(text: string, delimiter: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endRecord = () => {
    record.push(field);
    field = '';
    if (!(record.length === 1 && record[0].trim() === '')) records.push(record);
    record = [];
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === delimiter) {
      record.push(field);
      field = '';
    } else if (ch === '\n') endRecord();
    else if (ch === '\r') {
      if (text[i + 1] === '\n') i++;
      endRecord();
    } else field += ch;
    i++;
  }
  if (field !== '' || record.length > 0) endRecord();
  return records;
}

function delimiterOf(d: string | undefined): string {
  const delimiter = d ?? ',';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `batch.delimiter: expected one character other than a quote or a line end, got ${JSON.stringify(delimiter)}`);
  }
  return delimiter;
}

// ---------------------------------------------------------------------------------------------------------
// checks

/**
 * The range a batch's values may take, from the reference's own values. A new batch from the same distribution
 * exceeds the reference's extremes only by about the spacing of its top order statistics (for a normal sample of
 * 1,000 the maximum is near 3.2 sd and the range 6.4 sd, so the allowed maximum sits near 9.6 sd), while a
 * sentinel (9999 for "unknown" in a column of ages, 1e9 in a column of prices) lies many ranges away. Widening by
 * the range rather than a multiple of the IQR keeps heavy-tailed columns, whose reference already holds values far
 * beyond the quartiles, from flagging their ordinary extremes; and a non-negative column's sentinel -1 sits inside
 * any such widening, hence the sign rule. Columns with known bounds or very heavy tails take `ranges`.
 */
function allowedRange(values: Float64Array, override: { min?: number; max?: number } | undefined): NonNullable<ColumnValidation['range']> {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return { referenceMin: NaN, referenceMax: NaN, allowedMin: override?.min ?? -Infinity, allowedMax: override?.max ?? Infinity };
  const width = max - min;
  return {
    referenceMin: min,
    referenceMax: max,
    allowedMin: override?.min ?? (min >= 0 ? Math.max(0, min - width) : min - width),
    allowedMax: override?.max ?? max + width,
  };
}

/** Fewer out-of-range values than this never make a shift of a distribution, whatever the batch size. */
const MIN_DRIFT_VALUES = 5;

/**
 * Tells a data error from drift among a column's values outside its allowed range (`outside`, of `present`
 * readable values). Under `auto`, in this order:
 * - at or below `maxOutOfRangeShare` of the values: tolerated, a warning (the caller accepts that many);
 * - outside a range the caller gave in `ranges`: a failure, since explicit bounds are known bounds;
 * - any value more than `maxDriftWidths` reference widths beyond the reference's [min, max]: a failure. Drift moves
 *   a column by a few of its own widths (Elec2's prices spike to about 3 widths beyond a month's range), while a
 *   sentinel (9999 in a column of [0, 10]: 999 widths) or a unit error (x1000) lands orders of magnitude away. A
 *   constant reference has no width, so its scale is its magnitude, at least 1: a column constant at 0.0035 (a
 *   normalised price before its market opened) may spread over [0, 1] and still be drift;
 * - most of the out-of-range values one repeated value (twice or more): a failure, the signature of a sentinel or a
 *   default value (-1, 9999, a fill value), where drift spreads over many values;
 * - fewer than `minDriftShare` of the values, or fewer than 5: a failure. A handful of values beyond the range is
 *   not a shift of the distribution; it is what typos and isolated sentinels look like (a single -1 in a
 *   non-negative column);
 * - otherwise a broad, varied spread beyond the old range: drift, a warning. The run goes on, and a model trained
 *   on this data, once promoted, makes the new range part of the reference.
 * `fail` keeps the strict rule (any share above the tolerance fails), `warn` never fails.
 */
function judgeOutOfRange(
  outside: Float64Array,
  present: number,
  range: NonNullable<ColumnValidation['range']>,
  override: { min?: number; max?: number } | undefined,
  opts: CheckedOptions,
): { verdict: RangeVerdict; fails: boolean; why: string } {
  const k = outside.length;
  const share = k / Math.max(1, present);
  if (share <= opts.maxOutOfRangeShare) return { verdict: RangeVerdicts.tolerated, fails: false, why: `at most ${pct(opts.maxOutOfRangeShare)} of the values (maxOutOfRangeShare): a warning` };
  if (opts.outOfRange === OutOfRangePolicies.fail) return { verdict: RangeVerdicts.strict, fails: true, why: 'out-of-range values fail the batch (policy fail)' };
  if (opts.outOfRange === OutOfRangePolicies.warn) return { verdict: RangeVerdicts.warned, fails: false, why: 'reported, not failed (policy warn)' };
  const explicit = outside.some((v) => (override?.min !== undefined && v < override.min) || (override?.max !== undefined && v > override.max));
  if (explicit) return { verdict: RangeVerdicts.explicit, fails: true, why: 'outside the range configured for this column' };
  const { referenceMin: lo, referenceMax: hi } = range;
  const width = hi - lo;
  const scale = width > 0 ? width : Math.max(Math.abs(lo), 1);
  let farthest = 0;
  let farValue = NaN;
  const counts = new Map<number, number>();
  let top = 0;
  let topValue = NaN;
  for (const v of outside) {
    const d = v > hi ? (v - hi) / scale : v < lo ? (lo - v) / scale : 0;
    if (d > farthest) {
      farthest = d;
      farValue = v;
    }
    const c = (counts.get(v) ?? 0) + 1;
    counts.set(v, c);
    if (c > top) {
      top = c;
      topValue = v;
    }
  }
  const widthNote = width > 0 ? 'reference widths' : `x ${fmt(scale)} (the constant reference's scale)`;
  if (lo === lo && farthest > opts.maxDriftWidths) {
    return { verdict: RangeVerdicts.far, fails: true, why: `${fmt(farValue)} is ${fmt(farthest)} ${widthNote} beyond the reference range (more than ${fmt(opts.maxDriftWidths)}): a sentinel or a unit error, not drift` };
  }
  if (top >= 2 && top * 2 >= k) {
    return { verdict: RangeVerdicts.repeated, fails: true, why: `${top} of them are the same value ${fmt(topValue)}: the signature of a sentinel or default value, not drift` };
  }
  if (k < MIN_DRIFT_VALUES || share < opts.minDriftShare) {
    return { verdict: RangeVerdicts.few, fails: true, why: `${pct(share)} of the values, too few to be a shift of the distribution (drift needs at least ${pct(opts.minDriftShare)} and ${MIN_DRIFT_VALUES} values): isolated bad values` };
  }
  return {
    verdict: RangeVerdicts.drift,
    fails: false,
    why: `${pct(share)} of the values, ${counts.size} distinct, within ${fmt(farthest)} ${widthNote} of the reference range: the column drifted beyond its old range (a warning: a model trained on this data widens the reference)`,
  };
}

function countPresent(values: Float64Array): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === values[i]) n++;
  return n;
}

/**
 * Fails a column whose missing rate rose by more than the tolerance, when the rise is also significant (one-sided
 * pooled two-proportion z-test at 0.01): a threshold alone would fail small batches on chance.
 */
function checkMissing(name: string, rate: number, refRate: number, n: number, nRef: number, tolerance: number, failures: ValidationFinding[]): void {
  const rise = rate - refRate;
  if (!(rise > tolerance) || n === 0) return;
  const pooled = (rate * n + refRate * nRef) / (n + nRef);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / nRef));
  const p = se > 0 ? normalSf(rise / se) : 0;
  if (p >= MISSING_ALPHA) return;
  failures.push({
    column: name,
    check: ValidationChecks.missingRate,
    message: `missing rate ${pct(rate)} vs ${pct(refRate)} in the reference: a rise of ${pct(rise)} > the tolerance ${pct(tolerance)} (p=${fmt(p)})`,
    count: Math.round(rate * n),
  });
}

function missingShare(c: ReturnType<Frame['column']>): number {
  const n = c.type === FeatureTypes.numeric ? c.values.length : c.codes.length;
  if (n === 0) return 0;
  let k = 0;
  if (c.type === FeatureTypes.numeric) for (let i = 0; i < n; i++) k += c.values[i] !== c.values[i] ? 1 : 0;
  else for (let i = 0; i < n; i++) k += c.codes[i] < 0 ? 1 : 0;
  return k / n;
}

function hasValue(c: ReturnType<FrameLike['column']>): boolean {
  return c.type === 'numeric' ? c.values.some((v) => v === v) : c.codes.some((k) => k >= 0);
}

function share(values: Float64Array, pred: (v: number) => boolean): number {
  if (values.length === 0) return 0;
  let k = 0;
  for (let i = 0; i < values.length; i++) if (pred(values[i])) k++;
  return k / values.length;
}

function sample(values: Float64Array, pred: (v: number) => boolean, maxRows: number): RowSample {
  const rows: number[] = [];
  const out: number[] = [];
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (!pred(values[i])) continue;
    count++;
    if (rows.length < maxRows) {
      rows.push(i + 1);
      out.push(values[i]);
    }
  }
  return { count, rows, values: out };
}

function describeSample(s: RowSample): string {
  const shown = s.rows.slice(0, 5).map((r, k) => `row ${r}: ${JSON.stringify(s.values[k])}`);
  return `${shown.join(', ')}${s.count > shown.length ? `, ... (${s.count} in all)` : ''}`;
}

interface CheckedOptions {
  missingTolerance: number;
  maxOutOfRangeShare: number;
  maxUnseenShare: number;
  outOfRange: OutOfRangePolicy;
  minDriftShare: number;
  maxDriftWidths: number;
  requireLabels: boolean;
  distribution: boolean;
  maxRows: number;
  ranges: Readonly<Record<string, { readonly min?: number; readonly max?: number }>>;
}

function checkOptions(o: ValidationOptions): CheckedOptions {
  const unit = (name: string, v: number) => {
    if (!(v >= 0 && v <= 1)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `options.${name}: expected a number in [0, 1], got ${v}`);
    return v;
  };
  const maxRows = o.maxRows ?? 20;
  if (!(Number.isInteger(maxRows) && maxRows >= 0 && maxRows <= 1000)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `options.maxRows: expected an integer in [0, 1000], got ${maxRows}`);
  const outOfRange = o.outOfRange ?? OutOfRangePolicies.auto;
  if (!Object.values(OutOfRangePolicies).includes(outOfRange)) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `options.outOfRange: expected one of ${Object.values(OutOfRangePolicies).map((p) => JSON.stringify(p)).join(', ')}, got ${JSON.stringify(outOfRange)}`);
  }
  const maxDriftWidths = o.maxDriftWidths ?? 10;
  if (!(maxDriftWidths > 0 && Number.isFinite(maxDriftWidths))) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `options.maxDriftWidths: expected a positive number, got ${maxDriftWidths}`);
  return {
    missingTolerance: unit('missingTolerance', o.missingTolerance ?? 0.05),
    maxOutOfRangeShare: unit('maxOutOfRangeShare', o.maxOutOfRangeShare ?? 0),
    maxUnseenShare: unit('maxUnseenShare', o.maxUnseenShare ?? 0.01),
    outOfRange,
    minDriftShare: unit('minDriftShare', o.minDriftShare ?? 0.01),
    maxDriftWidths,
    requireLabels: o.requireLabels ?? false,
    distribution: o.distribution ?? true,
    maxRows,
    ranges: o.ranges ?? {},
  };
}

function pct(x: number): string {
  return `${Number((x * 100).toPrecision(3))}%`;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e6 ? String(Number(x.toPrecision(4))) : x.toExponential(2);
}
