import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tableFromArrays, tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { readParquet as wasmReadParquet, Table as WasmTable, writeParquet as wasmWriteParquet } from 'parquet-wasm';
import { type CategoricalColumn, frameFromArrays, type Frame } from '../../ml/data/frame';
import { PARQUET_METADATA_KEY, readParquet, writeParquet } from '../../ml/data/parquet';
import type { DataSchema } from '../../ml/data/schema';
import { isMlInputError } from '../../ml/errors';
import { Rng } from '../../ml/random';
import { parquetMetadata } from 'hyparquet';

const schema: DataSchema = {
  features: [
    { name: 'price', type: 'numeric' },
    { name: 'region', type: 'categorical' },
    // Declared categories, one of which never occurs: it must survive the round trip.
    { name: 'plan', type: 'categorical', categories: ['basic', 'pro', 'unused'] },
  ],
  label: { name: 'class', positive: 'UP', negative: ['DOWN'] },
  time: { name: 'ts' },
};

/** A frame with missing values in every feature and categories coded in an order that is not alphabetical. */
function sample(n: number, seed: number): Frame {
  const rng = new Rng(seed);
  const price: (number | null)[] = [];
  const region: (string | null)[] = [];
  const plan: (string | null)[] = [];
  const labels: string[] = [];
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    price.push(rng.next() < 0.1 ? null : rng.normal() * 100);
    region.push(rng.next() < 0.1 ? null : ['south', 'north', 'east', 'Zürich'][rng.nextInt(4)]);
    plan.push(rng.next() < 0.05 ? null : rng.next() < 0.7 ? 'basic' : 'pro');
    labels.push(rng.next() < 0.4 ? 'UP' : 'DOWN');
    ts.push(Date.UTC(2024, 0, 1) + i * 1800_000);
  }
  return frameFromArrays(schema, { features: { price, region, plan }, labels, time: ts });
}

function plain(f: Frame): unknown {
  return {
    schema: f.schema,
    columns: f.columns.map((c) => (c.type === 'numeric' ? { name: c.name, values: [...c.values] } : { name: c.name, codes: [...c.codes], categories: [...c.categories] })),
    labels: [...f.labels],
    time: f.time ? [...f.time] : undefined,
  };
}

/** Reads our bytes with parquet-wasm (the Rust implementation) into an Arrow table. */
function readWithRust(bytes: Uint8Array): Table {
  return tableFromIPC(wasmReadParquet(bytes).intoIPCStream());
}

test('a frame written as Parquet reads back identical: schema, values, missing values, category codes and lists', async () => {
  const frame = sample(2500, 1);
  const back = await readParquet(writeParquet(frame));
  assert.deepEqual(plain(back), plain(frame));
});

test('the Rust Parquet reader finds the same values in our file, with names for categories and nulls for missing', () => {
  const frame = sample(3000, 2);
  const bytes = writeParquet(frame, { rowGroupSize: 1000 }); // several row groups
  const table = readWithRust(bytes);
  assert.equal(table.numRows, frame.nRows);
  const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
  assert.deepEqual(types, { price: 'Float64', region: 'Utf8', plan: 'Utf8', class: 'Utf8', ts: 'Float64' });
  const price = frame.column('price');
  const region = frame.column('region');
  assert.ok(price.type === 'numeric' && region.type === 'categorical');
  for (let i = 0; i < frame.nRows; i++) {
    const v: number = price.values[i];
    assert.equal(table.getChild('price')!.get(i), Number.isNaN(v) ? null : v, `price row ${i}`);
    const code: number = region.codes[i];
    assert.equal(table.getChild('region')!.get(i), code < 0 ? null : region.categories[code], `region row ${i}`);
    assert.equal(table.getChild('class')!.get(i), frame.labels[i] === 1 ? 'UP' : 'DOWN');
    assert.equal(table.getChild('ts')!.get(i), frame.time![i]);
  }
});

test('the Retrain schema rides in the key-value metadata that other readers keep', () => {
  const bytes = writeParquet(sample(10, 3));
  const kv = parquetMetadata(bytes.slice().buffer).key_value_metadata ?? [];
  const stored = JSON.parse(kv.find((e) => e.key === PARQUET_METADATA_KEY)!.value!);
  assert.deepEqual(stored.schema, schema);
  assert.deepEqual(stored.categories.plan, ['basic', 'pro', 'unused']);
  // The Rust reader (as pyarrow does) surfaces it as the Arrow schema's metadata.
  assert.deepEqual(JSON.parse(readWithRust(bytes).schema.metadata.get(PARQUET_METADATA_KEY)!), stored);
});

