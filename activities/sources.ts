/**
 * Reading a model's data source in batches, the unit the monitor counts in: `csv-replay` cuts one CSV into
 * batches of `batchRows` rows (production traffic replayed), `folder` reads each CSV file of a folder as one
 * batch in name order, and `s3` each object under a prefix in key order (through storage's S3 client). A
 * replayed file is parsed once per process and cached by path, size and modification time.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SourceConfig } from '../workflows/config';
import { S3ArtifactStore } from '../storage/s3-store';
import { badInput } from './failures';
import { parseTable, sliceTable, type Table } from './table';

export interface SourceReader {
  /** How many batches exist now. */
  count(): Promise<number>;
  finite: boolean;
  /** Batch k (0-based). */
  batch(k: number): Promise<Table>;
  columns(): Promise<readonly string[]>;
}

const replayCache = new Map<string, { stamp: string; table: Table }>();

async function replayTable(path: string): Promise<Table> {
  const abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw badInput(`config.data.source.path: no file at ${abs}`);
  }
  // Read as a file, a folder fails with a bare "EISDIR: illegal operation on a directory, read".
  if (st.isDirectory()) throw badInput(`config.data.source.path: ${abs} is a folder; csv-replay expects a CSV file (for a folder of CSV files, one batch each, use kind "folder")`);
  if (!st.isFile()) throw badInput(`config.data.source.path: ${abs} is not a regular file; csv-replay expects a CSV file`);
  const stamp = `${st.size}:${st.mtimeMs}`;
  const hit = replayCache.get(abs);
  if (hit && hit.stamp === stamp) return hit.table;
  const table = parseTable(await readFile(abs, 'utf8'), abs);
  replayCache.set(abs, { stamp, table });
  return table;
}

export function openSource(source: SourceConfig): SourceReader {
  switch (source.kind) {
    case 'csv-replay': {
      const total = async () => {
        const t = await replayTable(source.path);
        const all = Math.ceil(t.rows.length / source.batchRows);
        return source.maxBatches !== undefined ? Math.min(all, source.maxBatches) : all;
      };
      return {
        finite: true,
        count: total,
        columns: async () => (await replayTable(source.path)).header,
        batch: async (k) => {
          const n = await total();
          if (!(Number.isInteger(k) && k >= 0 && k < n)) throw badInput(`batch: expected 0..${n - 1} (the file has ${n} batches of ${source.batchRows} rows), got ${k}`);
          const t = await replayTable(source.path);
          return sliceTable(t, k * source.batchRows, (k + 1) * source.batchRows);
        },
      };
    }
    case 'folder': {
      const files = async () => {
        let names: string[];
        try {
          names = await readdir(source.path);
        } catch {
          throw badInput(`config.data.source.path: no folder at ${resolve(source.path)}`);
        }
        return names.filter((n) => n.toLowerCase().endsWith('.csv') && !n.startsWith('.')).sort();
      };
      const batch = async (k: number) => {
        const names = await files();
        if (!(Number.isInteger(k) && k >= 0 && k < names.length)) throw badInput(`batch: expected 0..${names.length - 1} (files in ${source.path}), got ${k}`);
        const path = join(source.path, names[k]);
        return parseTable(await readFile(path, 'utf8'), path);
      };
      return {
        finite: false,
        count: async () => (await files()).length,
        batch,
        columns: async () => ((await files()).length ? (await batch(0)).header : []),
      };
    }
    case 's3': {
      const store = new S3ArtifactStore({ bucket: source.bucket, prefix: source.prefix, endpoint: source.endpoint, region: source.region, forcePathStyle: source.forcePathStyle });
      const keys = async () => (await store.list('')).filter((k) => !k.endsWith('/')).sort();
      const batch = async (k: number) => {
        const all = await keys();
        if (!(Number.isInteger(k) && k >= 0 && k < all.length)) throw badInput(`batch: expected 0..${all.length - 1} (objects under s3://${source.bucket}/${source.prefix}), got ${k}`);
        return parseTable(await store.getText(all[k]), `s3://${source.bucket}/${source.prefix}${all[k]}`);
      };
      return {
        finite: false,
        count: async () => (await keys()).length,
        batch,
        columns: async () => ((await keys()).length ? (await batch(0)).header : []),
      };
    }
  }
}
