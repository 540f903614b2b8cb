/**
 * A trained model that knows its inputs by name. The trainers see only numbers, and a frame codes each
 * categorical column by first appearance in its own file, so a bare model scored on a file whose categories
 * appear in another order would silently swap them. `TrainedModel` keeps the feature specs (types, and each
 * categorical feature's categories from training), the label, the trainer's kind and params and where the
 * training data came from, and encodes every frame or row object BY NAME into the training codes: a category
 * the model never saw is missing, and counted, never given another category's code.
 *
 * Gradient boosting reads a categorical feature as its code (NaN for missing, which the trees route as learnt);
 * logistic regression reads it one-hot, one 0/1 column per category (all zero for missing), since a linear
 * model on codes would impose an order the categories do not have. The JSON form is schema version 2; the
 * bare version-1 trainer JSON is refused, because it cannot say how its inputs were coded.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseWith } from './data/errors';
import { type Frame } from './data/frame';
import { type DataSchema, type FeatureType, FeatureTypes } from './data/schema';
import { MlErrorCodes, MlRangeError, MlTypeError } from './errors';
import { GradientBoostingTrainer, gbdtParamsSchema } from './trainers/gbdt';
import { deserializeModel, ModelKinds, type ModelKind } from './trainers/index';
import { LogisticRegressionTrainer, logisticParamsSchema } from './trainers/logistic';
import type { FitOptions, Model, Trainer } from './trainers/types';
import type { FeatureMatrix, Labels } from './types';

/** The version of ml/ recorded in every model (kept equal to package.json's by a test). */
export const LIBRARY_VERSION = '0.1.0';

/** The model JSON schema version this file writes and reads. */
export const MODEL_FORMAT_VERSION = 2;

// ---------------------------------------------------------------------------------------------------------
// Trainer configs

/**
 * Which trainer to build and its parameters, as a config file or a workflow input spells it. A discriminated
 * union on `kind`, so each kind's params are checked by that trainer's own schema (unknown params refused).
 */
export const TrainerConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal(ModelKinds.gbdt), params: gbdtParamsSchema.optional() }).strict(),
  z.object({ kind: z.literal(ModelKinds.logistic), params: logisticParamsSchema.optional() }).strict(),
]);
export type TrainerConfig = z.output<typeof TrainerConfigSchema>;
export type TrainerConfigInput = z.input<typeof TrainerConfigSchema>;

export type AnyTrainer = GradientBoostingTrainer | LogisticRegressionTrainer;

