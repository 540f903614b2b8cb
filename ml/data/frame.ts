/**
 * A columnar data frame on typed arrays, the in-memory form of a dataset between loading and training:
 * numeric features as Float64Array (NaN = missing), categorical features as Int32Array codes into a
 * category list (-1 = missing), labels as 0/1 in a Uint8Array and an optional time column as Float64Array.
 * Frames are treated as immutable, which lets `slice` share storage with its parent instead of copying.
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import type { FeatureMatrix } from '../types';
import { LabelCoder } from './labels';
import { type DataSchema, FeatureTypes, sameColumns } from './schema';

export interface NumericColumn {
  readonly type: typeof FeatureTypes.numeric;
  readonly name: string;
  readonly values: Float64Array;
}

export interface CategoricalColumn {
  readonly type: typeof FeatureTypes.categorical;
  readonly name: string;
  readonly codes: Int32Array;
  readonly categories: readonly string[];
}

export type Column = NumericColumn | CategoricalColumn;

export interface FrameParts {
  readonly schema: DataSchema;
  /** One column per schema feature, in schema order. */
  readonly columns: readonly Column[];
  readonly labels: Uint8Array;
  /** Required exactly when the schema names a time column. */
  readonly time?: Float64Array;
}

export class Frame {
  readonly schema: DataSchema;
  readonly columns: readonly Column[];
  readonly labels: Uint8Array;
  readonly time: Float64Array | undefined;
  readonly nRows: number;
  private readonly byName: ReadonlyMap<string, number>;

  /** Checks shapes and names (cheap); category codes are trusted to lie in [-1, categories.length). */
  constructor(parts: FrameParts) {
    const { schema, columns, labels, time } = parts;
    const n = labels.length;
    if (columns.length !== schema.features.length) {
      throw new MlRangeError(MlErrorCodes.SCHEMA_MISMATCH, `columns: expected ${schema.features.length} columns to match schema.features, got ${columns.length}`);
    }
    const byName = new Map<string, number>();
    columns.forEach((c, j) => {
      const f = schema.features[j];
      if (c.name !== f.name || c.type !== f.type) {
        throw new MlTypeError(MlErrorCodes.SCHEMA_MISMATCH, `columns[${j}]: expected ${f.type} column ${JSON.stringify(f.name)}, got ${c.type} column ${JSON.stringify(c.name)}`);
      }
      const len = c.type === FeatureTypes.numeric ? c.values.length : c.codes.length;
      if (len !== n) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `columns[${j}] (${c.name}): expected ${n} rows to match labels, got ${len}`);
      byName.set(c.name, j);
    });
    if (schema.time && !time) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `time: the schema names time column ${JSON.stringify(schema.time.name)}, but no time values were given`);
    if (!schema.time && time) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'time: values were given, but the schema names no time column');
    if (time && time.length !== n) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `time: expected ${n} rows to match labels, got ${time.length}`);
    this.schema = schema;
    this.columns = columns;
    this.labels = labels;
    this.time = time;
    this.nRows = n;
    this.byName = byName;
  }

  /** Feature names in schema order. */
  get names(): readonly string[] {
    return this.columns.map((c) => c.name);
  }

  /** A feature column by name; the time column's name gives it as a numeric column. */
  column(name: string): Column {
    const j = this.byName.get(name);
    if (j !== undefined) return this.columns[j];
    if (this.time && name === this.schema.time?.name) return { type: FeatureTypes.numeric, name, values: this.time };
    throw new MlRangeError(MlErrorCodes.FEATURE_MISMATCH, `name: expected one of ${[...this.byName.keys(), ...(this.schema.time ? [this.schema.time.name] : [])].map((s) => JSON.stringify(s)).join(', ')}, got ${JSON.stringify(name)}`);
  }

  /** Rows [start, end) as a frame sharing this frame's storage. */
  slice(start: number, end: number = this.nRows): Frame {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > this.nRows) {
      throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `slice: expected integers 0 <= start <= end <= ${this.nRows}, got start ${start}, end ${end}`);
    }
    return new Frame({
      schema: this.schema,
      columns: this.columns.map((c) =>
        c.type === FeatureTypes.numeric
          ? { type: c.type, name: c.name, values: c.values.subarray(start, end) }
          : { type: c.type, name: c.name, codes: c.codes.subarray(start, end), categories: c.categories },
      ),
      labels: this.labels.subarray(start, end),
      time: this.time?.subarray(start, end),
    });
  }

  /** The rows at `indices`, in that order (repeats allowed), copied into a new frame. */
  take(indices: ArrayLike<number>): Frame {
    const m = indices.length;
    const n = this.nRows;
    for (let i = 0; i < m; i++) {
      const k = indices[i];
      if (!(Number.isInteger(k) && k >= 0 && k < n)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `indices[${i}]: expected an integer row index in [0, ${n}), got ${k}`);
    }
    const columns = this.columns.map((c): Column => {
      if (c.type === FeatureTypes.numeric) {
        const out = new Float64Array(m);
        const src = c.values;
        for (let i = 0; i < m; i++) out[i] = src[indices[i]];
        return { type: c.type, name: c.name, values: out };
      }
      const out = new Int32Array(m);
      const src = c.codes;
      for (let i = 0; i < m; i++) out[i] = src[indices[i]];
      return { type: c.type, name: c.name, codes: out, categories: c.categories };
    });
    const labels = new Uint8Array(m);
    for (let i = 0; i < m; i++) labels[i] = this.labels[indices[i]];
    let time: Float64Array | undefined;
    if (this.time) {
      time = new Float64Array(m);
      for (let i = 0; i < m; i++) time[i] = this.time[indices[i]];
    }
    return new Frame({ schema: this.schema, columns, labels, time });
  }

  /** The time of each row: the time column, or the row index when there is none. */
  timeAt(i: number): number {
    return this.time ? this.time[i] : i;
  }
}

