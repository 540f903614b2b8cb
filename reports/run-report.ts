/**
 * Renders one retraining run's report: a self-contained HTML page (inline CSS, inline SVG charts from Vega-Lite,
 * no scripts, no network) and a Markdown summary of the same facts. It draws whatever the run produced: a run
 * that ended early (a failed validation has no training or evaluation) renders the parts it has and says, in the
 * place of each missing part, what is missing and why.
 */
import type { RunReport, Snapshot } from '../activities/types';
import type { Check } from '../ml/policy';
import type { StageRecord } from '../workflows/definitions';
import {
  calibrationChart,
  driftChart,
  forestChart,
  gapsChart,
  intervalBarsChart,
  timelineChart,
  type CalibrationRow,
  type DriftRow,
  type GapLimit,
  type GapRow,
  type IntervalRow,
  type TimelineRow,
} from './charts';
import { between, duration, html, int, interval, md, num, pct, pValue, signed, when } from './format';
import { figure, keyValues, mdTable, missing, page, passFail, section, table } from './html';
import type { EvaluationDetail, MetricTable, ModelPair, RenderedReport, ValidationDetail } from './types';
import { renderSvg } from './vega';

/** Metrics where lower is better (ml/metrics' directions, by the policy's metric names). */
const LOWER_IS_BETTER = new Set(['log_loss', 'brier', 'ece']);

const METRIC_LABELS: Readonly<Record<string, string>> = {
  roc_auc: 'ROC AUC',
  accuracy: 'accuracy',
  log_loss: 'log loss',
  brier: 'Brier score',
  ece: 'calibration error (ECE)',
  precision: 'precision',
  recall: 'recall',
  f1: 'F1',
  selection_rate: 'selection rate',
  tpr: 'true positive rate',
  fpr: 'false positive rate',
};

function metricLabel(m: string): string {
  const label = METRIC_LABELS[m] ?? m;
  return LOWER_IS_BETTER.has(m) || m === 'fpr' ? `${label} ↓` : label;
}

const GOOD_DECISIONS = new Set(['promoted']);
const NEUTRAL_DECISIONS = new Set(['canceled', 'not_blessed', 'rejected']);

/** Everything computed once and shared by the HTML and Markdown renderers. */
interface Context {
  readonly report: RunReport;
  readonly detail?: EvaluationDetail;
  readonly validation?: ValidationDetail;
  readonly models: readonly [string, string];
  readonly lastStage: string;
}

/**
 * Renders a run's report. `detail` is the evaluate stage's artifact (at `report.evaluation.evaluationUri`) and
 * `validation` the validate stage's (at `report.validation.reportUri`); without them the report shows what the
 * run report itself holds and says what it could not show.
 */
export async function renderRunReport(report: RunReport, detail?: EvaluationDetail, validation?: unknown): Promise<RenderedReport> {
  const baseline = detail?.baseline ?? report.evaluation?.baseline;
  const candidate = report.candidateVersion ?? report.train?.candidateVersion;
  const models: [string, string] = [
    candidate !== undefined ? `candidate v${candidate}` : 'candidate',
    baseline === 'majority' ? 'majority baseline' : report.productionVersion !== null ? `production v${report.productionVersion}` : 'production',
  ];
  const ctx: Context = {
    report,
    detail,
    validation: readValidation(validation),
    models,
    lastStage: [...report.timeline].reverse().find((s) => s.stage !== 'done')?.stage ?? 'the start',
  };
  const charts = await renderCharts(ctx);
  return { html: renderHtml(ctx, charts), markdown: renderMarkdown(ctx) };
}

// ----- who decided ---------------------------------------------------------------------------------------------

function decidedBy(r: RunReport): string {
  if (r.decidedBy) return r.decidedBy;
  switch (r.decision) {
    case 'promoted':
      return r.config.promotion.approvers.length === 0 ? 'the promotion policy (no approval configured)' : 'the promotion policy';
    case 'not_blessed':
      return 'the promotion policy';
    case 'validation_failed':
      return 'data validation';
    case 'rolled_back':
      return 'automatic rollback on live metrics';
    case 'labels_expired':
      return 'nobody: the labeling deadline passed';
    case 'approval_expired':
      return 'nobody: the approval deadline passed';
    case 'canceled':
      return 'cancellation';
    default:
      return 'the system (the run failed)';
  }
}

/** The trigger's one-line detail, which usually starts with its kind already ("drift: 3 alerts …"). */
function triggerText(kind: string, detail: string): string {
  return detail.startsWith(`${kind}:`) ? detail : `${kind}: ${detail}`;
}

function decisionClass(decision: string): string {
  return GOOD_DECISIONS.has(decision) ? 'good' : NEUTRAL_DECISIONS.has(decision) ? 'neutral' : 'bad';
}

/** Why a part of the report is absent, in one sentence. */
function whyMissing(ctx: Context, what: string, needsDetail: boolean): string {
  const { report } = ctx;
  if (!report.evaluation) {
    return `No ${what}: the run ended as ${report.decision} at ${ctx.lastStage}, before the evaluate stage ran.`;
  }
  if (needsDetail && !ctx.detail) {
    return `No ${what}: the evaluation detail (${report.evaluation.evaluationUri}) was not available to the report.`;
  }
  return `No ${what} in this evaluation.`;
}

