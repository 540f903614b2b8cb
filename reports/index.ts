/**
 * Run and monitor reports: self-contained HTML pages with server-rendered Vega-Lite charts, and Markdown
 * summaries. The activity layer renders a run's report with `renderRunReport` and stores both files; the evaluate
 * activity writes its detail artifact in the `EvaluationDetail` shape defined here.
 */
export { renderRunReport } from './run-report';
export { renderMonitorReport } from './monitor-report';
export { writeRunReport, type ReportSink } from './write';
export { renderSvg, type VegaLiteSpec } from './vega';
export * from './types';
