/**
 * Histogram gradient-boosted trees for binary classification, designed after LightGBM and scikit-learn's
 * HistGradientBoostingClassifier so that results and settings carry over: features are binned into at most
 * `maxBins` quantile bins (NaN gets a bin of its own and a learned direction), each round fits one tree to the
 * gradients and hessians of the binary log loss, trees grow best-first up to `maxLeafNodes` leaves, and the
 * sibling of every built histogram is obtained by subtraction from its parent. Early stopping watches the log loss
 * of a seeded, stratified validation split with scikit-learn's rule.
 *
 * Speed: binned data is one Uint8Array per feature, gradients and hessians are Float64Arrays, a node is a range of
 * one Uint32Array of row indices, and all buffers are allocated once per fit.
 */
import { z } from 'zod';
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import { Rng } from '../random';
import * as fastmath from './fastmath';
import type { FeatureMatrix, Labels } from '../types';
import {
  checkFeatureNames,
  checkFitInputs,
  parseParams,
  parseSerialized,
  type FitOptions,
  type Model,
  type SerializedModel,
  type Trainer,
} from './types';

export const EarlyStoppingModes = { auto: 'auto', on: true, off: false } as const;
export type EarlyStopping = (typeof EarlyStoppingModes)[keyof typeof EarlyStoppingModes];

// Module-level aliases: calls through the module namespace would not be inlined (see fastmath.ts).
const sigmoid = fastmath.sigmoid;
const exp = fastmath.exp;

/** 'auto' early stopping is on above this many rows, as in scikit-learn. */
const AUTO_EARLY_STOPPING_ROWS = 10000;
/** Splits leaving a child with less hessian than this are not considered (scikit-learn's min_hessian_to_split). */
const MIN_HESSIAN_TO_SPLIT = 1e-3;

export const gbdtParamsSchema = z
  .object({
    learningRate: z.number().positive().finite().default(0.1),
    /** Boosting rounds (one tree each). */
    maxIter: z.number().int().min(1).default(100),
    /** Leaves per tree, or null for no limit. */
    maxLeafNodes: z.number().int().min(2).nullable().default(31),
    /** Edges from the root to the deepest leaf, or null for no limit. */
    maxDepth: z.number().int().min(1).nullable().default(null),
    minSamplesLeaf: z.number().int().min(1).default(20),
    l2Regularization: z.number().min(0).finite().default(0),
    /** Bins for non-missing values (missing values get one more). */
    maxBins: z.number().int().min(2).max(255).default(255),
    earlyStopping: z
      .union([z.literal('auto'), z.boolean()], { error: 'expected "auto", true or false' })
      .default('auto'),
    validationFraction: z.number().gt(0).lt(1).default(0.1),
    nIterNoChange: z.number().int().min(1).default(10),
    /** An improvement of the validation log loss smaller than this does not count. */
    tol: z.number().min(0).finite().default(1e-7),
    /** Rows sampled (seeded) to find the bin edges. */
    binSubsample: z.number().int().min(2).default(200000),
  })
  .strict();

export type GbdtParams = z.output<typeof gbdtParamsSchema>;
export type GbdtParamsInput = z.input<typeof gbdtParamsSchema>;

/** One tree as parallel arrays; node 0 is the root, a leaf has feature −1. */
export interface Tree {
  readonly feature: Int32Array;
  /** Go left when x ≤ threshold; +Infinity separates non-missing (left) from missing (right). */
  readonly threshold: Float64Array;
  readonly missingLeft: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Leaf contributions to the log-odds (learning rate applied); 0 for internal nodes. */
  readonly value: Float64Array;
}

export interface GbdtFitInfo {
  /** Boosting rounds run (trees kept). */
  readonly nIter: number;
  readonly earlyStopped: boolean;
  /** Validation log loss after each round, starting with the constant model, when early stopping was on. */
  readonly validationLoss?: readonly number[];
}

const intArray = z.array(z.number().int());
const treeSchema = z.object({
  feature: intArray,
  threshold: z.array(z.number().nullable()),
  missingLeft: z.array(z.union([z.literal(0), z.literal(1)])),
  left: intArray,
  right: intArray,
  value: z.array(z.number()),
});
const serializedSchema = z.object({
  kind: z.literal('gbdt'),
  version: z.literal(1),
  featureNames: z.array(z.string()).min(1),
  baseline: z.number(),
  trees: z.array(treeSchema),
  info: z
    .object({
      nIter: z.number().int().min(0),
      earlyStopped: z.boolean(),
      validationLoss: z.array(z.number()).optional(),
    })
    .optional(),
});

export class GbdtModel implements Model {
  readonly kind = 'gbdt';

  constructor(
    readonly featureNames: readonly string[],
    /** Log-odds of the (weighted) training base rate, the prediction before any tree. */
    readonly baseline: number,
    readonly trees: readonly Tree[],
    readonly info?: GbdtFitInfo,
  ) {}

  /** Raw scores (log-odds). */
  decisionFunction(x: FeatureMatrix): Float64Array {
    checkFeatureNames(this.kind, this.featureNames, x);
    const n = x.nRows;
    const out = new Float64Array(n).fill(this.baseline);
    const cols = x.columns;
    for (let t = 0; t < this.trees.length; t++) {
      const { feature, threshold, missingLeft, left, right, value } = this.trees[t];
      for (let i = 0; i < n; i++) {
        let node = 0;
        let f = feature[0];
        while (f >= 0) {
          const v = cols[f][i];
          if (v <= threshold[node]) node = left[node];
          else if (v !== v) node = missingLeft[node] === 1 ? left[node] : right[node];
          else node = right[node];
          f = feature[node];
        }
        out[i] += value[node];
      }
    }
    return out;
  }

  predictProba(x: FeatureMatrix): Float64Array {
    const raw = this.decisionFunction(x);
    for (let i = 0; i < raw.length; i++) raw[i] = sigmoid(raw[i]);
    return raw;
  }

