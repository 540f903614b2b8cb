/**
 * The validate stage: the new data (the training part and the holdout) checked against the training reference
 * (production's training set, or the history on a first run, or on a first run without history only against
 * the config): every expected column present, numeric columns numeric, label values known, missing rates not
 * jumping, numeric values within a tolerance of the reference's range (sentinels such as -999 fail), and the
 * distribution report as evidence. A failed validation is a result (`passed: false`, the failing checks naming
 * columns and rows), not an exception; the full report is an artifact.
 */
import { driftReport, type DriftReport } from '../ml/drift';
import type { ActivityDeps } from './deps';
import { putJson, readSnapshot, runKey } from './common';
import { featureNames, inferSchema, toFrame } from './schema';
import { concatTables, isMissing, type Table } from './table';
import type { ValidateInput, ValidateResult } from './types';

/** A missing rate higher than the reference's by more than this fails. */
const MISSING_RATE_JUMP = 0.1;
/** Numeric values farther outside the reference range than this many range widths fail. */
const RANGE_TOLERANCE = 1;
const MAX_ROWS_NAMED = 10;
const MAX_FAILURES = 20;

interface Failure {
  readonly column?: string;
  readonly check: string;
  readonly message: string;
  readonly rows?: readonly number[];
}

export async function validate(deps: ActivityDeps, input: ValidateInput): Promise<ValidateResult> {
  const { config, collect } = input;
  const fresh = concatTables([await readSnapshot(deps.store, collect.fresh.uri), await readSnapshot(deps.store, collect.holdout.uri)], 'new data');
  const reference = await referenceTable(deps, input);
  const failures: Failure[] = [];
  const where = `the new data (batches ${collect.fromBatch}..${collect.toBatch - 1})`;

  // Schema: the expected columns, by the reference's header (or the config's names without one).
  const expected = reference
    ? reference.table.header
    : [...(config.data.features ?? []), config.data.label, ...config.data.slices, ...config.data.protectedGroups, ...(config.data.time ? [config.data.time] : [])];
  for (const column of expected) {
    if (!fresh.header.includes(column)) failures.push({ column, check: 'schema', message: `column ${column}: missing from ${where} (reference columns: ${expected.join(', ')})` });
  }
  const features = featureNames(config, reference ? reference.table.header : fresh.header).filter((f) => fresh.header.includes(f));

  // Labels: only the positive value and the accepted negative ones.
  const lj = fresh.header.indexOf(config.data.label);
  if (lj >= 0) {
    const accepted = config.data.negative ? new Set([config.data.positive, ...config.data.negative]) : undefined;
    const others = new Map<string, number[]>();
    fresh.rows.forEach((r, i) => {
      const v = r[lj].trim();
      if (isMissing(v) || v === config.data.positive || accepted?.has(v)) return;
      others.set(v, [...(others.get(v) ?? []), i + 1]);
    });
    const unknown = accepted ? [...others] : [...others].slice(1); // without declared negatives, one other value is the negative class
    for (const [value, rows] of unknown) {
      failures.push({ column: config.data.label, check: 'label', message: `column ${config.data.label}: value ${JSON.stringify(value)} is not ${accepted ? `one of ${[...accepted].map((s) => JSON.stringify(s)).join(', ')}` : `the positive value ${JSON.stringify(config.data.positive)} or the one negative value`} (${rowList(rows)})`, rows: rows.slice(0, MAX_ROWS_NAMED) });
    }
  }

  // Types, missing rates and ranges per feature, against the reference's types and statistics.
  const refStats = reference ? columnStats(reference.table) : undefined;
  const refTypes = new Map(reference?.types ?? []);
  for (const f of features) {
    const j = fresh.header.indexOf(f);
    const numericExpected = refTypes.size ? refTypes.get(f) === 'numeric' : !config.data.categorical.includes(f) && looksNumeric(fresh, j);
    let missing = 0;
    const notNumbers: number[] = [];
    const outOfRange: number[] = [];
    const ref = refStats?.get(f);
    const span = ref && ref.max >= ref.min ? Math.max(ref.max - ref.min, Math.abs(ref.max) * 1e-9, 1e-12) : 0;
    const lo = ref ? ref.min - RANGE_TOLERANCE * span : -Infinity;
    const hi = ref ? ref.max + RANGE_TOLERANCE * span : Infinity;
    fresh.rows.forEach((r, i) => {
      const v = r[j];
      if (isMissing(v)) {
        missing++;
        return;
      }
      if (!numericExpected) return;
      const x = Number(v);
      if (!Number.isFinite(x)) notNumbers.push(i + 1);
      else if (ref && ref.count > 0 && (x < lo || x > hi)) outOfRange.push(i + 1);
    });
    if (notNumbers.length) failures.push({ column: f, check: 'type', message: `column ${f}: ${notNumbers.length} values are not numbers in a numeric column (${rowList(notNumbers)})`, rows: notNumbers.slice(0, MAX_ROWS_NAMED) });
    if (outOfRange.length && ref) {
      failures.push({ column: f, check: 'range', message: `column ${f}: ${outOfRange.length} values out of range [${fmt(lo)}, ${fmt(hi)}] (the reference's [${fmt(ref.min)}, ${fmt(ref.max)}] widened by its width) (${rowList(outOfRange)})`, rows: outOfRange.slice(0, MAX_ROWS_NAMED) });
    }
    const rate = fresh.rows.length ? missing / fresh.rows.length : 0;
    const refRate = ref ? ref.missingRate : 0;
    if (rate > refRate + MISSING_RATE_JUMP) {
      failures.push({ column: f, check: 'missing', message: `column ${f}: ${pct(rate)} missing, the reference has ${pct(refRate)} (more than ${pct(MISSING_RATE_JUMP)} higher)` });
    }
  }

  // Distribution shift is evidence, not a failure: new concepts are what retraining is for.
  let drift: DriftReport | { error: string } | undefined;
  if (reference && failures.length === 0) {
    try {
      const schema = inferSchema(config, reference.table, 'reference');
      drift = driftReport(toFrame(reference.table, schema), toFrame(fresh, schema), { features: schema.features.map((s) => s.name) });
    } catch (e) {
      drift = { error: (e as Error).message };
    }
  }

  const passed = failures.length === 0;
  const reportUri = await putJson(deps.store, runKey(input.model, input.n, 'validation.json'), {
    runWorkflowId: input.runWorkflowId,
    passed,
    reference: reference ? { kind: reference.kind, uri: reference.uri, rows: reference.table.rows.length } : { kind: 'config' },
    data: { rows: fresh.rows.length, batches: [collect.fromBatch, collect.toBatch], rowNumbering: 'rows are 1-based over the new data in batch order (training part, then holdout)' },
    rules: { missingRateJump: MISSING_RATE_JUMP, rangeTolerance: RANGE_TOLERANCE },
    failures,
    drift,
  });
  return { passed, failures: failures.slice(0, MAX_FAILURES).map(({ column, check, message }) => ({ ...(column ? { column } : {}), check, message })), reportUri };
}

