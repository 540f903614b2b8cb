import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createActivities } from '../../activities';
import { readSnapshot } from '../../activities/common';
import { createDependencies, type ActivityDeps } from '../../activities/deps';
import { parseModelConfig, type ModelConfig } from '../../workflows/config';
import { startS3Server, type TestS3Server } from '../storage/s3-server';
import { ActivityEnv, quietLog, seaCsv, stage } from './helpers';

describe('the s3 source and an artifact store on S3 (s3rver on loopback)', () => {
  let s3: TestS3Server;
  let home: string;
  let deps: ActivityDeps;
  let cfg: ModelConfig;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  before(async () => {
    s3 = await startS3Server();
    // Neither the source config nor RETRAIN_S3_* carries credentials: both take the SDK's chain, here the environment.
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    home = mkdtempSync(join(tmpdir(), 'retrain-activities-s3-'));
    deps = createDependencies({
      home,
      env: { RETRAIN_S3_BUCKET: s3.bucket, RETRAIN_S3_PREFIX: 'artifacts/', RETRAIN_S3_ENDPOINT: s3.endpoint, RETRAIN_S3_REGION: 'us-east-1', RETRAIN_S3_FORCE_PATH_STYLE: 'true' },
      log: quietLog,
    });
    // Five batches of 200 rows as objects under batches/, named so that key order is batch order.
    const lines = seaCsv({ rows: 1000, seed: 12 }).trim().split('\n');
    const raw = s3.store();
    for (let k = 0; k < 5; k++) await raw.put(`batches/2024-01-0${k + 1}.csv`, [lines[0], ...lines.slice(1 + 200 * k, 1 + 200 * (k + 1))].join('\n'));
    cfg = parseModelConfig({
      model: 'sea-s3',
      data: { source: { kind: 's3', bucket: s3.bucket, prefix: 'batches/', endpoint: s3.endpoint, forcePathStyle: true }, label: 'label', positive: '1' },
      trainer: { kind: 'logistic' },
    });
  });
  after(async () => {
    rmSync(home, { recursive: true, force: true });
    await s3.close();
    for (const [k, v] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('probes the bucket prefix: one batch per object, the columns of the first', async () => {
    const probe = await new ActivityEnv().call(createActivities(deps).probeSource, { config: cfg });
    assert.deepEqual(probe, { batches: 5, finite: false, columns: ['f1', 'f2', 'f3', 'label'] });
    await s3.store().put('batches/2024-01-06.csv', seaCsv({ rows: 200, seed: 13 }));
    const again = await new ActivityEnv().call(createActivities(deps).probeSource, { config: cfg });
    assert.equal(again.batches, 6, 'a new object is a new batch');
  });

  it('collects batches from S3 into content-addressed Parquet snapshots in the S3 artifact store, which validate reads', async () => {
    const acts = createActivities(deps);
    const env = new ActivityEnv();
    const r = await env.call(acts.collect, { ...stage(cfg, 1), labelledBatches: 5, sinceBatch: 3 });
    assert.deepEqual([r.fromBatch, r.toBatch], [3, 5]);
    assert.equal(r.historical?.rows, 600);
    assert.equal(r.fresh.rows + r.holdout.rows, 400);
    for (const snap of [r.fresh, r.holdout, r.historical!]) {
      assert.match(snap.uri, new RegExp(`^s3://${s3.bucket}/artifacts/datasets/sha256/${snap.sha256}\\.parquet$`));
    }
    // The objects are really in the bucket (listed through a second client), and read back with their hash checked.
    const keys = await s3.store().list('artifacts/datasets/');
    assert.ok(keys.includes(`artifacts/datasets/sha256/${r.fresh.sha256}.parquet`), keys.join(', '));
    const holdout = await readSnapshot(deps.store, r.holdout.uri);
    assert.equal(holdout.rows.length, r.holdout.rows);
    const v = await env.call(acts.validate, { ...stage(cfg, 1), collect: r, productionVersion: null });
    assert.equal(v.passed, true, JSON.stringify(v.failures));
    assert.match(v.reportUri, new RegExp(`^s3://${s3.bucket}/artifacts/runs/sea-s3/1/validation\\.json$`));
  });
});
