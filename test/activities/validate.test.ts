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
    // The report is ml/data's validateBatch report: every column's findings (3 features and the label) and the drifted features.
    const report = await box.deps.store.getJson<{ passed: boolean; columns: { column: string }[]; drifted: string[]; reference: { kind: string } }>(r.reportUri);
    assert.equal(report.passed, true);
    assert.deepEqual(report.columns.map((c) => c.column), ['f1', 'f2', 'f3', 'label']);
    assert.equal(report.reference.kind, 'history');
    assert.ok(Array.isArray(report.drifted));
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
    // validateBatch's check names (out_of_range, missing_rate); f1 never goes below 0 in the reference, so -999 is out.
    const range = r.failures.find((f) => f.check === 'out_of_range');
    assert.equal(range?.column, 'f1');
    assert.match(range!.message, /^column f1: 2 values outside the allowed range .*row 5: -999, row 17: -999/);
    const missing = r.failures.find((f) => f.check === 'missing_rate');
    assert.equal(missing?.column, 'f3');
    assert.match(missing!.message, /missing rate 100% vs 0% in the reference/);
    const report = await box.deps.store.getJson<{ passed: boolean; failures: { column: string; check: string; rows?: number[]; count?: number }[] }>(r.reportUri);
    assert.equal(report.passed, false);
    assert.deepEqual(report.failures.find((f) => f.check === 'out_of_range')?.rows, [5, 17]);
    assert.equal(report.failures.find((f) => f.check === 'missing_rate')?.count, 200);
  });

  it('passes a batch whose column drifted beyond the reference range, with the drift as a warning; policy fail refuses it', async () => {
    // Batches 0-2 (the history, the reference) have f1 constant at 5, as Elec2's Victoria price is for a year;
    // in batch 3 f1 spreads over [0, 10]: every new value is outside the reference's [5, 5], and none is a sentinel.
    const lines = seaCsv({ rows: 800, seed: 10 }).trim().split('\n');
    const rows = lines.slice(1).map((l, i) => {
      const [f1, f2, f3, y] = l.split(',');
      return `${i < 600 ? '5' : f1},${f2},${f3},${y}`;
    });
    const path = join(box.dir, 'drift.csv');
    writeFileSync(path, [lines[0], ...rows].join('\n'));
    const acts = createActivities(box.deps);
    const env = new ActivityEnv();
    const cfg = config(path);
    const collected = await env.call(acts.collect, { ...stage(cfg, 5), labelledBatches: 4, sinceBatch: 3 });
    const r = await env.call(acts.validate, { ...stage(cfg, 5), collect: collected, productionVersion: null });
    assert.equal(r.passed, true, JSON.stringify(r.failures));
    // The range drift leads the warnings the run's status shows.
    assert.equal(r.warnings?.[0]?.check, 'out_of_range');
    assert.equal(r.warnings?.[0]?.column, 'f1');
    assert.match(r.warnings![0].message, /^column f1: \d+ values outside the allowed range \[5, 5\].*the column drifted beyond its old range/);
    const report = await box.deps.store.getJson<{ columns: { column: string; rangeVerdict?: string }[]; rule: { outOfRange: string } }>(r.reportUri);
    assert.equal(report.columns.find((c) => c.column === 'f1')?.rangeVerdict, 'drift');
    assert.equal(report.rule.outOfRange, 'auto');
    // The model config's knob reaches the validator: the strict policy fails the same batch.
    const strict = config(path, { validation: { outOfRange: 'fail' } });
    const refused = await env.call(acts.validate, { ...stage(strict, 6), collect: collected, productionVersion: null });
    assert.equal(refused.passed, false);
    assert.deepEqual(refused.failures.map((f) => [f.check, f.column]), [['out_of_range', 'f1']]);
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

  it('names type errors and unknown labels by row on a first run with no reference', async () => {
    const lines = seaCsv({ rows: 400, seed: 9 }).trim().split('\n');
    // No history (sinceBatch 0): the config and the new data's own rows are the reference.
    const rows = lines.slice(1).map((l, i) => {
      const [f1, f2, f3, y] = l.split(',');
      return `${i === 2 ? 'abc' : f1},${f2},${f3},${i === 9 ? 'maybe' : y}`;
    });
    const path = join(box.dir, 'first.csv');
    writeFileSync(path, [lines[0], ...rows].join('\n'));
    const cfg = config(path);
    const acts = createActivities(box.deps);
    const env = new ActivityEnv();
    const collected = await env.call(acts.collect, { ...stage(cfg, 4), labelledBatches: 2, sinceBatch: 0 });
    assert.equal(collected.historical, null);
    assert.match(collected.fresh.uri, /\.csv$/, 'a label the frame cannot code keeps the snapshot CSV, as read');
    const r = await env.call(acts.validate, { ...stage(cfg, 4), collect: collected, productionVersion: null });
    assert.equal(r.passed, false);
    const type = r.failures.find((f) => f.check === 'type');
    assert.equal(type?.column, 'f1');
    assert.match(type!.message, /row 3: "abc"/);
    const label = r.failures.find((f) => f.check === 'label');
    assert.match(label!.message, /row 10: "maybe"/);
    assert.equal(r.failures.length, 2, JSON.stringify(r.failures));
  });
});
