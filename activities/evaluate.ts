/**
 * The evaluate stage (task queue retrain-training): the candidate and production (or, for a model's first run,
 * the no-skill majority-class baseline) scored on the holdout that neither saw in training. Reports metrics with
 * percentile bootstrap intervals, metrics per slice and per protected group (with fairness gaps), the hard
 * examples suite, calibration bins, and the holdout's feature drift against the training data. The full detail,
 * predictions included (the gate reads them), is an artifact; the result is a small summary.
 */
import { driftReport } from '../ml/drift';
import { fairnessGaps, groupMetrics } from '../ml/fairness';
import { computeMetric, metricsBySlice, prepareMetric, type MetricName } from '../ml/metrics';
import { PolicyMetrics, type PolicyMetric } from '../ml/policy';
import { Rng } from '../ml/random';
import { BlockResampler } from '../ml/stats';
import type { ActivityDeps } from './deps';
import { cancellationSignal, heartbeat, putJson, readSnapshot, runKey } from './common';
import { failure } from './failures';
import { categoryColumn, inferSchema, labelValues, schemaWith, toFrame } from './schema';
import { concatTables, type Table } from './table';
import { loadScorer, majorityScorer, type Scorer } from './trainers';
import { ErrorTypes, type EvaluateInput, type EvaluateResult, type MetricWithInterval } from './types';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPORTED: readonly PolicyMetric[] = ['roc_auc', 'accuracy', 'log_loss', 'brier', 'ece'];
const RESAMPLES = 500;
const CONFIDENCE = 0.95;

/** The detail artifact's shape (the gate and the report read it). */
export interface EvaluationDetail {
  readonly runWorkflowId: string;
  readonly baseline: 'production' | 'majority';
  readonly candidateVersion: number;
  readonly productionVersion: number | null;
  readonly holdoutRows: number;
  readonly y: number[];
  readonly candidate: number[];
  readonly production: number[];
  /** Per protected-group column, each holdout row's group. */
  readonly groups: Record<string, string[]>;
  readonly hardExamples?: { y: number[]; candidate: number[]; production: number[] };
  readonly [key: string]: unknown;
}

