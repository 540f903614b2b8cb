/**
 * The canary watch: live accuracy of the candidate and of production from the prediction log, over the rows
 * whose outcomes arrived in the observation window. A regression needs evidence: at least minLiveRows labelled
 * rows scored by the candidate, and its accuracy below production's by more than liveMargin.
 */
import type { ActivityDeps } from './deps';
import type { ObserveCanaryInput, ObserveCanaryResult } from './types';

export async function observeCanary(deps: ActivityDeps, input: ObserveCanaryInput): Promise<ObserveCanaryResult> {
  const live = await deps.predictionLog.liveMetrics(input.model, { since: input.since, until: input.until });
  const cand = live.get(input.candidateVersion) ?? { rows: 0, correct: 0 };
  const prod = input.productionVersion !== null ? (live.get(input.productionVersion) ?? { rows: 0, correct: 0 }) : { rows: 0, correct: 0 };
  const candidate = { rows: cand.rows, ...(cand.accuracy !== undefined ? { accuracy: cand.accuracy } : {}) };
  const production = { rows: prod.rows, ...(prod.accuracy !== undefined ? { accuracy: prod.accuracy } : {}) };
  const enoughData = cand.rows >= input.minLiveRows && cand.rows > 0 && (input.productionVersion === null || prod.rows > 0);
  if (input.productionVersion === null) {
    return { candidate, production, regression: false, enoughData, why: `no production model to compare with; the candidate's live accuracy is ${show(cand.accuracy)} on ${cand.rows} rows` };
  }
  if (!enoughData) {
    return { candidate, production, regression: false, enoughData, why: `not enough live data: ${cand.rows} labelled candidate rows (need ${input.minLiveRows}) and ${prod.rows} production rows` };
  }
  const gap = (prod.accuracy as number) - (cand.accuracy as number);
  const regression = gap > input.liveMargin;
  const why = regression
    ? `regression: candidate accuracy ${show(cand.accuracy)} (${cand.rows} rows) is below production's ${show(prod.accuracy)} (${prod.rows} rows) by ${show(gap)} > margin ${input.liveMargin}`
    : `no regression: candidate accuracy ${show(cand.accuracy)} (${cand.rows} rows) vs production ${show(prod.accuracy)} (${prod.rows} rows), within margin ${input.liveMargin}`;
  return { candidate, production, regression, enoughData, why };
}

function show(x: number | undefined): string {
  return x === undefined ? 'n/a' : String(Number(x.toFixed(4)));
}
