/**
 * The serving endpoint against a real registry and prediction log on disk: predictions route between production
 * and canary by the canary's weight (within binomial bounds), stick to their request key, follow an alias move
 * without a restart, are written to the prediction log and joined with posted outcomes; bad requests get 400
 * naming the field. The drift webhooks signal a real workflow on the embedded server, in both body formats,
 * behind the optional token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { seaStream } from '../../ml/data';
import { fitModel, trainerFromConfig } from '../../ml/model';
import { LocalArtifactStore, ModelRegistry, PredictionLog } from '../../storage';
import { startServing, type ServingHandle } from '../../serving/server';
import { startDevServer, type DevServer } from '../../devserver';
import { quietRuntime, workflowBundle } from '../devserver/helpers';
import { receivedQuery } from './fixtures/drift-sink';

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
};

describe('prediction endpoint', () => {
  let dir: string;
  let registry: ModelRegistry;
  let log: PredictionLog;
  let serving: ServingHandle;
  const rows = (n: number, seed: number) => {
    const f = seaStream({ rows: n, seed }).frame;
    const cols = f.columns.map((c) => (c as { values: Float64Array }).values);
    return Array.from({ length: n }, (_, i) => ({ f1: cols[0][i], f2: cols[1][i], f3: cols[2][i] }));
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'retrain-serving-'));
    const store = new LocalArtifactStore(dir);
    registry = new ModelRegistry(store);
    log = new PredictionLog(store);
    for (const [v, seed] of [[1, 1], [2, 2]]) {
      const model = fitModel(trainerFromConfig({ kind: 'logistic' }), seaStream({ rows: 500, seed }).frame);
      const uri = await store.put(`models/sea/${v}.json`, JSON.stringify(model.toJSON()));
      await registry.registerVersion('sea', { artifactUri: uri, lineage: { runWorkflowId: `retrain/sea/${v}`, dataSnapshots: [] }, idempotencyKey: `v${v}` });
    }
    await registry.moveAlias('sea', 'production', { to: 1, expected: null, by: 'test', reason: 'first' });
    await registry.moveAlias('sea', 'canary', { to: 2, expected: null, weight: 0.3, by: 'test', reason: 'canary' });
    serving = await startServing({ port: 0, registry, store, predictionLog: log, refreshMs: 50, flushMs: 50 });
  });
  after(async () => {
    await serving?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('routes rows to the canary by its weight, within binomial bounds', async () => {
    const n = 2000;
    const r = await post(`${serving.url}/v1/models/sea/predict`, { rows: rows(n, 7), ids: Array.from({ length: n }, (_, i) => `row-${i}`) });
    assert.equal(r.status, 200);
    assert.equal(r.body.predictions.length, n);
    const canary = r.body.predictions.filter((p: any) => p.alias === 'canary');
    assert.ok(canary.every((p: any) => p.version === 2));
    const sd = Math.sqrt(0.3 * 0.7 * n);
    assert.ok(Math.abs(canary.length - 0.3 * n) < 4.5 * sd, `canary got ${canary.length} of ${n}, expected about ${0.3 * n}`);
    assert.ok(r.body.predictions.every((p: any) => p.score >= 0 && p.score <= 1));
  });

  test('a request key sends every row of the request, and every later request with that key, to one model', async () => {
    const seen = new Set<string>();
    for (let k = 0; k < 5; k++) {
      const r = await post(`${serving.url}/v1/models/sea/predict`, { rows: rows(20, k), key: 'customer-42' });
      for (const p of r.body.predictions) seen.add(p.alias);
    }
    assert.equal(seen.size, 1);
  });

  test('writes predictions to the log and joins the outcomes posted to /feedback', async () => {
    const r = await post(`${serving.url}/v1/models/sea/predict`, { rows: rows(10, 3), ids: Array.from({ length: 10 }, (_, i) => `fb-${i}`) });
    assert.equal(r.status, 200);
    const fb = await post(`${serving.url}/v1/models/sea/feedback`, { outcomes: Array.from({ length: 10 }, (_, i) => ({ id: `fb-${i}`, label: i % 2 })) });
    assert.equal(fb.status, 202);
    assert.equal(fb.body.accepted, 10);
    await serving.flush();
    const joined = (await log.joined('sea')).filter((p) => p.rowId.startsWith('fb-'));
    assert.equal(joined.length, 10);
    assert.deepEqual(joined.map((p) => p.label).sort(), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  });

  test('follows an alias move without a restart', async () => {
    await registry.moveAlias('sea', 'production', { to: 2, expected: 1, by: 'test', reason: 'promote' });
    await registry.moveAlias('sea', 'canary', { to: null, expected: 2, by: 'test', reason: 'promoted' });
    await new Promise((r) => setTimeout(r, 120));
    const r = await post(`${serving.url}/v1/models/sea/predict`, { rows: rows(50, 9) });
    assert.ok(r.body.predictions.every((p: any) => p.version === 2 && p.alias === 'production'), JSON.stringify(r.body.predictions.slice(0, 3)));
  });

  test('answers bad requests with 400 naming the field, and unknown models with 404', async () => {
    const cases: [unknown, RegExp][] = [
      ['{not json', /body: expected valid JSON/],
      [[1, 2], /body: expected a JSON object/],
      [{ rows: [] }, /^rows: expected a non-empty array/],
      [{ rows: [1] }, /^rows\[0\]: expected an object/],
      [{ rows: [{ f1: 1, f2: 2, f3: 3 }], ids: ['a', 'b'] }, /^ids: expected 1 non-empty strings/],
      [{ rows: [{ f1: 'high', f2: 2, f3: 3 }] }, /f1/],
      [{ rows: [{ f1: 1, f2: 2, f3: 3 }, { f1: 1, f3: 3 }], key: 'k' }, /^rows\[1\]\.f2: missing \(send null for a missing value\); the model's features are f1, f2, f3$/],
    ];
    for (const [body, message] of cases) {
      const r = await post(`${serving.url}/v1/models/sea/predict`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error, message);
    }
    const fb = await post(`${serving.url}/v1/models/sea/feedback`, { outcomes: [{ id: 'x', label: 'maybe' }] });
    assert.equal(fb.status, 400);
    assert.match(fb.body.error, /outcomes\[0\]\.label: expected one of/);
    const missing = await post(`${serving.url}/v1/models/nope/predict`, { rows: [{ f1: 1 }] });
    assert.equal(missing.status, 404);
    const described = (await (await fetch(`${serving.url}/v1/models/sea`)).json()) as { features: { name: string }[]; label: { positive: string } };
    assert.deepEqual(described.features.map((f) => f.name), ['f1', 'f2', 'f3']);
    assert.equal(described.label.positive, '1');
  });
});

describe('drift webhooks', () => {
  let server: DevServer;
  let connection: Connection;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  let serving: ServingHandle;
  let dir: string;
  const TOKEN = 's3cret';

  before(async () => {
    quietRuntime();
    server = await startDevServer({ port: 0 });
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection });
    const { NativeConnection } = await import('@temporalio/worker');
    const native = await NativeConnection.connect({ address: server.address });
    worker = await Worker.create({ connection: native, taskQueue: 'webhook-test', workflowBundle: await workflowBundle(require.resolve('./fixtures/drift-sink')) });
    running = worker.run();
    await client.workflow.start('driftSink', { taskQueue: 'webhook-test', workflowId: 'monitor/churn' });
    dir = mkdtempSync(join(tmpdir(), 'retrain-webhook-'));
    const store = new LocalArtifactStore(dir);
    serving = await startServing({ port: 0, registry: new ModelRegistry(store), store, predictionLog: new PredictionLog(store), client, webhookToken: TOKEN });
  });
  after(async () => {
    await serving?.close();
    worker?.shutdown();
    await running?.catch(() => undefined);
    await connection?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const auth = { authorization: `Bearer ${TOKEN}` };
  const received = () => client.workflow.getHandle('monitor/churn').query(receivedQuery);

  test('our own alert JSON becomes a driftDetected signal on the model monitor', async () => {
    const r = await post(`${serving.url}/v1/drift`, { model: 'churn', eventId: 'e-1', source: 'grafana', severity: 'high', score: 0.4, features: ['tenure'] }, auth);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(r.body.signalled, [{ model: 'churn', eventId: 'e-1' }]);
    const got = await received();
    assert.deepEqual(got.at(-1), { eventId: 'e-1', source: 'grafana', severity: 'high', score: 0.4, features: ['tenure'] });
  });

  test("Alertmanager's webhook: firing alerts are signalled with the model and severity from their labels, resolved ones skipped", async () => {
    const before = (await received()).length;
    const body = {
      version: '4',
      status: 'firing',
      receiver: 'retrain',
      groupKey: '{}:{alertname="FeatureDrift"}',
      commonLabels: { alertname: 'FeatureDrift' },
      alerts: [
        { status: 'firing', labels: { alertname: 'FeatureDrift', model: 'churn', severity: 'critical' }, annotations: { score: '0.31', features: 'tenure, plan' }, startsAt: '2026-12-01T10:00:00Z', fingerprint: 'abc' },
        { status: 'resolved', labels: { alertname: 'FeatureDrift', model: 'churn', severity: 'warning' }, annotations: {}, startsAt: '2026-11-30T10:00:00Z', fingerprint: 'old' },
      ],
    };
    const r = await post(`${serving.url}/v1/drift`, body, { 'x-retrain-token': TOKEN });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.format, 'alertmanager');
    assert.equal(r.body.ignored, 1);
    const got = await received();
    assert.equal(got.length, before + 1);
    assert.deepEqual(got.at(-1), { eventId: 'abc@2026-12-01T10:00:00Z', source: 'alertmanager:FeatureDrift', severity: 'high', score: 0.31, features: ['tenure', 'plan'], detectedAt: '2026-12-01T10:00:00.000Z' });
  });

  test('a missing or wrong token is 401 and signals nothing', async () => {
    const before = (await received()).length;
    const alert = { model: 'churn', eventId: 'e-2', source: 'grafana', severity: 'high' };
    assert.equal((await post(`${serving.url}/v1/drift`, alert)).status, 401);
    assert.equal((await post(`${serving.url}/v1/drift`, alert, { authorization: 'Bearer nope' })).status, 401);
    assert.equal((await received()).length, before);
  });

  test('a malformed body is 400 naming the field, and nothing of it is signalled', async () => {
    const before = (await received()).length;
    const bad = await post(`${serving.url}/v1/drift`, { alerts: [{ model: 'churn', eventId: 'ok', source: 's', severity: 'high' }, { model: 'churn', eventId: 'x', source: 's', severity: 'apocalyptic' }] }, auth);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /alerts\[1\]\.severity: expected one of "low", "medium", "high"/);
    const am = await post(`${serving.url}/v1/drift`, { version: '4', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'X', severity: 'warning' } }] }, auth);
    assert.equal(am.status, 400);
    assert.match(am.body.error, /labels: expected a "model"/);
    assert.equal((await received()).length, before);
  });

  test('an alert for a model without a monitor is 404 with what to do', async () => {
    const r = await post(`${serving.url}/v1/drift`, { model: 'ghost', eventId: 'g', source: 's', severity: 'high' }, auth);
    assert.equal(r.status, 404);
    assert.match(r.body.error, /retrain monitor start/);
  });
});
