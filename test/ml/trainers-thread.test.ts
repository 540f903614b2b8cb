import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../ml/random';
import { featureMatrix, type FeatureMatrix } from '../../ml/types';
import { GbdtModel, gradientBoosting, LogisticModel, logisticRegression, type Model } from '../../ml/trainers';
import { isMlInputError } from '../../ml/errors';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fitInThread, FitAbortedError, warmWorker, type ThreadProgress } from '../../ml/trainers/thread';

/** Rows with an interaction, a noisy linear part, uneven weights and (for trees) 2% missing values in one column. */
function data(n: number, seed: number, missing = true): { x: FeatureMatrix; y: Uint8Array; w: Float64Array } {
  const rng = new Rng(seed);
  const cols = Array.from({ length: 5 }, () => new Float64Array(n));
  const y = new Uint8Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (const c of cols) c[i] = rng.normal();
    if (rng.next() < 0.02 && missing) cols[2][i] = NaN;
    const score = cols[0][i] * cols[1][i] + 0.5 * cols[3][i] + 0.3 * rng.normal();
    y[i] = score > 0 ? 1 : 0;
    w[i] = 0.5 + rng.next();
  }
  return { x: featureMatrix(['a', 'b', 'c', 'd', 'e'], cols), y, w };
}

test('a GBDT fit resumed from its first k trees equals the uninterrupted fit tree for tree', () => {
  const { x, y, w } = data(3000, 1);
  // Early stopping on, so the validation split, its losses and the stopping rule are replayed too.
  const trainer = gradientBoosting({ maxIter: 60, earlyStopping: true, nIterNoChange: 5, maxLeafNodes: 15 });
  const checkpoints: Model[] = [];
  const full = trainer.fit(x, y, { seed: 7, sampleWeight: w, checkpointEvery: 10, onCheckpoint: (m) => checkpoints.push(m) });
  assert.ok(checkpoints.length >= 2, `expected at least two checkpoints, got ${checkpoints.length}`);
  for (const cp of checkpoints) {
    const resumed = trainer.fit(x, y, { seed: 7, sampleWeight: w, init: GbdtModel.fromJSON(cp.toJSON()) });
    assert.deepEqual(resumed.toJSON(), full.toJSON());
  }
});

test('a GBDT checkpoint holds the trees grown so far, every checkpointEvery rounds', () => {
  const { x, y } = data(1000, 2);
  const seen: [number, number][] = [];
  gradientBoosting({ maxIter: 25, earlyStopping: false }).fit(x, y, {
    checkpointEvery: 10,
    onCheckpoint: (m, iteration) => seen.push([iteration, (m as GbdtModel).trees.length]),
  });
  assert.deepEqual(seen, [[10, 10], [20, 20]]);
});

test('resuming GBDT from a checkpoint of other data is refused, naming the baseline', () => {
  const a = data(800, 3, false);
  const b = data(800, 4);
  const trainer = gradientBoosting({ maxIter: 5, earlyStopping: false });
  const other = trainer.fit(a.x, a.y);
  assert.throws(() => trainer.fit(b.x, b.y, { init: other }), /init\.baseline/);
  assert.throws(() => trainer.fit(a.x, a.y, { init: logisticRegression().fit(a.x, a.y) }), /expected a gbdt model/);
});

test('a logistic fit warm-started from a checkpoint reaches the same optimum within the tolerance', () => {
  const { x, y, w } = data(2000, 5, false);
  for (const solver of ['newton', 'lbfgs'] as const) {
    const trainer = logisticRegression({ solver, tol: 1e-8, C: 0.5 });
    const checkpoints: LogisticModel[] = [];
    const full = trainer.fit(x, y, { sampleWeight: w, checkpointEvery: 1, onCheckpoint: (m) => checkpoints.push(m as LogisticModel) });
    assert.ok(checkpoints.length >= 2);
    // The objective is strictly convex, so every start leads to its one optimum; both fits stop once the gradient
    // norm is below tol, which bounds their distance from it (the curvature here is of order one).
    const resumed = trainer.fit(x, y, { sampleWeight: w, init: checkpoints[1] });
    assert.equal(resumed.info?.converged, true);
    assert.ok(resumed.info!.iterations < full.info!.iterations, `${solver}: the warm start should save iterations`);
    for (let j = 0; j < full.coef.length; j++) assert.ok(Math.abs(resumed.coef[j] - full.coef[j]) < 1e-6, `${solver} coef[${j}]`);
    assert.ok(Math.abs(resumed.intercept - full.intercept) < 1e-6);
  }
});