  toJSON(): SerializedModel {
    return {
      kind: this.kind,
      version: 1,
      featureNames: [...this.featureNames],
      baseline: this.baseline,
      trees: this.trees.map((t) => ({
        feature: Array.from(t.feature),
        // JSON has no Infinity; null stands for +Infinity (the "missing versus the rest" split).
        threshold: Array.from(t.threshold, (v) => (v === Infinity ? null : v)),
        missingLeft: Array.from(t.missingLeft),
        left: Array.from(t.left),
        right: Array.from(t.right),
        value: Array.from(t.value),
      })),
      ...(this.info ? { info: { ...this.info } } : {}),
    };
  }

  static fromJSON(json: unknown): GbdtModel {
    const m = parseSerialized('gbdt', serializedSchema, json);
    const d = m.featureNames.length;
    const trees = m.trees.map((t, ti): Tree => {
      const n = t.feature.length;
      const where = `gbdt model JSON.trees[${ti}]`;
      if (n === 0) throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, `${where}.feature: expected at least one node, got none`);
      for (const key of ['threshold', 'missingLeft', 'left', 'right', 'value'] as const) {
        if (t[key].length !== n) throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, `${where}.${key}: expected ${n} entries, got ${t[key].length}`);
      }
      for (let k = 0; k < n; k++) {
        const f = t.feature[k];
        if (f === -1) continue;
        if (f < 0 || f >= d) throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, `${where}.feature[${k}]: expected -1 or a feature index below ${d}, got ${f}`);
        // Children after their parent rules out cycles, so prediction always reaches a leaf.
        for (const key of ['left', 'right'] as const) {
          const c = t[key][k];
          if (!(c > k && c < n)) throw new MlTypeError(MlErrorCodes.MODEL_FORMAT, `${where}.${key}[${k}]: expected a node index in (${k}, ${n}), got ${c}`);
        }
      }
      return {
        feature: Int32Array.from(t.feature),
        threshold: Float64Array.from(t.threshold, (v) => (v === null ? Infinity : v)),
        missingLeft: Uint8Array.from(t.missingLeft),
        left: Int32Array.from(t.left),
        right: Int32Array.from(t.right),
        value: Float64Array.from(t.value),
      };
    });
    return new GbdtModel(m.featureNames, m.baseline, trees, m.info);
  }
}

export class GradientBoostingTrainer implements Trainer<GbdtParams> {
  readonly kind = 'gbdt';
  readonly params: Readonly<GbdtParams>;

  constructor(params?: GbdtParamsInput) {
    this.params = parseParams('gbdt', gbdtParamsSchema, params);
  }

  fit(x: FeatureMatrix, y: Labels, opts?: FitOptions): GbdtModel {
    checkFitInputs(x, y, opts);
    return fitGbdt(x, y, this.params, opts ?? {});
  }
}

/** Shorthand for `new GradientBoostingTrainer(params)`. */
export function gradientBoosting(params?: GbdtParamsInput): GradientBoostingTrainer {
  return new GradientBoostingTrainer(params);
}

// ---------------------------------------------------------------------------------------------------------------
// Binning

/** Bin edges per feature: value v goes to the first bin b with v ≤ edges[b], or to edges.length if none. */
export interface BinEdges {
  readonly edges: readonly Float64Array[];
}

/**
 * Edges from the non-missing values of `rows` of column `c`: midpoints between distinct values when there are at
 * most `maxBins` of them, else the midpoint-method percentiles at k/maxBins (computed as NumPy does, so the edges
 * match scikit-learn's on the same sample).
 */
export function binEdges(c: Float64Array, rows: ArrayLike<number> | null, maxBins: number): Float64Array {
  const m0 = rows ? rows.length : c.length;
  const v = new Float64Array(m0);
  let m = 0;
  for (let k = 0; k < m0; k++) {
    const x = rows ? c[rows[k]] : c[k];
    if (x === x) v[m++] = x;
  }
  const sorted = v.subarray(0, m).sort();
  let distinct = 0;
  for (let k = 0; k < m; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) distinct++;
  let edges: Float64Array;
  if (distinct <= maxBins) {
    edges = new Float64Array(Math.max(0, distinct - 1));
    let e = 0;
    for (let k = 1; k < m; k++) {
      if (sorted[k] !== sorted[k - 1]) edges[e++] = (sorted[k - 1] + sorted[k]) * 0.5;
    }
  } else {
    const step = 100 / maxBins;
    const out: number[] = [];
    for (let k = 1; k < maxBins; k++) {
      const q = (k * step) / 100;
      const vi = q * (m - 1);
      const lo = Math.floor(vi);
      const hi = Math.ceil(vi);
      const a = sorted[lo];
      const b = sorted[hi];
      const t = lo === hi ? a : b - (b - a) * 0.5;
      // Equal edges would only create empty bins.
      if (out.length === 0 || t > out[out.length - 1]) out.push(t);
    }
    edges = Float64Array.from(out);
  }
  // +Infinity is reserved for the "missing versus the rest" split.
  for (let k = 0; k < edges.length; k++) if (edges[k] > Number.MAX_VALUE) edges[k] = Number.MAX_VALUE;
  return edges;
}

/**
 * Bins `rows` of column `c` (all rows when null) into `out`. Non-missing values take bins 0..edges.length, NaN takes
 * the bin after them; returns whether any value was missing.
 */
function binColumn(c: Float64Array, rows: ArrayLike<number> | null, edges: Float64Array, out: Uint8Array): boolean {
  const nEdges = edges.length;
  const missingBin = nEdges + 1;
  const n = out.length;
  let hasMissing = false;
  for (let k = 0; k < n; k++) {
    const x = rows ? c[rows[k]] : c[k];
    if (x !== x) {
      out[k] = missingBin;
      hasMissing = true;
      continue;
    }
    let lo = 0;
    let hi = nEdges;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x <= edges[mid]) hi = mid;
      else lo = mid + 1;
    }
    out[k] = lo;
  }
  return hasMissing;
}

