/**
 * The Vega-Lite specifications of every chart in the reports, built from plain rows. Each builder returns the
 * spec (data inlined, so rendering never fetches anything) and leaves rendering to ./vega. Builders are given
 * only rows that exist: callers decide what to say when a part of the report has no data.
 */
import type { VegaLiteSpec } from './vega';

export const MODEL_COLORS = { candidate: '#2563eb', production: '#9ca3af' } as const;
const DRIFT_COLORS = { drift: '#dc2626', stable: '#60a5fa' } as const;

const WIDTH = 560;

// ----- timeline ------------------------------------------------------------------------------------------------

export interface TimelineRow {
  readonly stage: string;
  /** Milliseconds since the run started. */
  readonly startMs: number;
  readonly endMs: number;
  readonly retries: number;
  readonly open: boolean;
  readonly label: string;
}

/** A Gantt-like chart: one bar per stage on elapsed time, labelled with its duration and retries. */
export function timelineChart(rows: readonly TimelineRow[]): VegaLiteSpec {
  const total = Math.max(1, ...rows.map((r) => r.endMs));
  const [unit, size] = total >= 2 * 3_600_000 ? ['hours', 3_600_000] : total >= 2 * 60_000 ? ['minutes', 60_000] : ['seconds', 1000];
  // A stage that took no measurable time still gets a visible sliver of a bar.
  const minWidth = total * 0.004;
  const values = rows.map((r, i) => ({
    order: i,
    stage: r.stage,
    start: r.startMs / size,
    end: Math.max(r.endMs, r.startMs + minWidth) / size,
    status: r.open ? 'did not finish' : r.retries > 0 ? 'retried' : 'finished',
    label: r.label,
  }));
  const y = { field: 'stage', type: 'nominal', sort: { field: 'order' }, title: null };
  return {
    width: WIDTH,
    height: Math.max(40, rows.length * 26),
    data: { values },
    layer: [
      {
        mark: { type: 'bar', cornerRadius: 2, height: 14 },
        encoding: {
          y,
          x: { field: 'start', type: 'quantitative', title: `${unit} since the run started`, scale: { domain: [0, (total * 1.3) / size], nice: false } },
          x2: { field: 'end' },
          color: {
            field: 'status',
            type: 'nominal',
            title: null,
            scale: { domain: ['finished', 'retried', 'did not finish'], range: ['#2563eb', '#f59e0b', '#9ca3af'] },
          },
        },
      },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 4, fontSize: 10, color: '#374151' },
        encoding: { y, x: { field: 'end', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
}

// ----- metric comparisons ---------------------------------------------------------------------------------------

export interface IntervalRow {
  /** The row's label: a metric, a slice, a group. */
  readonly item: string;
  /** Panels: the metric when several are drawn. */
  readonly panel: string;
  readonly model: string;
  readonly value: number;
  readonly lower: number;
  readonly upper: number;
}

function modelColor(models: readonly string[]): Record<string, unknown> {
  // The candidate is always drawn first and blue; whatever it is compared with is grey.
  return {
    field: 'model',
    type: 'nominal',
    title: null,
    sort: models,
    scale: { domain: models, range: [MODEL_COLORS.candidate, MODEL_COLORS.production] },
  };
}

/**
 * A forest plot: per metric, each model's estimate as a dot and its confidence interval as a line. Metrics live
 * on different scales (log loss is not bounded by 1), so each metric gets its own row and x scale.
 */
export function forestChart(rows: readonly IntervalRow[], models: readonly string[]): VegaLiteSpec {
  const y = { field: 'model', type: 'nominal', sort: models, title: null, axis: { labels: false, ticks: false, domain: false } };
  return {
    data: { values: rows },
    facet: { row: { field: 'item', type: 'nominal', sort: null, title: null, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } } },
    resolve: { scale: { x: 'independent' } },
    spacing: 6,
    spec: {
      width: WIDTH - 120,
      height: 34,
      layer: [
        {
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: { y, x: { field: 'lower', type: 'quantitative', scale: { zero: false }, title: null }, x2: { field: 'upper' }, color: modelColor(models) },
        },
        {
          mark: { type: 'point', filled: true, size: 70, opacity: 1 },
          encoding: { y, x: { field: 'value', type: 'quantitative' }, color: modelColor(models) },
        },
      ],
    },
  };
}

/**
 * Horizontal bars per item (slice or group) and model, with the confidence interval as an error bar; one panel
 * per metric. Values are shares or scores of comparable size, so panels share nothing but the item axis.
 */
export function intervalBarsChart(rows: readonly IntervalRow[], models: readonly string[], items: readonly string[]): VegaLiteSpec {
  const y = { field: 'item', type: 'nominal', sort: items, title: null };
  const yOffset = { field: 'model', type: 'nominal', sort: models };
  const panels = [...new Set(rows.map((r) => r.panel))];
  const panelWidth = Math.max(140, Math.floor((WIDTH - 160) / panels.length));
  return {
    data: { values: rows },
    facet: { column: { field: 'panel', type: 'nominal', sort: panels, title: null, header: { labelFontWeight: 'bold' } } },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: panelWidth,
      height: { step: 9 * models.length + 8 },
      layer: [
        {
          mark: { type: 'bar', height: { band: 1 } },
          encoding: { y, yOffset, x: { field: 'value', type: 'quantitative', title: null, scale: { zero: true } }, color: modelColor(models) },
        },
        {
          mark: { type: 'rule', color: '#111827', strokeWidth: 1.2 },
          encoding: { y, yOffset, x: { field: 'lower', type: 'quantitative' }, x2: { field: 'upper' } },
        },
      ],
    },
  };
}

// ----- fairness ------------------------------------------------------------------------------------------------

export interface GapRow {
  readonly gap: string;
  readonly model: string;
  readonly value: number;
}
export interface GapLimit {
  readonly gap: string;
  /** The widest gap the policy tolerates: production's gap plus maxWidening. */
  readonly limit: number;
}

/** Fairness gaps of both models side by side, with the policy's limit as a tick where one applies. */
export function gapsChart(rows: readonly GapRow[], limits: readonly GapLimit[], models: readonly string[]): VegaLiteSpec {
  const gaps = [...new Set(rows.map((r) => r.gap))];
  const y = { field: 'gap', type: 'nominal', sort: gaps, title: null };
  const layer: unknown[] = [
    {
      data: { values: rows },
      mark: { type: 'bar', height: { band: 1 } },
      encoding: {
        y,
        yOffset: { field: 'model', type: 'nominal', sort: models },
        x: { field: 'value', type: 'quantitative', title: 'gap (largest minus smallest group rate)', scale: { zero: true } },
        color: modelColor(models),
      },
    },
  ];
  if (limits.length > 0) {
    layer.push({
      data: { values: limits },
      mark: { type: 'tick', color: '#dc2626', thickness: 2, bandSize: 22 },
      encoding: { y, x: { field: 'limit', type: 'quantitative' } },
    });
  }
  // A fixed height rather than a band step: the limit layer has no model offset, and steps of layers with and
  // without an offset conflict.
  return { width: WIDTH - 160, height: gaps.length * (9 * models.length + 14), layer };
}

// ----- drift ---------------------------------------------------------------------------------------------------

export interface DriftRow {
  readonly feature: string;
  readonly psi: number;
  readonly ks: number | null;
  readonly missingReference: number;
  readonly missingCurrent: number;
  readonly drift: boolean;
}

/** Three panels on a shared feature axis: PSI (with the threshold), the KS statistic, and missing rates. */
export function driftChart(rows: readonly DriftRow[], psiThreshold: number): VegaLiteSpec {
  const features = rows.map((r) => r.feature);
  // An explicit domain keeps the rows aligned across panels even where a panel has no value (KS of a categorical).
  const y = { field: 'feature', type: 'nominal', sort: features, title: null, scale: { domain: features } };
  const hidden = { ...y, axis: { labels: false, ticks: false, domain: false, title: null } };
  const status = rows.map((r) => ({ ...r, status: r.drift ? 'drifted' : 'stable' }));
  const color = { field: 'status', type: 'nominal', title: null, scale: { domain: ['drifted', 'stable'], range: [DRIFT_COLORS.drift, DRIFT_COLORS.stable] } };
  const height = { step: 18 };
  const psiPanel = {
    width: 180,
    height,
    layer: [
      { data: { values: status }, mark: 'bar', encoding: { y, x: { field: 'psi', type: 'quantitative', title: 'PSI' }, color } },
      { data: { values: [{ t: psiThreshold }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#374151' }, encoding: { x: { field: 't', type: 'quantitative' } } },
    ],
  };
  const ksPanel = {
    width: 150,
    height,
    data: { values: status.filter((r) => r.ks !== null) },
    mark: 'bar',
    encoding: { y: hidden, x: { field: 'ks', type: 'quantitative', title: 'KS statistic D', scale: { domain: [0, 1] } }, color: { ...color, legend: null } },
  };
  // Missing rates as a dumbbell (reference grey, new data purple, a line between), so every panel keeps one
  // row per feature and the three stay aligned.
  const missing = rows.flatMap((r) => [
    { feature: r.feature, data: 'reference', rate: r.missingReference },
    { feature: r.feature, data: 'new data', rate: r.missingCurrent },
  ]);
  const rateX = { field: 'rate', type: 'quantitative', title: 'missing rate', axis: { format: '.0%' } };
  const missingPanel = {
    width: 150,
    height,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'rule', color: '#c4b5fd', strokeWidth: 2 },
        encoding: { y: hidden, x: { field: 'missingReference', type: 'quantitative' }, x2: { field: 'missingCurrent' } },
      },
      {
        data: { values: missing },
        mark: { type: 'point', filled: true, size: 50, opacity: 1 },
        encoding: {
          y: hidden,
          x: rateX,
          color: { field: 'data', type: 'nominal', title: null, sort: ['reference', 'new data'], scale: { domain: ['reference', 'new data'], range: ['#9ca3af', '#7c3aed'] } },
        },
      },
    ],
  };
  return { hconcat: [psiPanel, ksPanel, missingPanel], resolve: { scale: { color: 'independent' } }, spacing: 12 };
}

// ----- calibration ---------------------------------------------------------------------------------------------

export interface CalibrationRow {
  readonly model: string;
  readonly predicted: number;
  readonly observed: number;
  readonly count: number;
}

/** A reliability diagram: observed positive rate against mean predicted probability per bin, the diagonal as ideal. */
export function calibrationChart(rows: readonly CalibrationRow[], models: readonly string[]): VegaLiteSpec {
  const x = { field: 'predicted', type: 'quantitative', title: 'mean predicted probability', scale: { domain: [0, 1] } };
  const yEnc = { field: 'observed', type: 'quantitative', title: 'observed positive rate', scale: { domain: [0, 1] } };
  return {
    width: 360,
    height: 300,
    layer: [
      {
        data: { values: [{ predicted: 0, observed: 0 }, { predicted: 1, observed: 1 }] },
        mark: { type: 'line', strokeDash: [4, 4], color: '#6b7280', strokeWidth: 1 },
        encoding: { x, y: yEnc },
      },
      { data: { values: rows }, mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: yEnc, color: modelColor(models) } },
      {
        data: { values: rows },
        mark: { type: 'point', filled: true, opacity: 0.9 },
        encoding: { x, y: yEnc, color: modelColor(models), size: { field: 'count', type: 'quantitative', title: 'rows in bin', scale: { range: [20, 220] } } },
      },
    ],
  };
}