// ----- data for charts and tables -------------------------------------------------------------------------------

function timelineRows(r: RunReport): TimelineRow[] {
  const t0 = Date.parse(r.startedAt);
  const end = Date.parse(r.endedAt);
  return r.timeline
    .filter((s) => s.stage !== 'done')
    .map((s) => {
      const start = Date.parse(s.startedAt) - t0;
      const stop = (s.endedAt ? Date.parse(s.endedAt) : end) - t0;
      const retries = s.retries ?? 0;
      const label = `${duration(stop - start)}${retries > 0 ? ` · ${retries} ${retries === 1 ? 'retry' : 'retries'}` : ''}${s.endedAt ? '' : ' · did not finish'}`;
      return { stage: s.stage, startMs: Math.max(0, start), endMs: Math.max(0, stop), retries, open: !s.endedAt, label };
    })
    .filter((s) => Number.isFinite(s.startMs) && Number.isFinite(s.endMs));
}

/** The holdout metrics: from the detail when there is one, else the run report's small summary. */
function holdoutMetrics(ctx: Context): ModelPair | undefined {
  if (ctx.detail) return ctx.detail.models;
  const e = ctx.report.evaluation;
  return e ? { candidate: e.candidate, production: e.production } : undefined;
}

function intervalRows(pair: ModelPair, models: readonly [string, string], item: (metric: string) => string, panel: (metric: string) => string, metrics?: readonly string[]): IntervalRow[] {
  const rows: IntervalRow[] = [];
  for (const metric of metrics ?? Object.keys(pair.candidate)) {
    ([
      [models[0], pair.candidate],
      [models[1], pair.production],
    ] as const).forEach(([model, table]: readonly [string, MetricTable]) => {
      const m = table[metric];
      if (!m || !Number.isFinite(m.value)) return;
      const lower = Number.isFinite(m.lower) ? m.lower : m.value;
      const upper = Number.isFinite(m.upper) ? m.upper : m.value;
      rows.push({ item: item(metric), panel: panel(metric), model, value: m.value, lower, upper });
    });
  }
  return rows;
}

/** Metrics drawn per slice: the policy's primary metric and accuracy, those the detail has. */
function sliceMetrics(ctx: Context): string[] {
  const available = new Set(ctx.detail?.slices.flatMap((s) => Object.keys(s.candidate)) ?? []);
  const wanted = [ctx.report.config.evaluation.policy.primary.metric, 'accuracy'];
  const chosen = [...new Set(wanted)].filter((m) => available.has(m));
  return chosen.length > 0 ? chosen : [...available].slice(0, 2);
}

const GROUP_RATES = ['selection_rate', 'tpr', 'fpr', 'accuracy'];

function groupMetrics(ctx: Context): string[] {
  const available = new Set(ctx.detail?.groups.flatMap((g) => Object.keys(g.candidate)) ?? []);
  const known = GROUP_RATES.filter((m) => available.has(m));
  return known.length > 0 ? known : [...available].slice(0, 4);
}

function sliceName(column: string, value: string): string {
  return `${column} = ${value}`;
}

function gapName(metric: string, column: string): string {
  return `${metric.replace(/_/g, ' ')} (${column})`;
}

function checkList(r: RunReport): readonly Check[] {
  return r.gate?.blessing.checks ?? [];
}

// ----- charts --------------------------------------------------------------------------------------------------

type Charts = Partial<Record<'timeline' | 'forest' | 'slices' | 'groups' | 'fairness' | 'calibration' | 'drift', string>>;