// ---------------------------------------------------------------------------------------------------------------
// Fitting

function fitGbdt(x: FeatureMatrix, y: Labels, params: GbdtParams, opts: FitOptions): GbdtModel {
  const n = x.nRows;
  const d = x.columns.length;
  const rng = new Rng(opts.seed ?? 0);
  const w = opts.sampleWeight;
  const early = params.earlyStopping === 'auto' ? n > AUTO_EARLY_STOPPING_ROWS : params.earlyStopping;

  let trainRows: Uint32Array | null = null;
  let valRows: Uint32Array | null = null;
  if (early) {
    [trainRows, valRows] = stratifiedSplit(y, params.validationFraction, rng.fork());
  }
  const nTrain = trainRows ? trainRows.length : n;

  // Bin edges from a seeded subsample of the training rows, so binning cost is bounded on big data.
  let sample: ArrayLike<number> | null = trainRows;
  const binRng = rng.fork();
  if (nTrain > params.binSubsample) {
    const all = new Uint32Array(nTrain);
    for (let k = 0; k < nTrain; k++) all[k] = trainRows ? trainRows[k] : k;
    for (let k = 0; k < params.binSubsample; k++) {
      const j = k + binRng.nextInt(nTrain - k);
      const t = all[k];
      all[k] = all[j];
      all[j] = t;
    }
    sample = all.subarray(0, params.binSubsample);
  }
  const edges: Float64Array[] = [];
  const binned: Uint8Array[] = [];
  const hasMissing = new Uint8Array(d);
  for (let f = 0; f < d; f++) {
    const e = binEdges(x.columns[f], sample, params.maxBins);
    edges.push(e);
    const b = new Uint8Array(nTrain);
    hasMissing[f] = binColumn(x.columns[f], trainRows, e, b) ? 1 : 0;
    binned.push(b);
  }

  const yTrain = trainRows ? gather8(y, trainRows) : y;
  const wTrain = w ? (trainRows ? gather64(w, trainRows) : w) : null;

  let sumW = 0;
  let sumWy = 0;
  for (let i = 0; i < nTrain; i++) {
    const wi = wTrain ? wTrain[i] : 1;
    sumW += wi;
    sumWy += wi * yTrain[i];
  }
  if (!(sumWy > 0 && sumWy < sumW)) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, 'y: the training part (after the validation split) must contain both classes with positive weight');
  }
  // A warm start continues the earlier model's raw scores: its baseline, not this data's log-odds, is the start.
  const warm = warmStartModel(opts.warmStart);
  const baseline = warm ? warm.baseline : Math.log(sumWy / (sumW - sumWy));
  const nPrior = warm ? warm.trees.length : 0;
  // maxIter counts the trees this fit grows, so a warm start adds maxIter to the earlier model's trees.
  const total = nPrior + params.maxIter;
  const init = initTrees(opts.init, baseline, total, nPrior);

  let valBinned: Uint8Array[] | null = null;
  let yVal: Uint8Array | null = null;
  let wVal: Float64Array | null = null;
  let rawVal: Float64Array | null = null;
  if (valRows) {
    valBinned = [];
    for (let f = 0; f < d; f++) {
      const b = new Uint8Array(valRows.length);
      binColumn(x.columns[f], valRows, edges[f], b);
      valBinned.push(b);
    }
    yVal = gather8(y, valRows);
    wVal = w ? gather64(w, valRows) : null;
    rawVal = new Float64Array(valRows.length).fill(baseline);
  }

  const nBins = new Int32Array(d);
  for (let f = 0; f < d; f++) nBins[f] = edges[f].length + 1;
  const grower = new Grower(binned, nBins, hasMissing, params, nTrain);
  const raw = new Float64Array(nTrain).fill(baseline);
  const grad = grower.grad;
  const hess = grower.hess;
  const trees: Tree[] = [];
  const valScores: number[] = [];
  let earlyStopped = false;
  // A checkpoint of a warm-started fit begins with the earlier model's trees, so either list starts with them.
  const replay = init.length > 0 ? init : warm ? warm.trees : [];
  // The earlier model's trees are the starting point, not rounds of this fit: early stopping never looks at them
  // (it could otherwise cut the earlier model short), and its validation curve starts after them.
  for (let k = 0; k < nPrior; k++) {
    trees.push(replay[k]);
    addTreeValues(replay[k], x.columns, trainRows, raw);
    if (rawVal && valRows) addTreeValues(replay[k], x.columns, valRows, rawVal);
  }
  if (rawVal) valScores.push(-logLoss(yVal!, rawVal, wVal));

  // Resuming replays the checkpoint's trees in order: adding the same leaf values in the same order gives the same
  // raw scores and validation losses bit for bit, and the rest of the fit draws nothing random, so the remaining
  // trees are those the uninterrupted fit would grow.
  for (const tree of replay.slice(nPrior)) {
    trees.push(tree);
    addTreeValues(tree, x.columns, trainRows, raw);
    if (rawVal && valRows) {
      addTreeValues(tree, x.columns, valRows, rawVal);
      valScores.push(-logLoss(yVal!, rawVal, wVal));
      if (shouldStop(valScores, params.nIterNoChange, params.tol)) earlyStopped = true;
    }
    if (earlyStopped) break;
  }
  const every = opts.checkpointEvery ?? 10;

  for (let iter = trees.length; iter < total && !earlyStopped; iter++) {
    logLossGradients(raw, yTrain, wTrain, grad, hess);
    const built = grower.grow();
    const tree = grower.toTree(edges);
    trees.push(tree);
    grower.addLeafValues(raw, built);

    let validationLoss: number | undefined;
    if (rawVal && valBinned) {
      predictBinned(tree, grower.binThreshold, valBinned, nBins, rawVal);
      validationLoss = logLoss(yVal!, rawVal, wVal);
      valScores.push(-validationLoss);
      if (shouldStop(valScores, params.nIterNoChange, params.tol)) earlyStopped = true;
    }
    // Before the progress report of the same round, so a listener can send both in one heartbeat.
    if (opts.onCheckpoint && (iter + 1) % every === 0 && !earlyStopped && iter + 1 < total) {
      const soFar: GbdtFitInfo = {
        nIter: trees.length,
        earlyStopped: false,
        ...(early ? { validationLoss: valScores.map((s) => -s) } : {}),
      };
      opts.onCheckpoint(new GbdtModel([...x.names], baseline, trees.slice(), soFar), iter + 1);
    }
    if (opts.onProgress) {
      opts.onProgress({
        iteration: iter + 1,
        total,
        loss: logLoss(yTrain, raw, wTrain),
        ...(validationLoss !== undefined ? { validationLoss } : {}),
      });
    }
    if (earlyStopped) break;
  }
  const info: GbdtFitInfo = {
    nIter: trees.length,
    earlyStopped,
    ...(early ? { validationLoss: valScores.map((s) => -s) } : {}),
  };
  return new GbdtModel([...x.names], baseline, trees, info);
}

