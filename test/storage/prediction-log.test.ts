import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import type { ArtifactStore } from '../../storage/artifact-store';
import { LocalArtifactStore } from '../../storage/local-store';
import { PredictionLog, type PredictionInput } from '../../storage/prediction-log';
import { hasCode } from './contract';
import { startS3Server } from './s3-server';

const t = (minute: number): string => new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString();

function prediction(rowId: string, score: number, minute: number, alias = 'production', version = 1): PredictionInput {
  return { version, alias, rowId, score, at: t(minute) };
}

function predictionLogContract(name: string, open: () => Promise<{ store: ArtifactStore; close(): Promise<void> }>): void {
  describe(`prediction log on ${name}`, () => {
    let store: ArtifactStore;
    let close: () => Promise<void>;
    let log: PredictionLog;
    before(async () => {
      ({ store, close } = await open());
      log = new PredictionLog(store);
    });
    after(async () => {
      await close();
    });

    it('joins predictions with the outcomes that arrive later, leaving unlabelled rows with a null label', async () => {
      await log.appendPredictions('join', [prediction('r1', 0.9, 0, 'production', 1), prediction('r2', 0.2, 1, 'canary', 2), prediction('r3', 0.7, 2)]);
      await log.appendOutcomes('join', [{ rowId: 'r1', label: 1, at: t(10) }, { rowId: 'r2', label: true, at: t(11) }]);
      const joined = await log.joined('join');
      assert.deepEqual(
        joined.map((j) => [j.rowId, j.alias, j.version, j.label, j.labelledAt]),
        [
          ['r1', 'production', 1, 1, t(10)],
          ['r2', 'canary', 2, 1, t(11)],
          ['r3', 'production', 1, null, null],
        ],
      );
    });

    it('computes live metrics per alias and version over a time range', async () => {
      await log.appendPredictions('metrics', [
        prediction('a', 0.8, 0),
        prediction('b', 0.4, 1),
        prediction('c', 0.6, 2),
        prediction('d', 0.9, 3, 'canary', 2),
        prediction('e', 0.3, 4, 'canary', 2),
        prediction('late', 0.9, 90),
      ]);
      await log.appendOutcomes('metrics', [
        { rowId: 'a', label: 1, at: t(20) },
        { rowId: 'b', label: 1, at: t(20) },
        { rowId: 'd', label: 1, at: t(20) },
        { rowId: 'e', label: 0, at: t(20) },
        { rowId: 'late', label: 0, at: t(95) },
      ]);
      const metrics = await log.liveMetrics('metrics', { from: t(0), to: t(60) });
      assert.deepEqual(metrics.map((m) => [m.alias, m.version, m.count, m.labelledCount]), [
        ['canary', 2, 2, 2],
        ['production', 1, 3, 2],
      ]);
      const [canary, production] = metrics;
      assert.equal(canary.accuracy, 1);
      assert.ok(Math.abs(canary.logLoss! - -(Math.log(0.9) + Math.log(0.7)) / 2) < 1e-12);
      assert.equal(canary.positiveRate, 0.5);
      assert.equal(canary.labelPositiveRate, 0.5);
      assert.equal(production.accuracy, 0.5); // a right (0.8 → 1), b wrong (0.4 → 0 but label 1)
      assert.ok(Math.abs(production.logLoss! - -(Math.log(0.8) + Math.log(0.4)) / 2) < 1e-12);
      assert.ok(Math.abs(production.positiveRate - 2 / 3) < 1e-12);
      assert.equal(production.labelPositiveRate, 1);
      assert.ok(Math.abs(production.meanScore - 0.6) < 1e-12);
    });

    it('gives null accuracy and log loss, not zero, while no labels have arrived', async () => {
      await log.appendPredictions('nolabels', [prediction('x', 0.7, 0)]);
      const [m] = await log.liveMetrics('nolabels');
      assert.deepEqual([m.count, m.labelledCount, m.accuracy, m.logLoss, m.labelPositiveRate, m.positiveRate], [1, 0, null, null, null, 1]);
    });

    it('keeps log loss finite for a confident wrong prediction', async () => {
      await log.appendPredictions('clip', [prediction('x', 1, 0)]);
      await log.appendOutcomes('clip', [{ rowId: 'x', label: 0, at: t(1) }]);
      const [m] = await log.liveMetrics('clip');
      assert.ok(Number.isFinite(m.logLoss) && m.logLoss! > 30);
    });

    it('writes a batch once however often an append with the same batch key is retried', async () => {
      const first = await log.appendPredictions('retry', [prediction('r1', 0.9, 0), prediction('r2', 0.1, 0)], { batchKey: 'monitor/retry/score/7' });
      const again = await log.appendPredictions('retry', [prediction('r1', 0.9, 5), prediction('r2', 0.1, 5)], { batchKey: 'monitor/retry/score/7' });
      assert.equal(first.created, true);
      assert.equal(again.created, false);
      assert.equal(again.uri, first.uri);
      assert.equal((await log.predictions('retry')).length, 2);
      assert.equal((await store.list('predictions/retry/')).length, 1);
    });

    it('counts a row scored twice by the same version and alias once, keeping the earlier record', async () => {
      await log.appendPredictions('dupes', [prediction('r1', 0.9, 0)]);
      await log.appendPredictions('dupes', [prediction('r1', 0.8, 3)]);
      await log.appendPredictions('dupes', [prediction('r1', 0.3, 1, 'canary', 2)]);
      const rows = await log.predictions('dupes');
      assert.deepEqual(rows.map((r) => [r.alias, r.score]), [['production', 0.9], ['canary', 0.3]]);
    });

    it('takes the latest outcome of a row when its label is corrected', async () => {
      await log.appendPredictions('fix', [prediction('r1', 0.9, 0)]);
      await log.appendOutcomes('fix', [{ rowId: 'r1', label: 0, at: t(10) }]);
      await log.appendOutcomes('fix', [{ rowId: 'r1', label: 1, at: t(20) }]);
      assert.equal((await log.joined('fix'))[0].label, 1);
    });

    it('loses nothing when many writers append at once', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, w) =>
          log.appendPredictions('many', Array.from({ length: 10 }, (_, i) => prediction(`w${w}-r${i}`, 0.5, i))),
        ),
      );
      assert.equal((await log.predictions('many')).length, 200);
    });

    it('rejects a bad record naming the field, and writes nothing', async () => {
      await assert.rejects(
        log.appendPredictions('bad', [prediction('ok', 0.5, 0), { ...prediction('x', 0.5, 0), score: 1.5 }]),
        (err: Error) => hasCode('BAD_INPUT')(err) && /predictions\[1\]\.score/.test(err.message),
      );
      await assert.rejects(log.appendOutcomes('bad', [{ rowId: 'x', label: 2 as 1, at: t(0) }]), (err: Error) => /outcomes\[0\]\.label/.test(err.message));
      await assert.rejects(log.appendPredictions('bad', [{ ...prediction('x', 0.5, 0), at: 'yesterday' }]), (err: Error) => /\.at/.test(err.message));
      assert.deepEqual(await store.list('predictions/bad/'), []);
    });
  });
}

predictionLogContract('the local store', async () => {
  const root = await mkdtemp(join(tmpdir(), 'retrain-plog-'));
  return { store: new LocalArtifactStore(root), close: () => rm(root, { recursive: true, force: true }) };
});

predictionLogContract('S3', async () => {
  const server = await startS3Server();
  return { store: server.store({ prefix: 'plog' }), close: () => server.close() };
});
