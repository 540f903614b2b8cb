import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createActivities } from '../../activities';
import { readSnapshot } from '../../activities/common';
import { readFileSync } from 'node:fs';
import { ActivityEnv, config, sandbox, stage, writeSea, type Sandbox } from './helpers';

describe('collect', () => {
  let box: Sandbox;
  before(() => {
    box = sandbox();
  });
  after(() => box.cleanup());

  it('writes content-addressed snapshots: the same batches give the same URIs and hashes', async () => {
    const cfg = config(writeSea(box.dir, 'a.csv', { rows: 2000, seed: 1 }));
    const acts = createActivities(box.deps);
    const env = new ActivityEnv();
    const a = await env.call(acts.collect, { ...stage(cfg, 1), labelledBatches: 6, sinceBatch: 4 });
    const b = await env.call(acts.collect, { ...stage(cfg, 2), labelledBatches: 6, sinceBatch: 4 });
    assert.equal(a.fresh.uri, b.fresh.uri);
    assert.equal(a.holdout.sha256, b.holdout.sha256);
    assert.match(a.fresh.uri, new RegExp(`${a.fresh.sha256}\\.parquet$`));
    assert.deepEqual([a.fromBatch, a.toBatch], [4, 6]);
    const c = await env.call(acts.collect, { ...stage(cfg, 3), labelledBatches: 7, sinceBatch: 4 });
    assert.notEqual(c.fresh.uri, a.fresh.uri);
  });

  it('holds out the most recent share of the new data, disjoint from training, and bounds history', async () => {
    const path = writeSea(box.dir, 'b.csv', { rows: 2000, seed: 2 });
    const cfg = config(path, { trainingSet: { historyBatches: 2 }, evaluation: { holdoutShare: 0.25 } });
    const env = new ActivityEnv();
    const r = await env.call(createActivities(box.deps).collect, { ...stage(cfg, 1), labelledBatches: 8, sinceBatch: 6 });
    assert.equal(r.fresh.rows + r.holdout.rows, 400);
    assert.equal(r.holdout.rows, 100);
    assert.equal(r.historical?.rows, 400, 'history: batches 4 and 5 only');
    const fresh = await readSnapshot(box.deps.store, r.fresh.uri);
    const holdout = await readSnapshot(box.deps.store, r.holdout.uri);
    const trainRows = new Set(fresh.rows.map((x) => x.join(',')));
    assert.ok(holdout.rows.every((x) => !trainRows.has(x.join(','))), 'no holdout row is in the training part');
    // Temporal split: the holdout is the last 100 rows of batches 6-7 (data rows 1301-1600 of the source).
    // Parquet keeps numbers, not their text ("5.1230" comes back as "5.123"), so rows compare as numbers.
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const numbers = (rows: readonly (readonly string[])[]) => rows.map((x) => x.map(Number));
    assert.deepEqual(numbers(holdout.rows), numbers(lines.slice(1501, 1601).map((l) => l.split(','))));
    assert.deepEqual(numbers(fresh.rows), numbers(lines.slice(1201, 1501).map((l) => l.split(','))));
  });

  it('uses the last labelled batch when there is nothing new since the last run', async () => {
    const cfg = config(writeSea(box.dir, 'c.csv', { rows: 1000, seed: 3 }));
    const r = await new ActivityEnv().call(createActivities(box.deps).collect, { ...stage(cfg, 1), labelledBatches: 3, sinceBatch: 5 });
    assert.deepEqual([r.fromBatch, r.toBatch], [2, 3]);
    assert.equal(r.historical?.rows, 400);
  });

  it("returns the registry's production version as it is now, so a run is judged against a rollback the monitor has not seen", async () => {
    const cfg = config(writeSea(box.dir, 'prod.csv', { rows: 1000, seed: 3 }));
    const env = new ActivityEnv();
    const collect = createActivities(box.deps).collect;
    const reg = box.deps.registry;
    const model = cfg.model;
    const before = await env.call(collect, { ...stage(cfg, 1), labelledBatches: 2, sinceBatch: 0 });
    assert.equal(before.productionVersion, null, 'no production model yet');
    for (const n of [1, 2]) await reg.registerVersion(model, { artifactUri: `file:///${model}/${n}`, idempotencyKey: `collect-test/${n}`, lineage: { runWorkflowId: `retrain/${model}/${n}`, dataSnapshots: [] } });
    const versions = (await reg.listVersions(model)).map((v) => v.version).slice(-2);
    const current = (await reg.getAlias(model, 'production'))?.version ?? null;
    await reg.moveAlias(model, 'production', { to: versions[1], expected: current, by: 'run', reason: 'promoted' });
    await reg.moveAlias(model, 'production', { to: versions[0], expected: versions[1], by: 'dana', reason: 'rollback' });
    const after = await env.call(collect, { ...stage(cfg, 2), labelledBatches: 2, sinceBatch: 1 });
    assert.equal(after.productionVersion, versions[0]);
  });
});