/** The model a warm start continues from, checked to be a GBDT model. */
function warmStartModel(m: Model | undefined): GbdtModel | undefined {
  if (m === undefined) return undefined;
  if (!(m instanceof GbdtModel)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `warmStart: expected a gbdt model to continue from, got ${m.kind}`);
  return m;
}

/**
 * The trees of a GBDT checkpoint, checked to come from the same data (the same baseline), to fit in `maxIter` (the
 * fit's total, warm-start trees included) and, for a warm-started fit, to hold at least the earlier model's trees.
 */
function initTrees(init: Model | undefined, baseline: number, maxIter: number, nPrior = 0): readonly Tree[] {
  if (init === undefined) return [];
  if (!(init instanceof GbdtModel)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `init: expected a gbdt model to resume from, got ${init.kind}`);
  if (init.baseline !== baseline) {
    throw new MlRangeError(
      MlErrorCodes.INPUT_INVALID,
      `init.baseline: the checkpoint starts from ${init.baseline}, this data and seed from ${baseline} ` +
        '(a checkpoint resumes only the fit of the same rows, weights and seed)',
    );
  }
  if (init.trees.length > maxIter) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `init.trees: expected at most maxIter = ${maxIter} trees, got ${init.trees.length}`);
  }
  if (init.trees.length < nPrior) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `init.trees: a checkpoint of a warm-started fit holds the warm-start model's ${nPrior} trees, got ${init.trees.length}`);
  }
  return init.trees;
}

/** out[k] += the tree's value for row rows[k] (row k when null), routing raw feature values as predict does. */
function addTreeValues(tree: Tree, cols: readonly Float64Array[], rows: Uint32Array | null, out: Float64Array): void {
  const { feature, threshold, missingLeft, left, right, value } = tree;
  for (let k = 0; k < out.length; k++) {
    const i = rows ? rows[k] : k;
    let node = 0;
    let f = feature[0];
    while (f >= 0) {
      const v = cols[f][i];
      if (v <= threshold[node]) node = left[node];
      else if (v !== v) node = missingLeft[node] === 1 ? left[node] : right[node];
      else node = right[node];
      f = feature[node];
    }
    out[k] += value[node];
  }
}

/**
 * scikit-learn's rule: stop when none of the last `nIterNoChange` scores beats the one before them by more than
 * `tol` (scores are negated losses, so higher is better).
 */
function shouldStop(scores: number[], nIterNoChange: number, tol: number): boolean {
  const ref = nIterNoChange + 1;
  if (scores.length < ref) return false;
  const reference = scores[scores.length - ref] + tol;
  for (let k = scores.length - ref + 1; k < scores.length; k++) if (scores[k] > reference) return false;
  return true;
}

/** Gradient p − y and hessian p(1 − p) of the log loss in the raw score, times the row weights. */
function logLossGradients(raw: Float64Array, y: Uint8Array, w: Float64Array | null, grad: Float64Array, hess: Float64Array): void {
  const n = raw.length;
  if (w === null) {
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + exp(-raw[i]));
      grad[i] = p - y[i];
      hess[i] = p * (1 - p);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + exp(-raw[i]));
      const wi = w[i];
      grad[i] = (p - y[i]) * wi;
      hess[i] = p * (1 - p) * wi;
    }
  }
}

/** Weighted mean binary log loss of raw scores. */
function logLoss(y: Uint8Array, raw: Float64Array, w: Float64Array | null): number {
  let s = 0;
  let sw = 0;
  for (let i = 0; i < y.length; i++) {
    const e = raw[i];
    const sp = e > 0 ? e + Math.log1p(exp(-e)) : Math.log1p(exp(e));
    const wi = w ? w[i] : 1;
    s += wi * (sp - (y[i] === 1 ? e : 0));
    sw += wi;
  }
  return s / sw;
}

/** Adds a tree's leaf values for binned rows (the validation split), using bin thresholds. */
function predictBinned(tree: Tree, binThreshold: Int32Array, cols: Uint8Array[], nBins: Int32Array, out: Float64Array): void {
  const { feature, missingLeft, left, right, value } = tree;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    let node = 0;
    let f = feature[0];
    while (f >= 0) {
      const b = cols[f][i];
      if (b === nBins[f]) node = missingLeft[node] === 1 ? left[node] : right[node];
      else node = b <= binThreshold[node] ? left[node] : right[node];
      f = feature[node];
    }
    out[i] += value[node];
  }
}

