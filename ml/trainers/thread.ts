/**
 * Training off the main thread: `fitInThread` runs a trainer's fit in a `worker_threads` worker, so the caller's
 * event loop stays free to heartbeat, serve and notice cancellation while the model trains. Progress reports
 * arrive as messages, every `checkpointEvery`-th carrying the model so far as JSON (heartbeat it; pass it back as
 * `checkpoint` to resume), and an `AbortSignal` terminates the worker at once. The feature columns travel as typed
 * arrays, copied by structured clone (a memcpy) or, with `transfer`, moved without a copy. One idle worker is
 * kept warm between fits (the pool below), so a fit pays neither a worker start nor a cold JIT.
 */
import { Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import { MlErrorCodes, MlInputError, MlRangeError, MlTypeError, type MlErrorCode } from '../errors';
import { GbdtModel, GradientBoostingTrainer, type GbdtFitInfo, type Tree } from './gbdt';
import { ModelKinds, type ModelKind } from './index';
import { LogisticModel, LogisticRegressionTrainer, type LogisticFitInfo } from './logistic';
import type { FeatureMatrix, FitProgress, Labels, Model, SerializedModel } from './types';

/** Which trainer to run, with its parameters (validated on the calling thread before a worker starts). */
export interface TrainerSpec {
  readonly kind: ModelKind;
  readonly params?: unknown;
}

/** A progress report; every `checkpointEvery`-th iteration also carries the model so far. */
export interface ThreadProgress extends FitProgress {
  readonly checkpoint?: SerializedModel;
}

export interface ThreadFitOptions {
  readonly seed?: number;
  readonly sampleWeight?: Float64Array;
  /** Aborting terminates the worker; the promise then rejects with an `AbortError` whose `cause` is the reason. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ThreadProgress) => void;
  /** Iterations between checkpoints; default 10. */
  readonly checkpointEvery?: number;
  /** A checkpoint from an earlier attempt (a `ThreadProgress.checkpoint`) to resume from. */
  readonly checkpoint?: SerializedModel;
  /** A model to continue from (FitOptions.warmStart), as JSON: the production model an update builds on. */
  readonly warmStart?: SerializedModel;
  /**
   * Move the buffers of `x`, `y` and `sampleWeight` to the worker instead of copying them: no copy of a big
   * matrix, but the caller's arrays are detached (length 0) afterwards.
   */
  readonly transfer?: boolean;
}

/** The fit was stopped by its AbortSignal (named as the DOM's, so `err.name === 'AbortError'` checks work). */
export class FitAbortedError extends Error {
  override readonly name = 'AbortError';
  readonly code = 'ABORT_ERR';
  constructor(cause: unknown) {
    super('the fit was aborted', { cause });
  }
}

/** @internal One fit, as the worker receives it in a message. */
export interface ThreadRequest {
  readonly kind: ModelKind;
  readonly params: unknown;
  readonly names: readonly string[];
  readonly columns: readonly Float64Array[];
  readonly y: Labels;
  readonly sampleWeight?: Float64Array;
  readonly seed?: number;
  readonly init?: SerializedModel;
  readonly warmStart?: SerializedModel;
  readonly checkpointEvery?: number;
  /** Whether the caller listens to progress; without a listener the worker sends neither progress nor checkpoints. */
  readonly reportProgress: boolean;
}

/**
 * @internal A model as the worker sends it: its typed arrays as they are (a structured clone copies them in one
 * go, where the JSON form would be built, cloned number by number, and parsed and validated again), and for GBDT
 * only the trees after the first `from`, which the main thread already holds from an earlier message of the same
 * fit. The worker is our own code, so the main thread rebuilds the model without validating it again.
 */
export type WireModel =
  | {
      readonly kind: typeof ModelKinds.gbdt;
      readonly featureNames: readonly string[];
      readonly baseline: number;
      readonly from: number;
      readonly trees: readonly Tree[];
      readonly info?: GbdtFitInfo;
    }
  | {
      readonly kind: typeof ModelKinds.logistic;
      readonly featureNames: readonly string[];
      readonly coef: Float64Array;
      readonly intercept: number;
      readonly info?: LogisticFitInfo;
    };

/** @internal What the worker posts back; after `done` or `error` it waits for the next request. */
export type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: FitProgress; readonly checkpoint?: WireModel }
  | { readonly type: 'done'; readonly model: WireModel }
  | {
      readonly type: 'error';
      readonly error: { readonly name: string; readonly message: string; readonly stack?: string; readonly code?: string };
    };

