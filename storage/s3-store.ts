/**
 * The artifact store on S3 or any S3-compatible server (MinIO, Ceph RGW, s3rver), on `@aws-sdk/client-s3` v3.
 * A single PUT is atomic on S3, so `put` needs no temp object. Compare-and-set uses S3's conditional writes
 * (`If-None-Match: *` to create, `If-Match: <etag>` to replace), which AWS S3 and MinIO enforce; servers that
 * ignore those headers are detected by a probe and fall back to an in-process lock, which is correct for one
 * process only (see `conditionalWrites`).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import {
  bytesToText,
  parseStoredJson,
  checkKey,
  checkPrefix,
  toBytes,
  type ArtifactStore,
  type Body,
  type ConditionalPutResult,
  type DocumentVersion,
  type PutOptions,
  type VersionedDocument,
} from './artifact-store';
import { BadUriError, NotFoundError } from './errors';

export const ConditionalWrites = {
  /** Probe the server once: native if it rejects a create-only PUT of an existing key with 412, else emulated. */
  auto: 'auto',
  /** The server enforces If-Match / If-None-Match on PUT (AWS S3 since 2024, recent MinIO): safe across processes and hosts. */
  native: 'native',
  /** Read, compare and write under a lock held in this process: safe for one process only. */
  emulated: 'emulated',
} as const;
export type ConditionalWrites = (typeof ConditionalWrites)[keyof typeof ConditionalWrites];

export interface S3ArtifactStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or a folder such as 'retrain/'); a missing trailing '/' is added. */
  prefix?: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  conditionalWrites?: ConditionalWrites;
  /**
   * Send and check the SDK's flexible checksums (CRC32) always ('when_supported', the SDK's default) or only when
   * an operation requires them ('when_required'). Several S3-compatible servers reject the newer checksum headers,
   * so 'when_required' is the default when a custom endpoint is set.
   */
  checksums?: 'when_supported' | 'when_required';
  /** An existing client (tests, custom middleware); the connection options above are then ignored. */
  client?: S3Client;
}

export class S3ArtifactStore implements ArtifactStore {
  readonly scheme = 's3' as const;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly mode: ConditionalWrites;
  private probed: Promise<'native' | 'emulated'> | undefined;

  constructor(options: S3ArtifactStoreOptions) {
    this.bucket = options.bucket;
    const prefix = options.prefix ?? '';
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : prefix + '/';
    if (this.prefix !== '') checkKey(this.prefix.slice(0, -1));
    this.mode = options.conditionalWrites ?? 'auto';
    if (options.client) {
      this.client = options.client;
    } else {
      const checksums = options.checksums ?? (options.endpoint ? 'when_required' : 'when_supported');
      const config: S3ClientConfig = {
        region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
        forcePathStyle: options.forcePathStyle,
        requestChecksumCalculation: checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
        responseChecksumValidation: checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      };
      if (options.endpoint) config.endpoint = options.endpoint;
      if (options.credentials) config.credentials = options.credentials;
      this.client = new S3Client(config);
    }
  }

  uriFor(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${checkKey(key)}`;
  }

  keyOf(uriOrKey: string): string {
    if (!uriOrKey.includes('://')) return checkKey(uriOrKey);
    const base = `s3://${this.bucket}/${this.prefix}`;
    if (!uriOrKey.startsWith(base)) throw new BadUriError(uriOrKey, `an s3:// URI under ${base}`);
    return checkKey(uriOrKey.slice(base.length));
  }

