/**
 * Helpers every stage shares: where a run's artifacts live in the store, reading and writing content-addressed
 * dataset snapshots as tables (Parquet through ml/data, so pandas, DuckDB and Spark open them; CSV for what a
 * binary-label frame cannot hold, and for snapshots written before Parquet), and the activity context when there
 * is one (tests may call a stage's function directly, outside an activity).
 */
import { Context } from '@temporalio/activity';
import { FeatureTypes, Frame, frameFromArrays, type DataSchema } from '../ml/data';
import { readParquet, writeParquet } from '../ml/data/parquet';
import { getSnapshot, putSnapshot } from '../storage/snapshots';
import type { ArtifactStore } from '../storage/artifact-store';
import type { Snapshot } from './types';
import { isMissing, parseTable, tableToCsv, type Table } from './table';

/** The activity context, or undefined outside an activity. */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
}

export function cancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}

/** `runs/<model>/<n>/<name>`: a run's own artifacts, replaced by a retry of the same stage. */
export function runKey(model: string, n: number, name: string): string {
  return `runs/${model}/${n}/${name}`;
}

/** The label of a model's data, as a snapshot needs it to store the label column as a label. */
export interface SnapshotLabel {
  readonly name: string;
  readonly positive: string;
  readonly negative?: readonly string[];
  /** Columns that hold categories even when every value looks like a number (config.data.categorical). */
  readonly categorical?: readonly string[];
}

/**
 * Writes a table as an immutable, content-addressed snapshot: Parquet when a frame can hold it exactly, else CSV.
 * A frame keeps a binary label, so a table without the label column, with missing labels (an unlabelled batch
 * waiting for a labeling request) or with several negative values (validate must see them as they are) stays CSV.
 */
export async function writeSnapshot(store: ArtifactStore, table: Table, meta: Record<string, unknown>, label?: SnapshotLabel): Promise<Snapshot> {
  const frame = label ? tableFrame(table, label) : undefined;
  const s = frame
    ? await putSnapshot(store, writeParquet(frame.frame, { negativeLabel: frame.negative }), { format: 'parquet', meta: { rows: table.rows.length, ...meta } })
    : await putSnapshot(store, tableToCsv(table), { format: 'csv', meta: { rows: table.rows.length, ...meta } });
  return { uri: s.uri, sha256: s.sha256, rows: table.rows.length };
}

/** Writes a frame (a training set) as a Parquet snapshot; `negative` is the label value of its negative rows. */
export async function writeFrameSnapshot(store: ArtifactStore, frame: Frame, negative: string, meta: Record<string, unknown>): Promise<Snapshot> {
  const schema: DataSchema = { ...frame.schema, label: { ...frame.schema.label, negative: [negative] } };
  const labelled = new Frame({ schema, columns: frame.columns, labels: frame.labels, ...(frame.time ? { time: frame.time } : {}) });
  const s = await putSnapshot(store, writeParquet(labelled), { format: 'parquet', meta: { rows: frame.nRows, ...meta } });
  return { uri: s.uri, sha256: s.sha256, rows: frame.nRows };
}

// A plain decimal number; a leading zero ("02139") marks an identifier whose text must survive, so not numeric.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const LEADING_ZERO = /^[+-]?0\d/;

/**
 * The frame that stores a table in Parquet, or undefined when it cannot hold the table exactly. Every column but
 * the label is a feature of the snapshot's own schema (slices, groups and the time column included, so nothing is
 * dropped): numeric when every present value is a plain decimal number, else categorical with its text kept.
 */
function tableFrame(table: Table, label: SnapshotLabel): { frame: Frame; negative?: string } | undefined {
  const lj = table.header.indexOf(label.name);
  if (lj < 0 || table.rows.length === 0 || new Set(table.header).size !== table.header.length || table.header.some((h) => h === '')) return undefined;
  let negative: string | undefined;
  const labels: string[] = [];
  for (const r of table.rows) {
    const v = r[lj];
    if (isMissing(v) || v !== v.trim()) return undefined;
    if (v !== label.positive) {
      if (negative === undefined) negative = v;
      else if (v !== negative) return undefined;
    }
    labels.push(v);
  }
  if (negative === undefined) negative = label.negative?.[0];
  const categorical = new Set(label.categorical ?? []);
  const features: DataSchema['features'] = [];
  const data: Record<string, (number | null)[] | (string | null)[]> = {};
  table.header.forEach((name, j) => {
    if (j === lj) return;
    const numeric = !categorical.has(name) && table.rows.every((r) => isMissing(r[j]) || (DECIMAL.test(r[j].trim()) && !LEADING_ZERO.test(r[j].trim())));
    features.push({ name, type: numeric ? FeatureTypes.numeric : FeatureTypes.categorical });
    data[name] = numeric ? table.rows.map((r) => (isMissing(r[j]) ? null : Number(r[j]))) : table.rows.map((r) => (isMissing(r[j]) ? null : r[j]));
  });
  if (features.length === 0) return undefined;
  const schema: DataSchema = { features, label: { name: label.name, positive: label.positive, ...(negative !== undefined ? { negative: [negative] } : {}) } };
  return { frame: frameFromArrays(schema, { features: data, labels }), ...(negative !== undefined ? { negative } : {}) };
}

/** A Parquet snapshot as a table: numbers in their shortest text, missing values empty, labels as written. */
export function frameTable(frame: Frame): Table {
  const { schema } = frame;
  const negative = schema.label.negative?.[0] ?? `not ${schema.label.positive}`;
  const header = [...frame.columns.map((c) => c.name), schema.label.name, ...(schema.time && frame.time ? [schema.time.name] : [])];
  const rows: string[][] = [];
  for (let i = 0; i < frame.nRows; i++) {
    const r = frame.columns.map((c) => (c.type === FeatureTypes.numeric ? (c.values[i] === c.values[i] ? String(c.values[i]) : '') : c.codes[i] < 0 ? '' : c.categories[c.codes[i]]));
    r.push(frame.labels[i] === 1 ? schema.label.positive : negative);
    if (schema.time && frame.time) r.push(String(frame.time[i]));
    rows.push(r);
  }
  return { header, rows };
}

const tableCache = new Map<string, Table>();
const TABLE_CACHE_MAX = 32;

/** Reads a snapshot back (its hash verified), Parquet or CSV by its name; snapshots never change, so they are cached by URI. */
export async function readSnapshot(store: ArtifactStore, uri: string): Promise<Table> {
  const hit = tableCache.get(uri);
  if (hit) return hit;
  const bytes = await getSnapshot(store, uri);
  const table = /\.parquet$/.test(uri) ? frameTable(await readParquet(bytes)) : parseTable(Buffer.from(bytes).toString('utf8'), uri);
  if (tableCache.size >= TABLE_CACHE_MAX) tableCache.delete(tableCache.keys().next().value as string);
  tableCache.set(uri, table);
  return table;
}

export function putJson(store: ArtifactStore, key: string, value: unknown): Promise<string> {
  return store.put(key, JSON.stringify(value, jsonReplacer, 1), { contentType: 'application/json' });
}

/** Typed arrays as arrays, non-finite numbers as null: artifacts are plain JSON. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

export function nowIso(clock?: () => Date): string {
  return (clock ? clock() : new Date()).toISOString();
}
