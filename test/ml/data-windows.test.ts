import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type DataSchema, type Frame, frameFromArrays, lastN, lastSpan, sliding, tumbling, window } from '../../ml/data';

const timed: DataSchema = { features: [{ name: 'x', type: 'numeric' }], label: { name: 'y', positive: '1' }, time: { name: 't' } };
const untimed: DataSchema = { features: [{ name: 'x', type: 'numeric' }], label: { name: 'y', positive: '1' } };

/** A frame whose x equals the row index, so a window's rows can be read off x. */
function rows(n: number, time?: number[]): Frame {
  const x = Array.from({ length: n }, (_, i) => i);
  return frameFromArrays(time ? timed : untimed, { features: { x }, labels: new Uint8Array(n), ...(time ? { time } : {}) });
}

function xs(f: Frame): number[] {
  const c = f.column('x');
  assert.ok(c.type === 'numeric');
  return [...c.values];
}

test('window by time keeps rows with from <= time < to', () => {
  const f = rows(6, [0, 10, 10, 20, 30, 40]);
  assert.deepEqual(xs(window(f, { from: 10, to: 30 })), [1, 2, 3]);
  assert.deepEqual(xs(window(f, { from: 25 })), [4, 5]);
  assert.deepEqual(xs(window(f, { to: 10 })), [0]);
  assert.deepEqual(xs(window(f, { from: 41 })), []);
});

test('window on an unordered time column keeps matching rows in row order', () => {
  const f = rows(5, [30, 10, 20, 10, 40]);
  assert.deepEqual(xs(window(f, { from: 10, to: 25 })), [1, 2, 3]);
});

test('window by rows uses the row index, and a frame without time uses the row index as time', () => {
  const f = rows(6, [0, 10, 10, 20, 30, 40]);
  assert.deepEqual(xs(window(f, { from: 1, to: 3, by: 'rows' })), [1, 2]);
  assert.deepEqual(xs(window(rows(6), { from: 4 })), [4, 5]);
  assert.throws(() => window(f, { from: Number.NaN }), /bounds\.from: expected a number, got NaN/);
});

test('lastN and lastSpan take the most recent rows', () => {
  const f = rows(6, [0, 10, 10, 20, 30, 40]);
  assert.deepEqual(xs(lastN(f, 2)), [4, 5]);
  assert.deepEqual(xs(lastN(f, 10)), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(xs(lastSpan(f, 20)), [4, 5]);
  assert.deepEqual(xs(lastSpan(f, 30)), [3, 4, 5]);
  assert.deepEqual(xs(lastSpan(f, 30.5)), [1, 2, 3, 4, 5]);
  assert.throws(() => lastN(f, -1), /n: expected a non-negative integer, got -1/);
});

test('tumbling row windows partition the rows, the last one partial', () => {
  const ws = [...tumbling(rows(250), { size: 100, by: 'rows' })];
  assert.deepEqual(
    ws.map((w) => [w.from, w.to, w.frame.nRows, w.partial]),
    [
      [0, 100, 100, false],
      [100, 200, 100, false],
      [200, 300, 50, true],
    ],
  );
  assert.deepEqual(ws.flatMap((w) => xs(w.frame)), Array.from({ length: 250 }, (_, i) => i));
  assert.equal([...tumbling(rows(250), { size: 100, includePartial: false })].length, 2);
});

test('sliding row windows overlap by size - step and skip windows that would run past the end', () => {
  const ws = [...sliding(rows(250), { size: 100, step: 50 })];
  assert.deepEqual(
    ws.map((w) => [w.index, w.from, w.to]),
    [
      [0, 0, 100],
      [1, 50, 150],
      [2, 100, 200],
      [3, 150, 250],
    ],
  );
  assert.deepEqual(xs(ws[1].frame).slice(0, 2), [50, 51]);
  assert.equal([...sliding(rows(250), { size: 100, step: 50, includePartial: true })].length, 5);
});

test('tumbling time windows start at the first time or the origin and yield empty windows over gaps', () => {
  const f = rows(5, [3, 4, 8, 25, 26]);
  const ws = [...tumbling(f, { size: 10, origin: 0 })];
  assert.deepEqual(
    ws.map((w) => [w.from, w.to, xs(w.frame), w.partial]),
    [
      [0, 10, [0, 1, 2], false],
      [10, 20, [], false],
      [20, 30, [3, 4], true],
    ],
  );
  const fromFirst = [...tumbling(f, { size: 10 })];
  assert.deepEqual(fromFirst.map((w) => [w.from, xs(w.frame)]), [
    [3, [0, 1, 2]],
    [13, []],
    [23, [3, 4]],
  ]);
});

test('sliding time windows need a nondecreasing time column', () => {
  assert.throws(() => [...sliding(rows(3, [2, 1, 3]), { size: 1 })], /frame\.time: sliding time windows need a nondecreasing time column/);
});

test('window specs are checked when the iterator is created', () => {
  assert.throws(() => sliding(rows(3), { size: 0 }), /spec\.size: expected a positive number, got 0/);
  assert.throws(() => sliding(rows(3), { size: 2, step: 0.5, by: 'rows' }), /row windows need integer size and step/);
  assert.throws(() => tumbling(rows(3), { size: 2, step: 1 } as never), /spec\.step: tumbling windows step by their size/);
  assert.throws(() => sliding(rows(3), { size: 2, by: 'days' as never }), /spec\.by: expected "rows" \| "time", got "days"/);
});
