/**
 * The writeReport stage: the run's JSON report as an artifact at `reports/<model>/<n>/report.json`, everything
 * the HTML report needs, and beside it the rendered `report.html` and `report.md` (reports/), which also read the
 * evaluation detail and the validation report when the run got that far. The JSON is the record: a renderer
 * failure is logged, not fatal.
 */
import { writeRunReport } from '../reports/index';
import type { ActivityDeps } from './deps';
import { putJson } from './common';
import type { WriteReportInput, WriteReportResult } from './types';

export async function writeReport(deps: ActivityDeps, input: WriteReportInput): Promise<WriteReportResult> {
  const { report } = input;
  const base = `reports/${report.model}/${report.n}`;
  const reportUri = await putJson(deps.store, `${base}/report.json`, report);
  let htmlUri: string | undefined;
  try {
    const detail = report.evaluation ? await deps.store.getJson(report.evaluation.evaluationUri) : undefined;
    const validation = report.validation?.reportUri ? await deps.store.getJson(report.validation.reportUri) : undefined;
    const out = await writeRunReport(deps.store, report, { ...(detail ? { detail: detail as never } : {}), ...(validation ? { validation } : {}), keyPrefix: `${base}/report` });
    htmlUri = out.htmlUri;
  } catch (e) {
    deps.log.warn(`writeReport: rendering the HTML/Markdown report failed: ${(e as Error).message}`, { runWorkflowId: report.runWorkflowId });
  }
  return { reportUri, ...(htmlUri ? { htmlUri } : {}) };
}
