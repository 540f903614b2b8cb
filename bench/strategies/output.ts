/**
 * What a benchmark run leaves behind: the Markdown table (README material), one SVG plot of production's
 * accuracy per batch with a marker at every promotion (Vega-Lite rendered by reports/, as in the run reports), and
 * the JSON lines, all under `bench/strategies/results/`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderSvg, type VegaLiteSpec } from '../../reports/vega';
import { pct, type StrategySummary, type TargetResult } from './summary';

/** A figure for the table; a strategy that never had a production model has none (NaN, or null after JSON). */
function fixed(x: number | null, digits: number): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-';
}
function percent(x: number | null): string {
  return typeof x === 'number' && Number.isFinite(x) ? pct(x) : 'no model';
}

export function markdownTable(summaries: readonly StrategySummary[], targets: readonly TargetResult[]): string {
  const head = '| strategy | trainer | accuracy | kappa | kappa-temporal | runs | promotions | gate rejections | other run outcomes | labelled rows used | training CPU s |';
  const rule = '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |';
  const rows = summaries.map(
    (s) =>
      `| ${s.strategy}${s.driftTriggered ? ' (drift)' : ''} | ${s.trainer} | ${percent(s.accuracy)} | ${fixed(s.kappa, 3)} | ${fixed(s.kappaTemporal, 3)} | ${s.runs} | ${s.promotions} | ${s.rejections} | ${Object.entries(s.otherDecisions).map(([k, v]) => `${k} ${v}`).join(', ') || '-'} | ${s.labelledRowsUsed} | ${fixed(s.trainingCpuSeconds, 1)} |`,
  );
  const first = summaries.find((s) => s.scoredRows > 0);
  const notes = first
    ? [
        '',
        `Accuracy is prequential: each batch scored by the model in production when it arrived (the prediction log), labels one batch late. Validations let through despite range failures (the validate deadlock, see bench/strategies/README.md): ${summaries.map((s) => `${s.strategy} ${s.validationRangeOverrides}`).join(', ')}.`,
        '',
        `Scored on ${first.scoredRows} rows (batches ${first.firstScoredBatch}..${first.batches - 1} of ${first.batches}); the "no change" classifier (previous row's label) gets ${percent(first.noChangeAccuracy)} on the same rows.`,
      ]
    : [];
  const t = targets.map((x) => `- ${x.pass ? 'PASS' : 'FAIL'} (${x.trainer}) ${x.name}: ${x.detail}`);
  return [head, rule, ...rows, ...notes, ...(t.length ? ['', ...t] : []), ''].join('\n');
}

/** Accuracy per batch, one line per strategy, a point where a newly promoted model first scored. */
export function accuracyPlot(summaries: readonly StrategySummary[], title: string): VegaLiteSpec {
  const lines = summaries.flatMap((s) => s.perBatch.map((b) => ({ strategy: s.strategy, batch: b.batch, accuracy: b.accuracy })));
  const marks = summaries.flatMap((s) => {
    const at = new Map(s.perBatch.map((b) => [b.batch, b.accuracy]));
    return s.promotionBatches.filter((b) => at.has(b)).map((b) => ({ strategy: s.strategy, batch: b, accuracy: at.get(b)! }));
  });
  const color = { field: 'strategy', type: 'nominal', title: 'strategy', scale: { scheme: 'tableau20' } };
  const x = { field: 'batch', type: 'quantitative', title: 'batch (one week each)' };
  const y = { field: 'accuracy', type: 'quantitative', title: 'accuracy of production on the batch', scale: { zero: false } };
  return {
    title,
    width: 900,
    height: 360,
    layer: [
      { data: { values: lines }, mark: { type: 'line', strokeWidth: 1.2, opacity: 0.8 }, encoding: { x, y, color } },
      { data: { values: marks }, mark: { type: 'point', filled: true, size: 18, opacity: 0.9 }, encoding: { x, y, color } },
    ],
  };
}

export async function writeResults(dir: string, base: string, summaries: readonly StrategySummary[], targets: readonly TargetResult[], title: string): Promise<{ markdown: string; svg: string; jsonl: string }> {
  await mkdir(dir, { recursive: true });
  const markdown = join(dir, `${base}.md`);
  const svg = join(dir, `${base}.svg`);
  const jsonl = join(dir, `${base}.jsonl`);
  await writeFile(markdown, `# ${title}\n\n${markdownTable(summaries, targets)}`);
  await writeFile(svg, await renderSvg(accuracyPlot(summaries, title)));
  await writeFile(jsonl, [...summaries, ...targets].map((x) => JSON.stringify(x)).join('\n') + '\n');
  return { markdown, svg, jsonl };
}