/**
 * Frames stacked in order. They must share columns and roles; categorical columns whose category lists
 * differ are re-coded onto one list (the first frame's categories first, then new ones in order of appearance).
 */
export function concat(frames: readonly Frame[]): Frame {
  if (frames.length === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'frames: expected at least one frame');
  const first = frames[0];
  frames.forEach((f, k) => {
    const diff = sameColumns(first.schema, f.schema);
    if (diff) throw new MlTypeError(MlErrorCodes.SCHEMA_MISMATCH, `frames[${k}]: expected the same columns as frames[0], but ${diff}`);
  });
  if (frames.length === 1) return first;
  let n = 0;
  for (const f of frames) n += f.nRows;
  const columns = first.columns.map((c0, j): Column => {
    if (c0.type === FeatureTypes.numeric) {
      const out = new Float64Array(n);
      let at = 0;
      for (const f of frames) {
        const c = f.columns[j] as NumericColumn;
        out.set(c.values, at);
        at += c.values.length;
      }
      return { type: c0.type, name: c0.name, values: out };
    }
    const categories = [...c0.categories];
    const index = new Map(categories.map((s, k) => [s, k]));
    const out = new Int32Array(n);
    let at = 0;
    for (const f of frames) {
      const c = f.columns[j] as CategoricalColumn;
      if (sameList(c.categories, c0.categories)) {
        out.set(c.codes, at);
      } else {
        const remap = new Int32Array(c.categories.length);
        c.categories.forEach((s, k) => {
          let code = index.get(s);
          if (code === undefined) {
            code = categories.length;
            categories.push(s);
            index.set(s, code);
          }
          remap[k] = code;
        });
        const src = c.codes;
        for (let i = 0; i < src.length; i++) out[at + i] = src[i] < 0 ? -1 : remap[src[i]];
      }
      at += c.codes.length;
    }
    return { type: c0.type, name: c0.name, codes: out, categories };
  });
  const labels = new Uint8Array(n);
  const time: Float64Array | undefined = first.time ? new Float64Array(n) : undefined;
  let at = 0;
  for (const f of frames) {
    labels.set(f.labels, at);
    if (time && f.time) time.set(f.time, at);
    at += f.nRows;
  }
  return new Frame({ schema: first.schema, columns, labels, time });
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The features as a dense column-major matrix for trainers and statistics: categorical codes become numbers
 * and missing values NaN. Columns are copies, so a consumer may standardise them in place without touching the frame.
 */
export function toFeatureMatrix(frame: Frame, names?: readonly string[]): FeatureMatrix {
  const selected = names ? names.map((name) => frame.column(name)) : frame.columns;
  const columns = selected.map((c) => {
    if (c.type === FeatureTypes.numeric) return Float64Array.from(c.values);
    const out = new Float64Array(c.codes.length);
    const src = c.codes;
    for (let i = 0; i < src.length; i++) out[i] = src[i] < 0 ? NaN : src[i];
    return out;
  });
  return { nRows: frame.nRows, names: selected.map((c) => c.name), columns };
}

/** Column values for `frameFromArrays`: numbers (null/NaN = missing) or strings (null = missing) per row. */
export type ColumnInput = Float64Array | readonly (number | null)[] | readonly (string | null)[];

/**
 * Builds a frame from plain arrays, for tests, generators and activities that assemble data in memory.
 * Labels are 0/1 numbers or label values, coded by the schema's label spec as a CSV's are (see labels.ts): a
 * value that is neither the positive one nor an accepted negative is a LABEL_VALUE error.
 */
export function frameFromArrays(
  schema: DataSchema,
  data: { features: Readonly<Record<string, ColumnInput>>; labels: ArrayLike<number> | readonly string[]; time?: ArrayLike<number> },
): Frame {
  const n = data.labels.length;
  const columns = schema.features.map((f): Column => {
    const input = data.features[f.name];
    if (input === undefined) throw new MlTypeError(MlErrorCodes.SCHEMA_MISMATCH, `features.${f.name}: required (the schema declares it)`);
    if (input.length !== n) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `features.${f.name}: expected ${n} values to match labels, got ${input.length}`);
    if (f.type === FeatureTypes.numeric) {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = input[i];
        if (v === null) values[i] = NaN;
        else if (typeof v === 'number') values[i] = v;
        else throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `features.${f.name}[${i}]: expected a number or null, got ${JSON.stringify(v)}`);
      }
      return { type: f.type, name: f.name, values };
    }
    const categories = f.categories ? [...f.categories] : [];
    const index = new Map(categories.map((s, k) => [s, k]));
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = input[i];
      if (v === null) {
        codes[i] = -1;
        continue;
      }
      if (typeof v !== 'string') throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `features.${f.name}[${i}]: expected a string or null, got ${String(v)}`);
      let code = index.get(v);
      if (code === undefined) {
        if (f.categories) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `features.${f.name}[${i}]: expected one of ${f.categories.map((s) => JSON.stringify(s)).join(', ')}, got ${JSON.stringify(v)}`);
        code = categories.length;
        categories.push(v);
        index.set(v, code);
      }
      codes[i] = code;
    }
    return { type: f.type, name: f.name, codes, categories };
  });
  const labels = new Uint8Array(n);
  const coder = new LabelCoder(schema.label);
  for (let i = 0; i < n; i++) {
    const v = data.labels[i];
    if (typeof v === 'string') {
      const coded = coder.code(v);
      if (typeof coded !== 'number') throw new MlRangeError(MlErrorCodes.LABEL_VALUE, `labels[${i}]: ${coded.message}`);
      labels[i] = coded;
    } else if (v === 0 || v === 1) labels[i] = v;
    else throw new MlRangeError(MlErrorCodes.LABEL_VALUE, `labels[${i}]: expected 0, 1 or a label string, got ${String(v)}`);
  }
  const problem = coder.finish();
  if (problem) throw new MlRangeError(MlErrorCodes.LABEL_VALUE, `labels: ${problem.message}`);
  const time = data.time ? Float64Array.from(data.time) : undefined;
  return new Frame({ schema, columns, labels, time });
}