test('fitInThread returns the same model as a direct fit, and progress arrives with checkpoints attached', async () => {
  const { x, y, w } = data(2000, 6);
  const params = { maxIter: 30, earlyStopping: false, maxLeafNodes: 8 };
  const direct = gradientBoosting(params).fit(x, y, { seed: 3, sampleWeight: w });
  const progress: ThreadProgress[] = [];
  const model = await fitInThread({ kind: 'gbdt', params }, x, y, {
    seed: 3,
    sampleWeight: w,
    checkpointEvery: 10,
    onProgress: (p) => progress.push(p),
  });
  assert.ok(model instanceof GbdtModel);
  assert.deepEqual(model.toJSON(), direct.toJSON());
  assert.deepEqual(progress.map((p) => p.iteration), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.deepEqual(progress.filter((p) => p.checkpoint).map((p) => p.iteration), [10, 20]);
  assert.equal((progress[19].checkpoint as unknown as { trees: unknown[] }).trees.length, 20);
  assert.ok(progress.every((p) => typeof p.loss === 'number' && p.total === 30));
});

test('every checkpoint from the thread is the JSON a direct fit checkpoints, also when resumed from one', async () => {
  const { x, y } = data(2000, 19);
  const params = { maxIter: 35, earlyStopping: false, maxLeafNodes: 8 };
  const direct: unknown[] = [];
  gradientBoosting(params).fit(x, y, { seed: 4, checkpointEvery: 5, onCheckpoint: (m) => direct.push(m.toJSON()) });
  const threaded: unknown[] = [];
  await fitInThread({ kind: 'gbdt', params }, x, y, { seed: 4, checkpointEvery: 5, onProgress: (p) => p.checkpoint && threaded.push(p.checkpoint) });
  assert.equal(threaded.length, 6);
  assert.deepEqual(threaded, direct);
  // Resumed from the third checkpoint: the first message carries the initial trees as well as the new ones.
  const resumed: unknown[] = [];
  const model = await fitInThread({ kind: 'gbdt', params }, x, y, {
    seed: 4,
    checkpointEvery: 5,
    checkpoint: threaded[2] as ThreadProgress['checkpoint'],
    onProgress: (p) => p.checkpoint && resumed.push(p.checkpoint),
  });
  assert.deepEqual(resumed, direct.slice(3));
  assert.deepEqual(model.toJSON(), gradientBoosting(params).fit(x, y, { seed: 4 }).toJSON());
});

test('fitInThread resumes from a heartbeated checkpoint to the model an uninterrupted fit gives', async () => {
  const { x, y } = data(12000, 8);
  // 12,000 rows: 'auto' early stopping is on, as on real data.
  const params = { maxIter: 40, maxLeafNodes: 15 };
  let checkpoint: ThreadProgress['checkpoint'];
  const controller = new AbortController();
  await assert.rejects(
    fitInThread({ kind: 'gbdt', params }, x, y, {
      seed: 11,
      checkpointEvery: 5,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.checkpoint) checkpoint = p.checkpoint;
        if (p.iteration === 12) controller.abort(new Error('worker lost'));
      },
    }),
    (e: Error) => e.name === 'AbortError',
  );
  assert.equal((checkpoint as unknown as { trees: unknown[] }).trees.length, 10);
  const resumed = await fitInThread({ kind: 'gbdt', params }, x, y, { seed: 11, checkpoint });
  const uninterrupted = await fitInThread({ kind: 'gbdt', params }, x, y, { seed: 11 });
  assert.deepEqual(resumed.toJSON(), uninterrupted.toJSON());
});

