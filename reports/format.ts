/**
 * Escaping and number, date and duration formatting shared by the HTML and Markdown renderers. Every string that
 * came from a user (model names, descriptions, column values, reasons) goes through `html()` or `md()` before it
 * reaches a report. Formatting is locale-independent, so reports read the same on every machine.
 */

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function html(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * Escapes text for a Markdown table cell or paragraph: HTML is escaped too (Markdown renderers pass raw HTML
 * through), pipes would split a cell, and newlines would end a table row.
 */
export function md(value: unknown): string {
  return html(value)
    .replace(/\\/g, '\\\\')
    .replace(/([|*_`[\]])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

/** A metric value: 3 significant decimals near 0-1, fewer digits for large values; '—' for missing or NaN. */
export function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  const abs = Math.abs(x);
  let out: string;
  if (abs !== 0 && abs < 10 ** -digits) out = x.toExponential(1);
  else if (abs >= 10_000) out = group(Math.round(x));
  else if (abs >= 100) out = x.toFixed(Math.max(0, digits - 2));
  else out = x.toFixed(digits);
  return out.replace(/^-/, '−');
}

/** An integer count with thousands separators. */
export function int(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return group(Math.round(x)).replace(/^-/, '−');
}

function group(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A signed difference: "+0.012", "−0.004". */
export function signed(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  return x > 0 ? `+${num(x, digits)}` : num(x, digits);
}

/** A share as a percentage: "12.5%". */
export function pct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(digits)}%`;
}

/** A p-value: "<0.001" below one in a thousand, otherwise 3 decimals. */
export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return '—';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

/** A value and its interval: "0.861 [0.842, 0.879]". */
export function interval(m: { value: number; lower: number; upper: number } | undefined, digits = 3): string {
  if (!m) return '—';
  return `${num(m.value, digits)} [${num(m.lower, digits)}, ${num(m.upper, digits)}]`;
}

/** A duration in milliseconds, in its two largest units: "850 ms", "4.2 s", "3 min 12 s", "2 h 5 min", "1 d 3 h". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
    ['s', 1],
  ];
  let rest = Math.round(s);
  const parts: string[] = [];
  for (const [unit, size] of units) {
    const k = Math.floor(rest / size);
    rest -= k * size;
    if (k > 0 || parts.length > 0) parts.push(`${k} ${unit}`);
    if (parts.length === 2) break;
  }
  return parts.filter((p) => !p.startsWith('0 ')).join(' ');
}

/** An ISO date-time as "2024-05-01 12:30:05 UTC"; the input unchanged when it does not parse. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Milliseconds between two ISO date-times, or undefined when either is missing or unparsable. */
export function between(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const a = Date.parse(from);
  const b = Date.parse(to);
  return Number.isNaN(a) || Number.isNaN(b) ? undefined : b - a;
}
