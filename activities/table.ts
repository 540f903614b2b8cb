/**
 * Tables of CSV text as the activities move them around: a header and rows of raw field strings. Batches are
 * cut, concatenated, routed and written back out without ever re-typing a value, so a snapshot holds exactly
 * the bytes of the source rows (and its hash depends on them only); typing happens once, when ml/ parses the
 * table into a frame. RFC 4180: quoted fields, `""` escapes, CRLF or LF, fields quoted on output only when needed.
 */
import { DEFAULT_MISSING } from '../ml/data';
import { badInput } from './failures';

export interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Parses CSV text; `what` names the source in errors (a ragged row is bad input naming its line). */
export function parseTable(text: string, what: string): Table {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  const n = text.length;
  let sawField = false;
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      sawField = true;
      i++;
    } else if (c === ',') {
      record.push(field);
      field = '';
      sawField = true;
      i++;
    } else if (c === '\n' || c === '\r') {
      if (sawField || field !== '' || record.length > 0) {
        record.push(field);
        records.push(record);
      }
      record = [];
      field = '';
      sawField = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += c;
      sawField = true;
      i++;
    }
  }
  if (sawField || field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  if (records.length === 0) throw badInput(`${what}: expected a CSV with a header row, got an empty file`);
  const header = records[0].map((h) => h.trim());
  const rows = records.slice(1);
  rows.forEach((r, k) => {
    if (r.length !== header.length) throw badInput(`${what}: row ${k + 1} has ${r.length} fields, expected ${header.length} as in the header`);
  });
  return { header, rows };
}

function quote(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s;
}

export function tableToCsv(t: Table): string {
  const lines = [t.header.map(quote).join(',')];
  for (const r of t.rows) lines.push(r.map(quote).join(','));
  return `${lines.join('\n')}\n`;
}

/** Rows of several tables with the same header, in order. */
export function concatTables(tables: readonly Table[], what: string): Table {
  if (tables.length === 0) throw badInput(`${what}: expected at least one batch`);
  const header = tables[0].header;
  const aligned = tables.map((t, k) => {
    if (t.header.join('\u0000') === header.join('\u0000')) return t.rows;
    // The same columns in another order (a Parquet snapshot keeps the label last, an older CSV where it was): by name.
    const idx = header.map((h) => t.header.indexOf(h));
    if (t.header.length !== header.length || idx.some((j) => j < 0)) {
      throw badInput(`${what}: batch ${k} has columns [${t.header.join(', ')}], expected [${header.join(', ')}] as in the first batch`);
    }
    return t.rows.map((r) => idx.map((j) => r[j]));
  });
  return { header, rows: aligned.flat() };
}

export function sliceTable(t: Table, start: number, end?: number): Table {
  return { header: t.header, rows: t.rows.slice(start, end) };
}

export function columnIndex(t: Table, name: string, what: string): number {
  const j = t.header.indexOf(name);
  if (j < 0) throw badInput(`${what}: has no column ${JSON.stringify(name)}; the columns are ${t.header.map((s) => JSON.stringify(s)).join(', ')}`);
  return j;
}

const MISSING = new Set(DEFAULT_MISSING);

export function isMissing(s: string): boolean {
  return MISSING.has(s) || s.trim() === '';
}

/** Rows as objects for TrainedModel.predictRows: missing tokens become null. */
export function rowObjects(t: Table, columns: readonly string[]): Record<string, string | null>[] {
  const idx = columns.map((c) => t.header.indexOf(c));
  return t.rows.map((r) => {
    const o: Record<string, string | null> = {};
    columns.forEach((c, k) => {
      const v = idx[k] >= 0 ? r[idx[k]] : '';
      o[c] = isMissing(v) ? null : v.trim();
    });
    return o;
  });
}