/** Builds the trainer a config names; a bad config is an InputError (PARAM_INVALID) naming each field. */
export function trainerFromConfig(config: TrainerConfigInput | unknown): AnyTrainer {
  const c = parseWith(TrainerConfigSchema, config, 'trainer config', MlErrorCodes.PARAM_INVALID);
  switch (c.kind) {
    case ModelKinds.gbdt:
      return new GradientBoostingTrainer(c.params);
    case ModelKinds.logistic:
      return new LogisticRegressionTrainer(c.params);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Feature specs and encoding

/** A feature as the model knows it; a categorical feature lists its training categories, whose index is the code. */
export interface ModelFeature {
  readonly name: string;
  readonly type: FeatureType;
  readonly categories?: readonly string[];
}

/** How categorical features reach the inner model: as codes (one column each) or one-hot (a column per category). */
export const Encodings = { codes: 'codes', oneHot: 'one_hot' } as const;
export type Encoding = (typeof Encodings)[keyof typeof Encodings];

/** The label as the model was trained on it. */
export interface ModelLabel {
  readonly name: string;
  readonly positive: string;
  readonly negative?: readonly string[];
}

export interface ModelMetadata {
  readonly trainer: { readonly kind: ModelKind; readonly params: Readonly<Record<string, unknown>> };
  readonly libraryVersion: string;
  /** sha256 (hex) of the training features (categories by name) and labels; see `dataFingerprint`. */
  readonly dataFingerprint: string;
  readonly trainingRows: number;
  /** Wall time of the fit in milliseconds. */
  readonly trainingMs: number;
  /** ISO 8601 time at which the fit finished. */
  readonly trainedAt: string;
  readonly seed?: number;
}

/** Probabilities of the positive class, and per categorical feature how many rows had a category unseen in training. */
export interface Prediction {
  readonly p: Float64Array;
  readonly unseen: Readonly<Record<string, number>>;
}

/** The encoding each trainer kind reads; a new kind says here how it wants categories. */
const ENCODING_BY_KIND: Record<ModelKind, Encoding> = { gbdt: Encodings.codes, logistic: Encodings.oneHot };

/** The inner model's column names for `features` under `encoding`. */
export function encodedNames(features: readonly ModelFeature[], encoding: Encoding): string[] {
  const names: string[] = [];
  for (const f of features) {
    if (f.type === FeatureTypes.categorical && encoding === Encodings.oneHot) {
      for (const c of f.categories ?? []) names.push(`${f.name}=${c}`);
    } else names.push(f.name);
  }
  return names;
}

/**
 * Per-row training codes of a categorical column (-1 missing), and how many rows are unseen. `codeOf` maps a
 * value's name to its training code.
 */
interface Coded {
  readonly codes: Int32Array;
  readonly unseen: number;
}

function encodeMatrix(features: readonly ModelFeature[], encoding: Encoding, nRows: number, numeric: (j: number) => Float64Array, coded: (j: number) => Coded): { x: FeatureMatrix; unseen: Record<string, number> } {
  const names: string[] = [];
  const columns: Float64Array[] = [];
  const unseen: Record<string, number> = {};
  features.forEach((f, j) => {
    if (f.type === FeatureTypes.numeric) {
      names.push(f.name);
      columns.push(numeric(j));
      return;
    }
    const c = coded(j);
    unseen[f.name] = c.unseen;
    const codes = c.codes;
    const cats = f.categories ?? [];
    if (encoding === Encodings.oneHot) {
      const block = cats.map(() => new Float64Array(nRows));
      for (let i = 0; i < nRows; i++) if (codes[i] >= 0) block[codes[i]][i] = 1;
      cats.forEach((cat, k) => {
        names.push(`${f.name}=${cat}`);
        columns.push(block[k]);
      });
    } else {
      const out = new Float64Array(nRows);
      for (let i = 0; i < nRows; i++) out[i] = codes[i] < 0 ? NaN : codes[i];
      names.push(f.name);
      columns.push(out);
    }
  });
  return { x: { nRows, names, columns }, unseen };
}

/** A frame's column of feature f, checked to exist with the model's type. */
function frameColumn(frame: Frame, f: ModelFeature) {
  const j = frame.names.indexOf(f.name);
  if (j < 0) {
    throw new MlRangeError(
      MlErrorCodes.FEATURE_MISMATCH,
      `frame: has no feature ${JSON.stringify(f.name)}, which the model was trained on; the frame has ${frame.names.map((s) => JSON.stringify(s)).join(', ')}`,
    );
  }
  const c = frame.columns[j];
  if (c.type !== f.type) {
    throw new MlTypeError(MlErrorCodes.FEATURE_MISMATCH, `frame.${f.name}: the model was trained on it as ${f.type}, got a ${c.type} column`);
  }
  return c;
}

function categoryIndex(f: ModelFeature): Map<string, number> {
  return new Map((f.categories ?? []).map((s, k) => [s, k]));
}

/** The rows of a frame's categorical column re-coded from the frame's category list to the model's, by name. */
function recode(codes: Int32Array, frameCategories: readonly string[], index: Map<string, number>): Coded {
  const map = new Int32Array(frameCategories.length);
  frameCategories.forEach((s, k) => {
    map[k] = index.get(s) ?? -2; // -2: a category the model never saw
  });
  const out = new Int32Array(codes.length);
  let unseen = 0;
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c < 0) {
      out[i] = -1;
      continue;
    }
    const m = map[c];
    if (m === -2) {
      unseen++;
      out[i] = -1;
    } else out[i] = m;
  }
  return { codes: out, unseen };
}

/**
 * Reads a frame for training: each categorical feature's categories are those its rows use (a slice may carry
 * its parent's longer list), in the declared order when the schema declares them and in sorted order otherwise,
 * so the same data gives the same codes whatever order its rows come in.
 */
