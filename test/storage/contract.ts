/**
 * The artifact store contract: one suite of behaviour every ArtifactStore implementation must show, run by
 * artifact-store.test.ts over the local store and the S3 store (in both of its compare-and-set modes).
 */
import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import type { ArtifactStore } from '../../storage/artifact-store';
import { StorageError } from '../../storage/errors';

export interface StoreFixture {
  store: ArtifactStore;
  /** A second instance over the same storage (another client / another "worker"). */
  twin: ArtifactStore;
  close(): Promise<void>;
}

export function hasCode(code: string) {
  return (err: unknown) => err instanceof StorageError && err.code === code;
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Adds 1 to a counter document with the store's compare-and-set, retrying on conflict. */
export async function increment(store: ArtifactStore, key: string): Promise<number> {
  for (;;) {
    const current = await store.getWithVersion(key);
    const n = current ? Number(Buffer.from(current.bytes).toString()) : 0;
    const r = await store.putIfVersion(key, String(n + 1), current?.version ?? null);
    if (r.ok) return n + 1;
    // Lost a race: wait a random moment so the racers spread out instead of colliding again at once.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
  }
}

export function artifactStoreContract(name: string, open: () => Promise<StoreFixture>): void {
  describe(`${name} artifact store`, () => {
    let fx: StoreFixture;
    before(async () => {
      fx = await open();
    });
    after(async () => {
      await fx.close();
    });

    it('reads back what was put, as bytes, text and JSON, by key and by the returned URI', async () => {
      const uri = await fx.store.put('things/a.json', JSON.stringify({ a: [1, 2] }), { contentType: 'application/json' });
      assert.equal(uri, fx.store.uriFor('things/a.json'));
      assert.deepEqual(await fx.store.getJson('things/a.json'), { a: [1, 2] });
      assert.equal(await fx.store.getText(uri), '{"a":[1,2]}');
      const bytes = new Uint8Array([0, 255, 1, 254]);
      await fx.store.put('things/bin', bytes);
      assert.deepEqual(await fx.store.get(fx.store.uriFor('things/bin')), bytes);
      assert.equal(fx.store.keyOf(uri), 'things/a.json');
    });

    it('replaces an object on a second put', async () => {
      await fx.store.put('replace/x', 'first');
      await fx.store.put('replace/x', 'second');
      assert.equal(await fx.store.getText('replace/x'), 'second');
    });

    it('creates with putIfAbsent only once and keeps the first content', async () => {
      assert.equal((await fx.store.putIfAbsent('once/x', 'first')).created, true);
      assert.equal((await fx.store.putIfAbsent('once/x', 'second')).created, false);
      assert.equal(await fx.store.getText('once/x'), 'first');
    });

    it('lets exactly one of many concurrent putIfAbsent calls create the object', async () => {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? fx.twin : fx.store).putIfAbsent('race/once', `writer ${i}`)),
      );
      assert.equal(results.filter((r) => r.created).length, 1);
      const winner = results.findIndex((r) => r.created);
      assert.equal(await fx.store.getText('race/once'), `writer ${winner}`);
    });

    it('reports a missing object as NOT_FOUND from get, getText, getJson and stream, and as absent from exists', async () => {
      await assert.rejects(fx.store.get('missing/x'), hasCode('NOT_FOUND'));
      await assert.rejects(fx.store.getText('missing/x'), hasCode('NOT_FOUND'));
      await assert.rejects(fx.store.getJson('missing/x'), hasCode('NOT_FOUND'));
      await assert.rejects(fx.store.stream('missing/x'), hasCode('NOT_FOUND'));
      assert.equal(await fx.store.exists('missing/x'), false);
      await fx.store.put('missing/y', 'here');
      assert.equal(await fx.store.exists('missing/y'), true);
    });

    it('lists the keys under a folder or a partial name, sorted, and nothing else', async () => {
      await fx.store.put('list/b/2.txt', '2');
      await fx.store.put('list/a.txt', 'a');
      await fx.store.put('list/b/1.txt', '1');
      await fx.store.put('lister/no.txt', 'no');
      assert.deepEqual(await fx.store.list('list/'), ['list/a.txt', 'list/b/1.txt', 'list/b/2.txt']);
      assert.deepEqual(await fx.store.list('list/b'), ['list/b/1.txt', 'list/b/2.txt']);
      assert.deepEqual(await fx.store.list('list'), ['list/a.txt', 'list/b/1.txt', 'list/b/2.txt', 'lister/no.txt']);
      assert.deepEqual(await fx.store.list('nothing-here/'), []);
    });

    it('deletes an object, and deleting a missing one is not an error', async () => {
      await fx.store.put('del/x', 'x');
      await fx.store.delete('del/x');
      assert.equal(await fx.store.exists('del/x'), false);
      await fx.store.delete('del/x');
      assert.deepEqual(await fx.store.list('del/'), []);
    });

    it('streams a big object in chunks that add up to its bytes', async () => {
      const big = Buffer.alloc(5 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
      await fx.store.put('big/blob', big);
      const read = await readAll(await fx.store.stream('big/blob'));
      assert.equal(read.length, big.length);
      assert.ok(read.equals(big));
    });

    it('rejects keys that could escape the store or collide with its own files, naming the rule', async () => {
      for (const key of ['../x', '/abs', 'a//b', '.hidden', 'a/./b', 'a/..', '', 'a/ b']) {
        await assert.rejects(fx.store.put(key, 'x'), hasCode('BAD_KEY'), `key ${JSON.stringify(key)}`);
      }
    });

    it('rejects a URI of another store or scheme with BAD_URI', async () => {
      const other = fx.store.scheme === 's3' ? 's3://some-other-bucket/x' : 'file:///somewhere/else/x';
      await assert.rejects(fx.store.get(other), hasCode('BAD_URI'));
      await assert.rejects(fx.store.get('http://example.com/x'), hasCode('BAD_URI'));
    });

    it('compare-and-set: creates only when absent, replaces only at the version read, and reports conflicts', async () => {
      assert.equal(await fx.store.getWithVersion('cas/doc'), null);
      const created = await fx.store.putIfVersion('cas/doc', 'v1', null);
      assert.ok(created.ok);
      assert.deepEqual(await fx.store.putIfVersion('cas/doc', 'again', null), { ok: false });
      const read = await fx.store.getWithVersion('cas/doc');
      assert.equal(Buffer.from(read!.bytes).toString(), 'v1');
      assert.equal(read!.version, created.version);
      const second = await fx.store.putIfVersion('cas/doc', 'v2', read!.version);
      assert.ok(second.ok);
      // A writer still holding the first version loses and the document keeps the winner's content.
      assert.deepEqual(await fx.twin.putIfVersion('cas/doc', 'stale', read!.version), { ok: false });
      const now = await fx.twin.getWithVersion('cas/doc');
      assert.equal(Buffer.from(now!.bytes).toString(), 'v2');
      assert.equal(now!.version, second.version);
      assert.deepEqual(await fx.store.putIfVersion('cas/never', 'x', read!.version), { ok: false });
    });

    it('compare-and-set: concurrent increments through two store instances lose no update', async () => {
      const results = await Promise.all(
        Array.from({ length: 24 }, (_, i) => increment(i % 2 ? fx.twin : fx.store, 'cas/counter')),
      );
      assert.deepEqual([...results].sort((a, b) => a - b), Array.from({ length: 24 }, (_, i) => i + 1));
      assert.equal(await fx.store.getText('cas/counter'), '24');
    });
  });
}