test('the event loop keeps ticking while a model trains in the thread, and does not during a direct fit', async () => {
  const { x, y } = data(20000, 9);
  const params = { maxIter: 60, earlyStopping: false };
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const ticksAtProgress: number[] = [];
    await fitInThread({ kind: 'gbdt', params }, x, y, { onProgress: () => ticksAtProgress.push(ticks) });
    // Timer callbacks ran between the first and the last round: the main thread was never held by the fit.
    assert.ok(ticksAtProgress[ticksAtProgress.length - 1] > ticksAtProgress[0], `ticks ${ticksAtProgress[0]}..${ticksAtProgress.at(-1)}`);

    const before = ticks;
    const seenDuringDirect: number[] = [];
    gradientBoosting(params).fit(x, y, { onProgress: () => seenDuringDirect.push(ticks) });
    assert.ok(seenDuringDirect.every((t) => t === before), 'a direct fit holds the event loop');
  } finally {
    clearInterval(timer);
  }
});

test('aborting stops the worker: the fit rejects with an AbortError and no progress follows', async () => {
  const { x, y } = data(20000, 10);
  const controller = new AbortController();
  let after = 0;
  let aborted = false;
  const reason = new Error('activity cancelled');
  const fit = fitInThread({ kind: 'gbdt', params: { maxIter: 500, earlyStopping: false } }, x, y, {
    signal: controller.signal,
    onProgress: (p) => {
      if (aborted) after++;
      if (p.iteration === 3) {
        aborted = true;
        controller.abort(reason);
      }
    },
  });
  await assert.rejects(fit, (e: unknown) => e instanceof FitAbortedError && e.name === 'AbortError' && e.cause === reason);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(after, 0);
});

test('an already aborted signal rejects without starting a worker', async () => {
  const { x, y } = data(100, 11);
  await assert.rejects(
    fitInThread({ kind: 'logistic' }, x, y, { signal: AbortSignal.abort() }),
    (e: Error) => e.name === 'AbortError',
  );
});

test('errors raised in the worker reach the caller with their class and message', async () => {
  const { x, y } = data(500, 12, false);
  const badY = new Uint8Array(y.length); // one class only
  await assert.rejects(
    fitInThread({ kind: 'logistic' }, x, badY),
    (e: unknown) => e instanceof RangeError && /both classes/.test(e.message),
  );
  // A coded error stays coded, so the activity can mark it non-retryable.
  const wide = featureMatrix(['a', 'b'], [new Float64Array(500), new Float64Array(500).fill(NaN)]);
  await assert.rejects(fitInThread({ kind: 'logistic' }, wide, y), (e: unknown) => {
    if (!(e instanceof RangeError)) return false;
    const direct = (() => { try { logisticRegression().fit(wide, y); } catch (d) { return d; } })() as { code?: string };
    return (e as { code?: string }).code === direct.code && isMlInputError(e) === isMlInputError(direct);
  });
  await assert.rejects(fitInThread({ kind: 'gbdt', params: { maxIter: 0 } }, x, y), /maxIter/);
  const logistic = logisticRegression().fit(x, y).toJSON();
  await assert.rejects(fitInThread({ kind: 'gbdt' }, x, y, { checkpoint: logistic }), /checkpoint\.kind/);
});

test('a logistic fit in the thread warm-starts from its checkpoint to the same optimum', async () => {
  const { x, y, w } = data(3000, 13, false);
  const params = { solver: 'lbfgs' as const, tol: 1e-8 };
  const checkpoints: NonNullable<ThreadProgress['checkpoint']>[] = [];
  const full = (await fitInThread({ kind: 'logistic', params }, x, y, {
    sampleWeight: w,
    checkpointEvery: 2,
    onProgress: (p) => p.checkpoint && checkpoints.push(p.checkpoint),
  })) as LogisticModel;
  assert.ok(checkpoints.length >= 1);
  const resumed = (await fitInThread({ kind: 'logistic', params }, x, y, { sampleWeight: w, checkpoint: checkpoints[0] })) as LogisticModel;
  for (let j = 0; j < full.coef.length; j++) assert.ok(Math.abs(resumed.coef[j] - full.coef[j]) < 1e-6);
});

