import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSchema, Frame, concat, frameFromArrays, toFeatureMatrix } from '../../ml/data';

const schema: DataSchema = {
  features: [
    { name: 'x', type: 'numeric' },
    { name: 'colour', type: 'categorical' },
  ],
  label: { name: 'y', positive: 'yes' },
  time: { name: 't' },
};

function sample(): Frame {
  return frameFromArrays(schema, {
    features: { x: [1, null, 3, 4, 5], colour: ['red', 'blue', null, 'red', 'green'] },
    labels: ['yes', 'no', 'yes', 'no', 'yes'],
    time: [10, 20, 30, 40, 50],
  });
}

test('columns are typed arrays with NaN and -1 for missing values, and labels are 1 only for the positive class', () => {
  const f = sample();
  assert.equal(f.nRows, 5);
  const x = f.column('x');
  assert.equal(x.type, 'numeric');
  assert.ok(x.type === 'numeric' && x.values instanceof Float64Array);
  assert.ok(x.type === 'numeric' && Number.isNaN(x.values[1]));
  const c = f.column('colour');
  assert.ok(c.type === 'categorical');
  assert.deepEqual([...c.codes], [0, 1, -1, 0, 2]);
  assert.deepEqual(c.categories, ['red', 'blue', 'green']);
  assert.deepEqual([...f.labels], [1, 0, 1, 0, 1]);
  assert.deepEqual([...(f.column('t') as { values: Float64Array }).values], [10, 20, 30, 40, 50]);
});

test('asking for an unknown column lists the columns there are', () => {
  assert.throws(() => sample().column('z'), /name: expected one of "x", "colour", "t", got "z"/);
});

test('slice returns a view of the rows without copying, and rejects bounds outside the frame', () => {
  const f = sample();
  const s = f.slice(1, 4);
  assert.equal(s.nRows, 3);
  assert.deepEqual([...s.labels], [0, 1, 0]);
  const parent = f.column('x') as { values: Float64Array };
  const child = s.column('x') as { values: Float64Array };
  assert.equal(child.values.buffer, parent.values.buffer);
  assert.deepEqual([...s.time!], [20, 30, 40]);
  assert.throws(() => f.slice(3, 2), /slice: expected integers 0 <= start <= end <= 5, got start 3, end 2/);
  assert.throws(() => f.slice(0, 6), RangeError);
});

test('take copies the given rows in the given order, repeats included', () => {
  const t = sample().take([4, 0, 0]);
  assert.deepEqual([...(t.column('x') as { values: Float64Array }).values], [5, 1, 1]);
  assert.deepEqual([...(t.column('colour') as { codes: Int32Array }).codes], [2, 0, 0]);
  assert.deepEqual([...t.labels], [1, 1, 1]);
  assert.deepEqual([...t.time!], [50, 10, 10]);
  assert.throws(() => sample().take([0, 5]), /indices\[1\]: expected an integer row index in \[0, 5\), got 5/);
});

test('concat re-codes categorical columns whose category lists differ', () => {
  const a = sample();
  const b = frameFromArrays(schema, {
    features: { x: [7, 8], colour: ['green', 'violet'] },
    labels: [1, 0],
    time: [60, 70],
  });
  const c = concat([a, b]);
  assert.equal(c.nRows, 7);
  const col = c.column('colour');
  assert.ok(col.type === 'categorical');
  assert.deepEqual(col.categories, ['red', 'blue', 'green', 'violet']);
  assert.deepEqual([...col.codes], [0, 1, -1, 0, 2, 2, 3]);
  assert.deepEqual([...c.labels], [1, 0, 1, 0, 1, 1, 0]);
  assert.deepEqual([...c.time!], [10, 20, 30, 40, 50, 60, 70]);
});

test('concat refuses frames with different columns and names the difference', () => {
  const other = frameFromArrays({ ...schema, features: [{ name: 'x', type: 'numeric' }] }, { features: { x: [1] }, labels: [1], time: [0] });
  assert.throws(() => concat([sample(), other]), /frames\[1\]: expected the same columns as frames\[0\], but features: 2 vs 1 columns/);
  assert.throws(() => concat([]), /frames: expected at least one frame/);
});

test('toFeatureMatrix gives categorical codes as numbers, missing values as NaN, and copies the storage', () => {
  const f = sample();
  const m = toFeatureMatrix(f);
  assert.equal(m.nRows, 5);
  assert.deepEqual(m.names, ['x', 'colour']);
  assert.deepEqual([...m.columns[1]], [0, 1, NaN, 0, 2]);
  assert.ok(Number.isNaN(m.columns[0][1]));
  m.columns[0][0] = 99;
  assert.equal((f.column('x') as { values: Float64Array }).values[0], 1);
  const only = toFeatureMatrix(f, ['colour']);
  assert.deepEqual(only.names, ['colour']);
  assert.equal(only.columns.length, 1);
});

test('constructing a frame with mismatched lengths or a missing time column fails with the field named', () => {
  const f = sample();
  assert.throws(
    () => new Frame({ schema, columns: f.columns, labels: new Uint8Array(4), time: f.time }),
    /columns\[0\] \(x\): expected 4 rows to match labels, got 5/,
  );
  assert.throws(() => new Frame({ schema, columns: f.columns, labels: f.labels }), /time: the schema names time column "t"/);
});

test('declared categories fix the codes and reject other values', () => {
  const s: DataSchema = { features: [{ name: 'c', type: 'categorical', categories: ['b', 'a'] }], label: { name: 'y', positive: '1' } };
  const f = frameFromArrays(s, { features: { c: ['a', 'b'] }, labels: [0, 1] });
  assert.deepEqual([...(f.column('c') as { codes: Int32Array }).codes], [1, 0]);
  assert.throws(() => frameFromArrays(s, { features: { c: ['z'] }, labels: [0] }), /features\.c\[0\]: expected one of "b", "a", got "z"/);
});

test('frameFromArrays codes string labels as a CSV does: an unaccepted value is a LABEL_VALUE error naming the index', () => {
  const s: DataSchema = { features: [{ name: 'x', type: 'numeric' }], label: { name: 'y', positive: 'up' } };
  assert.throws(
    () => frameFromArrays(s, { features: { x: [1, 2, 3] }, labels: ['up', 'down', 'sideways'] }),
    (e: unknown) => e instanceof RangeError && (e as { code?: string }).code === 'LABEL_VALUE' &&
      /^labels\[2\]: expected "up" \(positive\) or "down" \(the negative value, seen first at labels\[1\]\), got "sideways"/.test(e.message),
  );
  assert.throws(() => frameFromArrays(s, { features: { x: [1, 2] }, labels: ['UP', 'DOWN'] }), /labels\[1\]: expected "up" \(positive\) or "UP"/);
  const declared: DataSchema = { ...s, label: { name: 'y', positive: 'up', negative: ['down', 'flat'] } };
  assert.deepEqual([...frameFromArrays(declared, { features: { x: [1, 2, 3] }, labels: ['flat', 'up', 'down'] }).labels], [0, 1, 0]);
  assert.throws(() => frameFromArrays(declared, { features: { x: [1] }, labels: ['sideways'] }), /labels\[0\]: expected "up" \(positive\) or one of "down", "flat" \(label\.negative\), got "sideways"/);
});