  /** Which compare-and-set this store uses against its server (probing it on first use in 'auto' mode). */
  async conditionalWrites(): Promise<'native' | 'emulated'> {
    if (this.mode !== 'auto') return this.mode;
    this.probed ??= this.probe();
    return this.probed;
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<string> {
    await this.client.send(new PutObjectCommand({ ...this.target(key), Body: toBytes(body), ContentType: options.contentType }));
    return this.uriFor(key);
  }

  async putIfAbsent(key: string, body: Body, options: PutOptions = {}): Promise<{ uri: string; created: boolean }> {
    const uri = this.uriFor(key);
    const bytes = toBytes(body);
    if ((await this.conditionalWrites()) === 'native') {
      const r = await this.conditionalPut(key, bytes, null, options.contentType);
      return { uri, created: r.ok };
    }
    return withLocalLock(this.lockName(key), async () => {
      if (await this.exists(key)) return { uri, created: false };
      await this.put(key, bytes, options);
      return { uri, created: true };
    });
  }

  async get(uriOrKey: string): Promise<Uint8Array> {
    const key = this.keyOf(uriOrKey);
    const out = await this.getObject(key);
    return out.Body.transformToByteArray();
  }

  async getText(uriOrKey: string): Promise<string> {
    return bytesToText(await this.get(uriOrKey));
  }

  async getJson<T = unknown>(uriOrKey: string): Promise<T> {
    return parseStoredJson<T>(await this.getText(uriOrKey), this.uriFor(this.keyOf(uriOrKey)));
  }

  async exists(uriOrKey: string): Promise<boolean> {
    const key = this.keyOf(uriOrKey);
    try {
      await this.client.send(new HeadObjectCommand(this.target(key)));
      return true;
    } catch (err) {
      if (status(err) === 404) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
      );
      for (const item of page.Contents ?? []) {
        const key = item.Key?.slice(this.prefix.length);
        // Skip the probe object and anything else that is not a valid key of this store.
        if (key && !key.split('/').some((segment: string) => segment.startsWith('.'))) keys.push(key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async delete(uriOrKey: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand(this.target(this.keyOf(uriOrKey))));
  }

  async stream(uriOrKey: string): Promise<Readable> {
    const out = await this.getObject(this.keyOf(uriOrKey));
    // In Node the SDK's body is an http.IncomingMessage, already a Readable.
    const body = out.Body as unknown;
    if (body instanceof Readable) return body;
    return Readable.from(await out.Body.transformToByteArray());
  }

  async getWithVersion(key: string): Promise<VersionedDocument | null> {
    checkKey(key);
    try {
      const out = await this.getObject(key);
      const bytes = await out.Body.transformToByteArray();
      return { bytes, version: out.ETag ?? '' };
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  async putIfVersion(key: string, body: Body, expectedVersion: DocumentVersion | null): Promise<ConditionalPutResult> {
    checkKey(key);
    const bytes = toBytes(body);
    if ((await this.conditionalWrites()) === 'native') return this.conditionalPut(key, bytes, expectedVersion);
    return withLocalLock(this.lockName(key), async () => {
      let current: string | null = null;
      try {
        current = (await this.client.send(new HeadObjectCommand(this.target(key)))).ETag ?? '';
      } catch (err) {
        if (status(err) !== 404) throw err;
      }
      if (current !== expectedVersion) return { ok: false };
      const out = await this.client.send(new PutObjectCommand({ ...this.target(key), Body: bytes }));
      return { ok: true, version: out.ETag ?? '' };
    });
  }

  private async conditionalPut(
    key: string,
    bytes: Uint8Array,
    expected: DocumentVersion | null,
    contentType?: string,
  ): Promise<ConditionalPutResult> {
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          ...this.target(key),
          Body: bytes,
          ContentType: contentType,
          ...(expected === null ? { IfNoneMatch: '*' } : { IfMatch: expected }),
        }),
      );
      return { ok: true, version: out.ETag ?? '' };
    } catch (err) {
      // 412: the precondition failed; 409: S3 saw a concurrent conditional write to the key. Both mean "re-read and retry".
      if (status(err) === 412 || status(err) === 409) return { ok: false };
      // MinIO answers If-Match on a missing key with 404 NoSuchKey.
      if (expected !== null && status(err) === 404) return { ok: false };
      throw err;
    }
  }

  private async probe(): Promise<'native' | 'emulated'> {
    const target = { Bucket: this.bucket, Key: `${this.prefix}.retrain-probe/conditional-writes` };
    await this.client.send(new PutObjectCommand({ ...target, Body: 'probe' }));
    try {
      await this.client.send(new PutObjectCommand({ ...target, Body: 'probe', IfNoneMatch: '*' }));
      return 'emulated'; // the server ignored the header and overwrote
    } catch (err) {
      if (status(err) === 412) return 'native';
      if (status(err) === 501 || status(err) === 400) return 'emulated';
      throw err;
    }
  }

  private async getObject(key: string) {
    try {
      const out = await this.client.send(new GetObjectCommand(this.target(key)));
      if (!out.Body) throw new NotFoundError(this.uriFor(key));
      return out as typeof out & { Body: NonNullable<typeof out.Body> };
    } catch (err) {
      if (status(err) === 404) throw new NotFoundError(this.uriFor(key));
      throw err;
    }
  }

  private target(key: string): { Bucket: string; Key: string } {
    return { Bucket: this.bucket, Key: this.prefix + checkKey(key) };
  }

  private lockName(key: string): string {
    return `${this.bucket}|${this.prefix}${key}`;
  }
}

function status(err: unknown): number | undefined {
  const e = err as { $metadata?: { httpStatusCode?: number }; name?: string } | undefined;
  if (e?.name === 'NoSuchKey' || e?.name === 'NotFound') return 404;
  if (e?.name === 'PreconditionFailed') return 412;
  return e?.$metadata?.httpStatusCode;
}

// Per-process locks for the emulated conditional writes, shared by every store instance in the process.
const localLocks = new Map<string, Promise<unknown>>();

async function withLocalLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const previous = localLocks.get(name) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => undefined);
  localLocks.set(name, tail);
  try {
    return await run;
  } finally {
    if (localLocks.get(name) === tail) localLocks.delete(name);
  }
}