/** Seeded stratified split with ⌈fraction·n⌉ validation rows (as scikit-learn's train_test_split); both sorted. */
function stratifiedSplit(y: Labels, fraction: number, rng: Rng): [Uint32Array, Uint32Array] {
  const n = y.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) nPos += y[i];
  const nNeg = n - nPos;
  const nVal = Math.min(n - 2, Math.max(2, Math.ceil(fraction * n)));
  let valPos = Math.round((nVal * nPos) / n);
  // Keep at least one row of each class on both sides when the class has two rows or more.
  valPos = Math.min(Math.max(valPos, nPos > 1 ? 1 : 0), nPos > 1 ? nPos - 1 : 0);
  let valNeg = nVal - valPos;
  valNeg = Math.min(Math.max(valNeg, nNeg > 1 ? 1 : 0), nNeg > 1 ? nNeg - 1 : 0);
  const pos = new Uint32Array(nPos);
  const neg = new Uint32Array(nNeg);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    if (y[i] === 1) pos[a++] = i;
    else neg[b++] = i;
  }
  const isVal = new Uint8Array(n);
  for (const [idx, take] of [[pos, valPos], [neg, valNeg]] as const) {
    // Partial Fisher-Yates: the first `take` entries become a uniform sample.
    for (let k = 0; k < take; k++) {
      const j = k + rng.nextInt(idx.length - k);
      const t = idx[k];
      idx[k] = idx[j];
      idx[j] = t;
      isVal[idx[k]] = 1;
    }
  }
  const train = new Uint32Array(n - valPos - valNeg);
  const val = new Uint32Array(valPos + valNeg);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    if (isVal[i]) val[b++] = i;
    else train[a++] = i;
  }
  return [train, val];
}

function gather8(a: Uint8Array, rows: Uint32Array): Uint8Array {
  const out = new Uint8Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = a[rows[k]];
  return out;
}

