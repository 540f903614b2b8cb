/**
 * One HTTP server under load, in its own process so the load client never shares its event loop or its core:
 * `serving` is Retrain's prediction endpoint (serving/server.ts) over a temporary registry holding one real trained
 * model as production; `ceiling` is a plain node HTTP server that reads the body and answers a constant, the most
 * any JSON endpoint on node's `http` can do on this machine. Started by run.ts with `fork`; it reports its port once
 * listening, and its CPU time since the measured window opened (`mark`) when told to stop.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { hyperplaneStream } from '../../ml/data';
import { fitModel, trainerFromConfig } from '../../ml/model';
import { LocalArtifactStore, ModelRegistry, PredictionLog } from '../../storage';
import { startServing } from '../../serving/server';

export const BENCH_MODEL = 'bench';
export const BENCH_FEATURES = ['x1', 'x2', 'x3', 'x4', 'x5'];

export type TargetKind = 'serving' | 'ceiling';
export type TargetMessage = { port: number } | { cpuSeconds: number; rssMb: number };

async function serving(trainer: 'logistic' | 'gbdt'): Promise<{ port: number; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'retrain-bench-serving-'));
  const store = new LocalArtifactStore(dir);
  const registry = new ModelRegistry(store);
  const frame = hyperplaneStream({ rows: 5000, seed: 1, dimensions: BENCH_FEATURES.length, noise: 0.02 }).frame;
  const model = fitModel(trainerFromConfig({ kind: trainer }), frame);
  const uri = await store.put(`models/${BENCH_MODEL}/1.json`, JSON.stringify(model.toJSON()));
  await registry.registerVersion(BENCH_MODEL, { artifactUri: uri, lineage: { runWorkflowId: `retrain/${BENCH_MODEL}/1`, dataSnapshots: [] }, idempotencyKey: 'v1' });
  await registry.moveAlias(BENCH_MODEL, 'production', { to: 1, expected: null, by: 'bench', reason: 'bench' });
  // The endpoint's defaults (alias view refreshed every second, predictions flushed to the log every 500 ms), so
  // the figure includes writing every prediction to the log, as in production.
  const handle = await startServing({ port: 0, registry, store, predictionLog: new PredictionLog(store) });
  return {
    port: handle.port,
    close: async () => {
      await handle.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ceiling(): Promise<{ port: number; close(): Promise<void> }> {
  const body = JSON.stringify({ model: BENCH_MODEL, predictions: [{ score: 0.5, label: '1', version: 1, alias: 'production' }] });
  const server = createServer((req, res) => {
    // Reads the request body like the endpoint must, so both pay for the upload.
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

async function main(): Promise<void> {
  const kind = process.argv[2] as TargetKind;
  const trainer = (process.argv[3] ?? 'logistic') as 'logistic' | 'gbdt';
  const target = kind === 'serving' ? await serving(trainer) : await ceiling();
  let cpuAtStart = process.cpuUsage();
  process.send!({ port: target.port } satisfies TargetMessage);
  process.on('message', async (m) => {
    // `mark` opens the measured window, so the warm-up's CPU (JIT, the first model load) is not counted.
    if (m === 'mark') cpuAtStart = process.cpuUsage();
    if (m !== 'stop') return;
    const cpu = process.cpuUsage(cpuAtStart);
    process.send!({ cpuSeconds: (cpu.user + cpu.system) / 1e6, rssMb: process.memoryUsage().rss / 1e6 } satisfies TargetMessage);
    await target.close();
    process.disconnect();
  });
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
