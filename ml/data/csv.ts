/**
 * Reading CSV files (RFC 4180: comma-separated, a header row, fields optionally in double quotes with `""`
 * as an escaped quote, CRLF or LF line ends) into a Frame by a schema, streaming so that memory holds the
 * typed columns rather than the text. Every error names the 1-based data row, the column, the value and
 * what was expected, because the person reading it has a file of thousands of rows open in an editor.
 * Also infers a schema from a file's header and a sample of rows.
 */
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import { CsvError, parseWith } from './errors';
import { type Column, Frame } from './frame';
import { LabelCoder } from './labels';
import { type DataSchema, FeatureTypes, parseDataSchema } from './schema';

/** The values read as missing unless `missing` says otherwise. Whitespace-only fields are missing too. */
export const DEFAULT_MISSING: readonly string[] = ['', 'NA', 'NaN', '?'];

export interface CsvOptions {
  /** One character; `,` by default. */
  readonly delimiter?: string;
  /** Values that mean "missing"; DEFAULT_MISSING by default (the empty string is always missing). */
  readonly missing?: readonly string[];
  /** Bytes read per chunk by loadCsv; 1 MiB by default. */
  readonly chunkSize?: number;
}

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * Splits text fed in arbitrary chunks into records without copying fields: each record is a list of
 * [start, end) offsets into the current buffer, and only the fields a consumer asks for become strings.
 * A record cut by a chunk boundary is carried over and scanned again with the next chunk.
 * Record 0 is the header, so a record's index is its 1-based data row number. Blank lines are skipped (so a
 * one-column file cannot hold an empty value unquoted). A quote inside an unquoted field is kept as a
 * literal character, as most writers that produce one intend.
 */
class CsvReader {
  buf = '';
  count = 0;
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  /** 0 unquoted, 1 quoted, 2 quoted with `""` escapes inside. */
  quoted = new Uint8Array(64);
  row = 0;
  header: readonly string[] = [];
  stopped = false;
  private carry = '';

  constructor(
    private readonly delimiter: number,
    /** Returns false to stop reading. */
    private readonly onRecord: (record: CsvReader) => boolean | void,
  ) {}

  /** Field k of the current record as a string (quotes removed, `""` unescaped). */
  text(k: number): string {
    const q = this.quoted[k];
    if (q === 0) return this.buf.slice(this.starts[k], this.ends[k]);
    const s = this.buf.slice(this.starts[k] + 1, this.ends[k] - 1);
    return q === 2 ? s.replaceAll('""', '"') : s;
  }

  /** The header name of field k, for messages. */
  columnName(k: number): string {
    const name = this.header[k];
    return name === undefined ? `#${k + 1}` : JSON.stringify(name);
  }

  push(chunk: string): void {
    this.scan(this.carry ? this.carry + chunk : chunk, false);
  }

  end(): void {
    if (!this.stopped && this.carry) this.scan(this.carry, true);
    this.carry = '';
    if (this.row === 0 && !this.stopped) throw new CsvError('header: expected a header row, got an empty file', 0);
  }