function gather64(a: Float64Array, rows: Uint32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = a[rows[k]];
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Tree growing

/**
 * Grows one tree per call on the binned training data. Node state lives in typed arrays indexed by node id (ids
 * are assigned in creation order, so children always follow their parent); a node's rows are the range
 * [start, end) of `rows`. Histograms are Float64Arrays with (gradient, hessian, count) per bin, all features
 * back to back, recycled through a pool.
 */
class Grower {
  readonly grad: Float64Array;
  readonly hess: Float64Array;
  /** Bin threshold of each internal node of the last tree (go left when bin ≤ threshold). */
  binThreshold: Int32Array;

  private readonly binned: Uint8Array[];
  private readonly nBins: Int32Array;
  private readonly hasMissing: Uint8Array;
  private readonly nFeatures: number;
  private readonly n: number;
  private readonly maxLeaves: number;
  private readonly maxDepth: number;
  private readonly minLeaf: number;
  private readonly lambda: number;
  private readonly shrinkage: number;
  /** Offset of each feature's first bin in a histogram, in doubles. */
  private readonly histOffset: Int32Array;
  private rootCounts: Float64Array | null = null;
  private readonly histSize: number;
  private readonly histPool: Float64Array[] = [];

  private readonly rows: Uint32Array;
  private readonly scratch: Uint32Array;
  private readonly orderedGrad: Float64Array;
  private readonly orderedHess: Float64Array;

  // Node arrays.
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private readonly depth: Int32Array;
  private readonly sumG: Float64Array;
  private readonly sumH: Float64Array;
  private readonly hist: (Float64Array | null)[];
  private readonly splitFeature: Int32Array;
  private readonly splitBin: Int32Array;
  private readonly splitMissingLeft: Uint8Array;
  private readonly gain: Float64Array;
  private readonly leftG: Float64Array;
  private readonly leftH: Float64Array;
  private readonly leftCount: Int32Array;
  private readonly leftChild: Int32Array;
  private readonly rightChild: Int32Array;
  private readonly value: Float64Array;
  private nNodes = 0;

  /** Max-heap of splittable node ids, ordered by gain. */
  private readonly heap: Int32Array;
  private heapSize = 0;

  constructor(binned: Uint8Array[], nBins: Int32Array, hasMissing: Uint8Array, params: GbdtParams, n: number) {
    this.binned = binned;
    this.nBins = nBins;
    this.hasMissing = hasMissing;
    this.nFeatures = binned.length;
    this.n = n;
    this.minLeaf = params.minSamplesLeaf;
    this.lambda = params.l2Regularization;
    this.shrinkage = params.learningRate;
    this.maxDepth = params.maxDepth ?? Number.MAX_SAFE_INTEGER;
    this.maxLeaves = params.maxLeafNodes ?? Number.MAX_SAFE_INTEGER;
    // Every leaf holds at least minSamplesLeaf rows, which bounds the tree size when leaves are not limited.
    const leafBound = Math.min(this.maxLeaves, Math.max(1, Math.floor(n / params.minSamplesLeaf)));
    const maxNodes = 2 * leafBound + 1;

    this.histOffset = new Int32Array(this.nFeatures);
    let size = 0;
    for (let f = 0; f < this.nFeatures; f++) {
      this.histOffset[f] = size;
      size += 3 * (nBins[f] + 1); // non-missing bins plus the missing bin
    }
    this.histSize = size;

    this.grad = new Float64Array(n);
    this.hess = new Float64Array(n);
    this.rows = new Uint32Array(n);
    this.scratch = new Uint32Array(n);
    this.orderedGrad = new Float64Array(n);
    this.orderedHess = new Float64Array(n);

    this.start = new Int32Array(maxNodes);
    this.end = new Int32Array(maxNodes);
    this.depth = new Int32Array(maxNodes);
    this.sumG = new Float64Array(maxNodes);
    this.sumH = new Float64Array(maxNodes);
    this.hist = new Array<Float64Array | null>(maxNodes).fill(null);
    this.splitFeature = new Int32Array(maxNodes);
    this.splitBin = new Int32Array(maxNodes);
    this.splitMissingLeft = new Uint8Array(maxNodes);
    this.gain = new Float64Array(maxNodes);
    this.leftG = new Float64Array(maxNodes);
    this.leftH = new Float64Array(maxNodes);
    this.leftCount = new Int32Array(maxNodes);
    this.leftChild = new Int32Array(maxNodes);
    this.rightChild = new Int32Array(maxNodes);
    this.value = new Float64Array(maxNodes);
    this.binThreshold = new Int32Array(maxNodes);
    this.heap = new Int32Array(maxNodes);
  }

  /** Grows a tree on the current `grad`/`hess`; returns the number of nodes. */
  grow(): number {
    const n = this.n;
    const rows = this.rows;
    for (let i = 0; i < n; i++) rows[i] = i;
    this.nNodes = 0;
    this.heapSize = 0;
    let g = 0;
    let h = 0;
    for (let i = 0; i < n; i++) {
      g += this.grad[i];
      h += this.hess[i];
    }
    const root = this.newNode(0, n, 0, g, h);
    let nLeaves = 1;
    if (n >= 2 * this.minLeaf && h >= MIN_HESSIAN_TO_SPLIT && this.maxDepth > 0) {
      const hist = this.takeHist();
      this.buildHistogram(0, n, hist, true);
      this.hist[root] = hist;
      this.findSplitAndPush(root);
    }
    while (this.heapSize > 0) {
      const node = this.popHeap();
      const [left, right] = this.split(node);
      nLeaves++;
      const parentHist = this.hist[node]!;
      this.hist[node] = null;
      if (nLeaves >= this.maxLeaves) {
        this.releaseHist(parentHist);
        while (this.heapSize > 0) this.releaseNodeHist(this.popHeap());
        break;
      }
      const childDepth = this.depth[left];
      const nLeft = this.end[left] - this.start[left];
      const nRight = this.end[right] - this.start[right];
      const splitLeft = childDepth < this.maxDepth && nLeft >= 2 * this.minLeaf;
      const splitRight = childDepth < this.maxDepth && nRight >= 2 * this.minLeaf;
      if (!splitLeft && !splitRight) {
        this.releaseHist(parentHist);
        continue;
      }
      // Build the smaller child's histogram; the larger one is the parent minus it, computed in place.
      const small = nLeft < nRight ? left : right;
      const large = small === left ? right : left;
      const smallHist = this.takeHist();
      this.buildHistogram(this.start[small], this.end[small], smallHist, false);
      const size = this.histSize;
      for (let k = 0; k < size; k++) parentHist[k] -= smallHist[k];
      this.hist[small] = smallHist;
      this.hist[large] = parentHist;
      if (splitLeft) this.findSplitAndPush(left);
      else this.releaseNodeHist(left);
      if (splitRight) this.findSplitAndPush(right);
      else this.releaseNodeHist(right);
    }
    // Leaves: every node without children; their values are the shrunk Newton steps.
    const lambda = this.lambda + 1e-15;
    for (let k = 0; k < this.nNodes; k++) {
      this.value[k] = this.leftChild[k] < 0 ? (-this.shrinkage * this.sumG[k]) / (this.sumH[k] + lambda) : 0;
    }
    return this.nNodes;
  }

  /** raw[i] += value of the leaf holding row i: each leaf owns a contiguous range of `rows`. */
  addLeafValues(raw: Float64Array, nNodes: number): void {
    const rows = this.rows;
    for (let k = 0; k < nNodes; k++) {
      if (this.leftChild[k] >= 0) continue;
      const v = this.value[k];
      for (let p = this.start[k], e = this.end[k]; p < e; p++) raw[rows[p]] += v;
    }
  }

  /** The last grown tree, with bin thresholds turned into real-valued ones. */
  toTree(edges: Float64Array[]): Tree {
    const m = this.nNodes;
    const feature = new Int32Array(m);
    const threshold = new Float64Array(m);
    const missingLeft = new Uint8Array(m);
    const left = new Int32Array(m);
    const right = new Int32Array(m);
    const value = new Float64Array(m);
    for (let k = 0; k < m; k++) {
      if (this.leftChild[k] < 0) {
        feature[k] = -1;
        left[k] = -1;
        right[k] = -1;
        value[k] = this.value[k];
        this.binThreshold[k] = 0;
        continue;
      }
      const f = this.splitFeature[k];
      const b = this.splitBin[k];
      feature[k] = f;
      // Splitting after the last non-missing bin separates missing values from the rest.
      threshold[k] = b === this.nBins[f] - 1 ? Infinity : edges[f][b];
      missingLeft[k] = this.splitMissingLeft[k];
      left[k] = this.leftChild[k];
      right[k] = this.rightChild[k];
      this.binThreshold[k] = b;
    }
    return { feature, threshold, missingLeft, left, right, value };
  }

  private newNode(start: number, end: number, depth: number, g: number, h: number): number {
    const id = this.nNodes++;
    this.start[id] = start;
    this.end[id] = end;
    this.depth[id] = depth;
    this.sumG[id] = g;
    this.sumH[id] = h;
    this.leftChild[id] = -1;
    this.rightChild[id] = -1;
    this.hist[id] = null;
    return id;
  }

  private takeHist(): Float64Array {
    const h = this.histPool.pop();
    if (h) {
      h.fill(0);
      return h;
    }
    return new Float64Array(this.histSize);
  }

  private releaseHist(h: Float64Array): void {
    this.histPool.push(h);
  }

  private releaseNodeHist(node: number): void {
    const h = this.hist[node];
    if (h) this.histPool.push(h);
    this.hist[node] = null;
  }

  /**
   * Adds the rows [start, end) of `rows` to `hist`. The root reads gradients in place (its rows are in order) and
   * takes its counts from the first tree, since they never change; other nodes gather their gradients once so the
   * per-feature passes read them sequentially.
   */
  private buildHistogram(start: number, end: number, hist: Float64Array, isRoot: boolean): void {
    const rows = this.rows;
    const m = end - start;
    let g = this.grad;
    let h = this.hess;
    if (!isRoot) {
      const og = this.orderedGrad;
      const oh = this.orderedHess;
      for (let k = 0; k < m; k++) {
        const i = rows[start + k];
        og[k] = g[i];
        oh[k] = h[i];
      }
      g = og;
      h = oh;
    }
    const cols = this.binned;
    const off = this.histOffset;
    const counts = !isRoot || this.rootCounts === null;
    const nf = this.nFeatures;
    let f = 0;
    for (; f + 4 <= nf; f += 4) {
      accumulate4(rows, start, m, g, h, counts, cols[f], cols[f + 1], cols[f + 2], cols[f + 3],
        off[f], off[f + 1], off[f + 2], off[f + 3], hist);
    }
    const rest = nf - f;
    if (rest === 3) accumulate3(rows, start, m, g, h, counts, cols[f], cols[f + 1], cols[f + 2], off[f], off[f + 1], off[f + 2], hist);
    else if (rest === 2) accumulate2(rows, start, m, g, h, counts, cols[f], cols[f + 1], off[f], off[f + 1], hist);
    else if (rest === 1) accumulate1(rows, start, m, g, h, counts, cols[f], off[f], hist);
    if (isRoot) {
      const size = this.histSize;
      if (this.rootCounts === null) {
        const rc = new Float64Array(size / 3);
        for (let s = 0, k = 2; k < size; s++, k += 3) rc[s] = hist[k];
        this.rootCounts = rc;
      } else {
        const rc = this.rootCounts;
        for (let s = 0, k = 2; k < size; s++, k += 3) hist[k] = rc[s];
      }
    }
  }

  /** Best split of `node` over all features; pushes the node on the heap if one with positive gain exists. */
  private findSplitAndPush(node: number): void {
    const hist = this.hist[node]!;
    const nNode = this.end[node] - this.start[node];
    const G = this.sumG[node];
    const H = this.sumH[node];
    const lambda = this.lambda;
    const minLeaf = this.minLeaf;
    const parentScore = (G * G) / (H + lambda);
    let bestGain = 0;
    let bestFeature = -1;
    let bestBin = 0;
    let bestMissingLeft = 0;
    let bestGL = 0;
    let bestHL = 0;
    let bestCL = 0;
    for (let f = 0; f < this.nFeatures; f++) {
      const off = this.histOffset[f];
      const nb = this.nBins[f];
      const missing = this.hasMissing[f];
      // Missing values go right: scan bins left to right. With missing values, the split after the last
      // non-missing bin ("missing versus the rest") is a candidate too.
      let gl = 0;
      let hl = 0;
      let cl = 0;
      const endBin = nb - 1 + missing;
      for (let b = 0; b < endBin; b++) {
        const o = off + 3 * b;
        gl += hist[o];
        hl += hist[o + 1];
        cl += hist[o + 2];
        const cr = nNode - cl;
        if (cl < minLeaf) continue;
        if (cr < minLeaf) break;
        const hr = H - hl;
        if (hl < MIN_HESSIAN_TO_SPLIT) continue;
        if (hr < MIN_HESSIAN_TO_SPLIT) break;
        const gr = G - gl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          bestBin = b;
          bestMissingLeft = 0;
          bestGL = gl;
          bestHL = hl;
          bestCL = cl;
        }
      }
      if (missing === 0) continue;
      // Missing values go left: scan right to left, accumulating the right child.
      let gr = 0;
      let hr = 0;
      let cr = 0;
      for (let b = nb - 2; b >= 0; b--) {
        const o = off + 3 * (b + 1);
        gr += hist[o];
        hr += hist[o + 1];
        cr += hist[o + 2];
        const cl2 = nNode - cr;
        if (cr < minLeaf) continue;
        if (cl2 < minLeaf) break;
        const hl2 = H - hr;
        if (hr < MIN_HESSIAN_TO_SPLIT) continue;
        if (hl2 < MIN_HESSIAN_TO_SPLIT) break;
        const gl2 = G - gr;
        const gain = (gl2 * gl2) / (hl2 + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          bestBin = b;
          bestMissingLeft = 1;
          bestGL = gl2;
          bestHL = hl2;
          bestCL = cl2;
        }
      }
    }
    if (bestFeature < 0) {
      this.releaseNodeHist(node);
      return;
    }
    this.gain[node] = bestGain;
    this.splitFeature[node] = bestFeature;
    this.splitBin[node] = bestBin;
    this.splitMissingLeft[node] = bestMissingLeft;
    this.leftG[node] = bestGL;
    this.leftH[node] = bestHL;
    this.leftCount[node] = bestCL;
    this.pushHeap(node);
  }

  /** Partitions the node's rows (stable) and creates its two children. */
  private split(node: number): [number, number] {
    const f = this.splitFeature[node];
    const bin = this.splitBin[node];
    const missingBin = this.nBins[f];
    const col = this.binned[f];
    const rows = this.rows;
    const scratch = this.scratch;
    const start = this.start[node];
    const end = this.end[node];
    const missingLeft = this.splitMissingLeft[node] === 1;
    let l = start;
    let r = 0;
    // Left rows are compacted in place (l ≤ p), right rows wait in scratch; both keep their order.
    for (let p = start; p < end; p++) {
      const i = rows[p];
      const b = col[i];
      if (b <= bin || (missingLeft && b === missingBin)) rows[l++] = i;
      else scratch[r++] = i;
    }
    rows.set(scratch.subarray(0, r), l);
    const d = this.depth[node] + 1;
    const gl = this.leftG[node];
    const hl = this.leftH[node];
    const left = this.newNode(start, l, d, gl, hl);
    const right = this.newNode(l, end, d, this.sumG[node] - gl, this.sumH[node] - hl);
    this.leftChild[node] = left;
    this.rightChild[node] = right;
    if (this.hasMissing[f] === 0) {
      // No missing values seen in training: at predict time they follow the larger child, as in scikit-learn.
      this.splitMissingLeft[node] = l - start > end - l ? 1 : 0;
    }
    return [left, right];
  }

  private pushHeap(node: number): void {
    const heap = this.heap;
    const gain = this.gain;
    let k = this.heapSize++;
    heap[k] = node;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (gain[heap[parent]] >= gain[node]) break;
      heap[k] = heap[parent];
      heap[parent] = node;
      k = parent;
    }
  }

  private popHeap(): number {
    const heap = this.heap;
    const gain = this.gain;
    const top = heap[0];
    const last = heap[--this.heapSize];
    const size = this.heapSize;
    let k = 0;
    if (size > 0) {
      heap[0] = last;
      for (;;) {
        const a = 2 * k + 1;
        if (a >= size) break;
        const b = a + 1;
        const c = b < size && gain[heap[b]] > gain[heap[a]] ? b : a;
        if (gain[heap[c]] <= gain[last]) break;
        heap[k] = heap[c];
        heap[c] = last;
        k = c;
      }
    }
    return top;
  }
}

