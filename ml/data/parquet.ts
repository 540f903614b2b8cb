/**
 * Frames as Parquet files, so dataset snapshots open directly in pandas, DuckDB and Spark: numeric features and
 * the time column are DOUBLE (missing values as nulls), categorical features are UTF-8 strings (names, not codes),
 * and the label is the original label strings when the negative value is known (else a BOOLEAN, true for the
 * positive class). The Retrain schema and each categorical column's category list ride in the file's key-value
 * metadata, so reading our own file back restores the frame exactly, codes included; files written by other tools
 * are read by a schema given by the caller. Uses hyparquet and hyparquet-writer (plain JavaScript, no native or
 * wasm code, and the only Parquet pair that runs in any JavaScript runtime).
 */
import { parquetMetadata, parquetRead } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { z } from 'zod';
import { MlErrorCodes, MlInputError, MlTypeError } from '../errors';
import { type Column, Frame } from './frame';
import { LabelCoder } from './labels';
import { type DataSchema, DataSchemaSchema, FeatureTypes, parseDataSchema } from './schema';

/** The key-value metadata key under which the Retrain schema is stored. */
export const PARQUET_METADATA_KEY = 'retrain.frame';

export const ParquetLabelEncodings = { string: 'string', boolean: 'boolean' } as const;
export type ParquetLabelEncoding = (typeof ParquetLabelEncodings)[keyof typeof ParquetLabelEncodings];

export interface WriteParquetOptions {
  /**
   * The label value written for negative rows. Default: the schema's `label.negative[0]`; without either the label
   * is written as a BOOLEAN, since a frame keeps labels as 0/1 and the negative value would be made up.
   */
  readonly negativeLabel?: string;
  /** Rows per row group; default 100,000 (one group for most windows, which readers split as they like). */
  readonly rowGroupSize?: number;
}

const storedSchema = z.object({
  version: z.literal(1),
  schema: DataSchemaSchema,
  categories: z.record(z.string(), z.array(z.string())),
  label: z.object({
    encoding: z.enum([ParquetLabelEncodings.string, ParquetLabelEncodings.boolean]),
    negative: z.string().optional(),
  }),
});
type Stored = z.output<typeof storedSchema>;

/** The frame as the bytes of a Parquet file. */
export function writeParquet(frame: Frame, opts: WriteParquetOptions = {}): Uint8Array {
  const { schema } = frame;
  const n = frame.nRows;
  const negative = opts.negativeLabel ?? schema.label.negative?.[0];
  if (negative !== undefined && negative === schema.label.positive) {
    throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `negativeLabel: must differ from the positive label ${JSON.stringify(negative)}`);
  }
  const columnData: { name: string; data: unknown[] | Float64Array; type: 'DOUBLE' | 'STRING' | 'BOOLEAN'; nullable?: boolean }[] = [];
  const categories: Record<string, string[]> = {};
  for (const c of frame.columns) {
    if (c.type === FeatureTypes.numeric) {
      const out = new Array<number | null>(n);
      const v = c.values;
      for (let i = 0; i < n; i++) out[i] = v[i] === v[i] ? v[i] : null;
      columnData.push({ name: c.name, data: out, type: 'DOUBLE' });
    } else {
      const out = new Array<string | null>(n);
      const { codes } = c;
      const cats = c.categories;
      for (let i = 0; i < n; i++) out[i] = codes[i] < 0 ? null : cats[codes[i]];
      columnData.push({ name: c.name, data: out, type: 'STRING' });
      categories[c.name] = [...cats];
    }
  }
  const labels = frame.labels;
  if (negative !== undefined) {
    const out = new Array<string>(n);
    const pos = schema.label.positive;
    for (let i = 0; i < n; i++) out[i] = labels[i] === 1 ? pos : negative;
    columnData.push({ name: schema.label.name, data: out, type: 'STRING', nullable: false });
  } else {
    const out = new Array<boolean>(n);
    for (let i = 0; i < n; i++) out[i] = labels[i] === 1;
    columnData.push({ name: schema.label.name, data: out, type: 'BOOLEAN', nullable: false });
  }
  if (schema.time && frame.time) columnData.push({ name: schema.time.name, data: frame.time, type: 'DOUBLE', nullable: false });
  const stored: Stored = {
    version: 1,
    schema,
    categories,
    label: negative !== undefined ? { encoding: ParquetLabelEncodings.string, negative } : { encoding: ParquetLabelEncodings.boolean },
  };
  const buffer = parquetWriteBuffer({
    columnData: columnData as never,
    rowGroupSize: opts.rowGroupSize ?? 100_000,
    kvMetadata: [{ key: PARQUET_METADATA_KEY, value: JSON.stringify(stored) }],
    createdBy: 'retrain (hyparquet-writer)',
  });
  return new Uint8Array(buffer);
}

