/**
 * The evaluate stage (task queue retrain-training): the candidate and production (or, for a model's first run,
 * the no-skill majority-class baseline) scored on the holdout that neither saw in training. Writes the evaluation
 * artifact in exactly the `EvaluationDetail` shape that reports/ renders (metrics with percentile bootstrap
 * intervals, per slice and per protected group, fairness gaps, calibration bins, feature drift from ml/drift, the
 * hard examples suite) and, beside it, the predictions the gate tests; the result is a small summary.
 */
import { driftReport } from '../ml/drift';
import { fairnessGaps, FairnessMetrics, groupMetrics } from '../ml/fairness';
import { computeMetric, prepareMetric, type MetricName } from '../ml/metrics';
import { PolicyMetrics, type PolicyMetric } from '../ml/policy';
import { Rng } from '../ml/random';
import { BlockResampler } from '../ml/stats';
import type { CalibrationBin, DriftDetail, EvaluationDetail, FairnessGapDetail, GroupDetail, HardExamplesDetail, MetricTable, SliceDetail } from '../reports/types';
import type { ActivityDeps } from './deps';
import { cancellationSignal, heartbeat, putJson, readSnapshot, runKey } from './common';
import { failure } from './failures';
import { categoryColumn, inferSchema, labelValues, schemaWith, toFrame } from './schema';
import { concatTables, type Table } from './table';
import { loadScorer, majorityScorer, type Scorer } from './trainers';
import { ErrorTypes, type EvaluateInput, type EvaluateResult, type MetricWithInterval } from './types';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type { EvaluationDetail };

const REPORTED: readonly PolicyMetric[] = ['roc_auc', 'accuracy', 'log_loss', 'brier', 'ece'];
const RESAMPLES = 500;
const CONFIDENCE = 0.95;
const CALIBRATION_BINS = 10;

/** The predictions behind the evaluation (the gate's paired tests read them): `EvaluateResult.predictionsUri`. */
export interface EvaluationPredictions {
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
  const threshold = config.evaluation.policy.threshold ?? 0.5;
  const models = { candidate: withIntervals(y, pc, seed), production: withIntervals(y, pp, seed) };

  const slices: SliceDetail[] = [];
  for (const column of config.data.slices) {
    const names = categoryColumn(holdout, column, 'holdout (config.data.slices)');
    for (const [value, rows] of rowsBy(names)) {
      const sy = pick(y, rows);
      slices.push({ column, value, rows: rows.length, positives: count(sy), candidate: withIntervals(sy, pick(pc, rows), seed), production: withIntervals(sy, pick(pp, rows), seed) });
    }
  }
  const groupsByRow: Record<string, string[]> = {};
  const groups: GroupDetail[] = [];
  const fairness: FairnessGapDetail[] = [];
  for (const column of config.data.protectedGroups) {
    const g = categoryColumn(holdout, column, 'holdout (config.data.protectedGroups)');
    groupsByRow[column] = g;
    for (const [group, rows] of rowsBy(g)) {
      const gy = pick(y, rows);
      groups.push({ column, group, rows: rows.length, positives: count(gy), candidate: rateIntervals(gy, pick(pc, rows), threshold, seed), production: rateIntervals(gy, pick(pp, rows), threshold, seed) });
    }
    const gc = fairnessGaps(groupMetrics(y, pc, g, threshold));
    const gp = fairnessGaps(groupMetrics(y, pp, g, threshold));
    for (const metric of Object.values(FairnessMetrics)) fairness.push({ column, metric, candidate: gc[metric], production: gp[metric] });
  }

