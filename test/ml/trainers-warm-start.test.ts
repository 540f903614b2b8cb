import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../ml/random';
import { featureMatrix, type FeatureMatrix } from '../../ml/types';
import { GbdtModel, gradientBoosting, LogisticModel, logisticRegression, type Model } from '../../ml/trainers';
import { fitInThread } from '../../ml/trainers/thread';

/**
 * Rows whose label depends on a, b and d; `shift` moves the concept (d's weight and the base rate), so "old" and
 * "new" data differ the way a drifting stream does.
 */
function data(n: number, seed: number, shift = 0): { x: FeatureMatrix; y: Uint8Array; w: Float64Array } {
  const rng = new Rng(seed);
  const cols = Array.from({ length: 4 }, () => new Float64Array(n));
  const y = new Uint8Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (const c of cols) c[i] = rng.normal();
    const score = cols[0][i] * cols[1][i] + (0.5 + shift) * cols[3][i] + 0.4 * shift + 0.3 * rng.normal();
    y[i] = score > 0 ? 1 : 0;
    w[i] = 0.5 + rng.next();
  }
  return { x: featureMatrix(['a', 'b', 'c', 'd'], cols), y, w };
}

function logLoss(m: Model, x: FeatureMatrix, y: Uint8Array): number {
  const p = m.predictProba(x);
  let s = 0;
  for (let i = 0; i < y.length; i++) s -= Math.log(Math.max(1e-15, y[i] ? p[i] : 1 - p[i]));
  return s / y.length;
}

test('a warm-started GBDT keeps production\'s baseline and trees first and adds maxIter trees fitted to the new data', () => {
  const old = data(2000, 1);
  const fresh = data(600, 2, 1);
  const production = gradientBoosting({ maxIter: 40, maxLeafNodes: 8, earlyStopping: false }).fit(old.x, old.y);
  const update = gradientBoosting({ maxIter: 10, maxLeafNodes: 8, earlyStopping: false }).fit(fresh.x, fresh.y, { warmStart: production });
  assert.equal(update.baseline, production.baseline);
  assert.equal(update.trees.length, 50);
  const prodJson = production.toJSON() as unknown as { trees: unknown[] };
  const updJson = update.toJSON() as unknown as { trees: unknown[] };
  assert.deepEqual(updJson.trees.slice(0, 40), prodJson.trees);
  // The new trees follow the new concept: on fresh rows from it the update beats the model it continued from.
  const test2 = data(2000, 3, 1);
  assert.ok(logLoss(update, test2.x, test2.y) < logLoss(production, test2.x, test2.y));
});

test('early stopping in a warm-started GBDT counts only the new trees, never cutting production\'s', () => {
  const old = data(2000, 4);
  const production = gradientBoosting({ maxIter: 30, earlyStopping: false }).fit(old.x, old.y);
  // New data of another concept, with a patience of one round: the fit may stop early, but after production's trees.
  const fresh = data(1500, 5, 2);
  const update = gradientBoosting({ maxIter: 20, earlyStopping: true, nIterNoChange: 1 }).fit(fresh.x, fresh.y, { warmStart: production, seed: 1 });
  assert.ok(update.trees.length > 30 && update.trees.length <= 50, `got ${update.trees.length} trees`);
  for (let k = 0; k < 30; k++) assert.equal(update.trees[k], production.trees[k]);
});

test('a warm-started GBDT fit resumed from its checkpoints equals the uninterrupted one tree for tree', () => {
  const old = data(2000, 6);
  const fresh = data(1200, 7, 1);
  const production = gradientBoosting({ maxIter: 20, earlyStopping: false }).fit(old.x, old.y);
  const trainer = gradientBoosting({ maxIter: 25, earlyStopping: true, nIterNoChange: 50, maxLeafNodes: 12 });
  const checkpoints: Model[] = [];
  const opts = { seed: 3, sampleWeight: fresh.w, warmStart: production };
  const full = trainer.fit(fresh.x, fresh.y, { ...opts, checkpointEvery: 10, onCheckpoint: (m) => checkpoints.push(m) });
  // Checkpoints count all trees, production's included: 30 and 40 of 45.
  assert.deepEqual(checkpoints.map((m) => (m as GbdtModel).trees.length), [30, 40]);
  for (const cp of checkpoints) {
    const resumed = trainer.fit(fresh.x, fresh.y, { ...opts, init: GbdtModel.fromJSON(cp.toJSON()) });
    assert.deepEqual(resumed.toJSON(), full.toJSON());
  }
});

test('a warm start from a model of other features or another kind is refused, naming the field', () => {
  const old = data(800, 8);
  const fresh = data(800, 9);
  const production = gradientBoosting({ maxIter: 3, earlyStopping: false }).fit(old.x, old.y);
  const renamed = featureMatrix(['a', 'b', 'c', 'e'], fresh.x.columns);
  assert.throws(() => gradientBoosting({ maxIter: 3 }).fit(renamed, fresh.y, { warmStart: production }), /warmStart: the warm-start model was trained on features \[a, b, c, d\]/);
  assert.throws(() => gradientBoosting({ maxIter: 3 }).fit(fresh.x, fresh.y, { warmStart: logisticRegression().fit(old.x, old.y) }), /warmStart: expected a gbdt model/);
});

test('logistic regression warm-started from a model of other data converges to the same optimum as a cold fit', () => {
  const old = data(2000, 10);
  const fresh = data(1500, 11, 1);
  for (const solver of ['newton', 'lbfgs'] as const) {
    const trainer = logisticRegression({ solver, tol: 1e-8, C: 0.5 });
    const production = trainer.fit(old.x, old.y);
    const cold = trainer.fit(fresh.x, fresh.y, { sampleWeight: fresh.w });
    const warm = trainer.fit(fresh.x, fresh.y, { sampleWeight: fresh.w, warmStart: production });
    assert.equal(warm.info?.converged, true);
    // Strictly convex objective: one optimum whatever the start; both stop with a gradient norm below tol.
    for (let j = 0; j < cold.coef.length; j++) assert.ok(Math.abs(warm.coef[j] - cold.coef[j]) < 1e-6, `${solver} coef[${j}]`);
    assert.ok(Math.abs(warm.intercept - cold.intercept) < 1e-6, `${solver} intercept`);
  }
});

test('fitInThread with warmStart returns the model a direct warm-started fit returns', async () => {
  const old = data(1500, 12);
  const fresh = data(800, 13, 1);
  const params = { maxIter: 8, earlyStopping: false, maxLeafNodes: 8 };
  const production = gradientBoosting({ ...params, maxIter: 15 }).fit(old.x, old.y);
  const direct = gradientBoosting(params).fit(fresh.x, fresh.y, { seed: 2, warmStart: production });
  const threaded = await fitInThread({ kind: 'gbdt', params }, fresh.x, fresh.y, { seed: 2, warmStart: production.toJSON(), checkpointEvery: 5, onProgress: () => {} });
  assert.deepEqual(threaded.toJSON(), direct.toJSON());
  const logit = logisticRegression().fit(old.x, old.y);
  await assert.rejects(fitInThread({ kind: 'gbdt', params }, fresh.x, fresh.y, { warmStart: logit.toJSON() }), /warmStart\.kind/);
  const lt = await fitInThread({ kind: 'logistic', params: {} }, fresh.x, fresh.y, { warmStart: logit.toJSON() });
  assert.ok(lt instanceof LogisticModel);
});
