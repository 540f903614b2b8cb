/**
 * The data a benchmark replays: the CSV (or its first rows, for `--quick`, written to a temporary copy), its true
 * labels as 0/1 in row order (what the benchmark scores production's predictions against; the system only ever
 * sees them one batch late, through its own source), and the feature list with leaky columns left out. Also the
 * honesty stream: labels that are a function of the future, which no honest strategy can beat chance on.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseTable, tableToCsv } from '../../activities/table';
import { Rng } from '../../ml/random';
import type { DataSpec } from './strategies';

export interface Labels {
  /** Per row, 1 for the positive class. */
  readonly y: Uint8Array;
  /** Per row, the preceding row's label (null for the first row): the "no change" classifier's prediction. */
  readonly previous: readonly (number | null)[];
}

export interface LoadedData {
  readonly spec: DataSpec;
  readonly labels: Labels;
  readonly rows: number;
  readonly columns: readonly string[];
}

export interface LoadOptions {
  readonly path: string;
  readonly label: string;
  readonly positive: string;
  readonly batchRows: number;
  /** Columns that are not features (an id, a timestamp that leaks position, …). */
  readonly drop?: readonly string[];
  /** Keep only the first rows (written to `copyTo`). */
  readonly firstRows?: number;
  readonly copyTo?: string;
}

export async function loadData(opts: LoadOptions): Promise<LoadedData> {
  let table = parseTable(await readFile(opts.path, 'utf8'), opts.path);
  let path = opts.path;
  if (opts.firstRows !== undefined && opts.firstRows < table.rows.length) {
    if (!opts.copyTo) throw new TypeError('loadData: firstRows needs copyTo, the file the monitor will read');
    table = { header: table.header, rows: table.rows.slice(0, opts.firstRows) };
    await writeFile(opts.copyTo, tableToCsv(table));
    path = opts.copyTo;
  }
  const j = table.header.indexOf(opts.label);
  if (j < 0) throw new TypeError(`--label: no column ${JSON.stringify(opts.label)} in ${opts.path}; expected one of ${table.header.join(', ')}`);
  const drop = new Set(opts.drop ?? []);
  for (const d of drop) if (!table.header.includes(d)) throw new TypeError(`--drop: no column ${JSON.stringify(d)} in ${opts.path}`);
  const y = Uint8Array.from(table.rows, (r) => (r[j].trim() === opts.positive ? 1 : 0));
  if (!y.some((v) => v === 1)) throw new TypeError(`--positive: no row of ${opts.path} has ${opts.label} = ${JSON.stringify(opts.positive)}`);
  const previous = Array.from(y, (_, i) => (i === 0 ? null : y[i - 1]));
  const features = table.header.filter((c) => c !== opts.label && !drop.has(c));
  return {
    spec: { path, label: opts.label, positive: opts.positive, batchRows: opts.batchRows, ...(drop.size ? { features } : {}) },
    labels: { y, previous },
    rows: table.rows.length,
    columns: table.header,
  };
}

/**
 * A stream whose label at row i is whether feature x0 of row i + lag is above its median: the label is decided
 * by data that has not arrived yet when row i is scored. The features are independent uniform noise, so nothing
 * available at scoring time carries information about the label, and any accuracy above chance means a strategy
 * saw the future (labels before they arrive, or the batch it scores inside its training data).
 */
export function futureLabelStream(rows: number, lag: number, seed = 7, features = 4): string {
  const rng = new Rng(seed);
  const x: number[][] = [];
  for (let i = 0; i < rows + lag; i++) x.push(Array.from({ length: features }, () => rng.next()));
  const header = [...Array.from({ length: features }, (_, k) => `x${k}`), 'label'];
  const lines = [header.join(',')];
  for (let i = 0; i < rows; i++) lines.push([...x[i].map((v) => v.toFixed(6)), x[i + lag][0] > 0.5 ? 'yes' : 'no'].join(','));
  return `${lines.join('\n')}\n`;
}