/**
 * Reads a Parquet file into a frame. Without `schema` the file must carry the Retrain schema (files written by
 * writeParquet do) and comes back exactly as written. With `schema`, its columns are read by name from any
 * Parquet file: numbers of any width (nulls become missing), strings or numbers as categories (codes by the
 * declared categories, else by the file's stored list, else by first appearance), and the label as strings by the
 * label spec, as BOOLEAN (true is positive) or as numbers compared as text (so `positive: "1"` reads 0/1 labels).
 */
export async function readParquet(bytes: Uint8Array | ArrayBuffer, schema?: DataSchema): Promise<Frame> {
  const file = bytes instanceof ArrayBuffer
    ? bytes
    : bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
      ? bytes.buffer
      : bytes.slice().buffer;
  let metadata;
  try {
    metadata = parquetMetadata(file);
  } catch (e) {
    throw new MlInputError(MlErrorCodes.CSV_PARSE, `parquet: not a readable Parquet file (${(e as Error).message})`);
  }
  const stored = readStored(metadata.key_value_metadata);
  if (schema === undefined && stored === undefined) {
    throw new MlTypeError(
      MlErrorCodes.SCHEMA_MISMATCH,
      `schema: this Parquet file carries no Retrain schema (key-value metadata "${PARQUET_METADATA_KEY}"); pass the schema to read it by`,
    );
  }
  const checked = schema === undefined ? stored!.schema : parseDataSchema(schema);
  const n = Number(metadata.num_rows);
  const fileColumns = new Set(metadata.schema.slice(1).map((e) => e.name));
  const wanted = [...checked.features.map((f) => f.name), checked.label.name, ...(checked.time ? [checked.time.name] : [])];
  const absent = wanted.filter((w) => !fileColumns.has(w));
  if (absent.length > 0) {
    throw new MlTypeError(
      MlErrorCodes.SCHEMA_MISMATCH,
      `parquet: missing column${absent.length > 1 ? 's' : ''} ${absent.map((s) => JSON.stringify(s)).join(', ')} named by the schema; the file has ${[...fileColumns].map((s) => JSON.stringify(s)).join(', ')}`,
    );
  }

  // Column chunks arrive one row group at a time; each is copied into place at its row offset.
  const raw = new Map<string, unknown[]>(wanted.map((w) => [w, new Array<unknown>(n)]));
  await parquetRead({
    file,
    columns: wanted,
    onChunk: ({ columnName, columnData, rowStart }) => {
      const out = raw.get(columnName);
      if (!out) return;
      const m = Math.min(columnData.length, n - rowStart);
      for (let k = 0; k < m; k++) out[rowStart + k] = columnData[k];
    },
  });

  const columns = checked.features.map((f): Column => {
    const values = raw.get(f.name)!;
    if (f.type === FeatureTypes.numeric) {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = toNumber(values[i]);
        if (v === undefined) throw valueError(i, f.name, 'a number', values[i]);
        out[i] = v;
      }
      return { type: f.type, name: f.name, values: out };
    }
    const declared = f.categories !== undefined;
    const cats = [...(f.categories ?? stored?.categories[f.name] ?? [])];
    const index = new Map(cats.map((c, k) => [c, k]));
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === null || v === undefined) {
        codes[i] = -1;
        continue;
      }
      const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' ? String(v) : undefined;
      if (s === undefined) throw valueError(i, f.name, 'a category (a string or a number)', v);
      let code = index.get(s);
      if (code === undefined) {
        if (declared) throw valueError(i, f.name, `one of ${cats.map((c) => JSON.stringify(c)).join(', ')}`, v);
        code = cats.length;
        cats.push(s);
        index.set(s, code);
      }
      codes[i] = code;
    }
    return { type: f.type, name: f.name, codes, categories: cats };
  });

  const labelName = checked.label.name;
  const labelValues = raw.get(labelName)!;
  const labels = new Uint8Array(n);
  const coder = new LabelCoder(checked.label, (i) => `row ${i + 1}`);
  for (let i = 0; i < n; i++) {
    const v = labelValues[i];
    if (typeof v === 'boolean') {
      labels[i] = v ? 1 : 0;
      continue;
    }
    if (v === null || v === undefined) throw valueError(i, labelName, `a label (the positive class is ${JSON.stringify(checked.label.positive)}; labels may not be missing)`, v, MlErrorCodes.LABEL_VALUE);
    const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : undefined;
    if (s === undefined) throw valueError(i, labelName, 'a label (a string, a boolean or a number)', v, MlErrorCodes.LABEL_VALUE);
    const coded = coder.code(s);
    if (typeof coded !== 'number') {
      throw new MlInputError(MlErrorCodes.LABEL_VALUE, `row ${i + 1}, column ${JSON.stringify(labelName)}: ${coded.message}`, { row: i + 1, column: labelName });
    }
    labels[i] = coded;
  }
  const problem = coder.finish();
  if (problem) {
    throw new MlInputError(MlErrorCodes.LABEL_VALUE, `column ${JSON.stringify(labelName)}: ${problem.message}`, { row: problem.index + 1, column: labelName });
  }

  let time: Float64Array | undefined;
  if (checked.time) {
    const name = checked.time.name;
    const values = raw.get(name)!;
    time = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      const t = v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : toNumber(v);
      if (t === undefined || !Number.isFinite(t)) throw valueError(i, name, 'a time (a number, a timestamp or a date; time may not be missing)', v);
      time[i] = t;
    }
  }
  return new Frame({ schema: checked, columns, labels, time });
}

