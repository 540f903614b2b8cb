/**
 * The building blocks of the HTML and Markdown reports: the page shell with its inline stylesheet, sections,
 * tables, chart figures and "missing" notes. HTML helpers take cells that are already escaped (callers escape
 * with `html()` from ./format, so numbers and markup they build themselves pass through); the page's Content
 * Security Policy forbids every fetch, so a report opened from disk can never reach the network.
 */
import { html, md } from './format';

const STYLE = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #111827; background: #f3f4f6; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 48px; }
header.report { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 18px 20px; margin-bottom: 18px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 10px; }
h3 { font-size: 14px; margin: 14px 0 6px; }
section { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 16px 20px; margin-bottom: 18px; }
p { margin: 6px 0; }
.description { color: #4b5563; }
.decision { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 13px; }
.decision.good { background: #dcfce7; color: #166534; }
.decision.bad { background: #fee2e2; color: #991b1b; }
.decision.neutral { background: #e5e7eb; color: #374151; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { background: #f9fafb; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { width: 190px; background: none; }
.pass { color: #166534; font-weight: 600; }
.fail { color: #991b1b; font-weight: 600; }
.warn { color: #92400e; font-weight: 600; }
.missing { color: #6b7280; font-style: italic; background: #f9fafb; border-left: 3px solid #d1d5db; padding: 6px 10px; }
figure.chart { margin: 10px 0; overflow-x: auto; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #4b5563; font-size: 12px; margin-top: 4px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: #f9fafb; border: 1px solid #e5e7eb; border-radius: 6px; padding: 10px; overflow-x: auto; max-height: 420px; }
code { word-break: break-all; }
details summary { cursor: pointer; color: #1d4ed8; }
footer { color: #6b7280; font-size: 12px; text-align: center; }
`;

/** A complete, self-contained HTML document. `body` is markup; `title` is plain text. */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${html(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** A report section; `content` is markup. */
export function section(id: string, title: string, content: string): string {
  return `<section id="${html(id)}">\n<h2>${html(title)}</h2>\n${content}\n</section>`;
}

export interface Column {
  readonly title: string;
  readonly numeric?: boolean;
}

/** A table of pre-escaped cells. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[], className?: string): string {
  const head = columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${html(c.title)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((cell, i) => `<td${columns[i]?.numeric ? ' class="num"' : ''}>${cell}</td>`).join('')}</tr>`).join('\n');
  return `<table${className ? ` class="${className}"` : ''}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A two-column key/value table; values are pre-escaped markup. */
export function keyValues(rows: readonly (readonly [string, string])[]): string {
  return `<table class="kv"><tbody>\n${rows.map(([k, v]) => `<tr><th>${html(k)}</th><td>${v}</td></tr>`).join('\n')}\n</tbody></table>`;
}

/** A chart: the SVG from vega, a stable `data-chart` name (tests and readers find charts by it), and a caption. */
export function figure(name: string, svg: string, caption: string): string {
  return `<figure class="chart" data-chart="${html(name)}">\n${svg}\n<figcaption>${html(caption)}</figcaption>\n</figure>`;
}

/** A note saying what this part of the report lacks and why. */
export function missing(text: string): string {
  return `<p class="missing">${html(text)}</p>`;
}

export function passFail(pass: boolean | undefined): string {
  if (pass === undefined) return '—';
  return pass ? '<span class="pass">pass</span>' : '<span class="fail">fail</span>';
}

// ----- Markdown ------------------------------------------------------------------------------------------------

/** A Markdown table of cells already escaped with `md()`. */
export function mdTable(headers: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[] = []): string {
  const head = `| ${headers.map(md).join(' | ')} |`;
  const rule = `| ${headers.map((_, i) => (numeric[i] ? '---:' : '---')).join(' | ')} |`;
  return [head, rule, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