  let hard: EvaluationPredictions['hardExamples'];
  let hardExamples: HardExamplesDetail | undefined;
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
      const right = (p: number[], i: number) => (p[i] > threshold ? 1 : 0) === hy[i];
      const all = hy.map((_, i) => i);
      hardExamples = {
        rows: hy.length,
        candidateCorrect: all.filter((i) => right(hc, i)).length,
        productionCorrect: all.filter((i) => right(hp, i)).length,
        newFailures: all.filter((i) => right(hp, i) && !right(hc, i)),
        fixed: all.filter((i) => !right(hp, i) && right(hc, i)).length,
      };
    }
  }

  // The holdout's features against the data the candidate was trained on; a drift report that cannot run (a
  // feature with no values in the training data) leaves the drift chart out rather than failing the evaluation.
  let drift: DriftDetail | undefined;
  try {
    const history = collect.historical ? await readSnapshot(deps.store, collect.historical.uri) : null;
    const training = history ? concatTables([history, fresh], 'training data') : fresh;
    const schema = candidate.features.length ? schemaWith(config, candidate.features) : inferSchema(config, training, 'training data');
    const report = driftReport(toFrame(training, schema), toFrame(holdout, schema), { features: schema.features.map((f) => f.name) });
    drift = {
      reference: `training data (batches ${collect.historical ? 'before ' : ''}${collect.fromBatch}${collect.historical ? '' : ` to ${collect.toBatch - 1}`}, holdout excluded)`,
      current: `holdout (the latest ${y.length} labelled rows of batches ${collect.fromBatch} to ${collect.toBatch - 1})`,
      psiThreshold: report.rule.psiThreshold,
      features: report.features.map((f) => ({
        feature: f.feature,
        kind: f.kind,
        psi: f.psi,
        ...(f.test === 'ks' ? { ks: { statistic: f.statistic, pValue: f.pValue } } : { chiSquare: { statistic: f.statistic, pValue: f.pValue } }),
        missingRate: { reference: f.missing.reference, current: f.missing.current },
        drift: f.drift,
      })),
    };
  } catch (e) {
    deps.log.warn(`evaluate: feature drift report failed: ${(e as Error).message}`, { runWorkflowId: input.runWorkflowId });
  }

  const calibration = { candidate: calibrationBins(y, pc), production: calibrationBins(y, pp) };
  const detail: EvaluationDetail = {
    holdoutRows: y.length,
    baseline,
    confidence: CONFIDENCE,
    intervalMethod: `percentile bootstrap, ${RESAMPLES} resamples (seed ${seed})`,
    models,
    slices,
    groups,
    fairness,
    calibration: { ...calibration, ece: { candidate: eceOf(calibration.candidate, y.length), production: eceOf(calibration.production, y.length) } },
    ...(drift ? { drift } : {}),
    ...(hardExamples ? { hardExamples } : {}),
  };
  const predictions: EvaluationPredictions = {
    runWorkflowId: input.runWorkflowId,
    baseline,
    candidateVersion: input.candidateVersion,
    productionVersion: input.productionVersion,
    holdoutRows: y.length,
    y: Array.from(y),
    candidate: Array.from(pc),
    production: Array.from(pp),
    groups: groupsByRow,
    ...(hard ? { hardExamples: hard } : {}),
  };
  const predictionsUri = await putJson(deps.store, runKey(input.model, input.n, 'predictions.json'), predictions);
  const evaluationUri = await putJson(deps.store, runKey(input.model, input.n, 'evaluation.json'), detail);
  return { evaluationUri, predictionsUri, baseline, holdoutRows: y.length, candidate: models.candidate, production: models.production };
}

/** Row indices per category, categories in order of first appearance. */
function rowsBy(names: readonly string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  names.forEach((s, i) => {
    const rows = out.get(s);
    if (rows) rows.push(i);
    else out.set(s, [i]);
  });
  return out;
}

function pick<T extends Uint8Array | Float64Array>(a: T, rows: readonly number[]): T {
  const out = new (a.constructor as new (n: number) => T)(rows.length);
  rows.forEach((i, k) => (out[k] = a[i]));
  return out;
}

function count(y: Uint8Array): number {
  let k = 0;
  for (let i = 0; i < y.length; i++) k += y[i];
  return k;
}

