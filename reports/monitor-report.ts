/**
 * Renders a model's monitoring history: the production model's accuracy per checked batch over time, with a
 * marker for every retraining run, promotion and rollback, as a self-contained HTML page and a Markdown summary.
 */
import { monitorChart, type EventMarker } from './charts';
import { html, int, md, num, when } from './format';
import { figure, mdTable, missing, page, section, table } from './html';
import type { MonitorEvent, MonitorHistory, RenderedReport } from './types';
import { renderSvg } from './vega';

function eventLabel(e: MonitorEvent): string {
  const version = e.version !== undefined ? ` v${e.version}` : '';
  return `${e.kind}${version}`;
}

function validTime(iso: string): boolean {
  return !Number.isNaN(Date.parse(iso));
}

/** Renders the monitor report of one model. */
export async function renderMonitorReport(history: MonitorHistory): Promise<RenderedReport> {
  const points = history.points.filter((p) => validTime(p.at) && Number.isFinite(p.accuracy)).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const events = history.events.filter((e) => validTime(e.at)).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const markers: EventMarker[] = events.map((e) => ({ at: e.at, kind: e.kind, label: eventLabel(e) }));
  const svg = points.length + markers.length > 0 ? await renderSvg(monitorChart(points, markers)) : undefined;

  const accuracies = points.map((p) => p.accuracy);
  const summary =
    points.length > 0
      ? `${int(points.length)} checked batches (${int(points[0].batch)} to ${int(points[points.length - 1].batch)}), accuracy from ${num(Math.min(...accuracies))} to ${num(Math.max(...accuracies))}, last ${num(accuracies[accuracies.length - 1])}.`
      : 'No batch has been checked with labels yet.';
  const counts = (['retrain', 'promotion', 'rollback'] as const).map((k) => `${int(events.filter((e) => e.kind === k).length)} ${k}${events.filter((e) => e.kind === k).length === 1 ? '' : 's'}`).join(', ');

  const chart = svg
    ? figure('monitor', svg, 'Production accuracy per checked batch; dashed lines mark retraining runs (amber), promotions (green) and rollbacks (red).')
    : missing('Nothing to draw: no checked batches and no events.');
  const eventRows = events.map((e) => [html(when(e.at)), html(e.kind), e.version !== undefined ? `v${int(e.version)}` : '—', e.run ? `<code>${html(e.run)}</code>` : '—', html(e.note ?? '')]);
  const body = [
    `<header class="report"><h1>${html(history.model)} · monitor</h1>${history.description ? `<p class="description">${html(history.description)}</p>` : ''}<p>${html(summary)} ${html(counts)}.</p></header>`,
    section('accuracy', 'Accuracy over time', chart),
    section('events', 'Events', events.length > 0 ? table([{ title: 'time' }, { title: 'event' }, { title: 'version' }, { title: 'run' }, { title: 'note' }], eventRows) : missing('No retraining, promotion or rollback yet.')),
  ].join('\n');

  const markdown = [
    `# ${md(history.model)} · monitor`,
    '',
    history.description ? `${md(history.description)}\n` : '',
    `${summary} ${counts}.`,
    '',
    '## Events',
    '',
    events.length > 0
      ? mdTable(['time', 'event', 'version', 'run', 'note'], events.map((e) => [when(e.at), md(e.kind), e.version !== undefined ? `v${e.version}` : '—', e.run ? md(e.run) : '—', md(e.note ?? '')]))
      : '_No retraining, promotion or rollback yet._',
    '',
    '_The accuracy chart is in the HTML report._',
    '',
  ].join('\n');
  return { html: page(`${history.model}: monitor`, body), markdown };
}