async function renderCharts(ctx: Context): Promise<Charts> {
  const { report, detail, models } = ctx;
  const specs: [keyof Charts, Record<string, unknown>][] = [];
  const timeline = timelineRows(report);
  if (timeline.length > 0) specs.push(['timeline', timelineChart(timeline)]);
  const holdout = holdoutMetrics(ctx);
  if (holdout) {
    const rows = intervalRows(holdout, models, metricLabel, metricLabel);
    if (rows.length > 0) specs.push(['forest', forestChart(rows, models)]);
  }
  if (detail && detail.slices.length > 0) {
    const metrics = sliceMetrics(ctx);
    const rows = detail.slices.flatMap((s) => intervalRows(s, models, () => sliceName(s.column, s.value), metricLabel, metrics));
    if (rows.length > 0) specs.push(['slices', intervalBarsChart(rows, models, detail.slices.map((s) => sliceName(s.column, s.value)))]);
  }
  if (detail && detail.groups.length > 0) {
    const metrics = groupMetrics(ctx);
    const rows = detail.groups.flatMap((g) => intervalRows(g, models, () => sliceName(g.column, g.group), metricLabel, metrics));
    if (rows.length > 0) specs.push(['groups', intervalBarsChart(rows, models, detail.groups.map((g) => sliceName(g.column, g.group)))]);
  }
  if (detail && detail.fairness.length > 0) {
    const rows: GapRow[] = detail.fairness.flatMap((f) => [
      { gap: gapName(f.metric, f.column), model: models[0], value: f.candidate },
      { gap: gapName(f.metric, f.column), model: models[1], value: f.production },
    ]);
    const limits: GapLimit[] = detail.fairness
      .filter((f) => f.maxWidening !== undefined)
      .map((f) => ({ gap: gapName(f.metric, f.column), limit: f.production + (f.maxWidening ?? 0) }));
    specs.push(['fairness', gapsChart(rows.filter((r) => Number.isFinite(r.value)), limits, models)]);
  }
  if (detail?.calibration) {
    const rows: CalibrationRow[] = [];
    for (const [model, bins] of [
      [models[0], detail.calibration.candidate],
      [models[1], detail.calibration.production],
    ] as const) {
      for (const b of bins) if (b.observed !== null && b.count > 0) rows.push({ model, predicted: b.meanPredicted, observed: b.observed, count: b.count });
    }
    if (rows.length > 0) specs.push(['calibration', calibrationChart(rows, models)]);
  }
  if (detail?.drift && detail.drift.features.length > 0) {
    const rows: DriftRow[] = [...detail.drift.features]
      .sort((a, b) => b.psi - a.psi)
      .map((f) => ({
        feature: f.feature,
        psi: Number.isFinite(f.psi) ? f.psi : 0,
        ks: f.ks ? f.ks.statistic : null,
        missingReference: f.missingRate.reference,
        missingCurrent: f.missingRate.current,
        drift: f.drift,
      }));
    specs.push(['drift', driftChart(rows, detail.drift.psiThreshold ?? 0.2)]);
  }
  const svgs = await Promise.all(specs.map(([, spec]) => renderSvg(spec)));
  return Object.fromEntries(specs.map(([name], i) => [name, svgs[i]]));
}

// ----- validation input ------------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads the fields of a validation document the report shows, ignoring anything malformed. */
function readValidation(v: unknown): ValidationDetail | undefined {
  if (!isRecord(v)) return undefined;
  const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
  const count = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
  const findings = (list: unknown) =>
    Array.isArray(list)
      ? list.filter(isRecord).map((f) => ({
          column: str(f.column),
          check: str(f.check) ?? 'check',
          message: str(f.message) ?? '',
          rows: Array.isArray(f.rows) ? f.rows.filter((r): r is number => typeof r === 'number') : undefined,
          count: count(f.count),
        }))
      : undefined;
  const failures = findings(v.failures);
  const warnings = findings(v.warnings);
  const checks = Array.isArray(v.checks)
    ? v.checks.filter(isRecord).map((c) => ({ column: str(c.column), check: str(c.check) ?? 'check', passed: c.passed === true, message: str(c.message) }))
    : undefined;
  return { rows: count(v.rows), columns: count(v.columns), failures, ...(warnings ? { warnings } : {}), checks };
}

function rowList(rows: readonly number[] | undefined, count: number | undefined): string {
  if (!rows || rows.length === 0) return count !== undefined ? `${int(count)} rows` : '—';
  const shown = rows.slice(0, 12).join(', ');
  const total = count ?? rows.length;
  return total > Math.min(rows.length, 12) ? `${shown} … (${int(total)} rows)` : shown;
}

/** The failures to show: the validation document's (with row numbers) when given, else the run report's. */
function validationFailures(ctx: Context): { column?: string; check: string; message: string; rows?: readonly number[]; count?: number }[] {
  if (ctx.validation?.failures && ctx.validation.failures.length > 0) return [...ctx.validation.failures];
  return [...(ctx.report.validation?.failures ?? [])];
}

/**
 * The warnings to show (checks that did not fail the batch, such as a distribution shift): the validation
 * document's, which has them all with row numbers, when given; else the run report's (at most 10).
 */
function validationWarnings(ctx: Context): { column?: string; check: string; message: string; rows?: readonly number[]; count?: number }[] {
  if (ctx.validation?.warnings) return [...ctx.validation.warnings];
  return [...(ctx.report.validation?.warnings ?? [])];
}

function countOf(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? '' : 's'}`;
}

// ----- HTML ----------------------------------------------------------------------------------------------------

function renderHtml(ctx: Context, charts: Charts): string {
  const { report } = ctx;
  const title = `Run ${report.runWorkflowId}: ${report.decision}`;
  const parts = [
    htmlHeader(ctx),
    htmlTimeline(ctx, charts),
    htmlHoldout(ctx, charts),
    htmlSlices(ctx, charts),
    htmlFairness(ctx, charts),
    htmlCalibration(ctx, charts),
    htmlDrift(ctx, charts),
    htmlValidation(ctx),
    htmlRollout(ctx),
    htmlLineage(ctx),
    `<footer>Rendered by Retrain from ${html(report.runWorkflowId)}'s run report.</footer>`,
  ];
  return page(title, parts.join('\n'));
}

