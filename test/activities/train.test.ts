import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import type { TrainHeartbeat } from '../../activities/train';
import type { CollectResult } from '../../activities/types';
import { ActivityEnv, config, sandbox, stage, writeSea, type Sandbox } from './helpers';

describe('train', () => {
  let box: Sandbox;
  let collected: CollectResult;
  let cfg: ReturnType<typeof config>;
  before(async () => {
    box = sandbox();
    cfg = config(writeSea(box.dir, 'sea.csv', { rows: 3000, seed: 11, noise: 0.05 }), { trainer: { kind: 'gbdt', params: { maxIter: 60, earlyStopping: false } } });
    collected = await new ActivityEnv().call(createActivities(box.deps).collect, { ...stage(cfg, 1), labelledBatches: 10, sinceBatch: 7 });
  });
  after(() => box.cleanup());

  it('heartbeats a checkpoint; a retry resumes from it and produces the same model as an uninterrupted fit', async () => {
    const acts = createActivities(box.deps, { train: { checkpointEvery: 5 } });
    const straight = await new ActivityEnv().call(acts.train, { ...stage(cfg, 1), collect: collected });
    assert.equal(straight.candidateVersion, 1);
    assert.equal(straight.resumedFrom, undefined);

    const first = new ActivityEnv({ attempt: 1 });
    let last: TrainHeartbeat | undefined;
    first.on('heartbeat', (d: TrainHeartbeat) => {
      if (last?.checkpoint && last.checkpoint.iteration >= 15) return; // cancelled: later reports are not delivered
      last = d;
      if (d.checkpoint && d.checkpoint.iteration >= 15) first.cancel();
    });
    await assert.rejects(first.call(acts.train, { ...stage(cfg, 2), collect: collected }));
    assert.ok(last?.checkpoint, 'a checkpoint was heartbeated before the interruption');
    assert.equal(last.checkpoint.iteration % 5, 0);

    const retry = new ActivityEnv({ attempt: 2, heartbeatDetails: last });
    const resumed = await retry.call(acts.train, { ...stage(cfg, 2), collect: collected });
    assert.deepEqual(resumed.resumedFrom, { iteration: last.checkpoint.iteration });
    assert.equal(resumed.candidateVersion, 2);
    const a = await box.deps.store.getJson<{ model: unknown }>(straight.modelUri);
    const b = await box.deps.store.getJson<{ model: unknown }>(resumed.modelUri);
    assert.deepEqual(b.model, a.model, 'tree for tree the same model');
    assert.equal(resumed.trainingSetUri, straight.trainingSetUri, 'the same seeded training set');
    assert.ok(resumed.cpuSeconds > 0 && resumed.wallSeconds > 0);
  });

  it('registers once: a retry after the version was registered returns it', async () => {
    const acts = createActivities(box.deps);
    const again = await new ActivityEnv({ attempt: 3 }).call(acts.train, { ...stage(cfg, 1), collect: collected });
    assert.equal(again.candidateVersion, 1);
    assert.equal((await box.deps.registry.listVersions('sea')).length, 2);
  });

  it('refuses bad trainer params as non-retryable BadInput', async () => {
    const bad = { ...cfg, trainer: { kind: 'gbdt' as const, params: { maxIter: -3 }, warmStart: false, warmStartIter: 10 } };
    await assert.rejects(new ActivityEnv().call(createActivities(box.deps).train, { ...stage(bad, 9), collect: collected }), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.type, 'BadInput');
      assert.equal(e.nonRetryable, true);
      assert.match(e.message, /maxIter/);
      return true;
    });
  });
});

