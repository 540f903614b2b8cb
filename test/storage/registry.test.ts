import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import type { ArtifactStore } from '../../storage/artifact-store';
import { AliasConflictError } from '../../storage/errors';
import { LocalArtifactStore } from '../../storage/local-store';
import { ModelRegistry, documentKey, type Lineage } from '../../storage/registry';
import { hasCode } from './contract';
import { startS3Server } from './s3-server';

function lineage(run: string, extra: Partial<Lineage> = {}): Lineage {
  return {
    runWorkflowId: run,
    dataSnapshots: ['file:///data/datasets/sha256/aa.csv'],
    config: { model: 'elec2' },
    trainer: 'gbdt',
    params: { trees: 50 },
    metrics: { auc: 0.81 },
    blessingUri: `file:///data/runs/${run}/blessing.json`,
    ...extra,
  };
}

function registryContract(name: string, open: () => Promise<{ store: ArtifactStore; close(): Promise<void> }>): void {
  describe(`model registry on ${name}`, () => {
    let store: ArtifactStore;
    let close: () => Promise<void>;
    let registry: ModelRegistry;
    before(async () => {
      ({ store, close } = await open());
      registry = new ModelRegistry(store);
    });
    after(async () => {
      await close();
    });

    it('numbers versions 1, 2, 3 per model and keeps their lineage', async () => {
      const v1 = await registry.registerVersion('elec2', { artifactUri: 'u1', lineage: lineage('retrain/elec2/1'), idempotencyKey: 'r1/train' });
      const v2 = await registry.registerVersion('elec2', { artifactUri: 'u2', lineage: lineage('retrain/elec2/2'), idempotencyKey: 'r2/train' });
      const other = await registry.registerVersion('other', { artifactUri: 'o1', lineage: lineage('retrain/other/1'), idempotencyKey: 'o1/train' });
      assert.deepEqual([v1.version, v2.version, other.version], [1, 2, 1]);
      assert.ok(v1.created && v2.created);
      const got = await registry.getVersion('elec2', 2);
      assert.equal(got.artifactUri, 'u2');
      assert.deepEqual(got.lineage, lineage('retrain/elec2/2'));
      assert.deepEqual((await registry.listVersions('elec2')).map((v) => v.version), [1, 2]);
      assert.deepEqual((await registry.listModels()).sort(), ['elec2', 'other']);
    });

    it('returns the existing version when a registration is repeated with its idempotency key', async () => {
      const first = await registry.registerVersion('idem', { artifactUri: 'a', lineage: lineage('r'), idempotencyKey: 'retrain/idem/1/train' });
      const again = await registry.registerVersion('idem', { artifactUri: 'a-retry', lineage: lineage('r'), idempotencyKey: 'retrain/idem/1/train' });
      assert.equal(again.version, first.version);
      assert.equal(again.created, false);
      assert.equal(again.artifactUri, 'a');
      assert.equal((await registry.listVersions('idem')).length, 1);
    });

    it('registers once when the same registration races with itself', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, () => registry.registerVersion('race', { artifactUri: 'x', lineage: lineage('r'), idempotencyKey: 'same' })),
      );
      assert.deepEqual(new Set(results.map((r) => r.version)), new Set([1]));
      assert.equal(results.filter((r) => r.created).length, 1);
    });

    it('reports an unknown version as NOT_FOUND and bad input naming the field', async () => {
      await assert.rejects(registry.getVersion('elec2', 99), hasCode('NOT_FOUND'));
      await assert.rejects(
        registry.registerVersion('elec2', { artifactUri: '', lineage: lineage('r'), idempotencyKey: 'k' }),
        (err: Error) => hasCode('BAD_INPUT')(err) && /artifactUri/.test(err.message),
      );
      await assert.rejects(
        registry.registerVersion('bad name!', { artifactUri: 'u', lineage: lineage('r'), idempotencyKey: 'k' }),
        (err: Error) => hasCode('BAD_INPUT')(err) && /model/.test(err.message),
      );
    });

    it('moves an alias only from the expected version, else fails with ALIAS_CONFLICT naming both', async () => {
      for (let i = 1; i <= 3; i++) {
        await registry.registerVersion('cas', { artifactUri: `u${i}`, lineage: lineage(`retrain/cas/${i}`), idempotencyKey: `cas-${i}` });
      }
      const first = await registry.moveAlias('cas', 'production', { to: 1, expected: null, by: 'policy', reason: 'first model', runWorkflowId: 'retrain/cas/1' });
      assert.equal(first.applied, true);
      assert.deepEqual([first.from, first.to, first.weight], [null, 1, 1]);
      await assert.rejects(
        registry.moveAlias('cas', 'production', { to: 3, expected: null, by: 'x', reason: 'stale view' }),
        (err: unknown) => err instanceof AliasConflictError && err.code === 'ALIAS_CONFLICT' && err.expected === null && err.actual === 1,
      );
      await registry.moveAlias('cas', 'production', { to: 2, expected: 1, by: 'alice', reason: 'better auc', runWorkflowId: 'retrain/cas/2' });
      assert.equal((await registry.getAlias('cas', 'production'))?.version, 2);
      await assert.rejects(registry.moveAlias('cas', 'production', { to: 3, expected: 1, by: 'bob', reason: 'old read' }), hasCode('ALIAS_CONFLICT'));
      assert.equal((await registry.getAlias('cas', 'production'))?.version, 2);
    });

    it('lets exactly one of several racing promotions from the same expected version win', async () => {
      for (let i = 1; i <= 5; i++) {
        await registry.registerVersion('racing', { artifactUri: `u${i}`, lineage: lineage(`r${i}`), idempotencyKey: `racing-${i}` });
      }
      await registry.moveAlias('racing', 'production', { to: 1, expected: null, by: 'p', reason: 'start' });
      const outcomes = await Promise.allSettled(
        [2, 3, 4, 5].map((to) => registry.moveAlias('racing', 'production', { to, expected: 1, by: `worker-${to}`, reason: 'race' })),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof AliasConflictError);
      assert.equal((await registry.aliasHistory('racing')).length, 2);
    });

    it('treats a repeated move with the same idempotency key as done, even after the alias moved on', async () => {
      for (let i = 1; i <= 3; i++) {
        await registry.registerVersion('retry', { artifactUri: `u${i}`, lineage: lineage(`r${i}`), idempotencyKey: `retry-${i}` });
      }
      const input = { to: 1, expected: null, by: 'promote', reason: 'blessed', runWorkflowId: 'retrain/retry/1', idempotencyKey: 'retrain/retry/1/promote' };
      const done = await registry.moveAlias('retry', 'production', input);
      const replay = await registry.moveAlias('retry', 'production', input);
      assert.equal(replay.applied, false);
      assert.deepEqual({ ...replay, applied: true }, done);
      await registry.moveAlias('retry', 'production', { to: 2, expected: 1, by: 'promote', reason: 'next', idempotencyKey: 'retrain/retry/2/promote' });
      const late = await registry.moveAlias('retry', 'production', input);
      assert.equal(late.applied, false);
      assert.equal((await registry.getAlias('retry', 'production'))?.version, 2);
      assert.equal((await registry.aliasHistory('retry')).length, 2);
      await assert.rejects(
        registry.moveAlias('retry', 'production', { ...input, to: 3 }),
        (err: Error) => hasCode('BAD_INPUT')(err) && /idempotency key/.test(err.message),
      );
    });

    it('keeps a canary with its traffic weight, changes the weight in place, and removes it', async () => {
      for (let i = 1; i <= 2; i++) {
        await registry.registerVersion('canary', { artifactUri: `u${i}`, lineage: lineage(`r${i}`), idempotencyKey: `canary-${i}` });
      }
      await registry.moveAlias('canary', 'production', { to: 1, expected: null, by: 'p', reason: 'first' });
      await assert.rejects(
        registry.moveAlias('canary', 'canary', { to: 2, expected: null, by: 'p', reason: 'no weight' }),
        (err: Error) => hasCode('BAD_INPUT')(err) && /weight/.test(err.message),
      );
      await assert.rejects(registry.moveAlias('canary', 'canary', { to: 2, expected: null, weight: 1.5, by: 'p', reason: 'x' }), hasCode('BAD_INPUT'));
      await registry.moveAlias('canary', 'canary', { to: 2, expected: null, weight: 0.1, by: 'rollout', reason: 'step 1' });
      await registry.moveAlias('canary', 'canary', { to: 2, expected: 2, weight: 0.5, by: 'rollout', reason: 'step 2' });
      const aliases = await registry.getAliases('canary');
      assert.deepEqual([aliases.production.version, aliases.canary.version, aliases.canary.weight], [1, 2, 0.5]);
      await registry.moveAlias('canary', 'canary', { to: null, expected: 2, by: 'rollout', reason: 'rolled back' });
      assert.equal((await registry.getAlias('canary', 'canary')), null);
      await assert.rejects(registry.moveAlias('canary', 'production', { to: 7, expected: 1, by: 'p', reason: 'x' }), (err: Error) => /no version 7/.test(err.message));
    });

    it('records who moved which alias, when, why, for which run, from where to where and at what weight', async () => {
      await registry.registerVersion('hist', { artifactUri: 'u1', lineage: lineage('retrain/hist/1'), idempotencyKey: 'h1' });
      await registry.registerVersion('hist', { artifactUri: 'u2', lineage: lineage('retrain/hist/2'), idempotencyKey: 'h2' });
      await registry.moveAlias('hist', 'production', { to: 1, expected: null, by: 'policy', reason: 'first', runWorkflowId: 'retrain/hist/1' });
      await registry.moveAlias('hist', 'canary', { to: 2, expected: null, weight: 0.1, by: 'alice', reason: 'canary 10%', runWorkflowId: 'retrain/hist/2' });
      await registry.moveAlias('hist', 'production', { to: 2, expected: 1, by: 'alice', reason: 'canary healthy', runWorkflowId: 'retrain/hist/2' });
      await registry.moveAlias('hist', 'canary', { to: null, expected: 2, by: 'alice', reason: 'promoted', runWorkflowId: 'retrain/hist/2' });
      const history = await registry.aliasHistory('hist');
      assert.deepEqual(
        history.map((m) => [m.sequence, m.alias, m.from, m.to, m.fromWeight, m.weight, m.by, m.reason, m.runWorkflowId]),
        [
          [1, 'production', null, 1, null, 1, 'policy', 'first', 'retrain/hist/1'],
          [2, 'canary', null, 2, null, 0.1, 'alice', 'canary 10%', 'retrain/hist/2'],
          [3, 'production', 1, 2, 1, 1, 'alice', 'canary healthy', 'retrain/hist/2'],
          [4, 'canary', 2, null, 0.1, null, 'alice', 'promoted', 'retrain/hist/2'],
        ],
      );
      assert.ok(history.every((m) => !Number.isNaN(Date.parse(m.at))));
      assert.deepEqual((await registry.aliasHistory('hist', { alias: 'canary' })).map((m) => m.sequence), [2, 4]);
    });

    it('refuses to read a registry document that is not one, as CORRUPT', async () => {
      await store.put(documentKey('broken'), '{"not": "a registry"');
      await assert.rejects(registry.listVersions('broken'), hasCode('CORRUPT'));
    });
  });
}

registryContract('the local store', async () => {
  const root = await mkdtemp(join(tmpdir(), 'retrain-registry-'));
  return { store: new LocalArtifactStore(root), close: () => rm(root, { recursive: true, force: true }) };
});

registryContract('S3 (native conditional writes)', async () => {
  const server = await startS3Server({ conditional: true });
  return { store: server.store({ prefix: 'reg' }), close: () => server.close() };
});