function htmlHeader(ctx: Context): string {
  const r = ctx.report;
  const t = r.trigger;
  const rows: [string, string][] = [
    ['Decision', `<span class="decision ${decisionClass(r.decision)}">${html(r.decision)}</span>`],
    ['Decided by', html(decidedBy(r))],
    ['Trigger', `${html(triggerText(t.kind, t.detail))}${t.requestedBy ? ` (requested by ${html(t.requestedBy)})` : ''}`],
    ['Started', html(when(r.startedAt))],
    ['Ended', `${html(when(r.endedAt))} (${html(duration(between(r.startedAt, r.endedAt)))})`],
    ['Production version', r.productionVersion === null ? 'none' : `v${int(r.productionVersion)}`],
    ['Candidate version', ctx.report.candidateVersion !== undefined ? `v${int(ctx.report.candidateVersion)}` : 'none (no candidate trained)'],
  ];
  if (r.error) rows.push(['Error', `<code>${html(r.error)}</code>`]);
  const blessing = r.gate?.blessing;
  return `<header class="report">
<h1>${html(r.model)} · run ${html(r.n)}</h1>
<p class="description">${r.config.description ? html(r.config.description) : ''}</p>
<p><code>${html(r.runWorkflowId)}</code></p>
${keyValues(rows)}
${blessing ? `<p><strong>Promotion policy:</strong> ${blessing.promote ? '<span class="pass">blessed</span>' : '<span class="fail">not blessed</span>'}. ${html(blessing.summary)}</p>` : ''}
</header>`;
}

function htmlTimeline(ctx: Context, charts: Charts): string {
  const r = ctx.report;
  if (r.timeline.length === 0) return section('timeline', 'Stages', missing('No stages were recorded for this run.'));
  const t0 = r.startedAt;
  const rows = r.timeline.map((s: StageRecord) => [
    html(s.stage),
    html(duration(between(t0, s.startedAt))),
    s.endedAt ? html(duration(between(s.startedAt, s.endedAt))) : 'did not finish',
    int(s.retries ?? 0),
    html(s.note ?? ''),
  ]);
  const chart = charts.timeline ? figure('timeline', charts.timeline, 'Each stage on the run\u2019s elapsed time, labelled with its duration and retries.') : '';
  return section(
    'timeline',
    'Stages',
    `${chart}\n${table([{ title: 'stage' }, { title: 'started after', numeric: true }, { title: 'duration', numeric: true }, { title: 'retries', numeric: true }, { title: 'note' }], rows)}`,
  );
}

function htmlHoldout(ctx: Context, charts: Charts): string {
  const r = ctx.report;
  const pair = holdoutMetrics(ctx);
  if (!pair) return section('holdout', 'Candidate against production on the holdout', missing(whyMissing(ctx, 'holdout evaluation', false)));
  const confidence = ctx.detail?.confidence ?? 0.95;
  const rowsCount = ctx.detail?.holdoutRows ?? r.evaluation?.holdoutRows;
  const [cand, prod] = ctx.models;
  const metricRows = Object.keys(pair.candidate).map((m) => {
    const c = pair.candidate[m];
    const p = pair.production[m];
    return [html(metricLabel(m)), html(interval(c)), html(interval(p)), html(signed(c && p ? c.value - p.value : undefined))];
  });
  let out = `<p>${int(rowsCount)} holdout rows that neither model saw in training; intervals at ${pct(confidence, 0)} confidence${ctx.detail?.intervalMethod ? ` (${html(ctx.detail.intervalMethod)})` : ''}. ↓ marks metrics where lower is better.</p>`;
  if (charts.forest) out += figure('forest', charts.forest, `Forest plot: each model\u2019s estimate (dot) and ${pct(confidence, 0)} interval (line), per metric.`);
  out += table([{ title: 'metric' }, { title: cand, numeric: true }, { title: prod, numeric: true }, { title: 'difference', numeric: true }], metricRows);
  const checks = checkList(r);
  if (checks.length > 0) {
    out += `<h3>Promotion policy checks</h3>`;
    out += table(
      [{ title: 'check' }, { title: 'candidate', numeric: true }, { title: 'production', numeric: true }, { title: 'difference', numeric: true }, { title: 'bound', numeric: true }, { title: 'threshold', numeric: true }, { title: 'p', numeric: true }, { title: 'result' }, { title: 'why' }],
      checks.map((c) => [
        html(c.name),
        html(num(c.candidate)),
        html(num(c.production)),
        html(signed(c.estimate)),
        html(c.lower !== null ? `≥ ${num(c.lower)}` : c.upper !== null ? `≤ ${num(c.upper)}` : '—'),
        html(num(c.threshold)),
        html(pValue(c.pValue)),
        passFail(c.pass),
        html(c.why),
      ]),
    );
  } else {
    out += missing(r.gate ? 'The promotion policy recorded no checks.' : `No promotion policy checks: the run ended as ${r.decision} at ${ctx.lastStage}, before the gate stage ran.`);
  }
  const hard = ctx.detail?.hardExamples;
  if (hard) {
    out += `<h3>Hard examples</h3><p>${int(hard.rows)} known-hard examples: the candidate gets ${int(hard.candidateCorrect)} right, production ${int(hard.productionCorrect)}; ${int(hard.newFailures.length)} new failures${hard.newFailures.length > 0 ? ` (rows ${html(hard.newFailures.slice(0, 20).join(', '))}${hard.newFailures.length > 20 ? ', …' : ''})` : ''}, ${int(hard.fixed)} fixed.</p>`;
  }
  return section('holdout', 'Candidate against production on the holdout', out);
}

