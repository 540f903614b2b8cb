import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ArtifactStore } from '../../storage/artifact-store';
import { LocalArtifactStore } from '../../storage/local-store';
import type { ArtifactStoreConfig } from '../../storage/open';
import { ModelRegistry, documentKey } from '../../storage/registry';
import { startS3Server } from './s3-server';

interface WorkerReport {
  worker: string;
  registered: number[];
  moves: Array<{ idempotencyKey: string; sequence: number; from: number | null; to: number }>;
  conflicts: number;
}

function runWorker(store: ArtifactStoreConfig, worker: string, iterations: number): Promise<WorkerReport> {
  const script = join(__dirname, 'fixtures', 'registry-worker.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify({ store, model: 'shared', worker, iterations })], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`worker ${worker} exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as WorkerReport);
    });
  });
}

/** Checks the shared registry against what both workers say they did. */
async function assertConsistent(store: ArtifactStore, reports: WorkerReport[], iterations: number): Promise<void> {
  // The document parses (no torn or interleaved write) and is the registry of the model.
  const doc = await store.getJson<{ model: string }>(documentKey('shared'));
  assert.equal(doc.model, 'shared');
  const registry = new ModelRegistry(store);
  const versions = await registry.listVersions('shared');
  // Every registration made exactly one version, numbered without gaps or repeats.
  assert.deepEqual(versions.map((v) => v.version), Array.from({ length: reports.length * iterations }, (_, i) => i + 1));
  assert.deepEqual(
    reports.flatMap((r) => r.registered).sort((a, b) => a - b),
    versions.map((v) => v.version),
  );
  // Every successful move is in the history exactly once, with the sequence its worker was told.
  const history = await registry.aliasHistory('shared');
  const succeeded = reports.flatMap((r) => r.moves);
  assert.equal(history.length, succeeded.length);
  for (const move of succeeded) {
    const recorded = history.filter((m) => m.idempotencyKey === move.idempotencyKey);
    assert.equal(recorded.length, 1, `move ${move.idempotencyKey} recorded ${recorded.length} times`);
    assert.equal(recorded[0].sequence, move.sequence);
    assert.equal(recorded[0].to, move.to);
  }
  // The moves form one chain: each starts where the previous one left the alias, and the alias is where the last ended.
  history.forEach((m, i) => {
    assert.equal(m.sequence, i + 1);
    assert.equal(m.from, i === 0 ? null : history[i - 1].to);
  });
  assert.equal((await registry.getAlias('shared', 'production'))?.version, history.at(-1)?.to);
  assert.ok(succeeded.length >= 1);
}

describe('two worker processes sharing one store', () => {
  const iterations = 25;

  it('leave a consistent local registry: every version once, every successful move recorded once, no stray lock or temp files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'retrain-two-'));
    try {
      const config: ArtifactStoreConfig = { kind: 'local', root };
      const reports = await Promise.all([runWorker(config, 'a', iterations), runWorker(config, 'b', iterations)]);
      await assertConsistent(new LocalArtifactStore(root), reports, iterations);
      assert.deepEqual(await readdir(join(root, 'registry', 'shared')), ['registry.json']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('leave a consistent registry on S3 with conditional writes', async () => {
    const server = await startS3Server({ conditional: true });
    try {
      const config: ArtifactStoreConfig = { kind: 's3', ...server.storeOptions({ prefix: 'two' }), conditionalWrites: 'native' };
      const reports = await Promise.all([runWorker(config, 'a', iterations), runWorker(config, 'b', iterations)]);
      await assertConsistent(server.store({ prefix: 'two' }), reports, iterations);
    } finally {
      await server.close();
    }
  });
});