/**
 * A statistic's percentile bootstrap interval: the same seeded resamples (multiplicities as weights) for both
 * models, so their intervals differ by the models and not by the draw.
 */
function interval(n: number, seed: number, value: number, stat: (w: Float64Array) => number): MetricWithInterval {
  const resampler = new BlockResampler(new Rng(seed), n);
  const counts = new Float64Array(n);
  const stats: number[] = [];
  for (let r = 0; r < RESAMPLES; r++) {
    const v = stat(resampler.counts(counts));
    if (Number.isFinite(v)) stats.push(v);
  }
  stats.sort((a, b) => a - b);
  const q = (t: number) => (stats.length ? stats[Math.min(stats.length - 1, Math.max(0, Math.round(t * (stats.length - 1))))] : value);
  return { value, lower: q((1 - CONFIDENCE) / 2), upper: q(1 - (1 - CONFIDENCE) / 2) };
}

/**
 * A protected group's rates (keyed as reports/ expects: selection_rate, tpr, fpr, accuracy) with intervals; a
 * rate the group cannot have (TPR without positives) is left out.
 */
function rateIntervals(y: Uint8Array, p: Float64Array, threshold: number, seed: number): MetricTable {
  const hit = Uint8Array.from(p, (v) => (v > threshold ? 1 : 0));
  const rate = (w: Float64Array | null, keep: (i: number) => boolean, num: (i: number) => boolean) => {
    let a = 0;
    let b = 0;
    for (let i = 0; i < y.length; i++) {
      if (!keep(i)) continue;
      const wi = w ? w[i] : 1;
      b += wi;
      if (num(i)) a += wi;
    }
    return b > 0 ? a / b : NaN;
  };
  const defs: [string, (i: number) => boolean, (i: number) => boolean][] = [
    ['selection_rate', () => true, (i) => hit[i] === 1],
    ['tpr', (i) => y[i] === 1, (i) => hit[i] === 1],
    ['fpr', (i) => y[i] === 0, (i) => hit[i] === 1],
    ['accuracy', () => true, (i) => hit[i] === y[i]],
  ];
  const out: Record<string, MetricWithInterval> = {};
  for (const [name, keep, num] of defs) {
    const value = rate(null, keep, num);
    if (Number.isFinite(value)) out[name] = interval(y.length, seed, value, (w) => rate(w, keep, num));
  }
  return out;
}

/** Each reported metric with a seeded percentile bootstrap interval. */
function withIntervals(y: Uint8Array, p: Float64Array, seed: number): MetricTable {
  const out: Record<string, MetricWithInterval> = {};
  if (y.length === 0) return out;
  for (const name of REPORTED) {
    const key = PolicyMetrics[name] as MetricName;
    const value = computeMetric(key, y, p);
    if (!Number.isFinite(value)) continue; // AUC with one class: no value, no interval
    out[name] = interval(y.length, seed, value, prepareMetric(key, y, p));
  }
  return out;
}

/** A reliability diagram's bins of equal width; an empty bin is kept (count 0, observed null) so both models share the axis. */
function calibrationBins(y: Uint8Array, p: Float64Array, bins = CALIBRATION_BINS): CalibrationBin[] {
  const n = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p[i] * bins)));
    n[b]++;
    sumP[b] += p[i];
    sumY[b] += y[i];
  }
  return Array.from({ length: bins }, (_, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    meanPredicted: n[b] ? sumP[b] / n[b] : (b + 0.5) / bins,
    observed: n[b] ? sumY[b] / n[b] : null,
    count: n[b],
  }));
}

/** Expected calibration error over the bins: the row-weighted mean gap between predicted and observed. */
function eceOf(bins: readonly CalibrationBin[], n: number): number {
  let s = 0;
  for (const b of bins) if (b.observed !== null) s += (b.count / n) * Math.abs(b.meanPredicted - b.observed);
  return s;
}
