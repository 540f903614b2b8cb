import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArtifactStore, ModelRegistry } from '../../storage';
import { retrain } from './helpers';

let home: string;
let env: NodeJS.ProcessEnv;
before(async () => {
  home = await mkdtemp(join(tmpdir(), 'retrain-cli-registry-'));
  env = { RETRAIN_HOME: home, RETRAIN_S3_BUCKET: '' };
  // Two versions as two runs would have registered and promoted them.
  const registry = new ModelRegistry(new LocalArtifactStore(home));
  for (const n of [1, 2]) {
    await registry.registerVersion('churn', {
      artifactUri: `file://${home}/models/churn/${n}/model.json`,
      lineage: { runWorkflowId: `retrain/churn/${n}`, dataSnapshots: [`file://${home}/snapshots/${n}`], metrics: { roc_auc: 0.8 + n / 100 } },
      idempotencyKey: `retrain/churn/${n}/promote`,
    });
    await registry.moveAlias('churn', 'production', { to: n, expected: n === 1 ? null : 1, by: `retrain/churn/${n}`, reason: 'promoted after approval', runWorkflowId: `retrain/churn/${n}` });
  }
});
after(async () => {
  await rm(home, { recursive: true, force: true });
});

test('registry list shows the versions with their lineage and where production points', async () => {
  const r = await retrain(['registry', 'list', 'churn', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json.versions.map((v: { version: number }) => v.version), [1, 2]);
  assert.equal(r.json.versions[1].lineage.runWorkflowId, 'retrain/churn/2');
  assert.equal(r.json.aliases.production.version, 2);
});

test('rollback moves production back by compare-and-set, and history says who moved it when and why', async () => {
  const r = await retrain(['rollback', 'churn', '--to', '1', '--as', 'ana', '--reason', 'v2 hurts the EU slice', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.move.from, 2);
  assert.equal(r.json.move.to, 1);
  assert.equal(r.json.move.by, 'ana');

  const h = await retrain(['registry', 'history', 'churn', '--alias', 'production', '--json'], env);
  assert.equal(h.code, 0, h.stderr);
  assert.deepEqual(
    h.json.history.map((m: { from: number | null; to: number; by: string; reason: string }) => [m.from, m.to, m.by, m.reason]),
    [
      [null, 1, 'retrain/churn/1', 'promoted after approval'],
      [1, 2, 'retrain/churn/2', 'promoted after approval'],
      [2, 1, 'ana', 'v2 hurts the EU slice'],
    ],
  );
  const text = await retrain(['registry', 'history', 'churn'], env);
  assert.match(text.stdout, /production: v2 → v1 +by ana: v2 hurts the EU slice/);
});

test('rollback to a version that does not exist exits 3, to the current one exits 4, and nothing moves', async () => {
  const missing = await retrain(['rollback', 'churn', '--to', '9', '--as', 'ana', '--reason', 'x', '--json'], env);
  assert.equal(missing.code, 3);
  assert.match(missing.json.error.message, /no version 9 \(versions 1, 2\)/);
  const same = await retrain(['rollback', 'churn', '--to', '1', '--as', 'ana', '--reason', 'x', '--json'], env);
  assert.equal(same.code, 4);
  const bad = await retrain(['rollback', 'churn', '--to', 'latest', '--as', 'ana', '--reason', 'x', '--json'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.json.error.message, /^--to: expected a version number/);
  const history = new ModelRegistry(new LocalArtifactStore(home)).aliasHistory('churn');
  assert.equal((await history).length, 3);
});

test('an unknown model exits 3 and says where it looked', async () => {
  const r = await retrain(['registry', 'list', 'nosuch', '--json'], env);
  assert.equal(r.code, 3);
  assert.ok(r.json.error.message.includes(home));
});

test("report prints the paths of a run's report files, and exits 3 when the run has none", async () => {
  const dir = join(home, 'reports', 'churn', '2');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'report.html'), '<!doctype html><title>r</title>');
  await writeFile(join(dir, 'report.json'), '{}');
  const r = await retrain(['report', 'retrain/churn/2', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.html, join(dir, 'report.html'));
  assert.equal(r.json.json, join(dir, 'report.json'));
  const short = await retrain(['report', 'churn/2'], env);
  assert.equal(short.stdout.split('\n')[0], join(dir, 'report.html'));

  const none = await retrain(['report', 'churn/3', '--json'], env);
  assert.equal(none.code, 3);
  assert.match(none.json.error.message, /no report for retrain\/churn\/3/);
  const bad = await retrain(['report', 'churn', '--json'], env);
  assert.equal(bad.code, 2);
});
