import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { inferCsvSchemaFrom, loadCsv, loadCsvFrom } from '../../ml/data/csv';
import type { DataSchema } from '../../ml/data/schema';
import type { Frame } from '../../ml/data/frame';
import { isMlInputError } from '../../ml/errors';

const schema: DataSchema = {
  features: [
    { name: 'price', type: 'numeric' },
    { name: 'city', type: 'categorical' },
  ],
  label: { name: 'class', positive: 'UP' },
};

// Non-ASCII categories, so that chunk boundaries can fall inside a multi-byte character.
const text = 'price,city,class\n1.5,Zürich,UP\n2,Genève,DOWN\n,Zürich,UP\n4.25,"São Paulo, BR",DOWN\n';
const bytes = new TextEncoder().encode(text);

function plain(f: Frame): unknown {
  return {
    columns: f.columns.map((c) => (c.type === 'numeric' ? [...c.values] : { codes: [...c.codes], categories: [...c.categories] })),
    labels: [...f.labels],
  };
}

/** The bytes cut into chunks of `size`, most of them splitting a character or a record. */
function* chunks(size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
}

test('a CSV loads to the same frame from a path, from bytes and from a stream cut anywhere', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'retrain-csv-'));
  try {
    const path = join(dir, 'a.csv');
    writeFileSync(path, bytes);
    const expected = plain(await loadCsv(path, schema));
    assert.deepEqual((expected as { columns: { categories?: string[] }[] }).columns[1].categories, ['Zürich', 'Genève', 'São Paulo, BR']);
    assert.deepEqual(plain(await loadCsvFrom(path, schema)), expected);
    assert.deepEqual(plain(await loadCsvFrom(bytes, schema)), expected);
    for (const size of [1, 2, 3, 7, 64]) {
      assert.deepEqual(plain(await loadCsvFrom(bytes, schema, { chunkSize: size })), expected, `bytes in chunks of ${size}`);
      assert.deepEqual(plain(await loadCsvFrom(Readable.from(chunks(size)), schema)), expected, `a Readable of ${size}-byte chunks`);
    }
    // A web ReadableStream (what fetch and some SDKs return) is an async iterable too.
    const web = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks(5)) controller.enqueue(c);
        controller.close();
      },
    });
    assert.deepEqual(plain(await loadCsvFrom(web, schema)), expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('errors from a stream name the row and column as they do for a file', async () => {
  const bad = new TextEncoder().encode('price,city,class\n1,a,UP\nabc,b,DOWN\n');
  await assert.rejects(loadCsvFrom(Readable.from([bad.slice(0, 20), bad.slice(20)]), schema), (e: unknown) => {
    assert.ok(isMlInputError(e));
    assert.match((e as Error).message, /row 2, column "price": expected a number, got "abc"/);
    return true;
  });
});

test('a schema is inferred from bytes and from a stream, which is left unread after the sample', async () => {
  const options = { label: 'class', positive: 'UP', sampleRows: 2 };
  const fromBytes = await inferCsvSchemaFrom(bytes, options);
  assert.deepEqual(fromBytes.features, [
    { name: 'price', type: 'numeric' },
    { name: 'city', type: 'categorical' },
  ]);
  let pulled = 0;
  let closed = false;
  const big = new Readable({
    read() {
      pulled++;
      this.push(pulled === 1 ? 'price,city,class\n1,a,UP\n2,b,DOWN\n' : '3,c,UP\n'.repeat(10_000));
    },
    destroy(err, cb) {
      closed = true;
      cb(err);
    },
  });
  assert.deepEqual((await inferCsvSchemaFrom(big, options)).features, fromBytes.features);
  assert.ok(pulled < 5, `read ${pulled} chunks of an endless stream`);
  assert.equal(closed, true);
});

test('a source that is neither a path, bytes nor a byte stream is refused with a coded error', async () => {
  await assert.rejects(loadCsvFrom(42 as never, schema), (e: unknown) => isMlInputError(e) && /source: expected/.test((e as Error).message));
  await assert.rejects(loadCsvFrom(Readable.from([{ not: 'bytes' }]), schema), /a chunk of type object/);
});
