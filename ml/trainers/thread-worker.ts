/**
 * The worker side of `fitInThread` (thread.ts): waits for fit requests (training data as copied or transferred
 * typed arrays), fits each with the trainer the main thread named, and posts progress (with the checkpoint of the
 * same iteration attached), then the serialised model or the error, and waits for the next request: the worker
 * is reused, so its compiled code and JIT stay warm. Nothing here is public API.
 */
import { parentPort } from 'node:worker_threads';
import { GbdtModel, GradientBoostingTrainer } from './gbdt';
import { LogisticModel, LogisticRegressionTrainer } from './logistic';
import { ModelKinds } from './index';
import type { FitProgress, Model, SerializedModel } from './types';
import type { ThreadRequest, WorkerMessage } from './thread';

function post(message: WorkerMessage): void {
  parentPort!.postMessage(message);
}

function run(req: ThreadRequest): void {
  const trainer = req.kind === ModelKinds.gbdt ? new GradientBoostingTrainer(req.params as never) : new LogisticRegressionTrainer(req.params as never);
  const x = { nRows: req.y.length, names: req.names, columns: req.columns };
  const init = req.init === undefined ? undefined : req.kind === ModelKinds.gbdt ? GbdtModel.fromJSON(req.init) : LogisticModel.fromJSON(req.init);
  // A checkpoint is emitted just before the progress report of its iteration; it rides on that report.
  let pending: { iteration: number; model: SerializedModel } | undefined;
  const model = trainer.fit(x, req.y, {
    seed: req.seed,
    sampleWeight: req.sampleWeight,
    init,
    checkpointEvery: req.checkpointEvery,
    onCheckpoint: (m: Model, iteration: number) => {
      pending = { iteration, model: m.toJSON() };
    },
    onProgress: (p: FitProgress) => {
      const checkpoint = pending?.iteration === p.iteration ? pending.model : undefined;
      pending = undefined;
      post({ type: 'progress', progress: checkpoint ? { ...p, checkpoint } : p });
    },
  });
  post({ type: 'done', model: model.toJSON() });
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
