import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createActivities } from '../../activities';
import { ActivityEnv, config, seaCsv, sandbox, stage, type Sandbox } from './helpers';

describe('validate', () => {
  let box: Sandbox;
  before(() => {
    box = sandbox();
  });
  after(() => box.cleanup());

  it('passes a clean batch against the history', async () => {
    const path = join(box.dir, 'clean.csv');
    writeFileSync(path, seaCsv({ rows: 1200, seed: 5 }));
    const cfg = config(path);
    const acts = createActivities(box.deps);
    const env = new ActivityEnv();
    const collected = await env.call(acts.collect, { ...stage(cfg, 1), labelledBatches: 6, sinceBatch: 4 });
    const r = await env.call(acts.validate, { ...stage(cfg, 1), collect: collected, productionVersion: null });
    assert.equal(r.passed, true, JSON.stringify(r.failures));
    const report = await box.deps.store.getJson<{ drift: { features: unknown[] } }>(r.reportUri);
    assert.equal(report.drift.features.length, 3);
  });

  it('fails a batch with sentinel values and a missing column, naming the rows and columns', async () => {
    const good = seaCsv({ rows: 800, seed: 6 }).trim().split('\n');
    // Batches 0-2 clean; batch 3 (rows 601-800) has no f3 and -999 sentinels in f1 at its rows 5 and 17.
    const bad = seaCsv({ rows: 200, seed: 7 }).trim().split('\n').slice(1).map((l, i) => {
      const [f1, f2, , y] = l.split(',');
      return `${i === 4 || i === 16 ? '-999' : f1},${f2},,${y}`;
    });
    const path = join(box.dir, 'bad.csv');
    writeFileSync(path, [...good.slice(0, 601), ...bad].join('\n'));
    const cfg = config(path);
    const acts = createActivities(box.deps);
    const env = new ActivityEnv();
    const collected = await env.call(acts.collect, { ...stage(cfg, 2), labelledBatches: 4, sinceBatch: 3 });
    const r = await env.call(acts.validate, { ...stage(cfg, 2), collect: collected, productionVersion: null });
    assert.equal(r.passed, false);
    const range = r.failures.find((f) => f.check === 'range');
    assert.equal(range?.column, 'f1');
    assert.match(range!.message, /2 values out of range .*rows 5, 17/);
    const missing = r.failures.find((f) => f.check === 'missing');
    assert.equal(missing?.column, 'f3');
    assert.match(missing!.message, /100% missing/);
    const report = await box.deps.store.getJson<{ passed: boolean; failures: { rows?: number[] }[] }>(r.reportUri);
    assert.equal(report.passed, false);
  });

  it('fails a batch whose column is absent from the file', async () => {
    const lines = seaCsv({ rows: 600, seed: 8 }).trim().split('\n');
    const path = join(box.dir, 'nocol');
    const fs = await import('node:fs');
    fs.mkdirSync(path);
    writeFileSync(join(path, 'a.csv'), lines.slice(0, 301).join('\n'));
    writeFileSync(join(path, 'b.csv'), ['f1,f2,label', ...lines.slice(301).map((l) => { const [a, b, , y] = l.split(','); return `${a},${b},${y}`; })].join('\n'));
    const cfg = config(path);
    const folderCfg = { ...cfg, data: { ...cfg.data, source: { kind: 'folder' as const, path, pollEvery: 60_000, labelDelayBatches: 0 } } };
    const acts = createActivities(box.deps);
    const env = new ActivityEnv();
    const collected = await env.call(acts.collect, { ...stage(folderCfg, 3), labelledBatches: 2, sinceBatch: 1 });
    const r = await env.call(acts.validate, { ...stage(folderCfg, 3), collect: collected, productionVersion: null });
    assert.equal(r.passed, false);
    assert.ok(r.failures.some((f) => f.check === 'schema' && f.column === 'f3'), JSON.stringify(r.failures));
  });
});
