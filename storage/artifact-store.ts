/**
 * The artifact store interface: a flat key space of immutable-or-replaceable objects addressed by URI, plus a
 * conditional write for small compare-and-set documents (the model registry). Implementations live beside it
 * (`local-store.ts`, `s3-store.ts`); everything else in `storage/` is written against this interface only, so it
 * runs the same on local disk and on S3.
 */
import type { Readable } from 'node:stream';
import { BadKeyError, CorruptRecordError } from './errors';

export type Body = Uint8Array | string;

export interface PutOptions {
  contentType?: string;
}

/** An opaque token naming one stored state of a document; compare it only for equality. */
export type DocumentVersion = string;

export interface VersionedDocument {
  bytes: Uint8Array;
  version: DocumentVersion;
}

export type ConditionalPutResult = { ok: true; version: DocumentVersion } | { ok: false };

export interface ArtifactStore {
  /** `file` or `s3`: the scheme of the URIs this store hands out. */
  readonly scheme: 'file' | 's3';
  /** The URI of a key in this store (nothing is read or written). */
  uriFor(key: string): string;
  /** The key of a URI or key of this store; throws `BadUriError` for a URI of another store. */
  keyOf(uriOrKey: string): string;

  /** Writes (or replaces) an object atomically: readers see the old or the new bytes, never a mix. Returns its URI. */
  put(key: string, body: Body, options?: PutOptions): Promise<string>;
  /** Create-only write: `created` is false (and nothing is written) when the key already exists. */
  putIfAbsent(key: string, body: Body, options?: PutOptions): Promise<{ uri: string; created: boolean }>;
  get(uriOrKey: string): Promise<Uint8Array>;
  getText(uriOrKey: string): Promise<string>;
  getJson<T = unknown>(uriOrKey: string): Promise<T>;
  exists(uriOrKey: string): Promise<boolean>;
  /** Keys (not URIs) starting with `prefix`, sorted. The prefix is a string prefix, not only a folder. */
  list(prefix: string): Promise<string[]>;
  /** Removes an object; removing a missing object is not an error. */
  delete(uriOrKey: string): Promise<void>;
  /** The object's bytes as a stream, for objects too big to hold in memory. */
  stream(uriOrKey: string): Promise<Readable>;

  /** Reads a compare-and-set document with its version, or null when it does not exist. */
  getWithVersion(key: string): Promise<VersionedDocument | null>;
  /**
   * Writes a compare-and-set document only if it is still at `expectedVersion` (null: only if it does not exist).
   * `{ ok: false }` means another writer got there first: re-read, re-apply, retry.
   */
  putIfVersion(key: string, body: Body, expectedVersion: DocumentVersion | null): Promise<ConditionalPutResult>;
}

const SEGMENT = /^[A-Za-z0-9_=+@,-][A-Za-z0-9._=+@,-]*$/;

/** Keys are '/'-separated; no segment may be empty, '.', '..' or start with '.' (dot files are the stores' own temp and lock files). */
export function checkKey(key: string): string {
  if (key.length === 0) throw new BadKeyError(key, 'empty');
  if (key.length > 900) throw new BadKeyError(key, 'longer than 900 characters');
  for (const segment of key.split('/')) {
    if (!SEGMENT.test(segment)) throw new BadKeyError(key, `segment ${JSON.stringify(segment)} is not allowed`);
  }
  return key;
}

/** A list prefix may end with '/' or in the middle of a segment, but its complete segments must be valid. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const segments = prefix.split('/');
  segments.pop(); // the last, possibly partial segment may be empty ("models/")
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) throw new BadKeyError(prefix, `segment ${JSON.stringify(segment)} is not allowed`);
  }
  return prefix;
}

export function toBytes(body: Body): Uint8Array {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export function bytesToText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Parses an object's text as JSON, or throws CorruptRecordError naming its URI (both stores' `getJson`). */
export function parseStoredJson<T>(text: string, uri: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CorruptRecordError(uri, `not JSON (${(err as Error).message})`);
  }
}