describe('train with trainer.warmStart', () => {
  let box: Sandbox;
  let collected: CollectResult;
  let path: string;
  const gbdt = (extra: Record<string, unknown> = {}) =>
    config(path, { trainer: { kind: 'gbdt', params: { maxIter: 30, earlyStopping: false, maxLeafNodes: 8 }, ...extra } as never });
  type Stored = { model: { trees: unknown[]; baseline: number; coef?: number[]; intercept?: number } };
  const stored = (uri: string) => box.deps.store.getJson<Stored>(uri);
  before(async () => {
    box = sandbox();
    path = writeSea(box.dir, 'sea.csv', { rows: 3000, seed: 12, noise: 0.05 });
    collected = await new ActivityEnv().call(createActivities(box.deps).collect, { ...stage(gbdt(), 1), labelledBatches: 10, sinceBatch: 7 });
  });
  after(() => box.cleanup());

  it('continues from production: its trees come first, warmStartIter new ones follow, and lineage names the version', async () => {
    const acts = createActivities(box.deps);
    const production = await new ActivityEnv().call(acts.train, { ...stage(gbdt(), 1), collect: { ...collected, productionVersion: null } });
    assert.equal(production.warmStartedFrom, undefined, 'no production model: a fresh fit');
    const warm = await new ActivityEnv().call(acts.train, { ...stage(gbdt({ warmStart: true, warmStartIter: 7 }), 2), collect: { ...collected, productionVersion: production.candidateVersion } });
    assert.equal(warm.warmStartedFrom, production.candidateVersion);
    assert.equal(warm.warmStartSkipped, undefined);
    const [p, w] = [await stored(production.modelUri), await stored(warm.modelUri)];
    assert.equal(w.model.trees.length, 37);
    assert.deepEqual(w.model.trees.slice(0, 30), p.model.trees);
    assert.equal(w.model.baseline, p.model.baseline);
    const v = await box.deps.registry.getVersion('sea', warm.candidateVersion);
    assert.equal((v.lineage as Record<string, unknown>).warmStartedFrom, production.candidateVersion);
    // A retry after registration answers the same, warm start included.
    const again = await new ActivityEnv({ attempt: 2 }).call(acts.train, { ...stage(gbdt({ warmStart: true, warmStartIter: 7 }), 2), collect: { ...collected, productionVersion: production.candidateVersion } });
    assert.equal(again.warmStartedFrom, production.candidateVersion);
  });

  it('with warmStart off, fits from scratch although production exists', async () => {
    const cold = await new ActivityEnv().call(createActivities(box.deps).train, { ...stage(gbdt(), 3), collect: { ...collected, productionVersion: 1 } });
    assert.equal(cold.warmStartedFrom, undefined);
    assert.equal(cold.warmStartSkipped, undefined);
    assert.equal((await stored(cold.modelUri)).model.trees.length, 30);
  });

  it('falls back to a fresh fit, and says why, when the features differ from production\'s', async () => {
    const acts = createActivities(box.deps);
    const narrow = config(path, { data: { ...gbdt().data, features: ['f1', 'f2'] }, trainer: gbdt().trainer } as never);
    const production = await new ActivityEnv().call(acts.train, { ...stage(narrow, 4), collect: { ...collected, productionVersion: null } });
    const warm = await new ActivityEnv().call(acts.train, { ...stage(gbdt({ warmStart: true }), 5), collect: { ...collected, productionVersion: production.candidateVersion } });
    assert.equal(warm.warmStartedFrom, undefined);
    assert.match(warm.warmStartSkipped ?? '', /^v4: the features or categories differ from production's \(production \[f1, f2\], now \[f1, f2, f3\]\)/);
    assert.equal((await stored(warm.modelUri)).model.trees.length, 30);
  });

  it('logistic starts from production\'s coefficients and reaches the cold fit\'s optimum', async () => {
    const acts = createActivities(box.deps);
    const logistic = (warmStart: boolean) => config(path, { trainer: { kind: 'logistic', params: { tol: 1e-8 }, warmStart } as never });
    const noProduction = { ...collected, productionVersion: null };
    const production = await new ActivityEnv().call(acts.train, { ...stage(logistic(false), 6), collect: noProduction });
    const cold = await new ActivityEnv().call(acts.train, { ...stage(logistic(false), 7), collect: { ...collected, productionVersion: production.candidateVersion } });
    const warm = await new ActivityEnv().call(acts.train, { ...stage(logistic(true), 8), collect: { ...collected, productionVersion: production.candidateVersion } });
    assert.equal(cold.warmStartedFrom, undefined);
    assert.equal(warm.warmStartedFrom, production.candidateVersion);
    const [c, w] = [(await stored(cold.modelUri)).model, (await stored(warm.modelUri)).model];
    c.coef!.forEach((v, j) => assert.ok(Math.abs(w.coef![j] - v) < 1e-6, `coef[${j}]`));
    assert.ok(Math.abs(w.intercept! - c.intercept!) < 1e-6);
  });
});