const WORKER_FILE = resolve(__dirname, `thread-worker${__filename.endsWith('.ts') ? '.ts' : '.js'}`);

/**
 * Node cannot start a worker on a .ts file by itself, and the parent's tsx hooks are not always inherited (tsx
 * registered through its API leaves no execArgv behind), so under tsx the worker is a two-line bootstrap that
 * registers tsx's require hook first. Compiled code starts the .js entry directly.
 */
function startWorker(): Worker {
  if (!WORKER_FILE.endsWith('.ts')) return new Worker(WORKER_FILE);
  const tsx = require.resolve('tsx/cjs');
  const code = `if (!require.extensions['.ts']) require(${JSON.stringify(tsx)});\nrequire(${JSON.stringify(WORKER_FILE)});`;
  return new Worker(code, { eval: true });
}

/**
 * The pool: at most one idle worker per process, created on the first fit and handed to the next. A new worker
 * costs tsx's compilation of the trainers (under tsx) and runs the fit on a cold JIT, together about as much as
 * the fit itself on Elec2; a reused one has neither. The idle worker is `unref`'d, so it never keeps a process
 * alive, and it is dropped if it dies while idle. A worker that was aborted, crashed, or whose fit was
 * abandoned is terminated instead of returned, so the next fit starts from a clean one. Concurrent fits each get
 * a worker; when they finish, one is kept and the rest end.
 */
let idle: Worker | undefined;

function acquireWorker(): Worker {
  const worker = idle ?? startWorker();
  idle = undefined;
  worker.removeAllListeners();
  worker.ref();
  return worker;
}

function releaseWorker(worker: Worker): void {
  worker.removeAllListeners();
  if (idle !== undefined) {
    void worker.terminate();
    return;
  }
  idle = worker;
  worker.unref();
  // An idle worker has nobody to report to: if it fails, forget it (an 'error' without a listener would throw).
  const forget = (): void => {
    if (idle === worker) idle = undefined;
  };
  worker.on('error', forget);
  worker.on('exit', forget);
}

/** @internal The idle worker the next fit would reuse, if any (for tests of the pool). */
export function warmWorker(): Worker | undefined {
  return idle;
}

/**
 * Fits `spec` on `x`, `y` in a worker thread and resolves with the model. Bad parameters, inputs or checkpoints
 * reject with the trainer's own error (same name, message and `code`), an abort with `FitAbortedError`.
 */
