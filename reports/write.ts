/**
 * Stores a rendered run report next to its JSON: `reports/<model>/<n>.html` and `.md` by default. It needs only
 * a `put(key, body)`, which the artifact store has, so tests and the CLI can pass anything that writes.
 */
import type { RunReport } from '../activities/types';
import { renderRunReport } from './run-report';
import type { EvaluationDetail } from './types';

export interface ReportSink {
  put(key: string, body: string | Uint8Array, options?: { contentType?: string }): Promise<string>;
}

/** Renders and writes both files; returns their URIs as the sink reports them. */
export async function writeRunReport(
  sink: ReportSink,
  report: RunReport,
  options: { detail?: EvaluationDetail; validation?: unknown; keyPrefix?: string } = {},
): Promise<{ htmlUri: string; markdownUri: string }> {
  const { html, markdown } = await renderRunReport(report, options.detail, options.validation);
  const prefix = options.keyPrefix ?? `reports/${report.model}/${report.n}`;
  const htmlUri = await sink.put(`${prefix}.html`, html, { contentType: 'text/html; charset=utf-8' });
  const markdownUri = await sink.put(`${prefix}.md`, markdown, { contentType: 'text/markdown; charset=utf-8' });
  return { htmlUri, markdownUri };
}