  private scan(buf: string, final: boolean): void {
    const n = buf.length;
    const d = this.delimiter;
    this.buf = buf;
    let i = 0;
    if (this.row === 0 && n > 0 && buf.charCodeAt(0) === 0xfeff) i = 1; // a spreadsheet export's byte-order mark
    while (i < n) {
      if (this.stopped) return;
      const recordStart = i;
      let c = buf.charCodeAt(i);
      if (c === LF || c === CR) {
        i++;
        continue;
      }
      let count = 0;
      for (;;) {
        if (count === this.starts.length) this.growFields();
        if (i < n && buf.charCodeAt(i) === QUOTE) {
          let j = i + 1;
          let escaped = false;
          let closed = false;
          for (;;) {
            const q = buf.indexOf('"', j);
            if (q < 0 || (q + 1 === n && !final)) break; // the field (or a `""`) may continue in the next chunk
            if (q + 1 < n && buf.charCodeAt(q + 1) === QUOTE) {
              escaped = true;
              j = q + 2;
              continue;
            }
            j = q + 1;
            closed = true;
            break;
          }
          if (!closed) {
            if (final) {
              this.count = count;
              throw new CsvError(`row ${this.row}, column ${this.columnName(count)}: a quoted field is never closed (missing the closing quote)`, this.row, this.header[count]);
            }
            this.carry = buf.slice(recordStart);
            return;
          }
          this.starts[count] = i;
          this.ends[count] = j;
          this.quoted[count] = escaped ? 2 : 1;
          count++;
          i = j;
          c = i < n ? buf.charCodeAt(i) : -1;
          if (c === d) {
            i++;
            continue;
          }
          if (c === -1 && !final) {
            this.carry = buf.slice(recordStart);
            return;
          }
          if (c !== LF && c !== CR && c !== -1) {
            throw new CsvError(
              `row ${this.row}, column ${this.columnName(count - 1)}: expected ${describeDelimiter(d)} or a line end after a closing quote, got ${JSON.stringify(buf[i])}`,
              this.row,
              this.header[count - 1],
            );
          }
        } else {
          let j = i;
          c = -1;
          while (j < n) {
            c = buf.charCodeAt(j);
            if (c === d || c === LF || c === CR) break;
            j++;
          }
          if (j === n) {
            if (!final) {
              this.carry = buf.slice(recordStart);
              return;
            }
            c = -1;
          }
          this.starts[count] = i;
          this.ends[count] = j;
          this.quoted[count] = 0;
          count++;
          i = j;
          if (c === d) {
            i++;
            continue;
          }
        }
        // At a line end (c is LF or CR) or the end of the final text (c is -1).
        this.count = count;
        if (this.row === 0) {
          const names: string[] = [];
          for (let k = 0; k < count; k++) names.push(this.text(k));
          this.header = names;
        }
        if (this.onRecord(this) === false) this.stopped = true;
        this.row++;
        if (c === CR && i + 1 < n && buf.charCodeAt(i + 1) === LF) i += 2;
        else if (c !== -1) i++;
        break;
      }
    }
    this.carry = '';
  }

  private growFields(): void {
    const cap = this.starts.length * 2;
    const starts = new Int32Array(cap);
    starts.set(this.starts);
    const ends = new Int32Array(cap);
    ends.set(this.ends);
    const quoted = new Uint8Array(cap);
    quoted.set(this.quoted);
    this.starts = starts;
    this.ends = ends;
    this.quoted = quoted;
  }
}

function describeDelimiter(d: number): string {
  return d === 44 ? 'a comma' : JSON.stringify(String.fromCharCode(d));
}

function delimiterCode(delimiter: string | undefined): number {
  const d = delimiter ?? ',';
  if (d.length !== 1 || d === '"' || d === '\n' || d === '\r') {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `delimiter: expected one character other than a quote or a line end, got ${JSON.stringify(d)}`);
  }
  return d.charCodeAt(0);
}

class MissingTokens {
  private readonly set: Set<string>;
  private readonly maxLength: number;
  /** Whether some token reads as a number (say "-999"), so that fields must be checked for it before parsing. */
  readonly numericToken: boolean;
  constructor(tokens: readonly string[] = DEFAULT_MISSING) {
    this.set = new Set(tokens);
    this.maxLength = tokens.reduce((m, t) => Math.max(m, t.length), 0);
    this.numericToken = tokens.some((t) => parseNumber(t) !== undefined && t.trim() !== '');
  }
  has(s: string): boolean {
    return s.length === 0 || (s.length <= this.maxLength && this.set.has(s)) || isBlank(s);
  }
  /** `has` for field k of the current record, without building a string for long fields. */
  hasField(r: CsvReader, k: number): boolean {
    const len = r.ends[k] - r.starts[k];
    if (len === 0) return true;
    if (r.quoted[k] === 0 && len > this.maxLength) return isBlankRange(r.buf, r.starts[k], r.ends[k]);
    return this.has(r.text(k));
  }
}

function isBlank(s: string): boolean {
  return isBlankRange(s, 0, s.length);
}

