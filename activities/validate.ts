/**
 * The validate stage: the new data (the training part and the holdout) checked against the training reference
 * (production's training set, else the history) by ml/data's `validateBatch`, the one implementation that decides:
 * schema, types, missing rates, ranges implied by the reference's own values (sentinels fail), unseen categories,
 * label values, and distributions as warnings. A first run with neither reference is checked against the config's
 * schema and the new data's own readable rows (types, labels and columns, but no ranges or rates to compare). A
 * failed validation is a result (`passed: false`, the failing checks naming columns and rows), not an exception;
 * the full report is an artifact. Values beyond the reference's range are judged by the config's `validation`
 * policy (`auto` by default: sentinels fail, drift is a warning carried in the result and the run's status), since
 * the reference is production's training set, which only widens when a run trained on the new range is promoted.
 */
import { FeatureTypes, type DataSchema, type Frame } from '../ml/data';
import { ValidationChecks, validateBatch, type ValidationFinding, type ValidationReport } from '../ml/data/validation';
import { ValidationConfigSchema } from '../workflows/config';
import type { ActivityDeps } from './deps';
import { putJson, readSnapshot, runKey } from './common';
import { featureNames, inferSchema, labelSpec, toFrame } from './schema';
import { concatTables, isMissing, tableToCsv, type Table } from './table';
import type { ValidateInput, ValidateResult } from './types';

/** The failing checks carried in workflow history; the artifact has them all. */
const MAX_FAILURES = 20;
/** The warnings carried in workflow history (drift beyond the reference range first); the artifact has them all. */
const MAX_WARNINGS = 10;
/** A column this share of whose values are numbers is numeric with a few bad values, not categorical. */
const NUMERIC_SHARE = 0.9;

interface Reference {
  readonly kind: 'production' | 'history' | 'config';
  readonly uri?: string;
  readonly frame: Frame;
}

export async function validate(deps: ActivityDeps, input: ValidateInput): Promise<ValidateResult> {
  const { config, collect } = input;
  const fresh = concatTables([await readSnapshot(deps.store, collect.fresh.uri), await readSnapshot(deps.store, collect.holdout.uri)], 'new data');
  const reference = (await referenceFrame(deps, input)) ?? selfReference(input, fresh);
  // A config from a workflow started before `validation` existed has none: the schema's defaults apply.
  const policy = ValidationConfigSchema.parse(config.validation ?? {});
  const report = validateBatch(reference.frame, { csv: tableToCsv(fresh) }, {
    outOfRange: policy.outOfRange,
    maxOutOfRangeShare: policy.maxOutOfRangeShare,
    minDriftShare: policy.minDriftShare,
    maxDriftWidths: policy.maxDriftWidths,
    ranges: policy.ranges,
    // Against the new data's own rows, ranges and rates say nothing, and the distribution is the same.
    ...(reference.kind === 'config' ? { distribution: false, ranges: openRanges(reference.frame.schema) } : {}),
  });
  const reportUri = await putJson(deps.store, runKey(input.model, input.n, 'validation.json'), {
    ...report,
    runWorkflowId: input.runWorkflowId,
    reference: { kind: reference.kind, ...(reference.uri ? { uri: reference.uri } : {}), rows: reference.frame.nRows },
    data: { batches: [collect.fromBatch, collect.toBatch], rowNumbering: 'rows are 1-based over the new data in batch order (training part, then holdout)' },
  } satisfies ValidationReport & Record<string, unknown>);
  // Range drift is the warning an operator most needs to see (the reference is stale), so it leads.
  const warnings = [...report.warnings].sort((a, b) => rangeFirst(a) - rangeFirst(b)).slice(0, MAX_WARNINGS).map(status);
  return { passed: report.passed, failures: report.failures.slice(0, MAX_FAILURES).map(status), ...(warnings.length > 0 ? { warnings } : {}), reportUri };
}

function rangeFirst(f: ValidationFinding): number {
  return f.check === ValidationChecks.outOfRange ? 0 : 1;
}

