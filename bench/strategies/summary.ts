/**
 * From one replay to the figures the benchmark prints: one summary per strategy (a JSON line, a table row, a line
 * in the plot) and the targets, judged by the benchmark itself. Scores count only batches production scored, i.e.
 * every batch after the first model was promoted; the "no change" reference is computed on the same rows.
 */
import { accuracy, addRows, emptyConfusion, kappa, kappaTemporal, noChangeAccuracy } from './metrics';
import type { Labels } from './data';
import type { ReplayResult } from './replay';
import { STRATEGIES } from './strategies';

export interface StrategySummary {
  readonly kind: 'strategy';
  readonly dataset: string;
  readonly strategy: string;
  readonly trainer: string;
  readonly description: string;
  readonly driftTriggered: boolean;
  readonly batches: number;
  /** Batches counted in the scores (from the common first batch on), and the first of them. */
  readonly scoredBatches: number;
  readonly firstScoredBatch: number | null;
  /** The first batch production scored at all. */
  readonly firstProductionBatch: number | null;
  readonly scoredRows: number;
  readonly accuracy: number;
  readonly kappa: number;
  readonly kappaTemporal: number;
  readonly noChangeAccuracy: number;
  /** Share of scored rows whose label is positive (chance for a label-blind model is the larger of it and 1 − it). */
  readonly positiveShare: number;
  /** Runs started within the replay (the initial run included), and what became of them. */
  readonly runs: number;
  readonly promotions: number;
  /** Candidates the gate refused (decision not_blessed). */
  readonly rejections: number;
  /** Runs that ended otherwise (failed, validation_failed, …), by decision. */
  readonly otherDecisions: Readonly<Record<string, number>>;
  /** Labelled rows the runs consumed: training sets plus holdouts, summed over runs. */
  readonly labelledRowsUsed: number;
  readonly trainingCpuSeconds: number;
  readonly prequentialViolations: number;
  /** Runs whose validation failed only on ranges and went on anyway (`--validation-ranges warn`). */
  readonly validationRangeOverrides: number;
  readonly wallSeconds: number;
  /** Per scored batch: accuracy, and the version that scored it. */
  readonly perBatch: readonly { batch: number; accuracy: number; version: number }[];
  /** Batches where a newly promoted version first scored. */
  readonly promotionBatches: readonly number[];
  readonly problems: readonly string[];
}

/**
 * `fromBatch`: the first batch that counts. Every strategy is scored from the same batch (the first one the
 * initial model can score), so that a schedule that happens to fire before the initial run does not buy a
 * strategy a different set of rows.
 */
export function summarize(dataset: string, r: ReplayResult, labels: Labels, batchRows: number, fromBatch: number): StrategySummary {
  const c = emptyConfusion();
  const counted = r.batches.filter((b) => b.batch >= fromBatch);
  for (const b of counted) {
    const lo = b.batch * batchRows;
    const y = labels.y.subarray(lo, lo + b.rows);
    addRows(c, b.predictions, y, labels.previous.slice(lo, lo + b.rows));
  }
  const decisions: Record<string, number> = {};
  for (const run of r.runs) decisions[run.decision] = (decisions[run.decision] ?? 0) + 1;
  const { promoted = 0, not_blessed: notBlessed = 0, ...other } = decisions;
  const strategy = STRATEGIES.find((s) => s.name === r.strategy);
  return {
    kind: 'strategy',
    dataset,
    strategy: r.strategy,
    trainer: r.trainer,
    description: strategy?.description ?? r.strategy,
    driftTriggered: strategy?.driftTriggered ?? false,
    batches: r.totalBatches,
    scoredBatches: counted.length,
    firstScoredBatch: counted.length ? counted[0].batch : null,
    firstProductionBatch: r.batches.length ? r.batches[0].batch : null,
    scoredRows: c.n,
    accuracy: round(accuracy(c)),
    kappa: round(kappa(c)),
    kappaTemporal: round(kappaTemporal(c)),
    noChangeAccuracy: round(noChangeAccuracy(c)),
    positiveShare: c.n ? round(c.actualPositive / c.n) : NaN,
    runs: r.runs.length,
    promotions: promoted,
    rejections: notBlessed,
    otherDecisions: other,
    labelledRowsUsed: r.runs.reduce((s, x) => s + x.trainingRows + x.holdoutRows, 0),
    trainingCpuSeconds: round(r.runs.reduce((s, x) => s + x.cpuSeconds, 0), 2),
    prequentialViolations: r.prequentialViolations.length,
    validationRangeOverrides: r.rangeOverrides,
    wallSeconds: round(r.wallSeconds, 1),
    perBatch: r.batches.map((b) => ({ batch: b.batch, accuracy: round(b.correct / b.rows), version: b.versions[0] })),
    promotionBatches: r.promotionsAt.map((p) => p.batch),
    problems: r.problems,
  };
}

