/**
 * Starts s3rver (a real S3-protocol server) on loopback for the S3 store's tests: random port, temp directory,
 * one bucket, path-style addressing. s3rver ignores conditional PUT headers, so `conditional: true` adds a small
 * middleware in front of it that enforces If-Match / If-None-Match the way AWS S3 and MinIO do (412 on a failed
 * precondition), with one write per key at a time; that lets the same server test both of the store's modes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3ArtifactStore, type S3ArtifactStoreOptions } from '../../storage/s3-store';

interface KoaContext {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  status: number;
  body: unknown;
  set(name: string, value: string): void;
}
interface S3rverInstance {
  middleware: Array<(ctx: KoaContext, next: () => Promise<void>) => Promise<void>>;
  store: { getMetadata(bucket: string, key: string): Promise<{ etag: string }> };
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
// s3rver ships no type declarations; the shape above is the part these tests use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;

export interface TestS3Server {
  endpoint: string;
  bucket: string;
  storeOptions(extra?: Partial<S3ArtifactStoreOptions>): S3ArtifactStoreOptions;
  store(extra?: Partial<S3ArtifactStoreOptions>): S3ArtifactStore;
  close(): Promise<void>;
}

export async function startS3Server(options: { conditional?: boolean; bucket?: string } = {}): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'retrain-s3rver-'));
  const bucket = options.bucket ?? 'retrain-test';
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  if (options.conditional) server.middleware.unshift(conditionalWrites(server));
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const storeOptions = (extra: Partial<S3ArtifactStoreOptions> = {}): S3ArtifactStoreOptions => ({
    bucket,
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    ...extra,
  });
  return {
    endpoint,
    bucket,
    storeOptions,
    store: (extra) => new S3ArtifactStore(storeOptions(extra)),
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function conditionalWrites(server: S3rverInstance) {
  const busy = new Map<string, Promise<void>>();
  return async (ctx: KoaContext, next: () => Promise<void>): Promise<void> => {
    const ifMatch = ctx.headers['if-match'];
    const ifNoneMatch = ctx.headers['if-none-match'];
    if (ctx.method !== 'PUT' || (ifMatch === undefined && ifNoneMatch === undefined)) return next();
    const [, bucket, ...rest] = ctx.path.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const name = `${bucket}/${key}`;
    // Serialise writes per key so check-then-write is atomic, as S3 itself guarantees.
    while (busy.has(name)) await busy.get(name);
    let done!: () => void;
    busy.set(name, new Promise<void>((r) => (done = r)));
    try {
      const etag = await server.store.getMetadata(bucket, key).then(
        (m) => m.etag,
        () => null,
      );
      const failed = (ifNoneMatch === '*' && etag !== null) || (ifMatch !== undefined && ifMatch !== etag);
      if (failed) {
        ctx.status = 412;
        ctx.set('Content-Type', 'application/xml');
        ctx.body =
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code>' +
          '<Message>At least one of the pre-conditions you specified did not hold</Message></Error>';
        return;
      }
      await next();
    } finally {
      busy.delete(name);
      done();
    }
  };
}
