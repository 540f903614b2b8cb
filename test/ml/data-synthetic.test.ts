import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Frame, hyperplaneStream, InputError, SEA_THETAS, seaStream } from '../../ml/data';

function col(f: Frame, name: string): Float64Array {
  const c = f.column(name);
  assert.ok(c.type === 'numeric');
  return c.values;
}

function sameFrame(a: Frame, b: Frame): boolean {
  return (
    a.nRows === b.nRows &&
    a.names.every((n) => Buffer.from(col(a, n).buffer).equals(Buffer.from(col(b, n).buffer))) &&
    Buffer.from(a.labels).equals(Buffer.from(b.labels))
  );
}

test('the same seed gives bit-identical streams and another seed a different one', () => {
  const opts = { rows: 2_000, noise: 0.1, drift: { mode: 'gradual' as const, at: [1_000], width: 200 } };
  const a = seaStream({ ...opts, seed: 3 });
  const b = seaStream({ ...opts, seed: 3 });
  assert.ok(sameFrame(a.frame, b.frame));
  assert.deepEqual(a.concept, b.concept);
  assert.ok(!sameFrame(a.frame, seaStream({ ...opts, seed: 4 }).frame));
  const h1 = hyperplaneStream({ rows: 1_000, seed: 3, magnitude: 0.01, noise: 0.05, drift: { mode: 'recurring', period: 100 } });
  const h2 = hyperplaneStream({ rows: 1_000, seed: 3, magnitude: 0.01, noise: 0.05, drift: { mode: 'recurring', period: 100 } });
  assert.ok(sameFrame(h1.frame, h2.frame));
});

test('SEA without noise labels every row 1 exactly when f1 + f2 <= theta of its concept (Street and Kim 2001)', () => {
  const { frame, concept } = seaStream({ rows: 20_000, seed: 1, drift: { mode: 'sudden', at: [5_000, 10_000, 15_000] } });
  const f1 = col(frame, 'f1');
  const f2 = col(frame, 'f2');
  const f3 = col(frame, 'f3');
  for (let i = 0; i < frame.nRows; i++) {
    assert.equal(frame.labels[i], f1[i] + f2[i] <= SEA_THETAS[concept[i]] ? 1 : 0, `row ${i}`);
    assert.ok(f1[i] >= 0 && f1[i] < 10 && f2[i] >= 0 && f2[i] < 10 && f3[i] >= 0 && f3[i] < 10);
  }
  assert.deepEqual(frame.names, ['f1', 'f2', 'f3']);
  assert.deepEqual([...frame.time!.subarray(0, 3)], [0, 1, 2]);
});

test('SEA concepts change exactly at the declared rows, in the paper order 8, 9, 7, 9.5', () => {
  const { concept } = seaStream({ rows: 20_000, seed: 2, drift: { mode: 'sudden', at: [5_000, 10_000, 15_000] } });
  const changes: number[] = [];
  for (let i = 1; i < concept.length; i++) if (concept[i] !== concept[i - 1]) changes.push(i);
  assert.deepEqual(changes, [5_000, 10_000, 15_000]);
  assert.deepEqual([concept[0], concept[5_000], concept[10_000], concept[15_000]].map((c) => SEA_THETAS[c]), [8, 9, 7, 9.5]);
});

test('the positive rate of each SEA concept matches P(f1 + f2 <= theta) = theta^2 / 200', () => {
  // For f1, f2 uniform on [0, 10] and theta <= 10, the region f1 + f2 <= theta is a triangle of area theta^2 / 2.
  for (let c = 0; c < 4; c++) {
    const n = 40_000;
    const { frame } = seaStream({ rows: n, seed: 10 + c, concepts: [c] });
    const rate = frame.labels.reduce((s, y) => s + y, 0) / n;
    const p = SEA_THETAS[c] ** 2 / 200;
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(rate - p) < 4 * sd, `theta ${SEA_THETAS[c]}: rate ${rate}, expected ${p}`);
  }
});

test('label noise flips the declared share of labels, and features do not depend on drift or noise settings', () => {
  const n = 40_000;
  const clean = seaStream({ rows: n, seed: 5 });
  const noisy = seaStream({ rows: n, seed: 5, noise: 0.1 });
  const drifting = seaStream({ rows: n, seed: 5, drift: { mode: 'recurring', period: 1_000 } });
  assert.deepEqual(col(noisy.frame, 'f1'), col(clean.frame, 'f1'));
  assert.deepEqual(col(drifting.frame, 'f2'), col(clean.frame, 'f2'));
  let flipped = 0;
  for (let i = 0; i < n; i++) if (noisy.frame.labels[i] !== clean.frame.labels[i]) flipped++;
  const sd = Math.sqrt((0.1 * 0.9) / n);
  assert.ok(Math.abs(flipped / n - 0.1) < 4 * sd, `flip rate ${flipped / n}`);
});