test('with transfer the columns move to the worker without a copy, leaving the caller detached arrays', async () => {
  const { x, y } = data(1000, 14);
  const params = { maxIter: 10, earlyStopping: false };
  const direct = gradientBoosting(params).fit(x, y);
  // Columns as views of one buffer, as a frame may hold them: the buffer is listed once.
  const n = x.nRows;
  const block = new Float64Array(n * x.columns.length);
  const views = x.columns.map((c, j) => {
    block.set(c, j * n);
    return block.subarray(j * n, (j + 1) * n);
  });
  const model = await fitInThread({ kind: 'gbdt', params }, featureMatrix(x.names, views), y, { transfer: true });
  assert.deepEqual(model.toJSON(), direct.toJSON());
  assert.equal(block.length, 0);
  assert.equal(y.length, 0);
});

test('consecutive fits reuse one warm worker, also after a fit that failed on bad input', async () => {
  const { x, y } = data(500, 15, false);
  await fitInThread({ kind: 'logistic' }, x, y);
  const first = warmWorker();
  assert.ok(first !== undefined, 'a worker is kept after a fit');
  await fitInThread({ kind: 'gbdt', params: { maxIter: 5, earlyStopping: false } }, x, y);
  assert.equal(warmWorker(), first);
  // The trainer's error was caught in the worker, which is intact and goes back to the pool.
  await assert.rejects(fitInThread({ kind: 'logistic' }, x, new Uint8Array(y.length)), /both classes/);
  assert.equal(warmWorker(), first);
});

test('an aborted fit\'s worker is terminated, never reused, and the next fit gets a fresh one', async () => {
  const { x, y } = data(20000, 16, false);
  await fitInThread({ kind: 'logistic' }, x, y);
  const before = warmWorker();
  assert.ok(before !== undefined);
  const controller = new AbortController();
  const fit = fitInThread({ kind: 'gbdt', params: { maxIter: 500, earlyStopping: false } }, x, y, {
    signal: controller.signal,
    onProgress: (p) => {
      if (p.iteration === 2) controller.abort();
    },
  });
  // The running fit holds the worker: a concurrent fit would start its own.
  assert.equal(warmWorker(), undefined);
  await assert.rejects(fit, FitAbortedError);
  assert.equal(warmWorker(), undefined);
  const model = await fitInThread({ kind: 'logistic' }, x, y);
  assert.ok(model instanceof LogisticModel);
  const after = warmWorker();
  assert.ok(after !== undefined && after !== before && after.threadId !== before.threadId);
});

test('a warm worker that dies while idle is forgotten and replaced by the next fit', async () => {
  const { x, y } = data(500, 17, false);
  await fitInThread({ kind: 'logistic' }, x, y);
  const dead = warmWorker()!;
  await dead.terminate();
  await new Promise((r) => setImmediate(r)); // let its 'exit' event reach the pool
  assert.equal(warmWorker(), undefined);
  const direct = logisticRegression().fit(x, y);
  assert.deepEqual((await fitInThread({ kind: 'logistic' }, x, y)).toJSON(), direct.toJSON());
  assert.ok(warmWorker() !== undefined && warmWorker() !== dead);
});

test('concurrent fits each get a worker, both finish, and one worker is kept', async () => {
  const { x, y } = data(3000, 18);
  const params = { maxIter: 20, earlyStopping: false };
  const direct = gradientBoosting(params).fit(x, y, { seed: 5 });
  const [a, b] = await Promise.all([
    fitInThread({ kind: 'gbdt', params }, x, y, { seed: 5 }),
    fitInThread({ kind: 'gbdt', params }, x, y, { seed: 5 }),
  ]);
  assert.deepEqual(a.toJSON(), direct.toJSON());
  assert.deepEqual(b.toJSON(), direct.toJSON());
  assert.ok(warmWorker() !== undefined);
});

test('the warm worker does not keep a process alive: a script that fits in a thread exits by itself', () => {
  const thread = resolve(__dirname, '../../ml/trainers/thread.ts');
  const script = `
    const { fitInThread } = require(${JSON.stringify(thread)});
    const x = { nRows: 4, names: ['a'], columns: [Float64Array.of(0, 1, 2, 3)] };
    fitInThread({ kind: 'logistic' }, x, Uint8Array.of(0, 0, 1, 1)).then((m) => console.log('fitted', m.kind));
  `;
  // The timeout only guards against a hang (the failure this test looks for); it asserts no speed.
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.signal, null, `the process did not exit by itself: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'fitted logistic');
});
