import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createActivities } from '../../activities';
import type { EvaluationPredictions } from '../../activities/evaluate';
import { withGate } from '../../activities/report';
import type { CollectResult, EvaluateResult, GateResult, RetrainActivities, RunReport, ValidateResult } from '../../activities/types';
import type { EvaluationDetail } from '../../reports/types';
import { ActivityEnv, config, sandbox, seaCsv, stage, type Sandbox } from './helpers';

/** A SEA stream with a slice column (region), a protected group (sex), and a hard examples file from its rows. */
function writeData(dir: string): { path: string; hard: string } {
  const lines = seaCsv({ rows: 3000, seed: 43, noise: 0.05 }).trim().split('\n');
  const rows = lines.slice(1).map((l, i) => `${l},${['north', 'south', 'east'][i % 3]},${i % 4 === 0 ? 'F' : 'M'}`);
  const path = join(dir, 'sea-groups.csv');
  writeFileSync(path, [`${lines[0]},region,sex`, ...rows].join('\n'));
  const hard = join(dir, 'hard.csv');
  writeFileSync(hard, [`${lines[0]},region,sex`, ...rows.slice(0, 40)].join('\n'));
  return { path, hard };
}

describe('the evaluation artifact and the run report', () => {
  let box: Sandbox;
  let acts: RetrainActivities;
  let cfg: ReturnType<typeof config>;
  let collected: CollectResult;
  let validation: ValidateResult;
  let evaluation: EvaluateResult;
  let gated: GateResult;
  const env = () => new ActivityEnv();
  before(async () => {
    box = sandbox();
    const { path, hard } = writeData(box.dir);
    cfg = config(path, {
      data: { source: { kind: 'csv-replay', path, batchRows: 200, every: '1 day' }, label: 'label', positive: '1', slices: ['region'], protectedGroups: ['sex'], hardExamples: hard },
      evaluation: { policy: { primary: { metric: 'roc_auc' }, fairness: { groupColumn: 'sex', metrics: ['demographic_parity', 'equal_opportunity'], maxWidening: 0.1 }, hardExamples: { allowNewFailures: 40 } } },
    } as never);
    acts = createActivities(box.deps);
    collected = await env().call(acts.collect, { ...stage(cfg, 1), labelledBatches: 15, sinceBatch: 10 });
    validation = await env().call(acts.validate, { ...stage(cfg, 1), collect: collected, productionVersion: null });
    const trained = await env().call(acts.train, { ...stage(cfg, 1), collect: collected });
    evaluation = await env().call(acts.evaluate, { ...stage(cfg, 1), collect: collected, candidateVersion: trained.candidateVersion, productionVersion: null });
    gated = await env().call(acts.gate, { ...stage(cfg, 1), evaluation });
  });
  after(() => box.cleanup());

  it('writes the evaluation in the shape reports/ renders: metrics with intervals, slices, groups, gaps, calibration, drift, hard examples', async () => {
    assert.equal(validation.passed, true, JSON.stringify(validation.failures));
    const d = await box.deps.store.getJson<EvaluationDetail>(evaluation.evaluationUri);
    assert.equal(d.holdoutRows, 200);
    assert.equal(d.confidence, 0.95);
    const auc = d.models.candidate.roc_auc;
    assert.ok(auc.lower <= auc.value && auc.value <= auc.upper, JSON.stringify(auc));
    assert.deepEqual(d.slices.map((s) => s.value).sort(), ['east', 'north', 'south']);
    assert.equal(d.slices.reduce((s, x) => s + x.rows, 0), 200);
    assert.ok(d.slices.every((s) => s.column === 'region' && s.candidate.accuracy.lower <= s.candidate.accuracy.upper));
    assert.deepEqual(d.groups.map((g) => g.group).sort(), ['F', 'M']);
    assert.ok(d.groups.every((g) => ['selection_rate', 'accuracy'].every((m) => m in g.candidate && m in g.production)), JSON.stringify(d.groups[0]));
    assert.deepEqual(d.fairness.map((f) => f.metric), ['demographic_parity', 'equal_opportunity', 'equalized_odds']);
    assert.equal(d.calibration?.candidate.length, 10);
    assert.equal(d.calibration?.candidate.reduce((s, b) => s + b.count, 0), 200);
    assert.deepEqual(d.drift?.features.map((f) => f.feature), ['f1', 'f2', 'f3']);
    assert.ok(d.drift?.features.every((f) => f.ks && f.missingRate.reference === 0 && f.missingRate.current === 0 && typeof f.drift === 'boolean'));
    assert.equal(d.hardExamples?.rows, 40);
    assert.equal(d.hardExamples!.candidateCorrect + d.hardExamples!.newFailures.length - d.hardExamples!.fixed, d.hardExamples!.productionCorrect);
    // The gate's inputs live beside the detail, not in it.
    assert.equal('y' in d, false);
    const p = await box.deps.store.getJson<EvaluationPredictions>(evaluation.predictionsUri!);
    assert.equal(p.y.length, 200);
    assert.equal(p.groups.sex.length, 200);
    assert.ok(gated.blessing.checks.some((c) => c.name === 'fairness:demographic_parity'));
  });

  it('renders report.html with every chart, the gate\'s fairness bounds and the validation report', async () => {
    const at = '2024-01-01T00:00:00.000Z';
    const report: RunReport = {
      runWorkflowId: 'retrain/sea/1', model: 'sea', n: 1,
      trigger: { kind: 'manual', detail: 'manual', at }, decision: 'not_blessed', startedAt: at, endedAt: '2024-01-01T00:05:00.000Z',
      timeline: [{ stage: 'collect', startedAt: at, endedAt: '2024-01-01T00:01:00.000Z' }],
      config: cfg, collect: collected, validation, evaluation, gate: gated, productionVersion: null, candidateVersion: 1,
      status: { model: 'sea', n: 1, trigger: { kind: 'manual', detail: 'manual', at }, stage: 'done', decision: 'not_blessed', timeline: [] },
    };
    const warnings: string[] = [];
    const r = await createActivities({ ...box.deps, log: { ...box.deps.log, warn: (m: string) => warnings.push(m) } }).writeReport({ report });
    assert.deepEqual(warnings, []);
    assert.ok(r.htmlUri);
    const html = readFileSync(new URL(r.htmlUri!), 'utf8');
    for (const chart of ['forest', 'slices', 'groups', 'fairness', 'calibration', 'drift']) assert.match(html, new RegExp(`data-chart="${chart}"`), chart);
    const check = gated.blessing.checks.find((c) => c.name === 'fairness:demographic_parity')!;
    const merged = withGate(await box.deps.store.getJson<EvaluationDetail>(evaluation.evaluationUri), report).fairness;
    assert.deepEqual(merged.find((f) => f.column === 'sex' && f.metric === 'demographic_parity'), {
      column: 'sex', metric: 'demographic_parity', candidate: check.candidate, production: check.production,
      widening: { estimate: check.estimate, lower: check.lower }, maxWidening: 0.1, pass: check.pass,
    });
    assert.equal(merged.find((f) => f.metric === 'equalized_odds')?.widening, undefined, 'a gap the policy does not test has no widening');
    assert.match(html, /on 1,?000 rows/);
  });
});
