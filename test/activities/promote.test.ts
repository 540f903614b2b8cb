import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import { ActivityEnv, sandbox, type Sandbox } from './helpers';

describe('alias moves', () => {
  let box: Sandbox;
  before(async () => {
    box = sandbox();
    for (const n of [1, 2, 3]) await box.deps.registry.registerVersion('m', { artifactUri: `file:///m/${n}`, idempotencyKey: `retrain/m/${n}`, lineage: { runWorkflowId: `retrain/m/${n}`, dataSnapshots: [] } });
  });
  after(() => box.cleanup());

  it('promote retried twice moves the production alias exactly once', async () => {
    const acts = createActivities(box.deps);
    const input = { runWorkflowId: 'retrain/m/1', model: 'm', version: 1, expected: null, by: 'policy', reason: 'first model' };
    const a = await new ActivityEnv().call(acts.promote, input);
    const b = await new ActivityEnv({ attempt: 2 }).call(acts.promote, input);
    const c = await new ActivityEnv({ attempt: 3 }).call(acts.promote, input);
    assert.deepEqual([a.moved, b.moved, c.moved], [true, false, false]);
    const history = await box.deps.registry.aliasHistory('m', { alias: 'production' });
    assert.equal(history.length, 1);
    assert.equal((await box.deps.registry.getAlias('m', 'production'))?.version, 1);
  });

  it('a compare-and-set conflict is a non-retryable AliasConflict', async () => {
    const acts = createActivities(box.deps);
    await assert.rejects(
      new ActivityEnv().call(acts.promote, { runWorkflowId: 'retrain/m/3', model: 'm', version: 3, expected: 2, by: 'alice', reason: 'x' }),
      (e: unknown) => {
        assert.ok(e instanceof ApplicationFailure);
        assert.equal(e.type, 'AliasConflict');
        assert.equal(e.nonRetryable, true);
        assert.match(e.message, /production .* is at version 1, expected version 2/);
        return true;
      },
    );
    assert.equal((await box.deps.registry.getAlias('m', 'production'))?.version, 1);
  });

  it('canary steps move once each, clearing is idempotent, and promoting the canary clears it', async () => {
    const acts = createActivities(box.deps);
    const run = 'retrain/m/2';
    const step = (weight: number, expected: number | null) => ({ runWorkflowId: run, model: 'm', version: 2, expected, weight, by: 'policy', reason: `canary ${weight}` });
    assert.equal((await new ActivityEnv().call(acts.setCanary, step(0.1, null))).moved, true);
    assert.equal((await new ActivityEnv().call(acts.setCanary, step(0.1, null))).moved, false);
    assert.equal((await new ActivityEnv().call(acts.setCanary, step(0.5, 2))).moved, true);
    assert.deepEqual(await box.deps.registry.getAlias('m', 'canary').then((a) => [a?.version, a?.weight]), [2, 0.5]);
    await new ActivityEnv().call(acts.promote, { runWorkflowId: run, model: 'm', version: 2, expected: 1, by: 'policy', reason: 'rollout done' });
    assert.equal(await box.deps.registry.getAlias('m', 'canary'), null);
    assert.equal((await new ActivityEnv().call(acts.clearCanary, { runWorkflowId: run, model: 'm', by: 'policy', reason: 'done' })).moved, false);
  });
});