interface Reference {
  readonly kind: 'production' | 'history';
  readonly uri: string;
  readonly table: Table;
  readonly types: [string, 'numeric' | 'categorical'][];
}

async function referenceTable(deps: ActivityDeps, input: ValidateInput): Promise<Reference | undefined> {
  if (input.productionVersion !== null) {
    const v = await deps.registry.getVersion(input.model, input.productionVersion);
    const uri = (v.lineage as { trainingSetUri?: string }).trainingSetUri;
    if (uri) {
      const table = await readSnapshot(deps.store, uri);
      return { kind: 'production', uri, table, types: typesOf(input, table) };
    }
  }
  if (input.collect.historical) {
    const table = await readSnapshot(deps.store, input.collect.historical.uri);
    return { kind: 'history', uri: input.collect.historical.uri, table, types: typesOf(input, table) };
  }
  return undefined;
}

function typesOf(input: ValidateInput, table: Table): [string, 'numeric' | 'categorical'][] {
  try {
    return inferSchema(input.config, table, 'reference').features.map((f) => [f.name, f.type]);
  } catch {
    return [];
  }
}

function looksNumeric(t: Table, j: number): boolean {
  let numbers = 0;
  let present = 0;
  for (const r of t.rows) {
    if (isMissing(r[j])) continue;
    present++;
    if (Number.isFinite(Number(r[j]))) numbers++;
  }
  // A column that is mostly numbers is numeric with a few bad values, not categorical.
  return present > 0 && numbers / present >= 0.9;
}

interface Stats {
  min: number;
  max: number;
  count: number;
  missingRate: number;
}

function columnStats(t: Table): Map<string, Stats> {
  const out = new Map<string, Stats>();
  t.header.forEach((name, j) => {
    let min = Infinity;
    let max = -Infinity;
    let count = 0;
    let missing = 0;
    for (const r of t.rows) {
      if (isMissing(r[j])) {
        missing++;
        continue;
      }
      const x = Number(r[j]);
      if (!Number.isFinite(x)) continue;
      count++;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    out.set(name, { min, max, count, missingRate: t.rows.length ? missing / t.rows.length : 0 });
  });
  return out;
}

function rowList(rows: readonly number[]): string {
  const shown = rows.slice(0, MAX_ROWS_NAMED).join(', ');
  return `row${rows.length > 1 ? 's' : ''} ${shown}${rows.length > MAX_ROWS_NAMED ? ` and ${rows.length - MAX_ROWS_NAMED} more` : ''}`;
}

function pct(x: number): string {
  return `${Number((100 * x).toPrecision(3))}%`;
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(4)));
}
