/**
 * The worker side of `fitInThread` (thread.ts): waits for fit requests (training data as copied or transferred
 * typed arrays), fits each with the trainer the main thread named, and posts progress (with the checkpoint of the
 * same iteration attached), then the serialised model or the error, and waits for the next request: the worker
 * is reused, so its compiled code and JIT stay warm. Nothing here is public API.
 */
import { parentPort } from 'node:worker_threads';
import { GbdtModel, GradientBoostingTrainer, type Tree } from './gbdt';
import { LogisticModel, LogisticRegressionTrainer } from './logistic';
import { ModelKinds } from './index';
import type { FitProgress, Model } from './types';
import type { ThreadRequest, WireModel, WorkerMessage } from './thread';

function post(message: WorkerMessage): void {
  parentPort!.postMessage(message);
}

/**
 * A model in wire form (see WireModel). GBDT trees are never changed once grown, so a tree the main thread
 * already holds from an earlier message of this fit is not sent again: only the trees after the prefix shared
 * with the last message (found by identity), which makes ten checkpoints cost about one model.
 */
function wireModel(m: Model, sent: Tree[]): WireModel {
  if (m instanceof GbdtModel) {
    let from = 0;
    while (from < sent.length && from < m.trees.length && sent[from] === m.trees[from]) from++;
    const trees = m.trees.slice(from);
    sent.length = from;
    sent.push(...trees);
    return { kind: ModelKinds.gbdt, featureNames: m.featureNames, baseline: m.baseline, from, trees, ...(m.info ? { info: m.info } : {}) };
  }
  const l = m as LogisticModel;
  return { kind: ModelKinds.logistic, featureNames: l.featureNames, coef: l.coef, intercept: l.intercept, ...(l.info ? { info: l.info } : {}) };
}

function run(req: ThreadRequest): void {
  const trainer = req.kind === ModelKinds.gbdt ? new GradientBoostingTrainer(req.params as never) : new LogisticRegressionTrainer(req.params as never);
  const x = { nRows: req.y.length, names: req.names, columns: req.columns };
  const read = (m: ThreadRequest['init']): Model | undefined =>
    m === undefined ? undefined : req.kind === ModelKinds.gbdt ? GbdtModel.fromJSON(m) : LogisticModel.fromJSON(m);
  const init = read(req.init);
  const warmStart = read(req.warmStart);
  const sent: Tree[] = [];
  // A checkpoint is emitted just before the progress report of its iteration; it rides on that report.
  let pending: { iteration: number; model: Model } | undefined;
  const model = trainer.fit(x, req.y, {
    seed: req.seed,
    sampleWeight: req.sampleWeight,
    init,
    warmStart,
    checkpointEvery: req.checkpointEvery,
    ...(req.reportProgress
      ? {
          onCheckpoint: (m: Model, iteration: number) => {
            pending = { iteration, model: m };
          },
          onProgress: (p: FitProgress) => {
            const checkpoint = pending?.iteration === p.iteration ? pending.model : undefined;
            pending = undefined;
            post(checkpoint ? { type: 'progress', progress: p, checkpoint: wireModel(checkpoint, sent) } : { type: 'progress', progress: p });
          },
        }
      : {}),
  });
  post({ type: 'done', model: wireModel(model, sent) });
}

parentPort!.on('message', (req: ThreadRequest) => {
  try {
    run(req);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const code = (err as { code?: unknown }).code;
    post({
      type: 'error',
      error: { name: err.name, message: err.message, stack: err.stack, ...(typeof code === 'string' ? { code } : {}) },
    });
  }
});