test('a file written by the Rust writer reads with our reader by a given schema', async () => {
  const arrow = tableFromArrays({
    x: Float64Array.from([0.5, NaN, -2, 3.25]),
    n: Int32Array.from([1, 2, 3, 4]),
    big: BigInt64Array.from([10n, 20n, 30n, 40n]),
    color: ['red', 'blue', 'red', 'green'],
    y: ['yes', 'no', 'no', 'yes'],
  });
  const bytes = wasmWriteParquet(WasmTable.fromIPCStream(tableToIPC(arrow, 'stream')));
  const s: DataSchema = {
    features: [
      { name: 'x', type: 'numeric' },
      { name: 'n', type: 'numeric' },
      { name: 'big', type: 'numeric' },
      { name: 'color', type: 'categorical' },
    ],
    label: { name: 'y', positive: 'yes' },
  };
  const frame = await readParquet(bytes, s);
  assert.deepEqual(plain(frame), {
    schema: s,
    columns: [
      { name: 'x', values: [0.5, NaN, -2, 3.25] },
      { name: 'n', values: [1, 2, 3, 4] },
      { name: 'big', values: [10, 20, 30, 40] },
      { name: 'color', codes: [0, 1, 0, 2], categories: ['red', 'blue', 'green'] },
    ],
    labels: [1, 0, 0, 1],
    time: undefined,
  });
});

test('without a known negative label value the label is written as a BOOLEAN, and reads back', async () => {
  const s: DataSchema = { features: [{ name: 'a', type: 'numeric' }], label: { name: 'y', positive: 'UP' } };
  const frame = frameFromArrays(s, { features: { a: [1, 2, 3] }, labels: ['UP', 'DOWN', 'UP'] });
  const bytes = writeParquet(frame);
  assert.equal(String(readWithRust(bytes).schema.fields[1].type), 'Bool');
  assert.deepEqual([...(await readParquet(bytes)).labels], [1, 0, 1]);
  // Naming the negative value writes the label strings instead.
  assert.deepEqual(readWithRust(writeParquet(frame, { negativeLabel: 'DOWN' })).getChild('y')!.toArray(), ['UP', 'DOWN', 'UP']);
});

test('a foreign file without the Retrain schema needs one, and bad values are named by row and column', async () => {
  const arrow = tableFromArrays({ a: ['1', 'x'], y: ['UP', 'maybe'] });
  const bytes = wasmWriteParquet(WasmTable.fromIPCStream(tableToIPC(arrow, 'stream')));
  await assert.rejects(readParquet(bytes), (e: unknown) => isMlInputError(e) && /pass the schema/.test((e as Error).message));
  await assert.rejects(
    readParquet(bytes, { features: [{ name: 'a', type: 'numeric' }], label: { name: 'y', positive: 'UP' } }),
    /row 1, column "a": expected a number, got "1"/,
  );
  await assert.rejects(
    readParquet(bytes, { features: [{ name: 'b', type: 'numeric' }], label: { name: 'y', positive: 'UP' } }),
    /missing column "b"/,
  );
  await assert.rejects(
    readParquet(bytes, { features: [{ name: 'a', type: 'categorical' }], label: { name: 'y', positive: 'UP', negative: ['DOWN'] } }),
    (e: unknown) => isMlInputError(e) && (e as { code: string }).code === 'LABEL_VALUE' && /row 2/.test((e as Error).message),
  );
});

test('a given schema with declared categories recodes our file by name', async () => {
  const frame = sample(200, 4);
  const reordered: DataSchema = {
    ...schema,
    features: schema.features.map((f) => (f.name === 'plan' ? { ...f, categories: ['unused', 'pro', 'basic'] } : f)),
  };
  const back = await readParquet(writeParquet(frame), reordered);
  const before = frame.column('plan');
  const after = back.column('plan');
  assert.ok(before.type === 'categorical' && after.type === 'categorical');
  const nameAt = (c: CategoricalColumn, i: number): string | null => (c.codes[i] < 0 ? null : c.categories[c.codes[i]]);
  for (let i = 0; i < frame.nRows; i++) assert.equal(nameAt(after, i), nameAt(before, i));
});
