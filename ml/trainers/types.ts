/**
 * The contract every trainer in ml/trainers keeps, and the checks they share: a trainer is configured with
 * zod-validated parameters, fits a feature matrix and binary labels (optionally weighted, deterministically for a
 * seed) and returns a model that predicts probabilities, remembers the feature names it was trained on and
 * serialises itself to plain JSON.
 */
import { z } from 'zod';
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import type { FeatureMatrix, Labels } from '../types';

export type { FeatureMatrix, Labels } from '../types';

/** Reported once per iteration (a Newton/L-BFGS step, or one boosting round). */
export interface FitProgress {
  readonly iteration: number;
  readonly total: number;
  readonly loss?: number;
  readonly validationLoss?: number;
}

export interface FitOptions {
  /** Non-negative weights, one per row; the loss of row i is multiplied by `sampleWeight[i]`. */
  readonly sampleWeight?: Float64Array;
  /** Seeds every random choice of the fit (validation split, binning subsample). Default 0. */
  readonly seed?: number;
  readonly onProgress?: (p: FitProgress) => void;
  /**
   * A model to continue from, of the trainer's own kind (a checkpoint): gradient boosting keeps its trees and grows
   * the rest, logistic regression starts its solver from its coefficients. With the same data, params and seed, a
   * fit resumed from a GBDT checkpoint equals the uninterrupted fit tree for tree.
   */
  readonly init?: Model;
  /**
   * A model trained earlier, usually on other data (the production model), to continue from: gradient boosting keeps
   * its baseline and trees and adds `maxIter` new trees fitted to this data's residuals, logistic regression starts
   * its solver from its coefficients. Unlike `init` it need not come from this data; with both, `init` (a checkpoint
   * of this warm-started fit) is where the fit resumes.
   */
  readonly warmStart?: Model;
  /** Receives the model so far every `checkpointEvery` iterations, so a long fit can be resumed after a crash. */
  readonly onCheckpoint?: (model: Model, iteration: number) => void;
  /** Iterations between checkpoints; default 10. */
  readonly checkpointEvery?: number;
}

/** Plain JSON (no typed arrays, no Infinity), tagged with the trainer kind so it can be dispatched on. */
export interface SerializedModel {
  readonly kind: string;
  readonly version: number;
  readonly featureNames: readonly string[];
  readonly [key: string]: unknown;
}

export interface Model {
  readonly kind: string;
  readonly featureNames: readonly string[];
  /** Probability of the positive class for every row of `x`; `x` must have the training feature names, in order. */
  predictProba(x: FeatureMatrix): Float64Array;
  toJSON(): SerializedModel;
}

export interface Trainer<P> {
  readonly kind: string;
  readonly params: Readonly<P>;
  fit(x: FeatureMatrix, y: Labels, opts?: FitOptions): Model;
}

/**
 * Parses trainer parameters, turning the first zod issue into a RangeError that names the parameter, what was
 * expected and what was given (zod's own message names neither the trainer nor the value).
 */
export function parseParams<S extends z.ZodType>(trainer: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  throw new MlRangeError(MlErrorCodes.PARAM_INVALID, describeIssue(`${trainer} params`, r.error.issues[0], input));
}

/** Parses a serialised model, naming the offending field in a TypeError. */
export function parseSerialized<S extends z.ZodType>(kind: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, describeIssue(`${kind} model JSON`, r.error.issues[0], input));
}