function metricTable(ctx: Context, items: readonly { name: string; rows: number; pair: ModelPair }[], metrics: readonly string[]): string {
  const [cand, prod] = ctx.models;
  const columns = [{ title: 'part' }, { title: 'rows', numeric: true }, ...metrics.flatMap((m) => [{ title: `${metricLabel(m)}: ${cand}`, numeric: true }, { title: `${metricLabel(m)}: ${prod}`, numeric: true }])];
  const rows = items.map((it) => [html(it.name), int(it.rows), ...metrics.flatMap((m) => [html(interval(it.pair.candidate[m])), html(interval(it.pair.production[m]))])]);
  return table(columns, rows);
}

function htmlSlices(ctx: Context, charts: Charts): string {
  const d = ctx.detail;
  if (!d || d.slices.length === 0) return section('slices', 'Per-slice metrics', missing(whyMissing(ctx, 'per-slice metrics', true)));
  const metrics = sliceMetrics(ctx);
  let out = charts.slices ? figure('slices', charts.slices, 'Per slice: each model\u2019s value (bar) and confidence interval (black line).') : '';
  out += metricTable(ctx, d.slices.map((s) => ({ name: sliceName(s.column, s.value), rows: s.rows, pair: s })), metrics);
  return section('slices', 'Per-slice metrics', out);
}

function htmlFairness(ctx: Context, charts: Charts): string {
  const d = ctx.detail;
  if (!d || (d.groups.length === 0 && d.fairness.length === 0)) return section('fairness', 'Protected groups and fairness', missing(whyMissing(ctx, 'per-group metrics or fairness gaps', true)));
  let out = '';
  if (d.groups.length > 0) {
    out += `<h3>Per-group rates</h3>`;
    if (charts.groups) out += figure('groups', charts.groups, 'Per protected group: selection rate, true and false positive rates and accuracy, with confidence intervals.');
    // One row per group and rate: four rates side by side for two models would not fit a page.
    out += table(
      [{ title: 'group' }, { title: 'rows', numeric: true }, { title: 'rate' }, { title: ctx.models[0], numeric: true }, { title: ctx.models[1], numeric: true }],
      d.groups.flatMap((g) =>
        groupMetrics(ctx).map((m) => [html(sliceName(g.column, g.group)), int(g.rows), html(metricLabel(m)), html(interval(g.candidate[m])), html(interval(g.production[m]))]),
      ),
    );
  } else out += missing('No per-group metrics in this evaluation.');
  if (d.fairness.length > 0) {
    out += `<h3>Fairness gaps</h3>`;
    if (charts.fairness) out += figure('fairness', charts.fairness, 'Largest minus smallest group rate for each model; the red tick is the widest gap the policy allows.');
    out += table(
      [{ title: 'gap' }, { title: ctx.models[0], numeric: true }, { title: ctx.models[1], numeric: true }, { title: 'widening', numeric: true }, { title: 'lower bound', numeric: true }, { title: 'max widening', numeric: true }, { title: 'result' }],
      d.fairness.map((f) => [
        html(gapName(f.metric, f.column)),
        html(num(f.candidate)),
        html(num(f.production)),
        html(signed(f.widening?.estimate ?? f.candidate - f.production)),
        html(num(f.widening?.lower ?? null)),
        html(num(f.maxWidening ?? null)),
        passFail(f.pass),
      ]),
    );
  } else out += missing('No fairness gaps in this evaluation (the policy has no fairness section).');
  return section('fairness', 'Protected groups and fairness', out);
}

function htmlCalibration(ctx: Context, charts: Charts): string {
  const c = ctx.detail?.calibration;
  if (!c) return section('calibration', 'Calibration', missing(whyMissing(ctx, 'calibration bins', true)));
  let out = charts.calibration ? figure('calibration', charts.calibration, 'Reliability diagram: observed positive rate per bin of predicted probability; the dashed diagonal is perfect calibration, dot size the rows in the bin.') : missing('Every calibration bin is empty.');
  if (c.ece) out += `<p>Expected calibration error: ${html(ctx.models[0])} ${num(c.ece.candidate)}, ${html(ctx.models[1])} ${num(c.ece.production)}.</p>`;
  const bins = c.candidate.map((b, i) => {
    const p = c.production[i];
    return [`${num(b.lower, 2)}–${num(b.upper, 2)}`, num(b.meanPredicted), num(b.observed), int(b.count), p ? num(p.meanPredicted) : '—', p ? num(p.observed) : '—', p ? int(p.count) : '—'];
  });
  out += `<details><summary>Bins</summary>${table(
    [{ title: 'bin' }, { title: `${ctx.models[0]} predicted`, numeric: true }, { title: 'observed', numeric: true }, { title: 'rows', numeric: true }, { title: `${ctx.models[1]} predicted`, numeric: true }, { title: 'observed', numeric: true }, { title: 'rows', numeric: true }],
    bins.map((r) => r.map(html)),
  )}</details>`;
  return section('calibration', 'Calibration', out);
}