function readStored(kv: { key: string; value?: string }[] | undefined): Stored | undefined {
  const entry = kv?.find((e) => e.key === PARQUET_METADATA_KEY);
  if (entry?.value === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(entry.value);
  } catch (e) {
    throw new MlTypeError(MlErrorCodes.SCHEMA_MISMATCH, `parquet metadata "${PARQUET_METADATA_KEY}": expected JSON (${(e as Error).message})`);
  }
  const r = storedSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new MlTypeError(MlErrorCodes.SCHEMA_MISMATCH, `parquet metadata "${PARQUET_METADATA_KEY}".${issue.path.join('.')}: ${issue.message}`);
  }
  return r.data;
}

/** A number from any Parquet numeric type: NaN for null, undefined for a value that is not numeric. */
function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

function valueError(i: number, column: string, expected: string, got: unknown, code: typeof MlErrorCodes.CSV_PARSE | typeof MlErrorCodes.LABEL_VALUE = MlErrorCodes.CSV_PARSE): MlInputError {
  const shown = typeof got === 'string' ? JSON.stringify(got) : typeof got === 'bigint' ? `${got}n` : got instanceof Date ? got.toISOString() : String(got);
  return new MlInputError(code, `row ${i + 1}, column ${JSON.stringify(column)}: expected ${expected}, got ${shown}`, { row: i + 1, column });
}