export interface TargetResult {
  readonly kind: 'target';
  readonly dataset: string;
  readonly trainer: string;
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

/**
 * The issue's targets: the best drift-triggered strategy among those with at most half of weekly's retrains is
 * within 1 point of weekly's accuracy; stretch: some drift-triggered strategy at 80% or better with at most 60 retrains.
 * "Weekly" is the best of the weekly strategies; a strategy's retrains are its runs after the initial one.
 */
export function judgeTargets(dataset: string, trainer: string, summaries: readonly StrategySummary[]): TargetResult[] {
  const retrains = (s: StrategySummary) => Math.max(0, s.runs - 1);
  // A strategy that never had a production model scored nothing: it counts as 0 here, and says so in the detail.
  const acc = (s: StrategySummary) => (typeof s.accuracy === 'number' && Number.isFinite(s.accuracy) ? s.accuracy : 0);
  const weekly = summaries.filter((s) => s.strategy.startsWith('weekly')).sort((a, b) => acc(b) - acc(a))[0];
  const drift = summaries.filter((s) => s.driftTriggered).sort((a, b) => acc(b) - acc(a));
  const out: TargetResult[] = [];
  if (weekly && drift.length) {
    // The best drift-triggered strategy that keeps to the retrain budget (half of weekly's), by accuracy.
    const eligible = drift.filter((d) => d.scoredRows > 0 && retrains(d) <= retrains(weekly) / 2);
    const best = eligible[0];
    const pass = best !== undefined && acc(best) >= acc(weekly) - 0.01;
    const top = drift[0];
    out.push({
      kind: 'target',
      dataset,
      trainer,
      name: 'drift within 1 point of weekly with at most half the retrains',
      pass,
      detail: `${best ? `best drift-triggered within ${Math.floor(retrains(weekly) / 2)} retrains: ${best.strategy} ${pct(best.accuracy)} with ${retrains(best)} retrains` : `no drift-triggered strategy within ${Math.floor(retrains(weekly) / 2)} retrains has a model`}; ${weekly.strategy}: ${pct(weekly.accuracy)} with ${retrains(weekly)} retrains; most accurate drift-triggered: ${top.strategy} ${pct(top.accuracy)} with ${retrains(top)} retrains`,
    });
  }
  if (drift.length) {
    const hit = drift.find((s) => acc(s) >= 0.8 && retrains(s) <= 60);
    const best = drift[0];
    out.push({
      kind: 'target',
      dataset,
      trainer,
      name: 'stretch: a drift-triggered strategy at 80% or more with at most 60 retrains',
      pass: hit !== undefined,
      detail: hit ? `${hit.strategy}: ${pct(hit.accuracy)} with ${retrains(hit)} retrains` : `best drift-triggered ${best.strategy}: ${pct(best.accuracy)} with ${retrains(best)} retrains`,
    });
  }
  return out;
}

export function pct(x: number | null): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : 'no model';
}

function round(x: number, digits = 4): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