function trainingFeatures(frame: Frame): { features: ModelFeature[]; coded: Coded[] } {
  const features: ModelFeature[] = [];
  const coded: Coded[] = [];
  frame.columns.forEach((c, j) => {
    if (c.type === FeatureTypes.numeric) {
      features.push({ name: c.name, type: c.type });
      coded.push({ codes: new Int32Array(0), unseen: 0 });
      return;
    }
    const used = new Uint8Array(c.categories.length);
    for (let i = 0; i < c.codes.length; i++) if (c.codes[i] >= 0) used[c.codes[i]] = 1;
    const present = c.categories.filter((_, k) => used[k] === 1);
    const declared = frame.schema.features[j].categories;
    const categories = declared ? declared.filter((s) => present.includes(s)) : [...present].sort(compareCodeUnits);
    const f: ModelFeature = { name: c.name, type: c.type, categories };
    features.push(f);
    coded.push(recode(c.codes, c.categories, categoryIndex(f)));
  });
  return { features, coded };
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------------
// Fingerprint

/**
 * sha256 (hex) of the features and labels a model is trained on, the same for the same data however it was
 * loaded: features in order by name and type, numeric values as little-endian doubles (every NaN and -0
 * normalised), categorical values by category name (the sorted list, then each row's index into it), labels as bytes.
 */
export function dataFingerprint(features: readonly ModelFeature[], x: { numeric: (j: number) => Float64Array; coded: (j: number) => Coded }, labels: Labels): string {
  const h = createHash('sha256');
  h.update(`retrain-data-v1\n${labels.length}\n`);
  features.forEach((f, j) => {
    h.update(`${JSON.stringify(f.name)}:${f.type}\n`);
    if (f.type === FeatureTypes.numeric) {
      const v = Float64Array.from(x.numeric(j), (a) => (a !== a ? NaN : a === 0 ? 0 : a));
      h.update(littleEndian(v));
      return;
    }
    const cats = f.categories ?? [];
    const sorted = [...cats].sort(compareCodeUnits);
    const rank = new Int32Array(cats.length);
    cats.forEach((s, k) => {
      rank[k] = sorted.indexOf(s);
    });
    h.update(`${JSON.stringify(sorted)}\n`);
    const codes = x.coded(j).codes;
    const out = new Int32Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = codes[i] < 0 ? -1 : rank[codes[i]];
    h.update(littleEndian(out));
  });
  h.update(labels);
  return h.digest('hex');
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function littleEndian(a: Float64Array | Int32Array): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const out = Uint8Array.from(bytes);
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < out.length; i += w) out.subarray(i, i + w).reverse();
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Training

/** What a trainer needs from a frame, and what the wrapper needs to remember; see `trainingInput`. */
export interface TrainingInput {
  readonly kind: ModelKind;
  readonly x: FeatureMatrix;
  readonly y: Labels;
  readonly features: readonly ModelFeature[];
  readonly encoding: Encoding;
  readonly label: ModelLabel;
  readonly dataFingerprint: string;
}

/**
 * Encodes a frame for a trainer of `kind`. `fitModel` uses it; so can a caller that trains elsewhere (in a
 * worker thread) and then assembles the result with `wrapModel`.
 */
export function trainingInput(frame: Frame, kind: ModelKind): TrainingInput {
  const encoding = ENCODING_BY_KIND[kind];
  if (encoding === undefined) {
    throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `kind: expected one of ${Object.values(ModelKinds).map((k) => JSON.stringify(k)).join(', ')}, got ${JSON.stringify(kind)}`);
  }
  const { features, coded } = trainingFeatures(frame);
  const numeric = (j: number): Float64Array => (frame.columns[j] as { values: Float64Array }).values;
  const { x } = encodeMatrix(features, encoding, frame.nRows, (j) => Float64Array.from(numeric(j)), (j) => coded[j]);
  return {
    kind,
    x,
    y: frame.labels,
    features,
    encoding,
    label: labelOf(frame.schema),
    dataFingerprint: dataFingerprint(features, { numeric, coded: (j) => coded[j] }, frame.labels),
  };
}

function labelOf(schema: DataSchema): ModelLabel {
  const { name, positive, negative } = schema.label;
  return negative ? { name, positive, negative: [...negative] } : { name, positive };
}

/** Assembles a TrainedModel from a training input and the inner model fitted on its `x` and `y`. */
export function wrapModel(
  input: TrainingInput,
  inner: Model,
  fit: { readonly params: Readonly<Record<string, unknown>>; readonly trainingMs: number; readonly trainedAt?: Date; readonly seed?: number },
): TrainedModel {
  return new TrainedModel({
    features: input.features,
    label: input.label,
    encoding: input.encoding,
    inner,
    metadata: {
      trainer: { kind: input.kind, params: { ...fit.params } },
      libraryVersion: LIBRARY_VERSION,
      dataFingerprint: input.dataFingerprint,
      trainingRows: input.x.nRows,
      trainingMs: fit.trainingMs,
      trainedAt: (fit.trainedAt ?? new Date()).toISOString(),
      ...(fit.seed !== undefined ? { seed: fit.seed } : {}),
    },
  });
}

/**
 * Trains `trainer` on `frame` and returns the model with its feature specs and metadata. `opts` are the
 * trainer's fit options (seed, weights, progress, a checkpoint to resume from).
 */
