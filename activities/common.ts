/**
 * Helpers every stage shares: where a run's artifacts live in the store, reading and writing content-addressed
 * dataset snapshots as tables, and the activity context when there is one (tests may call a stage's function
 * directly, outside an activity).
 */
import { Context } from '@temporalio/activity';
import { getSnapshot, putSnapshot } from '../storage/snapshots';
import type { ArtifactStore } from '../storage/artifact-store';
import type { Snapshot } from './types';
import { parseTable, tableToCsv, type Table } from './table';

/** The activity context, or undefined outside an activity. */
export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

export function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
}

export function cancellationSignal(): AbortSignal | undefined {
  return activityContext()?.cancellationSignal;
}

/** `runs/<model>/<n>/<name>`: a run's own artifacts, replaced by a retry of the same stage. */
export function runKey(model: string, n: number, name: string): string {
  return `runs/${model}/${n}/${name}`;
}

/** Writes a table as an immutable, content-addressed snapshot (CSV). */
export async function writeSnapshot(store: ArtifactStore, table: Table, meta: Record<string, unknown>): Promise<Snapshot> {
  const s = await putSnapshot(store, tableToCsv(table), { format: 'csv', meta: { rows: table.rows.length, ...meta } });
  return { uri: s.uri, sha256: s.sha256, rows: table.rows.length };
}

const tableCache = new Map<string, Table>();
const TABLE_CACHE_MAX = 32;

/** Reads a snapshot back (its hash verified); snapshots never change, so they are cached by URI. */
export async function readSnapshot(store: ArtifactStore, uri: string): Promise<Table> {
  const hit = tableCache.get(uri);
  if (hit) return hit;
  const bytes = await getSnapshot(store, uri);
  const table = parseTable(Buffer.from(bytes).toString('utf8'), uri);
  if (tableCache.size >= TABLE_CACHE_MAX) tableCache.delete(tableCache.keys().next().value as string);
  tableCache.set(uri, table);
  return table;
}

export function putJson(store: ArtifactStore, key: string, value: unknown): Promise<string> {
  return store.put(key, JSON.stringify(value, jsonReplacer, 1), { contentType: 'application/json' });
}

/** Typed arrays as arrays, non-finite numbers as null: artifacts are plain JSON. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

export function nowIso(clock?: () => Date): string {
  return (clock ? clock() : new Date()).toISOString();
}
