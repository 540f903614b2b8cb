/**
 * The writeReport stage: the run's JSON report as an artifact at `reports/<model>/<n>/report.json`, everything
 * the HTML report needs, and beside it the rendered `report.html` and `report.md` (reports/), drawn from the
 * evaluation artifact (with the gate's fairness widening tests merged in, since the gate runs after evaluate)
 * and the validation report, when the run got that far. The JSON is the record: a renderer failure is logged,
 * not fatal.
 */
import type { Check } from '../ml/policy';
import { writeRunReport, type EvaluationDetail, type FairnessGapDetail } from '../reports/index';
import type { ActivityDeps } from './deps';
import { putJson } from './common';
import type { RunReport, WriteReportInput, WriteReportResult } from './types';

export async function writeReport(deps: ActivityDeps, input: WriteReportInput): Promise<WriteReportResult> {
  const { report } = input;
  const base = `reports/${report.model}/${report.n}`;
  const reportUri = await putJson(deps.store, `${base}/report.json`, report);
  let htmlUri: string | undefined;
  try {
    const detail = report.evaluation ? withGate(await deps.store.getJson<EvaluationDetail>(report.evaluation.evaluationUri), report) : undefined;
    const validation = report.validation?.reportUri ? validationView(await deps.store.getJson<unknown>(report.validation.reportUri)) : undefined;
    const out = await writeRunReport(deps.store, report, { ...(detail ? { detail } : {}), ...(validation ? { validation } : {}), keyPrefix: `${base}/report` });
    htmlUri = out.htmlUri;
  } catch (e) {
    deps.log.warn(`writeReport: rendering the HTML/Markdown report failed: ${(e as Error).message}`, { runWorkflowId: report.runWorkflowId });
  }
  return { reportUri, ...(htmlUri ? { htmlUri } : {}) };
}

/**
 * The evaluation detail with each fairness gap's widening test from the blessing (`fairness:<metric>` checks on
 * the policy's group column): the estimate, its lower confidence bound, the allowed widening and the verdict.
 */
export function withGate(detail: EvaluationDetail, report: Pick<RunReport, 'gate' | 'config'>): EvaluationDetail {
  const column = report.config.evaluation.policy.fairness?.groupColumn;
  const checks = new Map<string, Check>((report.gate?.blessing.checks ?? []).filter((c) => c.kind === 'fairness').map((c) => [c.name, c]));
  if (!column || checks.size === 0 || !Array.isArray(detail.fairness)) return detail;
  const fairness = detail.fairness.map((f): FairnessGapDetail => {
    const c = f.column === column ? checks.get(`fairness:${f.metric}`) : undefined;
    return c ? { ...f, widening: { estimate: c.estimate, lower: c.lower }, maxWidening: c.threshold, pass: c.pass } : f;
  });
  return { ...detail, fairness };
}

/** ml/data's validation report lists its columns; the report counts them. */
function validationView(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || !Array.isArray((v as { columns?: unknown }).columns)) return v;
  return { ...v, columns: (v as { columns: unknown[] }).columns.length };
}