/*
 * Histogram accumulation, for blocks of up to four features at once. Rows in time order often repeat a bin, and a
 * single feature's updates then form one serial chain of read-add-write on the same slot; interleaving features
 * gives the CPU independent chains to overlap. `g`/`h` are indexed by position in the node (k), bins by row
 * (rows[start + k]). Without `counts` the count slots are left alone (the root copies its cached counts).
 * Four near-identical functions rather than one loop over features, because the loop is what is slow.
 */

function accumulate4(
  rows: Uint32Array, start: number, m: number, g: Float64Array, h: Float64Array, counts: boolean,
  c0: Uint8Array, c1: Uint8Array, c2: Uint8Array, c3: Uint8Array,
  o0: number, o1: number, o2: number, o3: number, hist: Float64Array,
): void {
  if (counts) {
    for (let k = 0; k < m; k++) {
      const i = rows[start + k];
      const gk = g[k];
      const hk = h[k];
      const b0 = o0 + 3 * c0[i];
      const b1 = o1 + 3 * c1[i];
      const b2 = o2 + 3 * c2[i];
      const b3 = o3 + 3 * c3[i];
      hist[b0] += gk;
      hist[b1] += gk;
      hist[b2] += gk;
      hist[b3] += gk;
      hist[b0 + 1] += hk;
      hist[b1 + 1] += hk;
      hist[b2 + 1] += hk;
      hist[b3 + 1] += hk;
      hist[b0 + 2] += 1;
      hist[b1 + 2] += 1;
      hist[b2 + 2] += 1;
      hist[b3 + 2] += 1;
    }
  } else {
    for (let k = 0; k < m; k++) {
      const i = rows[start + k];
      const gk = g[k];
      const hk = h[k];
      const b0 = o0 + 3 * c0[i];
      const b1 = o1 + 3 * c1[i];
      const b2 = o2 + 3 * c2[i];
      const b3 = o3 + 3 * c3[i];
      hist[b0] += gk;
      hist[b1] += gk;
      hist[b2] += gk;
      hist[b3] += gk;
      hist[b0 + 1] += hk;
      hist[b1 + 1] += hk;
      hist[b2 + 1] += hk;
      hist[b3 + 1] += hk;
    }
  }
}

