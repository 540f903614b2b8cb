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
    const bad = { ...cfg, trainer: { kind: 'gbdt' as const, params: { maxIter: -3 } } };
    await assert.rejects(new ActivityEnv().call(createActivities(box.deps).train, { ...stage(bad, 9), collect: collected }), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.type, 'BadInput');
      assert.equal(e.nonRetryable, true);
      assert.match(e.message, /maxIter/);
      return true;
    });
  });
});
