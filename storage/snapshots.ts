/**
 * Dataset snapshots: immutable, content-addressed copies of the data a run used. The key is the SHA-256 of the
 * bytes, so writing the same content twice stores it once, and a URI in a run's lineage always names exactly the
 * data that run saw (reads verify the hash).
 */
import { createHash } from 'node:crypto';
import { toBytes, type ArtifactStore, type Body } from './artifact-store';
import { BadInputError, IntegrityError, NotFoundError } from './errors';

export const SnapshotFormat = { csv: 'csv', parquet: 'parquet' } as const;
export type SnapshotFormat = (typeof SnapshotFormat)[keyof typeof SnapshotFormat];

export type SnapshotMeta = Record<string, unknown>;

export interface Snapshot {
  uri: string;
  key: string;
  sha256: string;
  format: SnapshotFormat;
  /** Size in bytes. */
  bytes: number;
  /** False when identical content was already stored (then `meta` is what the first writer recorded). */
  created: boolean;
  meta: SnapshotMeta;
  createdAt: string;
}

const CONTENT_TYPES: Record<SnapshotFormat, string> = {
  csv: 'text/csv',
  parquet: 'application/vnd.apache.parquet',
};

export function snapshotKey(sha256: string, format: SnapshotFormat): string {
  return `datasets/sha256/${sha256}.${format}`;
}

export async function putSnapshot(
  store: ArtifactStore,
  body: Body,
  options: { format: SnapshotFormat; meta?: SnapshotMeta },
): Promise<Snapshot> {
  if (!(options.format in CONTENT_TYPES)) {
    throw new BadInputError(`snapshot format ${JSON.stringify(options.format)} is not one of csv, parquet`);
  }
  const bytes = toBytes(body);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const key = snapshotKey(sha256, options.format);
  const record: Omit<Snapshot, 'created' | 'uri'> = {
    key,
    sha256,
    format: options.format,
    bytes: bytes.byteLength,
    meta: options.meta ?? {},
    createdAt: new Date().toISOString(),
  };
  // Data first, sidecar second: a sidecar therefore always describes data that exists. Both are create-only.
  const { uri, created } = await store.putIfAbsent(key, bytes, { contentType: CONTENT_TYPES[options.format] });
  const sidecar = await store.putIfAbsent(metaKey(key), JSON.stringify({ ...record, uri }, null, 2), {
    contentType: 'application/json',
  });
  if (!sidecar.created) {
    const first = await store.getJson<Omit<Snapshot, 'created'>>(metaKey(key));
    return { ...first, uri, created };
  }
  return { ...record, uri, created };
}

/** Reads a snapshot's bytes (by URI, key or hash + format), checking they still hash to its name. */
export async function getSnapshot(store: ArtifactStore, uriOrKey: string): Promise<Uint8Array> {
  const key = store.keyOf(uriOrKey);
  const match = /^datasets\/sha256\/([0-9a-f]{64})\.(csv|parquet)$/.exec(key);
  if (!match) throw new BadInputError(`${uriOrKey} is not a dataset snapshot (expected datasets/sha256/<hash>.csv|parquet)`);
  const bytes = await store.get(key);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== match[1]) throw new IntegrityError(store.uriFor(key), match[1], actual);
  return bytes;
}

export async function getSnapshotInfo(store: ArtifactStore, uriOrKey: string): Promise<Snapshot> {
  const key = store.keyOf(uriOrKey);
  try {
    const info = await store.getJson<Omit<Snapshot, 'created'>>(metaKey(key));
    return { ...info, created: false };
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(store.uriFor(key));
    throw err;
  }
}

function metaKey(key: string): string {
  return `${key}.meta.json`;
}