export function fitModel(trainer: Trainer<unknown> | AnyTrainer, frame: Frame, opts: FitOptions = {}): TrainedModel {
  const kind = trainer.kind as ModelKind;
  const input = trainingInput(frame, kind);
  const started = performance.now();
  const inner = trainer.fit(input.x, input.y, opts);
  const trainingMs = performance.now() - started;
  return wrapModel(input, inner, { params: trainer.params as Record<string, unknown>, trainingMs, seed: opts.seed });
}

// ---------------------------------------------------------------------------------------------------------
// The model

export interface TrainedModelParts {
  readonly features: readonly ModelFeature[];
  readonly label: ModelLabel;
  readonly encoding: Encoding;
  readonly inner: Model;
  readonly metadata: ModelMetadata;
}

export class TrainedModel {
  readonly features: readonly ModelFeature[];
  readonly label: ModelLabel;
  readonly encoding: Encoding;
  readonly inner: Model;
  readonly metadata: ModelMetadata;
  private readonly indexes: readonly (Map<string, number> | undefined)[];

  /** Checks that the inner model reads exactly the columns the feature specs encode to. */
  constructor(parts: TrainedModelParts) {
    const expected = encodedNames(parts.features, parts.encoding);
    const got = parts.inner.featureNames;
    if (got.length !== expected.length || got.some((n, j) => n !== expected[j])) {
      throw new MlTypeError(
        MlErrorCodes.MODEL_FORMAT,
        `inner.featureNames: expected [${expected.join(', ')}] from the feature specs, got [${got.join(', ')}]`,
      );
    }
    if (parts.inner.kind !== parts.metadata.trainer.kind) {
      throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, `inner.kind: expected ${JSON.stringify(parts.metadata.trainer.kind)} as in metadata.trainer.kind, got ${JSON.stringify(parts.inner.kind)}`);
    }
    this.features = parts.features;
    this.label = parts.label;
    this.encoding = parts.encoding;
    this.inner = parts.inner;
    this.metadata = parts.metadata;
    this.indexes = parts.features.map((f) => (f.type === FeatureTypes.categorical ? categoryIndex(f) : undefined));
  }

  get kind(): ModelKind {
    return this.metadata.trainer.kind;
  }

  /** Feature names in training order. */
  get featureNames(): readonly string[] {
    return this.features.map((f) => f.name);
  }

  /**
   * Scores a frame by feature name (extra columns and column order do not matter). Categories are matched by
   * name; an unseen one is missing and counted in `unseen`.
   */
  predictFrame(frame: Frame): Prediction {
    const cols = this.features.map((f) => frameColumn(frame, f));
    const { x, unseen } = encodeMatrix(
      this.features,
      this.encoding,
      frame.nRows,
      (j) => Float64Array.from((cols[j] as { values: Float64Array }).values),
      (j) => {
        const c = cols[j] as { codes: Int32Array; categories: readonly string[] };
        return recode(c.codes, c.categories, this.indexes[j] as Map<string, number>);
      },
    );
    return { p: this.inner.predictProba(x), unseen };
  }

  /**
   * Scores plain row objects (a serving request's JSON). Numeric features take numbers or numeric strings,
   * categorical ones strings (numbers are read as their decimal text); null, undefined and '' are missing.
   * Other keys are ignored.
   */
  predictRows(rows: readonly Readonly<Record<string, unknown>>[]): Prediction {
    if (!Array.isArray(rows)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'rows: expected an array of objects');
    const n = rows.length;
    rows.forEach((r, i) => {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `rows[${i}]: expected an object of feature values`);
    });
    const { x, unseen } = encodeMatrix(
      this.features,
      this.encoding,
      n,
      (j) => {
        const name = this.features[j].name;
        const out = new Float64Array(n);
        for (let i = 0; i < n; i++) out[i] = numericValue(rows[i][name], i, name);
        return out;
      },
      (j) => {
        const name = this.features[j].name;
        const index = this.indexes[j] as Map<string, number>;
        const codes = new Int32Array(n);
        let unseenRows = 0;
        for (let i = 0; i < n; i++) {
          const s = categoryValue(rows[i][name], i, name);
          if (s === undefined) codes[i] = -1;
          else {
            const code = index.get(s);
            if (code === undefined) unseenRows++;
            codes[i] = code ?? -1;
          }
        }
        return { codes, unseen: unseenRows };
      },
    );
    return { p: this.inner.predictProba(x), unseen };
  }

  toJSON(): SerializedTrainedModel {
    return {
      format: MODEL_FORMAT,
      version: MODEL_FORMAT_VERSION,
      features: this.features.map((f) => (f.categories ? { name: f.name, type: f.type, categories: [...f.categories] } : { name: f.name, type: f.type })),
      label: this.label.negative
        ? { name: this.label.name, positive: this.label.positive, negative: [...this.label.negative] }
        : { name: this.label.name, positive: this.label.positive },
      encoding: this.encoding,
      metadata: { ...this.metadata, trainer: { kind: this.metadata.trainer.kind, params: { ...this.metadata.trainer.params } } },
      model: this.inner.toJSON() as unknown as Record<string, unknown>,
    };
  }

  /**
   * Reads `toJSON()` output (or its text). Version-1 JSON (a bare trainer model) is refused with a
   * MODEL_FORMAT error: it does not record feature types or categories, so it cannot be scored by name.
   */
  static fromJSON(json: unknown): TrainedModel {
    let value = json;
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value);
      } catch (e) {
        throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, `model JSON: expected valid JSON text (${(e as Error).message})`);
      }
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      if (v.format === undefined && v.version === 1 && typeof v.kind === 'string') {
        throw new MlTypeError(
          MlErrorCodes.MODEL_FORMAT,
          `model JSON: this is a version-1 ${JSON.stringify(v.kind)} model, which does not record its features' types or categories ` +
            '(version 1 coded categories by their order in the training file), so it cannot be scored by name; ' +
            'retrain it with fitModel to get a version-2 model, or load it with deserializeModel and pass it numeric feature matrices yourself',
        );
      }
      if (v.format === MODEL_FORMAT && v.version !== MODEL_FORMAT_VERSION) {
        throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, `model JSON.version: expected ${MODEL_FORMAT_VERSION}, got ${JSON.stringify(v.version)} (written by another version of ml/)`);
      }
    }
    const m = parseWith(SerializedTrainedModelSchema, value, 'model JSON', MlErrorCodes.MODEL_FORMAT);
    const inner = deserializeModel(m.model);
    return new TrainedModel({
      features: m.features,
      label: m.label,
      encoding: m.encoding,
      inner,
      metadata: m.metadata as ModelMetadata,
    });
  }
}