function htmlDrift(ctx: Context, charts: Charts): string {
  const d = ctx.detail?.drift;
  if (!d || d.features.length === 0) return section('drift', 'Feature drift', missing(whyMissing(ctx, 'feature drift', true)));
  const drifted = d.features.filter((f) => f.drift).map((f) => f.feature);
  let out = `<p>${d.reference ? html(d.reference) : 'training reference'} against ${d.current ? html(d.current) : 'the new data'}: ${drifted.length === 0 ? 'no feature drifted' : `${int(drifted.length)} of ${int(d.features.length)} features drifted (${html(drifted.join(', '))})`}.</p>`;
  if (charts.drift) out += figure('drift', charts.drift, `PSI per feature (dashed line: ${num(d.psiThreshold ?? 0.2, 2)}), the Kolmogorov-Smirnov statistic of numeric features, and missing rates in the reference and the new data.`);
  out += table(
    [{ title: 'feature' }, { title: 'kind' }, { title: 'PSI', numeric: true }, { title: 'KS D', numeric: true }, { title: 'KS p', numeric: true }, { title: 'missing (ref)', numeric: true }, { title: 'missing (new)', numeric: true }, { title: 'drift' }],
    [...d.features]
      .sort((a, b) => b.psi - a.psi)
      .map((f) => [
        html(f.feature),
        html(f.kind),
        html(num(f.psi)),
        html(num(f.ks?.statistic ?? null)),
        html(pValue(f.ks?.pValue ?? f.chiSquare?.pValue)),
        html(pct(f.missingRate.reference)),
        html(pct(f.missingRate.current)),
        f.drift ? '<span class="fail">drifted</span>' : 'stable',
      ]),
  );
  return section('drift', 'Feature drift', out);
}

function htmlValidation(ctx: Context): string {
  const r = ctx.report;
  const v = r.validation;
  if (!v) return section('validation', 'Validation', missing(`No validation result: the run ended as ${r.decision} at ${ctx.lastStage}, before the validate stage finished.`));
  const failures = validationFailures(ctx);
  const warnings = validationWarnings(ctx);
  const warned = warnings.length > 0 ? `, <span class="warn">${html(countOf(warnings.length, 'warning'))}</span>` : '';
  let out = `<p>${v.passed ? '<span class="pass">Passed</span>' : '<span class="fail">Failed</span>'}: ${int(failures.length)} failing ${failures.length === 1 ? 'check' : 'checks'}${warned}${ctx.validation?.rows !== undefined ? ` on ${int(ctx.validation.rows)} rows` : ''}${ctx.validation?.columns !== undefined ? ` × ${int(ctx.validation.columns)} columns` : ''}.</p>`;
  if (failures.length > 0) {
    out += table(
      [{ title: 'column' }, { title: 'check' }, { title: 'message' }, { title: 'rows' }],
      failures.map((f) => [html(f.column ?? '(table)'), html(f.check), html(f.message), html(rowList(f.rows, f.count))]),
    );
  }
  if (warnings.length > 0) {
    out += `<h3>Warnings</h3><p>These did not fail the batch, but say the reference may be stale or the data changed.</p>`;
    out += table(
      [{ title: 'column' }, { title: 'check' }, { title: 'reason' }, { title: 'rows' }],
      warnings.map((w) => [html(w.column ?? '(table)'), html(w.check), html(w.message), html(rowList(w.rows, w.count))]),
      'warnings',
    );
  }
  const passedChecks = ctx.validation?.checks?.filter((c) => c.passed) ?? [];
  if (passedChecks.length > 0) out += `<details><summary>${int(passedChecks.length)} passing checks</summary>${table([{ title: 'column' }, { title: 'check' }, { title: 'message' }], passedChecks.map((c) => [html(c.column ?? '(table)'), html(c.check), html(c.message ?? '')]))}</details>`;
  if (v.reportUri) out += `<p>Full validation report: <code>${html(v.reportUri)}</code></p>`;
  return section('validation', 'Validation', out);
}

function htmlRollout(ctx: Context): string {
  const steps = ctx.report.rollout ?? [];
  if (steps.length === 0) return section('rollout', 'Rollout', missing(ctx.report.decision === 'promoted' ? 'No canary steps were recorded.' : `No rollout: the run ended as ${ctx.report.decision} before any canary traffic.`));
  return section(
    'rollout',
    'Rollout',
    table(
      [{ title: 'canary weight', numeric: true }, { title: 'candidate rows', numeric: true }, { title: 'candidate accuracy', numeric: true }, { title: 'production rows', numeric: true }, { title: 'production accuracy', numeric: true }, { title: 'verdict' }],
      steps.map((s) => {
        const o = s.observation;
        return [pct(s.weight, 0), int(o?.candidate.rows), num(o?.candidate.accuracy), int(o?.production.rows), num(o?.production.accuracy), o ? `${o.regression ? '<span class="fail">regression</span>' : '<span class="pass">ok</span>'} ${html(o.why)}` : 'not observed'];
      }),
    ),
  );
}

function snapshotRow(name: string, s: Snapshot | null | undefined): string[] | undefined {
  return s ? [html(name), `<code>${html(s.uri)}</code>`, `<code>${html(s.sha256.slice(0, 16))}</code>`, int(s.rows)] : undefined;
}

