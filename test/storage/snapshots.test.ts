import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import { LocalArtifactStore } from '../../storage/local-store';
import { getSnapshot, getSnapshotInfo, putSnapshot } from '../../storage/snapshots';
import { hasCode } from './contract';
import { startS3Server, type TestS3Server } from './s3-server';

const csv = 'a,b,class\n1,2,UP\n3,4,DOWN\n';
const sha = createHash('sha256').update(csv).digest('hex');

describe('dataset snapshots', () => {
  let root: string;
  let store: LocalArtifactStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'retrain-snap-'));
    store = new LocalArtifactStore(root);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores data under datasets/sha256/<hash>.<format> and reports its hash and size', async () => {
    const snap = await putSnapshot(store, csv, { format: 'csv', meta: { rows: 2, run: 'retrain/elec2/1' } });
    assert.equal(snap.sha256, sha);
    assert.equal(snap.key, `datasets/sha256/${sha}.csv`);
    assert.equal(snap.uri, store.uriFor(snap.key));
    assert.equal(snap.bytes, Buffer.byteLength(csv));
    assert.equal(snap.created, true);
    assert.equal(Buffer.from(await getSnapshot(store, snap.uri)).toString(), csv);
  });

  it('is a no-op to store the same content again: same URI, the first writer’s metadata kept', async () => {
    const again = await putSnapshot(store, Buffer.from(csv), { format: 'csv', meta: { rows: 2, run: 'retrain/elec2/2' } });
    assert.equal(again.created, false);
    assert.equal(again.uri, store.uriFor(`datasets/sha256/${sha}.csv`));
    assert.deepEqual(again.meta, { rows: 2, run: 'retrain/elec2/1' });
    assert.deepEqual((await getSnapshotInfo(store, again.uri)).meta, { rows: 2, run: 'retrain/elec2/1' });
    assert.deepEqual(await store.list('datasets/'), [`datasets/sha256/${sha}.csv`, `datasets/sha256/${sha}.csv.meta.json`]);
  });

  it('stores concurrent writes of the same content once', async () => {
    const body = 'x,y\n9,9\n';
    const results = await Promise.all(Array.from({ length: 8 }, () => putSnapshot(store, body, { format: 'csv' })));
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.equal(new Set(results.map((r) => r.uri)).size, 1);
  });

  it('refuses to return data that no longer matches its hash', async () => {
    const snap = await putSnapshot(store, 'p,q\n1,1\n', { format: 'csv' });
    await writeFile(join(root, 'datasets', 'sha256', `${snap.sha256}.csv`), 'p,q\n1,2\n');
    await assert.rejects(getSnapshot(store, snap.uri), hasCode('INTEGRITY'));
  });

  it('rejects an unknown format and a URI that is not a snapshot', async () => {
    await assert.rejects(putSnapshot(store, csv, { format: 'xlsx' as 'csv' }), (err: Error) => hasCode('BAD_INPUT')(err) && /csv, parquet/.test(err.message));
    await store.put('models/m.json', '{}');
    await assert.rejects(getSnapshot(store, 'models/m.json'), hasCode('BAD_INPUT'));
  });
});

describe('dataset snapshots on S3', () => {
  let server: TestS3Server;
  before(async () => {
    server = await startS3Server();
  });
  after(async () => {
    await server.close();
  });

  it('round-trips a parquet snapshot under s3://bucket/prefix/datasets/sha256/', async () => {
    const store = server.store({ prefix: 'snaps' });
    const bytes = new Uint8Array([80, 65, 82, 49, 0, 1, 2, 80, 65, 82, 49]);
    const snap = await putSnapshot(store, bytes, { format: 'parquet', meta: { rows: 0 } });
    assert.match(snap.uri, new RegExp(`^s3://${server.bucket}/snaps/datasets/sha256/[0-9a-f]{64}\\.parquet$`));
    assert.deepEqual(await getSnapshot(store, snap.uri), bytes);
    assert.equal((await putSnapshot(store, bytes, { format: 'parquet' })).created, false);
  });
});