/** A finding as the workflow shows it: the column named in the message, and the rows when it has any. */
function status(f: ValidationFinding): ValidateResult['failures'][number] {
  const rows = f.rows && f.rows.length > 0 && !/\brow \d/.test(f.message)
    ? ` (row${f.rows.length > 1 ? 's' : ''} ${f.rows.slice(0, 10).join(', ')}${(f.count ?? f.rows.length) > 10 ? ` and ${(f.count ?? f.rows.length) - 10} more` : ''})`
    : '';
  return { ...(f.column !== null ? { column: f.column } : {}), check: f.check, message: `${f.column !== null ? `column ${f.column}: ` : ''}${f.message}${rows}` };
}

async function referenceFrame(deps: ActivityDeps, input: ValidateInput): Promise<Reference | undefined> {
  const read = async (kind: 'production' | 'history', uri: string): Promise<Reference> => {
    const table = await readSnapshot(deps.store, uri);
    return { kind, uri, frame: toFrame(table, inferSchema(input.config, table, `reference (${kind})`)) };
  };
  if (input.productionVersion !== null) {
    const v = await deps.registry.getVersion(input.model, input.productionVersion);
    const uri = (v.lineage as { trainingSetUri?: string }).trainingSetUri;
    if (uri) return read('production', uri);
  }
  if (input.collect.historical) return read('history', input.collect.historical.uri);
  return undefined;
}

/**
 * With no reference: the schema from the config (the feature columns it names, else the new data's) with types
 * inferred leniently from the new data, and as data its rows that fit that schema, so the validator still
 * reports the columns absent, the values of the wrong type and the unknown labels, with their rows.
 */
function selfReference(input: ValidateInput, fresh: Table): Reference {
  const d = input.config.data;
  const names = d.features ? [...d.features] : featureNames(input.config, fresh.header);
  const categorical = new Set(d.categorical);
  const features = names.map((name) => {
    const j = fresh.header.indexOf(name);
    return { name, type: !categorical.has(name) && (j < 0 || mostlyNumeric(fresh, j)) ? FeatureTypes.numeric : FeatureTypes.categorical };
  });
  const label = labelSpec(input.config);
  const lj = fresh.header.indexOf(d.label);
  const counts = new Map<string, number>();
  if (lj >= 0) for (const r of fresh.rows) if (!isMissing(r[lj]) && r[lj].trim() !== label.positive) counts.set(r[lj].trim(), (counts.get(r[lj].trim()) ?? 0) + 1);
  // Without declared negatives the most frequent other value is the negative class, so a stray one is the error.
  const negative = label.negative ?? (counts.size ? [[...counts].sort((a, b) => b[1] - a[1])[0][0]] : undefined);
  const schema: DataSchema = { features, label: { ...label, ...(negative ? { negative: [...negative] } : {}) } };
  // Columns absent from the new data stay in the reference, empty, so that the validator reports them missing.
  const header = [...features.map((f) => f.name), d.label];
  const at = header.map((h) => fresh.header.indexOf(h));
  const numeric = features.map((f) => f.type === FeatureTypes.numeric);
  const accepted = new Set([label.positive, ...(negative ?? [])]);
  const fits = (r: readonly string[]) => lj >= 0 && accepted.has(r[lj].trim()) && numeric.every((isNum, k) => !isNum || at[k] < 0 || isMissing(r[at[k]]) || Number.isFinite(Number(r[at[k]])));
  const rows = fresh.rows.filter(fits).map((r) => at.map((j) => (j < 0 ? '' : r[j])));
  return { kind: 'config', frame: toFrame({ header, rows }, schema) };
}

function mostlyNumeric(t: Table, j: number): boolean {
  let numbers = 0;
  let present = 0;
  for (const r of t.rows) {
    if (isMissing(r[j])) continue;
    present++;
    if (Number.isFinite(Number(r[j]))) numbers++;
  }
  return present === 0 || numbers / present >= NUMERIC_SHARE;
}

/** No range limits: the new data's own values say nothing about the range they should have. */
function openRanges(schema: DataSchema): Record<string, { min: number; max: number }> {
  return Object.fromEntries(schema.features.filter((f) => f.type === FeatureTypes.numeric).map((f) => [f.name, { min: -Infinity, max: Infinity }]));
}