export function fitInThread(spec: TrainerSpec, x: FeatureMatrix, y: Labels, opts: ThreadFitOptions = {}): Promise<Model> {
  return new Promise<Model>((resolvePromise, reject) => {
    const { signal } = opts;
    if (signal?.aborted) {
      reject(new FitAbortedError(signal.reason));
      return;
    }
    // Fails fast on bad parameters, without paying for a worker.
    const trainer = spec.kind === ModelKinds.gbdt
      ? new GradientBoostingTrainer(spec.params as never)
      : spec.kind === ModelKinds.logistic
        ? new LogisticRegressionTrainer(spec.params as never)
        : undefined;
    if (trainer === undefined) {
      reject(new MlTypeError(MlErrorCodes.PARAM_INVALID, `kind: expected "${ModelKinds.logistic}" or "${ModelKinds.gbdt}", got ${JSON.stringify(spec.kind)}`));
      return;
    }
    if (opts.checkpoint !== undefined && opts.checkpoint.kind !== spec.kind) {
      reject(new MlTypeError(MlErrorCodes.INPUT_INVALID, `checkpoint.kind: expected "${spec.kind}" to resume a ${spec.kind} fit, got ${JSON.stringify(opts.checkpoint.kind)}`));
      return;
    }
    if (opts.warmStart !== undefined && opts.warmStart.kind !== spec.kind) {
      reject(new MlTypeError(MlErrorCodes.INPUT_INVALID, `warmStart.kind: expected "${spec.kind}" to continue a ${spec.kind} model, got ${JSON.stringify(opts.warmStart.kind)}`));
      return;
    }
    const request: ThreadRequest = {
      kind: spec.kind,
      params: trainer.params,
      names: [...x.names],
      columns: x.columns,
      y,
      ...(opts.sampleWeight ? { sampleWeight: opts.sampleWeight } : {}),
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.checkpoint ? { init: opts.checkpoint } : {}),
      ...(opts.warmStart ? { warmStart: opts.warmStart } : {}),
      ...(opts.checkpointEvery !== undefined ? { checkpointEvery: opts.checkpointEvery } : {}),
      reportProgress: opts.onProgress !== undefined,
    };
    const transferList: ArrayBuffer[] = [];
    if (opts.transfer) {
      // One entry per buffer: columns may be views of one shared buffer, and a duplicate would throw.
      const seen = new Set<ArrayBufferLike>();
      for (const a of [...x.columns, y, opts.sampleWeight]) {
        if (a && !seen.has(a.buffer) && a.buffer instanceof ArrayBuffer) {
          seen.add(a.buffer);
          transferList.push(a.buffer);
        }
      }
    }

    let settled = false;
    const worker = acquireWorker();
    // `reuse`: the worker finished its fit and waits for the next one; otherwise it may still be computing (an
    // abort, a throwing onProgress) or be broken, and only terminating it stops it.
    const finish = (reuse: boolean, settle: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      settle();
      if (reuse) {
        releaseWorker(worker);
      } else {
        worker.removeAllListeners();
        worker.on('error', () => {}); // it is being terminated; nobody is left to tell
        void worker.terminate();
      }
    };
    const onAbort = (): void => finish(false, () => reject(new FitAbortedError(signal!.reason)));
    signal?.addEventListener('abort', onAbort, { once: true });

    // The GBDT trees received so far in this fit (each message sends only the ones after its `from`).
    const trees: Tree[] = [];
    const rebuild = (w: WireModel): Model => {
      if (w.kind === ModelKinds.logistic) return new LogisticModel(w.featureNames, w.coef, w.intercept, w.info);
      trees.length = w.from;
      trees.push(...w.trees);
      return new GbdtModel(w.featureNames, w.baseline, trees.slice(), w.info);
    };
    worker.on('message', (m: WorkerMessage) => {
      if (settled) return;
      if (m.type === 'progress') {
        try {
          // Rebuilt even with no listener: later messages send only the trees after this one's.
          const checkpoint = m.checkpoint && rebuild(m.checkpoint);
          opts.onProgress?.(checkpoint ? withCheckpoint(m.progress, checkpoint) : m.progress);
        } catch (e) {
          finish(false, () => reject(e));
        }
      } else if (m.type === 'done') {
        finish(true, () => {
          try {
            resolvePromise(rebuild(m.model));
          } catch (e) {
            reject(e);
          }
        });
      } else {
        finish(true, () => reject(rebuildError(m.error)));
      }
    });
    worker.on('error', (e) => finish(false, () => reject(e)));
    worker.on('exit', (code) => finish(false, () => reject(new Error(`the training worker exited with code ${code} before it finished`))));
    worker.postMessage(request, transferList);
  });
}

/**
 * The progress report with the checkpoint's JSON, built when first read and then kept: a caller that heartbeats
 * every checkpoint pays for the JSON here, on its own thread, and one that ignores them pays nothing.
 */
function withCheckpoint(progress: FitProgress, model: Model): ThreadProgress {
  let json: SerializedModel | undefined;
  return Object.defineProperty({ ...progress }, 'checkpoint', {
    enumerable: true,
    get: (): SerializedModel => (json ??= model.toJSON()),
  }) as ThreadProgress;
}

/**
 * The worker's error as an instance of the same built-in class, with its name, message, code and stack; a coded
 * ml/ error stays one (`isMlInputError`), so the activity layer still marks bad input non-retryable.
 */
function rebuildError(e: { name: string; message: string; stack?: string; code?: string }): Error {
  const code = e.code !== undefined && Object.hasOwn(MlErrorCodes, e.code) ? (e.code as MlErrorCode) : undefined;
  let err: Error;
  if (code !== undefined) {
    err = e.name === 'RangeError' ? new MlRangeError(code, e.message) : e.name === 'TypeError' ? new MlTypeError(code, e.message) : new MlInputError(code, e.message);
  } else {
    err = new (e.name === 'RangeError' ? RangeError : e.name === 'TypeError' ? TypeError : Error)(e.message);
  }
  if (err.name !== e.name) Object.defineProperty(err, 'name', { value: e.name, configurable: true, writable: true });
  if (e.code !== undefined && code === undefined) Object.defineProperty(err, 'code', { value: e.code, enumerable: true, configurable: true });
  if (e.stack) err.stack = e.stack;
  return err;
}