export async function evaluate(deps: ActivityDeps, input: EvaluateInput): Promise<EvaluateResult> {
  const { config, collect } = input;
  const workDir = join(tmpdir(), 'retrain', input.model, String(input.n), 'evaluate');
  const candidateVersion = await deps.registry.getVersion(input.model, input.candidateVersion);
  const candidate = await loadScorer(deps.store, candidateVersion.artifactUri, workDir);
  const fresh = await readSnapshot(deps.store, collect.fresh.uri);
  let production: Scorer;
  let baseline: 'production' | 'majority';
  if (input.productionVersion !== null) {
    const v = await deps.registry.getVersion(input.model, input.productionVersion);
    production = await loadScorer(deps.store, v.artifactUri, workDir);
    baseline = 'production';
  } else {
    const labels = labelValues(config, fresh, 'new data').filter((v) => v !== null);
    production = majorityScorer(labels.length ? labels.reduce((a: number, b) => a + (b as number), 0) / labels.length : 0.5);
    baseline = 'majority';
  }

  const holdoutAll = await readSnapshot(deps.store, collect.holdout.uri);
  const labels = labelValues(config, holdoutAll, 'holdout');
  const keep = labels.map((v, i) => (v === null ? -1 : i)).filter((i) => i >= 0);
  const holdout: Table = { header: holdoutAll.header, rows: keep.map((i) => holdoutAll.rows[i]) };
  if (holdout.rows.length === 0) throw failure(ErrorTypes.notEnoughData, 'evaluate: the holdout has no labelled rows', { nonRetryable: true });
  const y = Uint8Array.from(keep.map((i) => labels[i] as number));
  const signal = cancellationSignal();
  heartbeat({ step: 'scoring' });
  const pc = await candidate.predict(holdout, { signal });
  const pp = await production.predict(holdout, { signal });
  heartbeat({ step: 'metrics' });

  const seed = config.evaluation.policy.bootstrap?.seed ?? 0;
  const candidateMetrics = withIntervals(y, pc, seed);
  const productionMetrics = withIntervals(y, pp, seed);

  const slices: Record<string, unknown> = {};
  for (const column of config.data.slices) {
    const names = categoryColumn(holdout, column, `holdout (config.data.slices)`);
    slices[column] = {
      candidate: metricsBySlice(y, pc, names, ['accuracy', 'rocAuc', 'logLoss']),
      production: metricsBySlice(y, pp, names, ['accuracy', 'rocAuc', 'logLoss']),
    };
  }
  const groups: Record<string, string[]> = {};
  const fairness: Record<string, unknown> = {};
  for (const column of config.data.protectedGroups) {
    const g = categoryColumn(holdout, column, `holdout (config.data.protectedGroups)`);
    groups[column] = g;
    const threshold = config.evaluation.policy.threshold ?? 0.5;
    const gc = groupMetrics(y, pc, g, threshold);
    const gp = groupMetrics(y, pp, g, threshold);
    fairness[column] = { candidate: { groups: gc, gaps: fairnessGaps(gc) }, production: { groups: gp, gaps: fairnessGaps(gp) } };
  }

  let hard: EvaluationDetail['hardExamples'];
  let hardSummary: unknown;
  if (collect.hardExamples) {
    const h = await readSnapshot(deps.store, collect.hardExamples.uri);
    const hl = labelValues(config, h, 'hard examples');
    const hk = hl.map((v, i) => (v === null ? -1 : i)).filter((i) => i >= 0);
    const ht: Table = { header: h.header, rows: hk.map((i) => h.rows[i]) };
    if (ht.rows.length > 0) {
      const hy = hk.map((i) => hl[i] as number);
      const hc = Array.from(await candidate.predict(ht, { signal }));
      const hp = Array.from(await production.predict(ht, { signal }));
      hard = { y: hy, candidate: hc, production: hp };
      const right = (p: number[], i: number) => (p[i] > 0.5 ? 1 : 0) === hy[i];
      const newFailures = hy.map((_, i) => i).filter((i) => right(hp, i) && !right(hc, i));
      hardSummary = { rows: hy.length, candidateAccuracy: hy.filter((_, i) => right(hc, i)).length / hy.length, productionAccuracy: hy.filter((_, i) => right(hp, i)).length / hy.length, newFailures };
    }
  }

  let drift: unknown;
  try {
    const history = collect.historical ? await readSnapshot(deps.store, collect.historical.uri) : null;
    const training = history ? concatTables([history, fresh], 'training data') : fresh;
    const schema = candidate.features.length ? schemaWith(config, candidate.features) : inferSchema(config, training, 'training data');
    drift = driftReport(toFrame(training, schema), toFrame(holdout, schema), { features: schema.features.map((f) => f.name) });
  } catch (e) {
    drift = { error: (e as Error).message };
  }

  const detail: EvaluationDetail = {
    runWorkflowId: input.runWorkflowId,
    baseline,
    candidateVersion: input.candidateVersion,
    productionVersion: input.productionVersion,
    holdoutRows: y.length,
    bootstrap: { resamples: RESAMPLES, confidence: CONFIDENCE, seed, method: 'percentile' },
    metrics: { candidate: candidateMetrics, production: productionMetrics },
    slices,
    fairness,
    hardExamplesSummary: hardSummary,
    calibration: { candidate: calibrationBins(y, pc), production: calibrationBins(y, pp) },
    drift,
    y: Array.from(y),
    candidate: Array.from(pc),
    production: Array.from(pp),
    groups,
    ...(hard ? { hardExamples: hard } : {}),
  };
  const evaluationUri = await putJson(deps.store, runKey(input.model, input.n, 'evaluation.json'), detail);
  return { evaluationUri, baseline, holdoutRows: y.length, candidate: candidateMetrics, production: productionMetrics };
}

/** Each reported metric with a seeded percentile bootstrap interval (resample multiplicities as weights). */
function withIntervals(y: Uint8Array, p: Float64Array, seed: number): Record<string, MetricWithInterval> {
  const out: Record<string, MetricWithInterval> = {};
  for (const name of REPORTED) {
    const key = PolicyMetrics[name] as MetricName;
    const value = computeMetric(key, y, p);
    if (!Number.isFinite(value)) continue; // AUC with one class: no value, no interval
    const f = prepareMetric(key, y, p);
    const resampler = new BlockResampler(new Rng(seed), y.length);
    const counts = new Float64Array(y.length);
    const stats: number[] = [];
    for (let r = 0; r < RESAMPLES; r++) {
      const v = f(resampler.counts(counts));
      if (Number.isFinite(v)) stats.push(v);
    }
    stats.sort((a, b) => a - b);
    const q = (t: number) => (stats.length ? stats[Math.min(stats.length - 1, Math.max(0, Math.round(t * (stats.length - 1))))] : value);
    out[name] = { value, lower: q((1 - CONFIDENCE) / 2), upper: q(1 - (1 - CONFIDENCE) / 2) };
  }
  return out;
}

function calibrationBins(y: Uint8Array, p: Float64Array, bins = 10): { from: number; to: number; count: number; meanPredicted: number | null; observedRate: number | null }[] {
  const count = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.floor(p[i] * bins));
    count[b]++;
    sumP[b] += p[i];
    sumY[b] += y[i];
  }
  return Array.from({ length: bins }, (_, b) => ({
    from: b / bins,
    to: (b + 1) / bins,
    count: count[b],
    meanPredicted: count[b] ? sumP[b] / count[b] : null,
    observedRate: count[b] ? sumY[b] / count[b] : null,
  }));
}
