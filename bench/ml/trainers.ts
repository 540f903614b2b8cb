/**
 * The trainer cases of `npm run bench:ml`: our gradient-boosted trees against scikit-learn's
 * HistGradientBoostingClassifier and our logistic regression against LogisticRegression(lbfgs), on the same rows,
 * features and split (the first 70% of rows train, the rest test). Both sides get the very same float64 matrix
 * through a binary file, both time only `fit` (best of `repeats` runs, so JIT warm-up on our side and caches on
 * theirs do not decide the ratio), and both predict the same test rows.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inferCsvSchema, loadCsv, toFeatureMatrix } from '../../ml/data';
import { gradientBoosting, logisticRegression, type GbdtModel, type GbdtParams, type Model } from '../../ml/trainers';
import { fitInThread } from '../../ml/trainers/thread';
import type { FeatureMatrix, Labels } from '../../ml/types';
import { runPython } from './python';

export interface TrainerBenchOptions {
  readonly data: string;
  readonly label: string;
  readonly positive: string;
  readonly exclude: readonly string[];
  readonly repeats: number;
  readonly earlyStopping: 'auto' | boolean;
  /** Leading share of rows used for training; the rest is the test set. */
  readonly trainFraction: number;
  /** OpenMP threads for the peer (scikit-learn's trees are multi-threaded); undefined keeps its default. */
  readonly peerThreads?: number;
}

type Emit = (o: object) => void;

const GBDT_TARGET_RATIO = 1.5;
const GBDT_ACC_MARGIN = 0.005;
const LOGISTIC_TARGET_RATIO = 1.5;
const LOGISTIC_ACC_MARGIN = 0.002;
const LOGISTIC_TOL = 1e-6;
/** A fit through the worker thread may cost at most this much more wall time than the same fit in-process. */
const THREAD_TARGET_RATIO = 1.1;

interface Split {
  xTrain: FeatureMatrix;
  yTrain: Labels;
  xTest: FeatureMatrix;
  yTest: Labels;
  /** Label of the row before each test row (the first test row looks at the last training row). */
  previousLabel: Labels;
}