function isBlankRange(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** A finite number, or undefined when `s` is not one. Accepts what Number() accepts, surrounding blanks included. */
function parseNumber(s: string): number | undefined {
  if (isBlank(s)) return undefined;
  const v = +s;
  return Number.isFinite(v) ? v : undefined;
}

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * The common decimal forms (`-12.5`, `0.056443`, `3e-4`) read straight from the buffer, exactly: with at most
 * 15 significant digits the digits form an integer m < 2^53 and 10^k (k <= 22) is exact, so m / 10^k or
 * m * 10^k is one correctly rounded IEEE operation, the same double Number() gives (Clinger 1990, "How to read
 * floating point numbers accurately"). Returns NaN when the field needs the general path.
 */
function fastNumber(buf: string, start: number, end: number): number {
  let i = start;
  let c = buf.charCodeAt(i);
  let negative = false;
  if (c === 45) {
    negative = true;
    i++;
  } else if (c === 43) i++;
  let m = 0;
  let digits = 0;
  let fraction = 0;
  while (i < end) {
    c = buf.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    m = m * 10 + c;
    digits++;
    i++;
  }
  if (i < end && buf.charCodeAt(i) === 46) {
    i++;
    while (i < end) {
      c = buf.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      m = m * 10 + c;
      digits++;
      fraction++;
      i++;
    }
  }
  if (digits === 0 || digits > 15) return NaN;
  let exponent = 0;
  if (i < end) {
    c = buf.charCodeAt(i);
    if (c !== 101 && c !== 69) return NaN;
    i++;
    let expNegative = false;
    c = buf.charCodeAt(i);
    if (c === 45) {
      expNegative = true;
      i++;
    } else if (c === 43) i++;
    let expDigits = 0;
    while (i < end) {
      c = buf.charCodeAt(i) - 48;
      if (c < 0 || c > 9 || expDigits > 4) return NaN;
      exponent = exponent * 10 + c;
      expDigits++;
      i++;
    }
    if (expDigits === 0) return NaN;
    if (expNegative) exponent = -exponent;
  }
  const e10 = exponent - fraction;
  let v: number;
  if (e10 === 0) v = m;
  else if (e10 < 0 && e10 >= -22) v = m / POW10[-e10];
  else if (e10 > 0 && e10 <= 22) v = m * POW10[e10];
  else return NaN;
  return negative ? -v : v;
}

const INVALID = Symbol('invalid');

/** Field k as a number: NaN when missing, INVALID when it is neither missing nor a finite number. */
function numberField(r: CsvReader, k: number, missing: MissingTokens): number | typeof INVALID {
  const s = r.starts[k];
  const e = r.ends[k];
  if (s === e) return NaN;
  if (missing.numericToken && missing.hasField(r, k)) return NaN;
  if (r.quoted[k] === 0) {
    const v = fastNumber(r.buf, s, e);
    if (v === v) return v;
  }
  if (missing.hasField(r, k)) return NaN;
  const v = parseNumber(r.text(k));
  return v === undefined ? INVALID : v;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

const NUMERIC = 0;
const CATEGORICAL = 1;

/** Accumulates records into growable typed columns. */
class FrameBuilder {
  private n = 0;
  private capacity = 1024;
  private width = 0;
  private readonly nFeatures: number;
  private readonly kind: Uint8Array;
  private readonly src: Int32Array;
  private readonly numeric: (Float64Array | undefined)[];
  private readonly codes: (Int32Array | undefined)[];
  private readonly categories: (string[] | undefined)[];
  private readonly index: (Map<string, number> | undefined)[];
  private readonly declared: boolean[];
  private labels = new Uint8Array(1024);
  private time: Float64Array | undefined;
  private labelSrc = -1;
  private timeSrc = -1;
  private header: readonly string[] = [];
  private readonly positive: string;
  private readonly labelCoder: LabelCoder;

  constructor(
    private readonly schema: DataSchema,
    private readonly missing: MissingTokens,
  ) {
    const fs = schema.features;
    this.nFeatures = fs.length;
    this.kind = new Uint8Array(fs.length);
    this.src = new Int32Array(fs.length);
    this.numeric = fs.map((f) => (f.type === FeatureTypes.numeric ? new Float64Array(this.capacity) : undefined));
    this.codes = fs.map((f) => (f.type === FeatureTypes.categorical ? new Int32Array(this.capacity) : undefined));
    this.categories = fs.map((f) => (f.type === FeatureTypes.categorical ? [...(f.categories ?? [])] : undefined));
    this.index = this.categories.map((c) => (c ? new Map(c.map((s, k) => [s, k])) : undefined));
    this.declared = fs.map((f) => f.categories !== undefined);
    fs.forEach((f, j) => {
      this.kind[j] = f.type === FeatureTypes.numeric ? NUMERIC : CATEGORICAL;
    });
    if (schema.time) this.time = new Float64Array(this.capacity);
    this.positive = schema.label.positive;
    this.labelCoder = new LabelCoder(schema.label, (i) => `row ${i + 1}`);
  }

  readonly record = (r: CsvReader): void => {
    if (r.row === 0) this.readHeader(r.header);
    else this.readRow(r);
  };

  private readHeader(fields: readonly string[]): void {
    this.header = fields;
    this.width = fields.length;
    const position = new Map<string, number>();
    const duplicated = new Set<string>();
    fields.forEach((name, k) => {
      if (position.has(name)) duplicated.add(name);
      else position.set(name, k);
    });
    const wanted = [...this.schema.features.map((f) => f.name), this.schema.label.name, ...(this.schema.time ? [this.schema.time.name] : [])];
    const absent = wanted.filter((w) => !position.has(w));
    if (absent.length > 0) {
      throw new CsvError(
        `header: missing column${absent.length > 1 ? 's' : ''} ${absent.map((s) => JSON.stringify(s)).join(', ')} named by the schema; the header has ${fields.map((s) => JSON.stringify(s)).join(', ')}`,
        0,
        absent[0],
        MlErrorCodes.SCHEMA_MISMATCH,
      );
    }
    const ambiguous = wanted.filter((w) => duplicated.has(w));
    if (ambiguous.length > 0) {
      throw new CsvError(`header: column ${JSON.stringify(ambiguous[0])} appears more than once, so it is ambiguous which to read`, 0, ambiguous[0], MlErrorCodes.SCHEMA_MISMATCH);
    }
    this.schema.features.forEach((f, j) => {
      this.src[j] = position.get(f.name) as number;
    });
    this.labelSrc = position.get(this.schema.label.name) as number;
    if (this.schema.time) this.timeSrc = position.get(this.schema.time.name) as number;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    for (let j = 0; j < this.nFeatures; j++) {
      const num = this.numeric[j];
      if (num) {
        const next = new Float64Array(cap);
        next.set(num);
        this.numeric[j] = next;
      }
      const codes = this.codes[j];
      if (codes) {
        const next = new Int32Array(cap);
        next.set(codes);
        this.codes[j] = next;
      }
    }
    const labels = new Uint8Array(cap);
    labels.set(this.labels);
    this.labels = labels;
    if (this.time) {
      const time = new Float64Array(cap);
      time.set(this.time);
      this.time = time;
    }
    this.capacity = cap;
  }

  private readRow(r: CsvReader): void {
    const row = r.row;
    if (r.count !== this.width) {
      throw new CsvError(`row ${row}: expected ${this.width} fields as in the header, got ${r.count}`, row);
    }
    if (this.n === this.capacity) this.grow();
    const i = this.n;
    const missing = this.missing;
    for (let j = 0; j < this.nFeatures; j++) {
      const k = this.src[j];
      if (this.kind[j] === NUMERIC) {
        const v = numberField(r, k, missing);
        if (v === INVALID) throw this.valueError(r, k, 'a number');
        (this.numeric[j] as Float64Array)[i] = v;
      } else {
        let code = -1;
        if (!missing.hasField(r, k)) {
          const s = r.text(k);
          const index = this.index[j] as Map<string, number>;
          const known = index.get(s);
          const cats = this.categories[j] as string[];
          if (known !== undefined) code = known;
          else if (this.declared[j]) throw this.valueError(r, k, `one of ${cats.map((c) => JSON.stringify(c)).join(', ')}`);
          else {
            code = cats.length;
            cats.push(s);
            index.set(s, code);
          }
        }
        (this.codes[j] as Int32Array)[i] = code;
      }
    }
    const l = this.labelSrc;
    if (missing.hasField(r, l)) {
      throw this.valueError(r, l, `a label (the positive class is ${JSON.stringify(this.positive)}; labels may not be missing)`, MlErrorCodes.LABEL_VALUE);
    }
    this.labels[i] = this.label(r, l);
    if (this.time) {
      const k = this.timeSrc;
      let t = numberField(r, k, missing);
      if (t === INVALID) t = Date.parse(r.text(k));
      if (!Number.isFinite(t)) throw this.valueError(r, k, 'a time (a number or a date such as 2024-01-31T12:00:00Z; time may not be missing)');
      this.time[i] = t;
    }
    this.n = i + 1;
  }

  private valueError(r: CsvReader, k: number, expected: string, code: typeof MlErrorCodes.CSV_PARSE | typeof MlErrorCodes.LABEL_VALUE = MlErrorCodes.CSV_PARSE): CsvError {
    const column = this.header[k];
    return new CsvError(`row ${r.row}, column ${JSON.stringify(column)}: expected ${expected}, got ${quote(r.text(k))}`, r.row, column, code);
  }

  /**
   * The label of field k as 0/1. The positive value and a single negative one are compared in the buffer,
   * without building a string, because this runs once per row; anything else goes through the LabelCoder.
   */
  private label(r: CsvReader, k: number): number {
    if (r.quoted[k] === 0) {
      const len = r.ends[k] - r.starts[k];
      const p = this.positive;
      if (len === p.length && r.buf.startsWith(p, r.starts[k])) {
        this.labelCoder.code(p);
        return 1;
      }
      const neg = this.labelCoder.negative;
      if (neg !== undefined && len === neg.length && r.buf.startsWith(neg, r.starts[k])) {
        this.labelCoder.code(neg);
        return 0;
      }
    }
    const coded = this.labelCoder.code(r.text(k));
    if (typeof coded === 'number') return coded;
    const column = this.header[k];
    throw new CsvError(`row ${r.row}, column ${JSON.stringify(column)}: ${coded.message}`, r.row, column, MlErrorCodes.LABEL_VALUE);
  }

  finish(): Frame {
    if (this.header.length === 0) throw new CsvError('header: expected a header row, got an empty file', 0);
    const problem = this.labelCoder.finish();
    if (problem) {
      const column = this.schema.label.name;
      throw new CsvError(`column ${JSON.stringify(column)}: ${problem.message}`, problem.index + 1, column, MlErrorCodes.LABEL_VALUE);
    }
    const n = this.n;
    const columns = this.schema.features.map((f, j): Column =>
      f.type === FeatureTypes.numeric
        ? { type: f.type, name: f.name, values: (this.numeric[j] as Float64Array).slice(0, n) }
        : { type: f.type, name: f.name, codes: (this.codes[j] as Int32Array).slice(0, n), categories: this.categories[j] as string[] },
    );
    return new Frame({ schema: this.schema, columns, labels: this.labels.slice(0, n), time: this.time?.slice(0, n) });
  }
}

/**
 * Where CSV bytes come from: a file path, bytes in memory, or a stream of bytes (a node Readable such as an S3
 * object's body, a web ReadableStream, any async iterable), so a dataset in an object store needs no temp file.
 */
export type CsvSource = string | Uint8Array | AsyncIterable<Uint8Array | string>;

/**
 * The source as UTF-8 text in chunks of about `chunkSize`. Bytes are decoded with a streaming TextDecoder, so a
 * character split across two chunks is joined rather than turned into U+FFFD.
 */
async function* textChunks(source: CsvSource, chunkSize: number): AsyncGenerator<string> {
  if (!(Number.isInteger(chunkSize) && chunkSize > 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `chunkSize: expected a positive integer, got ${chunkSize}`);
  if (typeof source === 'string') {
    yield* createReadStream(source, { encoding: 'utf8', highWaterMark: chunkSize }) as AsyncIterable<string>;
    return;
  }
  const decoder = new TextDecoder('utf-8');
  if (source instanceof Uint8Array) {
    for (let at = 0; at < source.length; at += chunkSize) {
      yield decoder.decode(source.subarray(at, at + chunkSize), { stream: true });
    }
  } else if (source !== null && typeof source === 'object' && Symbol.asyncIterator in source) {
    for await (const chunk of source) {
      if (typeof chunk === 'string') yield chunk;
      else if (chunk instanceof Uint8Array) yield decoder.decode(chunk, { stream: true });
      else throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `source: expected a stream of bytes (Uint8Array chunks), got a chunk of type ${typeof chunk}`);
    }
  } else {
    throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'source: expected a file path, a Uint8Array or an async iterable of bytes (a Readable stream)');
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

/** Reads a CSV file into a frame, streaming. Columns the schema does not name are ignored. */
export async function loadCsv(path: string, schema: DataSchema, opts: CsvOptions = {}): Promise<Frame> {
  return loadCsvFrom(path, schema, opts);
}

/** loadCsv for any source: a path, bytes in memory or a byte stream (read as it arrives). */
export async function loadCsvFrom(source: CsvSource, schema: DataSchema, opts: CsvOptions = {}): Promise<Frame> {
  const checked = parseDataSchema(schema);
  const delimiter = delimiterCode(opts.delimiter);
  const builder = new FrameBuilder(checked, new MissingTokens(opts.missing));
  const tokenizer = new CsvReader(delimiter, builder.record);
  for await (const chunk of textChunks(source, opts.chunkSize ?? 1 << 20)) tokenizer.push(chunk);
  tokenizer.end();
  return builder.finish();
}

/** Parses CSV text held in memory into a frame, with the same rules and errors as loadCsv. */
export function parseCsvText(text: string, schema: DataSchema, opts: CsvOptions = {}): Frame {
  const checked = parseDataSchema(schema);
  const builder = new FrameBuilder(checked, new MissingTokens(opts.missing));
  const tokenizer = new CsvReader(delimiterCode(opts.delimiter), builder.record);
  tokenizer.push(text);
  tokenizer.end();
  return builder.finish();
}

export const InferOptionsSchema = z
  .object({
    label: z.string().min(1),
    positive: z.string().min(1),
    /** The label's negative values (see DataSchema's label.negative). */
    negative: z.array(z.string().min(1)).min(1).optional(),
    exclude: z.array(z.string()).optional(),
    /** A column to use as time instead of as a feature. */
    time: z.string().min(1).optional(),
    /** How many data rows (from the top) to inspect. */
    sampleRows: z.number().int().positive().default(10_000),
    delimiter: z.string().optional(),
    missing: z.array(z.string()).optional(),
  })
  .strict();

export type InferOptions = z.input<typeof InferOptionsSchema>;

/**
 * Reads the header and the first `sampleRows` rows (10,000 by default) and types each column: numeric if every
 * non-missing sampled value parses as a finite number (so an all-missing sample counts as numeric), else
 * categorical, with categories left to be learned at load time because a sample may not hold them all.
 */
export async function inferCsvSchema(path: string, options: InferOptions): Promise<DataSchema> {
  return inferCsvSchemaFrom(path, options);
}

/**
 * inferCsvSchema for any source (a path, bytes, a byte stream). Reading stops after the sample, and a stream is
 * closed then (its iterator is returned), so a sample from a large S3 object downloads only its first chunks.
 */
export async function inferCsvSchemaFrom(source: CsvSource, options: InferOptions): Promise<DataSchema> {
  const opts = parseWith(InferOptionsSchema, options, 'inferCsvSchema options');
  const sampler = new SchemaSampler(opts);
  const tokenizer = new CsvReader(delimiterCode(opts.delimiter), sampler.record);
  for await (const chunk of textChunks(source, 1 << 16)) {
    tokenizer.push(chunk);
    if (tokenizer.stopped) break;
  }
  tokenizer.end();
  return sampler.schema();
}

/** inferCsvSchema for text in memory. */
export function inferCsvSchemaFromText(text: string, options: InferOptions): DataSchema {
  const opts = parseWith(InferOptionsSchema, options, 'inferCsvSchema options');
  const sampler = new SchemaSampler(opts);
  const tokenizer = new CsvReader(delimiterCode(opts.delimiter), sampler.record);
  tokenizer.push(text);
  tokenizer.end();
  return sampler.schema();
}

class SchemaSampler {
  private header: string[] = [];
  private numeric: boolean[] = [];
  private readonly missing: MissingTokens;

  constructor(private readonly opts: z.output<typeof InferOptionsSchema>) {
    this.missing = new MissingTokens(opts.missing);
  }

  readonly record = (r: CsvReader): boolean => {
    if (r.row === 0) {
      const fields = r.header;
      this.header = [...fields];
      this.numeric = fields.map(() => true);
      const has = new Set(fields);
      const check = (what: string, name: string): void => {
        if (!has.has(name)) {
          throw new CsvError(`${what}: column ${JSON.stringify(name)} is not in the header; the header has ${fields.map((s) => JSON.stringify(s)).join(', ')}`, 0, name, MlErrorCodes.SCHEMA_MISMATCH);
        }
      };
      check('label', this.opts.label);
      if (this.opts.time) check('time', this.opts.time);
      (this.opts.exclude ?? []).forEach((name, k) => check(`exclude[${k}]`, name));
      return true;
    }
    if (r.count !== this.header.length) {
      throw new CsvError(`row ${r.row}: expected ${this.header.length} fields as in the header, got ${r.count}`, r.row);
    }
    for (let k = 0; k < r.count; k++) {
      if (this.numeric[k] && numberField(r, k, this.missing) === INVALID) this.numeric[k] = false;
    }
    return r.row < this.opts.sampleRows;
  };

  schema(): DataSchema {
    const skip = new Set([this.opts.label, ...(this.opts.time ? [this.opts.time] : []), ...(this.opts.exclude ?? [])]);
    const features = this.header
      .map((name, k) => ({ name, type: this.numeric[k] ? FeatureTypes.numeric : FeatureTypes.categorical }))
      .filter((f) => !skip.has(f.name));
    return parseDataSchema({
      features,
      label: { name: this.opts.label, positive: this.opts.positive, ...(this.opts.negative ? { negative: this.opts.negative } : {}) },
      ...(this.opts.time ? { time: { name: this.opts.time } } : {}),
    });
  }
}