function accumulate3(
  rows: Uint32Array, start: number, m: number, g: Float64Array, h: Float64Array, counts: boolean,
  c0: Uint8Array, c1: Uint8Array, c2: Uint8Array, o0: number, o1: number, o2: number, hist: Float64Array,
): void {
  if (counts) {
    for (let k = 0; k < m; k++) {
      const i = rows[start + k];
      const gk = g[k];
      const hk = h[k];
      const b0 = o0 + 3 * c0[i];
      const b1 = o1 + 3 * c1[i];
      const b2 = o2 + 3 * c2[i];
      hist[b0] += gk;
      hist[b1] += gk;
      hist[b2] += gk;
      hist[b0 + 1] += hk;
      hist[b1 + 1] += hk;
      hist[b2 + 1] += hk;
      hist[b0 + 2] += 1;
      hist[b1 + 2] += 1;
      hist[b2 + 2] += 1;
    }
  } else {
    for (let k = 0; k < m; k++) {
      const i = rows[start + k];
      const gk = g[k];
      const hk = h[k];
      const b0 = o0 + 3 * c0[i];
      const b1 = o1 + 3 * c1[i];
      const b2 = o2 + 3 * c2[i];
      hist[b0] += gk;
      hist[b1] += gk;
      hist[b2] += gk;
      hist[b0 + 1] += hk;
      hist[b1 + 1] += hk;
      hist[b2 + 1] += hk;
    }
  }
}

function accumulate2(
  rows: Uint32Array, start: number, m: number, g: Float64Array, h: Float64Array, counts: boolean,
  c0: Uint8Array, c1: Uint8Array, o0: number, o1: number, hist: Float64Array,
): void {
  if (counts) {
    for (let k = 0; k < m; k++) {
      const i = rows[start + k];
      const gk = g[k];
      const hk = h[k];
      const b0 = o0 + 3 * c0[i];
      const b1 = o1 + 3 * c1[i];
      hist[b0] += gk;
      hist[b1] += gk;
      hist[b0 + 1] += hk;
      hist[b1 + 1] += hk;
      hist[b0 + 2] += 1;
      hist[b1 + 2] += 1;
    }
  } else {
    for (let k = 0; k < m; k++) {
      const i = rows[start + k];
      const gk = g[k];
      const hk = h[k];
      const b0 = o0 + 3 * c0[i];
      const b1 = o1 + 3 * c1[i];
      hist[b0] += gk;
      hist[b1] += gk;
      hist[b0 + 1] += hk;
      hist[b1 + 1] += hk;
    }
  }
}

function accumulate1(
  rows: Uint32Array, start: number, m: number, g: Float64Array, h: Float64Array, counts: boolean,
  c0: Uint8Array, o0: number, hist: Float64Array,
): void {
  if (counts) {
    for (let k = 0; k < m; k++) {
      const b0 = o0 + 3 * c0[rows[start + k]];
      hist[b0] += g[k];
      hist[b0 + 1] += h[k];
      hist[b0 + 2] += 1;
    }
  } else {
    for (let k = 0; k < m; k++) {
      const b0 = o0 + 3 * c0[rows[start + k]];
      hist[b0] += g[k];
      hist[b0 + 1] += h[k];
    }
  }
}