test('recurring drift cycles through the concepts every period rows', () => {
  const { concept } = seaStream({ rows: 1_000, seed: 1, concepts: [0, 2], drift: { mode: 'recurring', period: 100 } });
  for (let t = 0; t < 1_000; t++) assert.equal(concept[t], Math.floor(t / 100) % 2 === 0 ? 0 : 2);
});

test('linear gradual drift is all old concept before the ramp, all new after it, and mixed in proportion within', () => {
  const at = 10_000;
  const width = 4_000;
  const { concept } = seaStream({ rows: 20_000, seed: 9, drift: { mode: 'gradual', at: [at], width, shape: 'linear' } });
  for (let t = 0; t <= at - width / 2; t++) assert.equal(concept[t], 0);
  for (let t = at + width / 2; t < 20_000; t++) assert.equal(concept[t], 1);
  // Over the ramp's first quarter, P(new) rises from 0 to 1/4: an average of 1/8 over 1,000 rows.
  let fresh = 0;
  for (let t = at - width / 2; t < at - width / 4; t++) fresh += concept[t];
  const sd = Math.sqrt((0.125 * 0.875) / 1_000);
  assert.ok(Math.abs(fresh / 1_000 - 0.125) < 4 * sd, `share ${fresh / 1_000}`);
});

test('sigmoid gradual drift is half switched at its centre', () => {
  const { concept } = seaStream({ rows: 40_000, seed: 4, drift: { mode: 'gradual', at: [20_000], width: 40_000 } });
  // Across the centre ±1,000 rows the switch probability 1/(1 + e^(-4 (t - 20,000) / 40,000)) averages 1/2 by symmetry.
  let fresh = 0;
  for (let t = 19_000; t < 21_000; t++) fresh += concept[t];
  assert.ok(Math.abs(fresh / 2_000 - 0.5) < 4 * Math.sqrt(0.25 / 2_000), `share ${fresh / 2_000}`);
  assert.ok(concept.subarray(0, 1_000).reduce((s, c) => s + c, 0) / 1_000 < 0.2);
});

test('the hyperplane labels a row 1 exactly when w . x >= (1/2) sum w for its concept when nothing rotates', () => {
  const { frame, concept, weights } = hyperplaneStream({ rows: 5_000, seed: 11, dimensions: 5, concepts: 3, drift: { mode: 'sudden', at: [2_000, 4_000] } });
  const x = frame.names.map((n) => col(frame, n));
  for (let i = 0; i < frame.nRows; i++) {
    const w = weights[concept[i]];
    let dot = 0;
    let sum = 0;
    for (let j = 0; j < 5; j++) {
      dot += w[j] * x[j][i];
      sum += w[j];
    }
    assert.equal(frame.labels[i], dot >= 0.5 * sum ? 1 : 0, `row ${i}`);
  }
  assert.deepEqual([concept[1_999], concept[2_000], concept[4_000]], [0, 1, 2]);
});

test('with a rotation magnitude the hyperplane drifts away from its starting weights', () => {
  const { frame, weights } = hyperplaneStream({ rows: 20_000, seed: 12, dimensions: 4, magnitude: 0.001, reversal: 0 });
  const x = frame.names.map((n) => col(frame, n));
  const agree = (from: number, to: number): number => {
    let same = 0;
    for (let i = from; i < to; i++) {
      let dot = 0;
      let sum = 0;
      for (let j = 0; j < 4; j++) {
        dot += weights[0][j] * x[j][i];
        sum += weights[0][j];
      }
      if ((dot >= 0.5 * sum ? 1 : 0) === frame.labels[i]) same++;
    }
    return same / (to - from);
  };
  assert.ok(agree(0, 100) > 0.98);
  assert.ok(agree(19_000, 20_000) < 0.95);
});

test('bad generator options name the field and what is accepted', () => {
  assert.throws(() => seaStream({ rows: 10, seed: 1, drift: { mode: 'abrupt' } as never }), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /drift\.mode: expected one of "none" \| "sudden" \| "gradual" \| "recurring", got "abrupt"/);
    return true;
  });
  assert.throws(() => seaStream({ rows: 10, seed: 1, drift: { mode: 'sudden', at: [5, 3] } }), /drift\.at: expected strictly increasing row positions/);
  assert.throws(() => seaStream({ rows: 10, seed: 1, concepts: [4] }), /concepts\[0\]: expected an index into thetas \(0\.\.3\), got 4/);
  assert.throws(() => hyperplaneStream({ rows: 10, seed: 1, dimensions: 3, driftDimensions: 4 }), /driftDimensions: expected at most dimensions \(3\), got 4/);
});