function htmlLineage(ctx: Context): string {
  const r = ctx.report;
  let out = '';
  const c = r.collect;
  if (c) {
    out += `<h3>Data snapshots</h3><p>New data from batches ${int(c.fromBatch)} to ${int(c.toBatch - 1)}.</p>`;
    const rows = [snapshotRow('new data', c.fresh), snapshotRow('history', c.historical), snapshotRow('holdout', c.holdout), snapshotRow('hard examples', c.hardExamples)].filter((x): x is string[] => x !== undefined);
    out += table([{ title: 'snapshot' }, { title: 'URI' }, { title: 'sha256' }, { title: 'rows', numeric: true }], rows);
  } else out += missing(`No data snapshots: the run ended as ${r.decision} at ${ctx.lastStage}, before collect finished.`);
  const t = r.train;
  out += `<h3>Training</h3>`;
  if (t) {
    out += keyValues([
      ['Trainer', html(t.trainer)],
      ['Candidate', `v${int(t.candidateVersion)} <code>${html(t.modelUri)}</code>`],
      ['Training rows', int(t.trainingRows)],
      ...(t.warmStartedFrom !== undefined ? [['Started from', `production v${int(t.warmStartedFrom)} (warm start)`] as [string, string]] : []),
      ...(t.warmStartSkipped !== undefined ? [['Warm start', `skipped, fitted from scratch: ${html(t.warmStartSkipped)}`] as [string, string]] : []),
      ['Training set', `<code>${html(t.trainingSetUri)}</code>`],
      ['Time', `${html(duration(t.wallSeconds * 1000))} wall, ${html(duration(t.cpuSeconds * 1000))} CPU${t.resumedFrom ? `, resumed from iteration ${int(t.resumedFrom.iteration)}` : ''}`],
    ]);
    out += `<details><summary>Trainer parameters</summary><pre>${html(JSON.stringify(t.params, null, 2))}</pre></details>`;
  } else out += missing(`No training: the run ended as ${r.decision} at ${ctx.lastStage}, before a candidate was trained.`);
  const artifacts: [string, string][] = [];
  if (r.validation?.reportUri) artifacts.push(['Validation report', `<code>${html(r.validation.reportUri)}</code>`]);
  if (r.evaluation) artifacts.push(['Evaluation', `<code>${html(r.evaluation.evaluationUri)}</code>`]);
  if (r.gate) artifacts.push(['Blessing', `<code>${html(r.gate.blessingUri)}</code>`]);
  artifacts.push(['Versions', `production ${r.productionVersion === null ? 'none' : `v${int(r.productionVersion)}`}, candidate ${r.candidateVersion !== undefined ? `v${int(r.candidateVersion)}` : 'none'}`]);
  out += `<h3>Artifacts and versions</h3>${keyValues(artifacts)}`;
  out += `<h3>Model config</h3><details><summary>${html(r.config.model)}: trainer ${html(r.config.trainer.kind)}, primary metric ${html(r.config.evaluation.policy.primary.metric)}</summary><pre>${html(JSON.stringify(r.config, null, 2))}</pre></details>`;
  return section('lineage', 'Lineage', out);
}

// ----- Markdown ------------------------------------------------------------------------------------------------