function numericValue(v: unknown, i: number, name: string): number {
  if (v === null || v === undefined || v === '') return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const x = +v;
    if (v.trim() !== '' && Number.isFinite(x)) return x;
  }
  throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `rows[${i}].${name}: expected a number, a numeric string or null, got ${JSON.stringify(v)}`);
}

function categoryValue(v: unknown, i: number, name: string): string | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `rows[${i}].${name}: expected a category name (a string) or null, got ${JSON.stringify(v)}`);
}

// ---------------------------------------------------------------------------------------------------------
// JSON form

const MODEL_FORMAT = 'retrain-model';

const ModelFeatureSchema = z
  .object({
    name: z.string().min(1),
    type: z.enum([FeatureTypes.numeric, FeatureTypes.categorical]),
    categories: z.array(z.string()).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.type === FeatureTypes.categorical && !f.categories) ctx.addIssue({ code: 'custom', path: ['categories'], message: 'required for a categorical feature' });
    if (f.type === FeatureTypes.numeric && f.categories) ctx.addIssue({ code: 'custom', path: ['categories'], message: 'only allowed for a categorical feature' });
    if (f.categories && new Set(f.categories).size !== f.categories.length) ctx.addIssue({ code: 'custom', path: ['categories'], message: 'categories must be distinct' });
  });

export const SerializedTrainedModelSchema = z
  .object({
    format: z.literal(MODEL_FORMAT),
    version: z.literal(MODEL_FORMAT_VERSION),
    features: z.array(ModelFeatureSchema).min(1),
    label: z.object({ name: z.string().min(1), positive: z.string().min(1), negative: z.array(z.string().min(1)).optional() }).strict(),
    encoding: z.enum([Encodings.codes, Encodings.oneHot]),
    metadata: z
      .object({
        trainer: z.object({ kind: z.enum([ModelKinds.gbdt, ModelKinds.logistic]), params: z.record(z.string(), z.unknown()) }).strict(),
        libraryVersion: z.string(),
        dataFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
        trainingRows: z.number().int().min(0),
        trainingMs: z.number().min(0),
        trainedAt: z.string(),
        seed: z.number().optional(),
      })
      .strict(),
    model: z.record(z.string(), z.unknown()),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.features.forEach((f, j) => {
      if (seen.has(f.name)) ctx.addIssue({ code: 'custom', path: ['features', j, 'name'], message: `duplicate feature name ${JSON.stringify(f.name)}` });
      seen.add(f.name);
    });
  });

export type SerializedTrainedModel = z.output<typeof SerializedTrainedModelSchema>;
