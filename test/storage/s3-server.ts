/**
 * Starts s3rver (a real S3-protocol server) on loopback for the S3 store's tests: random port, temp directory,
 * one bucket, path-style addressing. Two gaps between s3rver and S3 are closed here, because the tests check
 * behaviour that S3 guarantees: s3rver writes an object in place (a concurrent GET can see it half written, or
 * new bytes with the old ETag), whereas an S3 PUT is atomic; so objects are written to a temp file and renamed,
 * and requests on one key are served one at a time. And s3rver ignores conditional PUT headers, so
 * `conditional: true` enforces If-Match / If-None-Match the way AWS S3 and MinIO do (412 PreconditionFailed),
 * which lets one server test both of the store's compare-and-set modes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { S3ArtifactStore, type S3ArtifactStoreOptions } from '../../storage/s3-store';

interface KoaContext {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  res: import('node:http').ServerResponse;
  status: number;
  body: unknown;
  set(name: string, value: string): void;
}
interface S3rverObject {
  bucket: string;
  key: string;
  content: Buffer | AsyncIterable<Buffer>;
  metadata: Record<string, string>;
}
interface S3rverStore {
  getMetadata(bucket: string, key: string): Promise<{ etag: string }>;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}
interface S3rverInstance {
  middleware: Array<(ctx: KoaContext, next: () => Promise<void>) => Promise<void>>;
  store: S3rverStore;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
// s3rver ships no type declarations; the shape above is the part these tests use.
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;

export interface TestS3Server {
  endpoint: string;
  bucket: string;
  storeOptions(extra?: Partial<S3ArtifactStoreOptions>): S3ArtifactStoreOptions;
  store(extra?: Partial<S3ArtifactStoreOptions>): S3ArtifactStore;
  close(): Promise<void>;
}

export async function startS3Server(options: { conditional?: boolean; bucket?: string } = {}): Promise<TestS3Server> {
  const base = await mkdtemp(join(tmpdir(), 'retrain-s3rver-'));
  const directory = join(base, 'data');
  const temp = join(base, 'tmp');
  await mkdir(temp);
  const bucket = options.bucket ?? 'retrain-test';
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  atomicPuts(server.store, temp);
  server.middleware.unshift(oneRequestPerKey());
  if (options.conditional) server.middleware.splice(1, 0, conditionalWrites(server));
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
      await rm(base, { recursive: true, force: true });
    },
  };
}

function objectName(path: string): string | null {
  const [, bucket, ...rest] = path.split('/');
  const key = decodeURIComponent(rest.join('/'));
  return bucket && key ? `${bucket}/${key}` : null;
}

function atomicPuts(store: S3rverStore, temp: string): void {
  store.putObject = async (object) => {
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(object.content)) chunks.push(object.content);
    else for await (const chunk of object.content) chunks.push(chunk);
    const content = Buffer.concat(chunks);
    const md5 = createHash('md5').update(content).digest('hex');
    const path = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(path), { recursive: true });
    const file = join(temp, randomBytes(8).toString('hex'));
    await writeFile(file, content);
    await rename(file, path);
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: content.length, md5 };
  };
}

// Holds each object request until its response has been sent (a GET streams its body after the middleware returns).
function oneRequestPerKey() {
  const tails = new Map<string, Promise<void>>();
  return async (ctx: KoaContext, next: () => Promise<void>): Promise<void> => {
    const name = objectName(ctx.path);
    if (name === null) return next();
    const previous = tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    tails.set(name, tail);
    ctx.res.once('close', () => {
      release();
      if (tails.get(name) === tail) tails.delete(name);
    });
    await previous;
    await next();
  };
}

function conditionalWrites(server: S3rverInstance) {
  return async (ctx: KoaContext, next: () => Promise<void>): Promise<void> => {
    const ifMatch = ctx.headers['if-match'];
    const ifNoneMatch = ctx.headers['if-none-match'];
    if (ctx.method !== 'PUT' || (ifMatch === undefined && ifNoneMatch === undefined)) return next();
    const name = objectName(ctx.path);
    if (name === null) return next();
    const [bucket, ...rest] = name.split('/');
    // Requests on this key are already serialised (oneRequestPerKey), so check-then-write is atomic, as on S3.
    const etag = await server.store.getMetadata(bucket, rest.join('/')).then(
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
  };
}
