import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createActivities } from '../../activities';
import { StorePredictionLog } from '../../activities/prediction-log';
import type { DetectorStates, RetrainActivities } from '../../activities/types';
import { ActivityEnv, config, sandbox, stage, writeSea, type Sandbox } from './helpers';

describe('the monitor check', () => {
  let box: Sandbox;
  let acts: RetrainActivities;
  let cfg: ReturnType<typeof config>;
  const env = () => new ActivityEnv();
  before(async () => {
    box = sandbox();
    // SEA with a sudden concept change at row 3000 (batch 15): theta 8 -> 9.5.
    cfg = config(writeSea(box.dir, 'sea.csv', { rows: 6000, seed: 31, noise: 0.1, concepts: [0, 3], drift: { mode: 'sudden', at: [3000] } }), {
      triggers: { builtin: { detectors: ['ddm', 'page_hinkley'] } },
    });
    acts = createActivities(box.deps);
    const collected = await env().call(acts.collect, { ...stage(cfg, 1), labelledBatches: 5, sinceBatch: 0 });
    for (const n of [1, 2]) await env().call(acts.train, { ...stage(cfg, n), collect: collected });
    await env().call(acts.promote, { runWorkflowId: 'retrain/sea/1', model: 'sea', version: 1, expected: null, by: 'test', reason: 'initial' });
    await env().call(acts.setCanary, { runWorkflowId: 'retrain/sea/2', model: 'sea', version: 2, expected: null, weight: 0.3, by: 'test', reason: 'canary' });
  });
  after(() => box.cleanup());

  it('probes the replayed file', async () => {
    const r = await env().call(acts.probeSource, { config: cfg });
    assert.deepEqual(r, { batches: 30, finite: true, columns: ['f1', 'f2', 'f3', 'label'] });
  });

  it('refuses a csv-replay path that is a folder with a BadInput naming data.source.path, not a bare EISDIR', async () => {
    const folder = { ...cfg, data: { ...cfg.data, source: { ...cfg.data.source, path: box.dir } } };
    await assert.rejects(env().call(acts.probeSource, { config: folder }), (e: Error & { type?: string }) => {
      assert.equal(e.type, 'BadInput');
      assert.equal(e.message, `config.data.source.path: ${box.dir} is a folder; csv-replay expects a CSV file (for a folder of CSV files, one batch each, use kind "folder")`);
      return true;
    });
  });

  it('routes rows to the canary by its weight (within binomial bounds), the same way on a retry, and logs them', async () => {
    const log = (box.deps.predictionLog as StorePredictionLog).log;
    let toCanary = 0;
    let rows = 0;
    for (let b = 5; b < 10; b++) {
      const input = { config: cfg, batch: b, labelsForBatch: null, production: { version: 1 }, canary: { version: 2, weight: 0.3 }, detectors: {}, at: `2026-01-0${b - 4}T00:00:00.000Z` };
      const r = await env().call(acts.checkBatch, input);
      assert.equal(r.scored, 200);
      assert.deepEqual(r.aliases, { production: 1, canary: { version: 2, weight: 0.3 } });
      const again = await env().call(acts.checkBatch, input);
      assert.equal(again.scored, 200);
      const logged = (await log.predictions('sea')).filter((p) => p.rowId.startsWith(`${b}:`));
      assert.equal(logged.length, 200, 'a retried check logs each row once');
      toCanary += logged.filter((p) => p.version === 2 && p.alias === 'canary').length;
      rows += logged.length;
    }
    const mean = rows * 0.3;
    const sd = Math.sqrt(rows * 0.3 * 0.7);
    assert.ok(Math.abs(toCanary - mean) < 4 * sd, `${toCanary} of ${rows} rows to the canary, expected ${mean} ± ${4 * sd}`);
  });

  it('joins outcomes and feeds the detectors, which flag the sudden drift within three batches', async () => {
    let detectors: DetectorStates = {};
    const fired: { batch: number; source: string }[] = [];
    let before: number | undefined;
    for (let b = 11; b < 30; b++) {
      const r = await env().call(acts.checkBatch, { config: cfg, batch: b, labelsForBatch: b - 1, production: { version: 1 }, canary: null, detectors, at: new Date(Date.UTC(2026, 0, b)).toISOString() });
      detectors = JSON.parse(JSON.stringify(r.detectors));
      assert.deepEqual(Object.keys(detectors).sort(), ['ddm', 'page_hinkley']);
      if (b - 1 < 15) before = r.accuracy;
      for (const a of r.alerts) if (a.source.startsWith('builtin:ddm') || a.source.startsWith('builtin:page_hinkley')) fired.push({ batch: b - 1, source: a.source });
    }
    assert.ok(before !== undefined && before > 0.8, `production is accurate before the drift (${before})`);
    assert.ok(fired.some((f) => f.batch >= 15 && f.batch <= 17), `a detector fired on batches 15-17: ${JSON.stringify(fired)}`);
    // DDM may raise a false alarm on its first few dozen observations (its minimum is not yet stable); Page-Hinkley,
    // which accumulates evidence, must stay quiet until the change.
    assert.ok(fired.filter((f) => f.source === 'builtin:page_hinkley').every((f) => f.batch >= 15), JSON.stringify(fired));
  });

  it('live metrics per version come from the joined prediction log', async () => {
    // Outcomes of batches 5-9 arrive with batches 6-10.
    for (let b = 6; b <= 10; b++) {
      await env().call(acts.checkBatch, { config: cfg, batch: b, labelsForBatch: b - 1, production: { version: 1 }, canary: { version: 2, weight: 0.3 }, detectors: {}, at: '2026-03-01T00:00:00.000Z' });
    }
    const r = await env().call(acts.observeCanary, { runWorkflowId: 'retrain/sea/2', model: 'sea', candidateVersion: 2, productionVersion: 1, since: '2026-02-28T00:00:00.000Z', until: '2026-03-02T00:00:00.000Z', liveMargin: 0.05, minLiveRows: 100 });
    assert.ok(r.candidate.rows > 200 && r.production.rows > 600, JSON.stringify(r));
    assert.equal(r.candidate.rows + r.production.rows, 1000);
    assert.equal(r.enoughData, true);
    assert.equal(r.regression, false, r.why);
  });
});