// ----- monitor -------------------------------------------------------------------------------------------------

export interface AccuracyPoint {
  readonly at: string;
  readonly batch: number;
  readonly accuracy: number;
}
export interface EventMarker {
  readonly at: string;
  readonly kind: string;
  readonly label: string;
}

const EVENT_COLORS: Readonly<Record<string, string>> = { retrain: '#f59e0b', promotion: '#16a34a', rollback: '#dc2626' };

/** Accuracy per checked batch over time, with a vertical marker (and label) for every retrain, promotion and rollback. */
export function monitorChart(points: readonly AccuracyPoint[], events: readonly EventMarker[]): VegaLiteSpec {
  const x = { field: 'at', type: 'temporal', title: null, scale: { type: 'utc' }, axis: { format: '%Y-%m-%d', labelAngle: -30 } };
  const kinds = Object.keys(EVENT_COLORS);
  const layer: unknown[] = [];
  if (points.length > 0) {
    layer.push(
      { data: { values: points }, mark: { type: 'line', color: '#2563eb', strokeWidth: 2 }, encoding: { x, y: { field: 'accuracy', type: 'quantitative', title: 'accuracy (production)', scale: { zero: false } } } },
      { data: { values: points }, mark: { type: 'point', filled: true, color: '#2563eb', size: 24 }, encoding: { x, y: { field: 'accuracy', type: 'quantitative' } } },
    );
  }
  if (events.length > 0) {
    const color = { field: 'kind', type: 'nominal', title: null, scale: { domain: kinds, range: kinds.map((k) => EVENT_COLORS[k]) } };
    layer.push(
      { data: { values: events }, mark: { type: 'rule', strokeWidth: 1.5, strokeDash: [5, 3] }, encoding: { x, color } },
      {
        data: { values: events },
        mark: { type: 'text', angle: 270, align: 'right', baseline: 'bottom', dx: -4, dy: -3, fontSize: 10, y: 0 },
        encoding: { x, text: { field: 'label' }, color: { ...color, legend: null } },
      },
    );
  }
  return { width: WIDTH + 80, height: 260, layer };
}
