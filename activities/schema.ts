/**
 * The data schema of a model, derived from its config and its data: the label and its classes from the config,
 * the feature columns (the config's list, or every column that is not the label, the time column, a slice or a
 * protected group), and each feature's type inferred from the data (numeric when every value parses) unless the
 * config declares it categorical. A trained model carries its own feature types, and scoring uses those.
 */
import { FeatureTypes, inferCsvSchemaFromText, parseCsvText, type DataSchema, type Frame } from '../ml/data';
import type { ModelConfig } from '../workflows/config';
import type { SnapshotLabel } from './common';
import { badInput } from './failures';
import { columnIndex, isMissing, tableToCsv, type Table } from './table';

/** The feature columns of a config over a table's header. */
export function featureNames(config: ModelConfig, header: readonly string[]): string[] {
  const d = config.data;
  if (d.features) {
    d.features.forEach((f, k) => {
      if (!header.includes(f)) throw badInput(`config.data.features[${k}]: no column ${JSON.stringify(f)} in the data; the columns are ${header.map((s) => JSON.stringify(s)).join(', ')}`);
    });
    return [...d.features];
  }
  const roles = new Set([d.label, ...(d.time ? [d.time] : []), ...d.slices, ...d.protectedGroups]);
  return header.filter((h) => !roles.has(h));
}

/** What a snapshot of this model's data needs to store its label column as a label (see writeSnapshot). */
export function snapshotLabel(config: ModelConfig): SnapshotLabel {
  const d = config.data;
  return { name: d.label, positive: d.positive, ...(d.negative ? { negative: d.negative } : {}), categorical: d.categorical };
}

export function labelSpec(config: ModelConfig): DataSchema['label'] {
  const d = config.data;
  return { name: d.label, positive: d.positive, ...(d.negative ? { negative: [...d.negative] } : {}) };
}

/** Infers the schema from a table (a training set, a history). */
export function inferSchema(config: ModelConfig, table: Table, what: string): DataSchema {
  const d = config.data;
  columnIndex(table, d.label, `${what} (config.data.label)`);
  if (d.time) columnIndex(table, d.time, `${what} (config.data.time)`);
  const features = featureNames(config, table.header);
  if (features.length === 0) throw badInput(`${what}: no feature columns (every column is the label, time, a slice or a group)`);
  const exclude = table.header.filter((h) => h !== d.label && h !== d.time && !features.includes(h));
  const inferred = inferCsvSchemaFromText(tableToCsv(table), {
    label: d.label,
    positive: d.positive,
    ...(d.negative ? { negative: [...d.negative] } : {}),
    ...(exclude.length ? { exclude } : {}),
    ...(d.time ? { time: d.time } : {}),
  });
  const categorical = new Set(d.categorical);
  return {
    ...inferred,
    features: inferred.features.map((f) => (categorical.has(f.name) ? { name: f.name, type: FeatureTypes.categorical } : f)),
  };
}

/** A schema with the given feature specs (a model's), the config's label and time. */
export function schemaWith(config: ModelConfig, features: readonly { name: string; type: 'numeric' | 'categorical' }[]): DataSchema {
  return {
    features: features.map((f) => ({ name: f.name, type: f.type })),
    label: labelSpec(config),
    ...(config.data.time ? { time: { name: config.data.time } } : {}),
  };
}

export function toFrame(table: Table, schema: DataSchema): Frame {
  return parseCsvText(tableToCsv(table), schema);
}

/** A column's values as strings (missing as '(missing)'), for slices and protected groups. */
export function categoryColumn(table: Table, name: string, what: string): string[] {
  const j = columnIndex(table, name, what);
  return table.rows.map((r) => (isMissing(r[j]) ? '(missing)' : r[j].trim()));
}

/** Labels as 0/1/null (missing or not a known class) by the config's label spec. */
export function labelValues(config: ModelConfig, table: Table, what: string): (0 | 1 | null)[] {
  const j = columnIndex(table, config.data.label, what);
  const neg = config.data.negative;
  return table.rows.map((r) => {
    const v = r[j].trim();
    if (v === config.data.positive) return 1;
    if (isMissing(v)) return null;
    if (neg && !neg.includes(v)) return null;
    return 0;
  });
}
