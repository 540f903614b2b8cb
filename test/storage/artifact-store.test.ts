import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LocalArtifactStore } from '../../storage/local-store';
import { S3ArtifactStore } from '../../storage/s3-store';
import { openArtifactStore, retrainHome } from '../../storage/open';
import { artifactStoreContract, hasCode, increment } from './contract';
import { startS3Server, type TestS3Server } from './s3-server';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'retrain-store-'));
}

artifactStoreContract('local', async () => {
  const root = await tempRoot();
  return {
    store: new LocalArtifactStore(root),
    twin: new LocalArtifactStore(root),
    close: () => rm(root, { recursive: true, force: true }),
  };
});

artifactStoreContract('S3 (s3rver, which ignores conditional headers: in-process fallback)', async () => {
  const server = await startS3Server();
  const store = server.store({ prefix: 'retrain' });
  assert.equal(await store.conditionalWrites(), 'emulated');
  return { store, twin: server.store({ prefix: 'retrain' }), close: () => server.close() };
});

artifactStoreContract('S3 (s3rver enforcing If-Match / If-None-Match: native conditional writes)', async () => {
  const server = await startS3Server({ conditional: true });
  const store = server.store({ prefix: 'retrain/' });
  assert.equal(await store.conditionalWrites(), 'native');
  return { store, twin: server.store({ prefix: 'retrain/' }), close: () => server.close() };
});

describe('local artifact store', () => {
  let root: string;
  before(async () => {
    root = await tempRoot();
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('hands out file:// URIs of files under its root, laid out like the keys', async () => {
    const store = new LocalArtifactStore(root);
    const uri = await store.put('models/m/1/model.json', '{}');
    assert.equal(uri, pathToFileURL(join(root, 'models', 'm', '1', 'model.json')).href);
    assert.equal(store.keyOf(uri), 'models/m/1/model.json');
  });

  it('never shows a reader a partly written object while it is replaced over and over', async () => {
    const store = new LocalArtifactStore(root);
    const a = Buffer.alloc(2 * 1024 * 1024, 'a');
    const b = Buffer.alloc(3 * 1024 * 1024, 'b');
    await store.put('atomic/blob', a);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 16; i++) await store.put('atomic/blob', i % 2 ? a : b);
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const got = Buffer.from(await store.get('atomic/blob'));
      assert.ok(got.equals(a) || got.equals(b), `read ${got.length} bytes that are neither version`);
      reads++;
    }
    await writer;
    assert.ok(reads > 0);
  });

  it('leaves no temp or lock files behind, and lists none of them', async () => {
    const store = new LocalArtifactStore(root);
    await Promise.all(Array.from({ length: 10 }, () => increment(store, 'clean/counter')));
    await store.putIfAbsent('clean/once', 'x');
    await store.putIfAbsent('clean/once', 'y');
    await writeFile(join(root, 'clean', '.stray.tmp-1-ab'), 'partial');
    assert.deepEqual(await store.list('clean/'), ['clean/counter', 'clean/once']);
    const files = (await readdir(join(root, 'clean'))).filter((f) => f !== '.stray.tmp-1-ab');
    assert.deepEqual(files.sort(), ['counter', 'once']);
  });

  it('breaks the lock of a process that died holding it instead of waiting', async () => {
    const store = new LocalArtifactStore(root, { lockTimeoutMs: 60_000 });
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    await mkdir(join(root, 'locks'), { recursive: true });
    const { hostname } = await import('node:os');
    await writeFile(join(root, 'locks', '.doc.lock'), JSON.stringify({ pid: Number(dead), host: hostname(), token: 't', at: 0 }));
    const r = await store.putIfVersion('locks/doc', 'x', null);
    assert.ok(r.ok);
  });

  it('gives up with STORE_CONFLICT when a live process keeps the lock past the timeout', async () => {
    const store = new LocalArtifactStore(root, { lockTimeoutMs: 200 });
    await mkdir(join(root, 'held'), { recursive: true });
    const { hostname } = await import('node:os');
    await writeFile(join(root, 'held', '.doc.lock'), JSON.stringify({ pid: process.pid, host: hostname(), token: 'other', at: Date.now() }));
    await assert.rejects(store.putIfVersion('held/doc', 'x', null), hasCode('STORE_CONFLICT'));
  });
});

describe('S3 artifact store', () => {
  let server: TestS3Server;
  before(async () => {
    server = await startS3Server({ conditional: true });
  });
  after(async () => {
    await server.close();
  });

  it('hands out s3://bucket/prefix/key URIs and keeps keys under its prefix', async () => {
    const store = server.store({ prefix: 'team-a' });
    const uri = await store.put('models/m/1/model.json', '{}');
    assert.equal(uri, `s3://${server.bucket}/team-a/models/m/1/model.json`);
    assert.deepEqual(await server.store({ prefix: 'team-b' }).list(''), []);
    assert.deepEqual(await server.store().list('team-a/'), ['team-a/models/m/1/model.json']);
  });

  it('keeps the probe object out of listings', async () => {
    const store = server.store({ prefix: 'probe-check' });
    await store.put('x', 'x');
    assert.equal(await store.conditionalWrites(), 'native');
    assert.deepEqual(await store.list(''), ['x']);
  });

  it('uses the mode it is told to without probing', async () => {
    assert.equal(await server.store({ conditionalWrites: 'emulated' }).conditionalWrites(), 'emulated');
  });
});

describe('openArtifactStore', () => {
  it('opens the local store under RETRAIN_HOME by default, ./.retrain when unset', () => {
    const store = openArtifactStore(undefined, { RETRAIN_HOME: '/tmp/retrain-home-x' });
    assert.ok(store instanceof LocalArtifactStore);
    assert.equal(store.root, '/tmp/retrain-home-x');
    assert.equal(retrainHome({}), join(process.cwd(), '.retrain'));
  });

  it('opens a store from a file:// URI, a plain path or an s3:// URI', () => {
    const local = openArtifactStore('file:///tmp/some-root');
    assert.ok(local instanceof LocalArtifactStore && local.root === '/tmp/some-root');
    const s3 = openArtifactStore('s3://my-bucket/some/prefix');
    assert.ok(s3 instanceof S3ArtifactStore);
    assert.equal(s3.uriFor('k'), 's3://my-bucket/some/prefix/k');
  });

  it('opens an S3 store from a config object', () => {
    const store = openArtifactStore({ kind: 's3', bucket: 'models', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    assert.equal(store.uriFor('a/b'), 's3://models/a/b');
  });

  it('names the bad field of a config and the accepted values', () => {
    assert.throws(
      () => openArtifactStore({ kind: 's3', bucket: 'Bad_Bucket' }),
      (err: Error) => hasCode('BAD_CONFIG')(err) && /bucket/.test(err.message),
    );
    assert.throws(
      () => openArtifactStore({ kind: 's3', bucket: 'ok-bucket', conditionalWrites: 'maybe' as 'auto' }),
      (err: Error) => /conditionalWrites/.test(err.message) && /native/.test(err.message),
    );
    assert.throws(() => openArtifactStore('ftp://x/y'), hasCode('BAD_URI'));
  });
});