export async function runTrainerCases(emit: Emit, opts: TrainerBenchOptions): Promise<void> {
  const schema = await inferCsvSchema(opts.data, {
    label: opts.label,
    positive: opts.positive,
    exclude: [...opts.exclude],
  });
  const frame = await loadCsv(opts.data, schema);
  const x = toFeatureMatrix(frame);
  const y = frame.labels;
  const split = splitRows(x, y, opts.trainFraction);
  const dataset = { data: opts.data, rows: x.nRows, features: x.names.length, train: split.yTrain.length, test: split.yTest.length };
  const floors = {
    no_change_acc: round(accuracyOfLabels(split.previousLabel, split.yTest)),
    majority_acc: round(majorityAccuracy(split.yTrain, split.yTest)),
  };

  const dir = mkdtempSync(join(tmpdir(), 'retrain-bench-'));
  try {
    emit(await gbdtCase(split, opts, dir, dataset, floors));
    emit(await logisticCase(split, opts, dir, dataset, floors));
    emit(await trainThreadCase(x, y, opts, dataset));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function splitRows(x: FeatureMatrix, y: Labels, fraction: number): Split {
  const n = x.nRows;
  const nTrain = Math.floor(fraction * n);
  if (nTrain < 2 || n - nTrain < 1) throw new RangeError(`data: expected enough rows for a ${fraction} train split, got ${n}`);
  const part = (a: number, b: number): FeatureMatrix => ({
    nRows: b - a,
    names: x.names,
    columns: x.columns.map((c) => c.slice(a, b)),
  });
  const previousLabel = y.slice(nTrain - 1, n - 1);
  return { xTrain: part(0, nTrain), yTrain: y.slice(0, nTrain), xTest: part(nTrain, n), yTest: y.slice(nTrain), previousLabel };
}

/** Rows (row-major float64) of train then test, then train labels and test labels, for NumPy's fromfile. */
function writeMatrices(path: string, s: Split): void {
  const d = s.xTrain.columns.length;
  const nTr = s.xTrain.nRows;
  const nTe = s.xTest.nRows;
  const buf = new Float64Array((nTr + nTe) * d + nTr + nTe);
  let o = 0;
  for (const m of [s.xTrain, s.xTest]) {
    for (let i = 0; i < m.nRows; i++) for (let j = 0; j < d; j++) buf[o++] = m.columns[j][i];
  }
  for (let i = 0; i < nTr; i++) buf[o++] = s.yTrain[i];
  for (let i = 0; i < nTe; i++) buf[o++] = s.yTest[i];
  writeFileSync(path, new Uint8Array(buf.buffer));
}

interface Timed<T> {
  best: number;
  all: number[];
  /** Best process CPU seconds (user + system, all threads) of the repeats. */
  cpu: number;
  last: T;
}

function timeBest<T>(repeats: number, fn: () => T): Timed<T> {
  const all: number[] = [];
  let cpu = Infinity;
  let last!: T;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    last = fn();
    all.push(Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  return { best: Math.min(...all), all, cpu, last };
}

/** timeBest for asynchronous work (a fit in a worker thread). */
async function timeBestAsync<T>(repeats: number, fn: () => Promise<T>): Promise<Timed<T>> {
  const all: number[] = [];
  let cpu = Infinity;
  let last!: T;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    last = await fn();
    all.push(Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  return { best: Math.min(...all), all, cpu, last };
}

/** Single-run timings combined as if timed by one timeBest call. */
function mergeTimed<T>(runs: Timed<T>[]): Timed<T> {
  const all = runs.flatMap((r) => r.all);
  return { best: Math.min(...all), all, cpu: Math.min(...runs.map((r) => r.cpu)), last: runs[runs.length - 1].last };
}

function accuracy(p: Float64Array, y: Labels): number {
  let c = 0;
  for (let i = 0; i < y.length; i++) c += (p[i] > 0.5 ? 1 : 0) === y[i] ? 1 : 0;
  return c / y.length;
}

function accuracyOfLabels(pred: Labels, y: Labels): number {
  let c = 0;
  for (let i = 0; i < y.length; i++) c += pred[i] === y[i] ? 1 : 0;
  return c / y.length;
}

function majorityAccuracy(yTrain: Labels, yTest: Labels): number {
  let pos = 0;
  for (let i = 0; i < yTrain.length; i++) pos += yTrain[i];
  const majority = pos * 2 >= yTrain.length ? 1 : 0;
  let c = 0;
  for (let i = 0; i < yTest.length; i++) c += yTest[i] === majority ? 1 : 0;
  return c / yTest.length;
}

function round(v: number, digits = 6): number {
  return Number(v.toFixed(digits));
}

interface PeerResult {
  fit_s: number;
  fit_all_s: number[];
  fit_cpu_s: number;
  predict_s: number;
  acc: number;
  n_iter: number;
  threads: number;
  coef?: number[];
  intercept?: number;
  version: string;
}

const PEER_SCRIPT = String.raw`
import sys, json, time
import numpy as np
import sklearn
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

cfg = json.loads(sys.stdin.read())
if cfg.get("threads"):
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=cfg["threads"], user_api="openmp")
d, ntr, nte = cfg["d"], cfg["n_train"], cfg["n_test"]
buf = np.fromfile(cfg["path"], dtype=np.float64)
o = 0
Xtr = buf[o:o + ntr * d].reshape(ntr, d); o += ntr * d
Xte = buf[o:o + nte * d].reshape(nte, d); o += nte * d
ytr = buf[o:o + ntr].astype(np.int64); o += ntr
yte = buf[o:o + nte].astype(np.int64)

if cfg["case"] == "gbdt":
    from sklearn.ensemble import HistGradientBoostingClassifier
    p = cfg["params"]
    make = lambda: HistGradientBoostingClassifier(
        max_iter=p["max_iter"], learning_rate=p["learning_rate"], max_leaf_nodes=p["max_leaf_nodes"],
        max_depth=p["max_depth"], min_samples_leaf=p["min_samples_leaf"], l2_regularization=p["l2_regularization"],
        max_bins=p["max_bins"], early_stopping=p["early_stopping"], validation_fraction=p["validation_fraction"],
        n_iter_no_change=p["n_iter_no_change"], tol=p["tol"], random_state=0)
else:
    from sklearn.linear_model import LogisticRegression
    p = cfg["params"]
    make = lambda: LogisticRegression(solver="lbfgs", C=p["C"], tol=p["tol"], max_iter=p["max_iter"])

fit_all = []
fit_cpu = []
for _ in range(cfg["repeats"]):
    m = make()
    t0, c0 = time.perf_counter(), time.process_time()
    m.fit(Xtr, ytr)
    fit_all.append(time.perf_counter() - t0)
    fit_cpu.append(time.process_time() - c0)
pred_all = []
for _ in range(cfg["repeats"]):
    t0 = time.perf_counter()
    proba = m.predict_proba(Xte)[:, 1]
    pred_all.append(time.perf_counter() - t0)
out = {
    "fit_s": min(fit_all), "fit_all_s": fit_all, "fit_cpu_s": min(fit_cpu), "predict_s": min(pred_all),
    "acc": float(((proba > 0.5).astype(np.int64) == yte).mean()),
    "n_iter": int(np.max(m.n_iter_)), "threads": _openmp_effective_n_threads(), "version": sklearn.__version__,
}
if cfg["case"] == "logistic":
    out["coef"] = m.coef_[0].tolist()
    out["intercept"] = float(m.intercept_[0])
print(json.dumps(out))
`;

function runPeer(
  caseName: 'gbdt' | 'logistic',
  path: string,
  s: Split,
  repeats: number,
  params: object,
  threads: number | undefined,
): Promise<PeerResult> {
  const cfg = {
    case: caseName,
    threads: threads ?? 1,
    path,
    d: s.xTrain.columns.length,
    n_train: s.xTrain.nRows,
    n_test: s.xTest.nRows,
    repeats,
    params,
  };
  return runPython<PeerResult>(PEER_SCRIPT, JSON.stringify(cfg), threads ?? 1);
}

/**
 * Fits ours and predicts with it (best of `repeats` each) and lays out the figures every trainer case prints beside the
 * peer's: times, the time ratio, accuracies, the data's floors and every repeat.
 */
function compareWithPeer<M extends { predictProba(x: FeatureMatrix): Float64Array }>(
  caseName: 'gbdt' | 'logistic',
  repeats: number,
  fitOnce: () => M,
  s: Split,
  peer: PeerResult,
  floors: object,
) {
  const fit = timeBest(repeats, fitOnce);
  const model = fit.last;
  const pred = timeBest(repeats, () => model.predictProba(s.xTest));
  const oursAcc = accuracy(pred.last, s.yTest);
  const ratio = fit.best / peer.fit_s;
  const figures = {
    case: caseName,
    ours_s: round(fit.best),
    peer_s: round(peer.fit_s),
    ratio: round(ratio, 3),
    ours_cpu_s: round(fit.cpu),
    peer_cpu_s: round(peer.fit_cpu_s),
    cpu_ratio: round(fit.cpu / peer.fit_cpu_s, 3),
    ours_acc: round(oursAcc),
    peer_acc: round(peer.acc),
    ...floors,
    repeats,
    ours_all_s: fit.all.map((t) => round(t, 4)),
    peer_all_s: peer.fit_all_s.map((t) => round(t, 4)),
    ours_predict_s: round(pred.best),
    peer_predict_s: round(peer.predict_s),
  };
  return { model, oursAcc, ratio, figures };
}

async function gbdtCase(s: Split, opts: TrainerBenchOptions, dir: string, dataset: object, floors: object): Promise<object> {
  const trainer = gradientBoosting({ earlyStopping: opts.earlyStopping });
  const p: GbdtParams = trainer.params;
  const path = join(dir, 'gbdt.f64');
  writeMatrices(path, s);
  const peer = await runPeer('gbdt', path, s, opts.repeats, {
    max_iter: p.maxIter,
    learning_rate: p.learningRate,
    max_leaf_nodes: p.maxLeafNodes,
    max_depth: p.maxDepth,
    min_samples_leaf: p.minSamplesLeaf,
    l2_regularization: p.l2Regularization,
    max_bins: p.maxBins,
    early_stopping: p.earlyStopping,
    validation_fraction: p.validationFraction,
    n_iter_no_change: p.nIterNoChange,
    tol: p.tol,
  }, opts.peerThreads);
  const { model, oursAcc, ratio, figures } = compareWithPeer('gbdt', opts.repeats, () => trainer.fit(s.xTrain, s.yTrain, { seed: 0 }), s, peer, floors);
  return {
    ...figures,
    ours_iter: model.info?.nIter,
    peer_iter: peer.n_iter,
    early_stopping: p.earlyStopping,
    peer_threads: peer.threads,
    peer: `scikit-learn ${peer.version} HistGradientBoostingClassifier`,
    meets_targets: ratio <= GBDT_TARGET_RATIO && oursAcc >= peer.acc - GBDT_ACC_MARGIN,
    dataset,
  };
}

/** C·Σ log loss + ½‖β‖² (scikit-learn's objective) of given coefficients on the training data. */
function logisticObjective(x: FeatureMatrix, y: Labels, coef: ArrayLike<number>, intercept: number, C: number): number {
  let loss = 0;
  for (let i = 0; i < x.nRows; i++) {
    let e = intercept;
    for (let j = 0; j < coef.length; j++) e += coef[j] * x.columns[j][i];
    const sp = e > 0 ? e + Math.log1p(Math.exp(-e)) : Math.log1p(Math.exp(e));
    loss += sp - (y[i] === 1 ? e : 0);
  }
  let pen = 0;
  for (let j = 0; j < coef.length; j++) pen += coef[j] * coef[j];
  return C * loss + 0.5 * pen;
}

/** Logistic regression needs finite inputs; missing values are filled with the training mean, identically for both. */
function imputeMeans(s: Split): { split: Split; imputed: number } {
  let imputed = 0;
  const fill = (m: FeatureMatrix, means: number[]): FeatureMatrix => ({
    nRows: m.nRows,
    names: m.names,
    columns: m.columns.map((c, j) =>
      c.map((v) => {
        if (Number.isFinite(v)) return v;
        imputed++;
        return means[j];
      }),
    ),
  });
  const means = s.xTrain.columns.map((c) => {
    let sum = 0;
    let k = 0;
    for (const v of c) if (Number.isFinite(v)) (sum += v), k++;
    return k ? sum / k : 0;
  });
  const split = { ...s, xTrain: fill(s.xTrain, means), xTest: fill(s.xTest, means) };
  return { split, imputed };
}

async function logisticCase(s0: Split, opts: TrainerBenchOptions, dir: string, dataset: object, floors: object): Promise<object> {
  const { split: s, imputed } = imputeMeans(s0);
  // One stopping rule for both: max |gradient| of the mean-loss objective ≤ tol (scikit-learn's lbfgs gtol, which
  // it applies to that same scaled objective), so neither side wins time by stopping earlier.
  const trainer = logisticRegression({ C: 1, tol: LOGISTIC_TOL, maxIter: 1000 });
  const C = trainer.params.C;
  const path = join(dir, 'logistic.f64');
  writeMatrices(path, s);
  const peer = await runPeer('logistic', path, s, opts.repeats, { C, tol: LOGISTIC_TOL, max_iter: 1000 }, opts.peerThreads);
  const { model, oursAcc, ratio, figures } = compareWithPeer('logistic', opts.repeats, () => trainer.fit(s.xTrain, s.yTrain), s, peer, floors);
  return {
    ...figures,
    // The same objective evaluated at both solutions: ours should be the smaller (or equal) one.
    ours_objective: round(logisticObjective(s.xTrain, s.yTrain, model.coef, model.intercept, C), 6),
    peer_objective: round(logisticObjective(s.xTrain, s.yTrain, peer.coef ?? [], peer.intercept ?? 0, C), 6),
    ours_iter: model.info?.iterations,
    ours_solver: model.info?.solver,
    peer_iter: peer.n_iter,
    imputed_values: imputed,
    tol: LOGISTIC_TOL,
    peer: `scikit-learn ${peer.version} LogisticRegression(solver='lbfgs', C=${C}, tol=${LOGISTIC_TOL})`,
    meets_targets: ratio <= LOGISTIC_TARGET_RATIO && Math.abs(oursAcc - peer.acc) <= LOGISTIC_ACC_MARGIN,
    dataset,
  };
}

/**
 * The price of training off the main thread: the same GBDT fit on all rows, in-process and through fitInThread
 * (copying the columns over, progress messages, the model back as JSON), best of the repeats each. Both paths are
 * warmed the same way before timing: one untimed fit each, which compiles and JIT-warms the trainer in this
 * process for the direct path and in the pooled worker for the thread path (the worker fitInThread keeps warm
 * between fits, as a long-running training worker would). The warm-up fits' times are reported beside. The timed
 * fits alternate between the paths. CPU seconds count the whole process, so the worker's thread is included.
 */
async function trainThreadCase(x: FeatureMatrix, y: Labels, opts: TrainerBenchOptions, dataset: object): Promise<object> {
  const params = { earlyStopping: opts.earlyStopping };
  const trainer = gradientBoosting(params);
  const directFirst = timeBest(1, () => trainer.fit(x, y, { seed: 0 }));
  const threadFirst = await timeBestAsync(1, () => fitInThread({ kind: 'gbdt', params }, x, y, { seed: 0 }));
  // Interleaved, one fit of each path per round, so a busy spell on a shared machine hits both paths alike.
  const directRuns: Timed<GbdtModel>[] = [];
  const threadRuns: Timed<Model>[] = [];
  let progress = 0;
  for (let r = 0; r < opts.repeats; r++) {
    directRuns.push(timeBest(1, () => trainer.fit(x, y, { seed: 0 })));
    threadRuns.push(await timeBestAsync(1, () => fitInThread({ kind: 'gbdt', params }, x, y, { seed: 0, onProgress: () => progress++ })));
  }
  const direct = mergeTimed(directRuns);
  const threaded = mergeTimed(threadRuns);
  const ratio = threaded.best / direct.best;
  const same = JSON.stringify(threaded.last.toJSON()) === JSON.stringify(direct.last.toJSON());
  return {
    case: 'train-thread',
    direct_s: round(direct.best),
    thread_s: round(threaded.best),
    ratio: round(ratio, 3),
    direct_cpu_s: round(direct.cpu),
    thread_cpu_s: round(threaded.cpu),
    direct_all_s: direct.all.map((t) => round(t, 4)),
    thread_all_s: threaded.all.map((t) => round(t, 4)),
    warmup: 'one untimed fit on each path before timing (direct: in this process; thread: in the pooled worker, reused by the timed fits); timed fits alternate between the paths',
    cpu_ratio: round(threaded.cpu / direct.cpu, 3),
    // The warm-up fits themselves: the thread's starts a worker (tsx compilation, cold JIT); the direct one runs
    // on code the gbdt case already warmed in this process, so this pair is not like for like.
    direct_first_s: round(directFirst.best),
    thread_first_s: round(threadFirst.best),
    progress_messages: progress / opts.repeats,
    same_model: same,
    trees: direct.last.info?.nIter,
    meets_targets: ratio <= THREAD_TARGET_RATIO && same,
    dataset,
  };
}