function describeIssue(where: string, issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  if (issue.code === 'unrecognized_keys') {
    return `${where}${path}: unknown parameter ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  let value: unknown = input;
  for (const p of issue.path) value = value == null ? undefined : (value as Record<PropertyKey, unknown>)[p];
  const shown = value === undefined ? 'undefined' : typeof value === 'number' ? String(value) : safeJson(value);
  return `${where}${path}: ${issue.message}, got ${shown}`;
}

function safeJson(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}

/** Validates the shapes of a fit call once, so the solvers' hot loops can trust their inputs. */
export function checkFitInputs(x: FeatureMatrix, y: Labels, opts: FitOptions | undefined): void {
  if (!x || !x.columns || !x.names) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'x: expected a FeatureMatrix with names and columns');
  if (x.names.length !== x.columns.length) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `x.names: expected ${x.columns.length} names, one per column, got ${x.names.length}`);
  }
  if (x.columns.length === 0) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'x: expected at least one feature column, got none');
  const seen = new Set<string>();
  for (const name of x.names) {
    if (seen.has(name)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `x.names: expected unique feature names, "${name}" appears twice`);
    seen.add(name);
  }
  const n = x.nRows;
  if (!Number.isInteger(n) || n < 2) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `x.nRows: expected at least 2 rows, got ${n}`);
  x.columns.forEach((c, j) => {
    if (!(c instanceof Float64Array)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `x.columns[${j}] (${x.names[j]}): expected a Float64Array`);
    if (c.length !== n) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `x.columns[${j}] (${x.names[j]}): expected ${n} rows, got ${c.length}`);
  });
  if (!(y instanceof Uint8Array)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'y: expected a Uint8Array of 0/1 labels');
  if (y.length !== n) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `y: expected ${n} labels to match x.nRows, got ${y.length}`);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (v > 1) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `y[${i}]: expected 0 or 1, got ${v}`);
    pos += v;
  }
  const w = opts?.sampleWeight;
  let wPos = pos;
  let wNeg = n - pos;
  if (w !== undefined) {
    if (!(w instanceof Float64Array)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'sampleWeight: expected a Float64Array');
    if (w.length !== n) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `sampleWeight: expected ${n} weights to match x.nRows, got ${w.length}`);
    wPos = 0;
    wNeg = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i];
      if (!(wi >= 0 && wi < Infinity)) {
        throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `sampleWeight[${i}]: expected a finite non-negative number, got ${wi}`);
      }
      if (y[i] === 1) wPos += wi;
      else wNeg += wi;
    }
  }
  if (!(wPos > 0 && wNeg > 0)) {
    throw new MlRangeError(
      MlErrorCodes.INPUT_INVALID,
      `y: expected both classes with positive total weight, got ${pos} positive and ${n - pos} negative rows` +
        (w ? ` (weights ${wPos} and ${wNeg})` : ''),
    );
  }
  const seed = opts?.seed;
  if (seed !== undefined && !Number.isFinite(seed)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `seed: expected a finite number, got ${seed}`);
  const every = opts?.checkpointEvery;
  if (every !== undefined && !(Number.isInteger(every) && every >= 1)) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `checkpointEvery: expected a positive integer, got ${every}`);
  }
  for (const [field, m, what] of [['init', opts?.init, 'the checkpoint'], ['warmStart', opts?.warmStart, 'the warm-start model']] as const) {
    if (m === undefined) continue;
    const same = m.featureNames.length === x.names.length && m.featureNames.every((n, j) => n === x.names[j]);
    if (!same) {
      throw new MlRangeError(
        MlErrorCodes.FEATURE_MISMATCH,
        `${field}: ${what} was trained on features [${m.featureNames.join(', ')}], got [${x.names.join(', ')}]`,
      );
    }
  }
}

/** Models predict on columns by position, so a renamed or reordered matrix must fail loudly rather than silently. */
export function checkFeatureNames(kind: string, expected: readonly string[], x: FeatureMatrix): void {
  const got = x.names;
  if (got.length === expected.length && got.every((n, j) => n === expected[j])) {
    if (x.columns.length !== expected.length) {
      throw new MlRangeError(MlErrorCodes.FEATURE_MISMATCH, `x.columns: expected ${expected.length} columns, got ${x.columns.length}`);
    }
    for (let j = 0; j < x.columns.length; j++) {
      if (x.columns[j].length !== x.nRows) {
        throw new MlRangeError(MlErrorCodes.FEATURE_MISMATCH, `x.columns[${j}] (${got[j]}): expected ${x.nRows} rows, got ${x.columns[j].length}`);
      }
    }
    return;
  }
  const missing = expected.filter((n) => !got.includes(n));
  const extra = got.filter((n) => !expected.includes(n));
  const detail = missing.length || extra.length
    ? `missing [${missing.join(', ')}], unexpected [${extra.join(', ')}]`
    : 'same names in a different order';
  throw new MlRangeError(
    MlErrorCodes.FEATURE_MISMATCH,
    `x.names: this ${kind} model was trained on features [${expected.join(', ')}], got [${got.join(', ')}] (${detail})`,
  );
}
