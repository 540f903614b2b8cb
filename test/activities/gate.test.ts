import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createActivities } from '../../activities';
import type { CollectResult, RetrainActivities } from '../../activities/types';
import { ActivityEnv, config, sandbox, stage, writeSea, type Sandbox } from './helpers';

describe('evaluate and gate', () => {
  let box: Sandbox;
  let acts: RetrainActivities;
  let cfg: ReturnType<typeof config>;
  let collected: CollectResult;
  const env = () => new ActivityEnv();
  before(async () => {
    box = sandbox();
    cfg = config(writeSea(box.dir, 'sea.csv', { rows: 3000, seed: 41, noise: 0.05 }));
    acts = createActivities(box.deps);
    collected = await env().call(acts.collect, { ...stage(cfg, 1), labelledBatches: 15, sinceBatch: 10 });
    await env().call(acts.train, { ...stage(cfg, 1), collect: collected });
  });
  after(() => box.cleanup());

  it('does not bless a candidate equal to production', async () => {
    const evaluation = await env().call(acts.evaluate, { ...stage(cfg, 1), collect: collected, candidateVersion: 1, productionVersion: 1 });
    assert.equal(evaluation.baseline, 'production');
    assert.equal(evaluation.holdoutRows, 200);
    const auc = evaluation.candidate.roc_auc;
    assert.ok(auc.lower <= auc.value && auc.value <= auc.upper && auc.value > 0.8, JSON.stringify(auc));
    const g = await env().call(acts.gate, { ...stage(cfg, 1), evaluation });
    assert.equal(g.blessing.promote, false);
    assert.match(g.blessing.summary, /do not promote/);
    const stored = await box.deps.store.getJson<{ blessing: { promote: boolean } }>(g.blessingUri);
    assert.equal(stored.blessing.promote, false);
  });

  it('blesses a first model against the majority baseline', async () => {
    const evaluation = await env().call(acts.evaluate, { ...stage(cfg, 1), collect: collected, candidateVersion: 1, productionVersion: null });
    assert.equal(evaluation.baseline, 'majority');
    const g = await env().call(acts.gate, { ...stage(cfg, 1), evaluation });
    assert.equal(g.blessing.promote, true, g.blessing.summary);
  });

  it('refuses a holdout smaller than minHoldoutRows, saying so', async () => {
    const strict = config(cfg.data.source.kind === 'csv-replay' ? cfg.data.source.path : '', { evaluation: { minHoldoutRows: 500 } });
    const evaluation = await env().call(acts.evaluate, { ...stage(strict, 1), collect: collected, candidateVersion: 1, productionVersion: null });
    const g = await env().call(acts.gate, { ...stage(strict, 1), evaluation });
    assert.equal(g.blessing.promote, false);
    assert.match(g.blessing.summary, /200 labelled rows, fewer than evaluation.minHoldoutRows 500/);
  });
});
