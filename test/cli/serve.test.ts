/**
 * `retrain serve` as its own process: it serves the registry's production model from RETRAIN_HOME over HTTP,
 * and says clearly when the drift webhooks are off because Temporal cannot be reached.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { seaStream } from '../../ml/data';
import { fitModel, trainerFromConfig } from '../../ml/model';
import { LocalArtifactStore, ModelRegistry } from '../../storage';

const BIN = resolve(__dirname, '..', '..', 'bin', 'retrain');
let home: string;
let child: ChildProcess | undefined;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'retrain-cli-serve-'));
  const store = new LocalArtifactStore(home);
  const model = fitModel(trainerFromConfig({ kind: 'logistic' }), seaStream({ rows: 400, seed: 3 }).frame);
  const uri = await store.put('models/sea/1.json', JSON.stringify(model.toJSON()));
  const registry = new ModelRegistry(store);
  await registry.registerVersion('sea', { artifactUri: uri, lineage: { runWorkflowId: 'retrain/sea/1', dataSnapshots: [] }, idempotencyKey: 'v1' });
  await registry.moveAlias('sea', 'production', { to: 1, expected: null, by: 'test', reason: 'first' });
});
after(async () => {
  child?.kill('SIGKILL');
  await rm(home, { recursive: true, force: true });
});

test('retrain serve answers predictions from the registry, and warns that webhooks are off without Temporal', async () => {
  // Port 1 on loopback refuses connections at once: the "Temporal is down" case without waiting for a timeout.
  child = spawn(BIN, ['serve', '--port', '0', '--json', '--address', '127.0.0.1:1'], { env: { ...process.env, RETRAIN_HOME: home, RETRAIN_S3_BUCKET: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((ok, fail) => {
    child!.on('exit', (code) => fail(new Error(`retrain serve exited with ${code}: ${stderr}`)));
    child!.stdout!.on('data', () => {
      const m = /"url":\s*"([^"]+)"/.exec(stdout);
      if (m) ok(m[1]);
    });
  });
  assert.match(stderr, /cannot connect to Temporal at 127\.0\.0\.1:1.*drift webhooks answer 503/s);
  const r = await fetch(`${url}/v1/models/sea/predict`, { method: 'POST', body: JSON.stringify({ rows: [{ f1: 1, f2: 2, f3: 3 }, { f1: 9, f2: 9, f3: 0 }] }) });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { predictions: { version: number; alias: string; score: number }[] };
  assert.deepEqual(body.predictions.map((p) => [p.version, p.alias]), [[1, 'production'], [1, 'production']]);
  assert.ok(body.predictions[0].score > body.predictions[1].score, 'a point well under the SEA threshold scores higher than one far above it');
  const drift = await fetch(`${url}/v1/drift`, { method: 'POST', body: JSON.stringify({ model: 'sea', eventId: 'e', source: 's', severity: 'high' }) });
  assert.equal(drift.status, 503);
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((ok) => child!.on('exit', ok));
  assert.equal(code, 0);
});