function renderMarkdown(ctx: Context): string {
  const r = ctx.report;
  const lines: string[] = [];
  lines.push(`# ${md(r.model)} · run ${r.n}: ${md(r.decision)}`, '');
  if (r.config.description) lines.push(md(r.config.description), '');
  lines.push(
    `- **Decision:** ${md(r.decision)}, by ${md(decidedBy(r))}`,
    `- **Run:** \`${r.runWorkflowId.replace(/`/g, "'")}\``,
    `- **Trigger:** ${md(triggerText(r.trigger.kind, r.trigger.detail))}${r.trigger.requestedBy ? ` (requested by ${md(r.trigger.requestedBy)})` : ''}`,
    `- **Time:** ${when(r.startedAt)} to ${when(r.endedAt)} (${duration(between(r.startedAt, r.endedAt))})`,
    `- **Versions:** production ${r.productionVersion === null ? 'none' : `v${r.productionVersion}`}, candidate ${r.candidateVersion !== undefined ? `v${r.candidateVersion}` : 'none'}`,
  );
  if (r.error) lines.push(`- **Error:** ${md(r.error)}`);
  if (r.gate) lines.push(`- **Promotion policy:** ${r.gate.blessing.promote ? 'blessed' : 'not blessed'}. ${md(r.gate.blessing.summary)}`);
  lines.push('', '## Stages', '');
  lines.push(
    mdTable(
      ['stage', 'duration', 'retries', 'note'],
      r.timeline.map((s) => [md(s.stage), s.endedAt ? duration(between(s.startedAt, s.endedAt)) : 'did not finish', String(s.retries ?? 0), md(s.note ?? '')]),
      [false, true, true, false],
    ),
  );

  lines.push('', '## Holdout', '');
  const pair = holdoutMetrics(ctx);
  if (pair) {
    const [cand, prod] = ctx.models;
    lines.push(`${int(ctx.detail?.holdoutRows ?? r.evaluation?.holdoutRows)} rows; ${pct(ctx.detail?.confidence ?? 0.95, 0)} intervals.`, '');
    lines.push(
      mdTable(
        ['metric', cand, prod, 'difference'],
        Object.keys(pair.candidate).map((m) => {
          const c = pair.candidate[m];
          const p = pair.production[m];
          return [md(metricLabel(m)), interval(c), interval(p), signed(c && p ? c.value - p.value : undefined)];
        }),
        [false, true, true, true],
      ),
    );
    const checks = checkList(r);
    if (checks.length > 0) {
      lines.push('', mdTable(['check', 'difference', 'p', 'result', 'why'], checks.map((c) => [md(c.name), signed(c.estimate), pValue(c.pValue), c.pass ? 'pass' : '**fail**', md(c.why)])));
    }
  } else lines.push(`_${md(whyMissing(ctx, 'holdout evaluation', false))}_`);

  const d = ctx.detail;
  lines.push('', '## Slices and groups', '');
  if (d && (d.slices.length > 0 || d.groups.length > 0)) {
    const metric = sliceMetrics(ctx)[0] ?? 'accuracy';
    if (d.slices.length > 0) {
      lines.push(mdTable(['slice', 'rows', `${metricLabel(metric)}: ${ctx.models[0]}`, ctx.models[1]], d.slices.map((s) => [md(sliceName(s.column, s.value)), int(s.rows), interval(s.candidate[metric]), interval(s.production[metric])]), [false, true, true, true]), '');
    }
    if (d.fairness.length > 0) {
      lines.push(
        mdTable(['fairness gap', ctx.models[0], ctx.models[1], 'max widening', 'result'], d.fairness.map((f) => [md(gapName(f.metric, f.column)), num(f.candidate), num(f.production), num(f.maxWidening ?? null), f.pass === undefined ? '—' : f.pass ? 'pass' : '**fail**']), [false, true, true, true, false]),
      );
    }
  } else lines.push(`_${md(whyMissing(ctx, 'per-slice or per-group metrics', true))}_`);

  lines.push('', '## Feature drift', '');
  if (d?.drift && d.drift.features.length > 0) {
    lines.push(
      mdTable(
        ['feature', 'PSI', 'KS D', 'p', 'missing ref → new', 'drift'],
        [...d.drift.features].sort((a, b) => b.psi - a.psi).map((f) => [md(f.feature), num(f.psi), num(f.ks?.statistic ?? null), pValue(f.ks?.pValue ?? f.chiSquare?.pValue), `${pct(f.missingRate.reference)} → ${pct(f.missingRate.current)}`, f.drift ? '**drifted**' : 'stable']),
        [false, true, true, true, true, false],
      ),
    );
  } else lines.push(`_${md(whyMissing(ctx, 'feature drift', true))}_`);

  lines.push('', '## Validation', '');
  if (r.validation) {
    const failures = validationFailures(ctx);
    const warnings = validationWarnings(ctx);
    lines.push(`${r.validation.passed ? 'Passed' : '**Failed**'}: ${failures.length} failing ${failures.length === 1 ? 'check' : 'checks'}${warnings.length > 0 ? `, ${countOf(warnings.length, 'warning')}` : ''}.`);
    if (failures.length > 0) lines.push('', mdTable(['column', 'check', 'message', 'rows'], failures.map((f) => [md(f.column ?? '(table)'), md(f.check), md(f.message), md(rowList(f.rows, f.count))])));
    if (warnings.length > 0) {
      lines.push('', '### Warnings', '', 'These did not fail the batch, but say the reference may be stale or the data changed.');
      lines.push('', mdTable(['column', 'check', 'reason', 'rows'], warnings.map((w) => [md(w.column ?? '(table)'), md(w.check), md(w.message), md(rowList(w.rows, w.count))])));
    }
  } else lines.push(`_No validation result: the run ended as ${md(r.decision)} before the validate stage finished._`);

  lines.push('', '## Lineage', '');
  if (r.collect) {
    for (const [name, s] of [
      ['new data', r.collect.fresh],
      ['history', r.collect.historical],
      ['holdout', r.collect.holdout],
      ['hard examples', r.collect.hardExamples],
    ] as const) {
      if (s) lines.push(`- ${name}: \`${s.uri}\` (${int(s.rows)} rows, sha256 ${s.sha256.slice(0, 16)})`);
    }
  }
  if (r.train) lines.push(`- trainer: ${md(r.train.trainer)}, ${int(r.train.trainingRows)} rows, params \`${JSON.stringify(r.train.params).replace(/`/g, "'")}\``);
  if (r.train?.warmStartedFrom !== undefined) lines.push(`- warm start: continued from production v${int(r.train.warmStartedFrom)}`);
  if (r.train?.warmStartSkipped !== undefined) lines.push(`- warm start skipped, fitted from scratch: ${md(r.train.warmStartSkipped)}`);
  if (r.evaluation) lines.push(`- evaluation: \`${r.evaluation.evaluationUri}\``);
  lines.push(`- config: trainer ${md(r.config.trainer.kind)}, primary metric ${md(r.config.evaluation.policy.primary.metric)}`);
  lines.push('', '_Charts are in the HTML report._', '');
  return lines.join('\n');
}
