import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../ml/random';
import { frameFromArrays, type DataSchema } from '../../ml/data';
import { validateBatch, type ValidationReport } from '../../ml/data/validation';

// Out-of-range values on drifting data: a column that moves beyond production's training range is drift (a
// warning, so that the run can train on it and widen the reference), while sentinels and unit errors still fail.

const schema: DataSchema = {
  features: [
    { name: 'price', type: 'numeric' },
    { name: 'demand', type: 'numeric' },
  ],
  label: { name: 'label', positive: 'up', negative: ['down'] },
};

/** Like Elec2's Victoria price before its market opened: constant in the reference. demand ~ N(50, 10). */
function rows(seed: number, n: number, price: (rng: Rng, i: number) => number, demand: (rng: Rng) => number = (rng) => 50 + 10 * rng.normal()) {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => ({ price: price(rng, i), demand: demand(rng), label: rng.next() < 0.4 ? 'up' : 'down' }));
}

const reference = (() => {
  const r = rows(1, 2000, () => 0.003467);
  return frameFromArrays(schema, { features: { price: r.map((x) => x.price), demand: r.map((x) => x.demand) }, labels: r.map((x) => x.label) });
})();

function range(r: ValidationReport, column: string) {
  return [...r.failures, ...r.warnings].find((f) => f.check === 'out_of_range' && f.column === column);
}

test('a constant reference column that spreads continuously over new values is drift: the batch passes with a warning', () => {
  // After a year at one value the price moves freely over [0, 1]: every row is out of the reference's [c, c].
  const r = validateBatch(reference, { records: rows(2, 1344, (rng) => rng.next()) });
  assert.equal(r.passed, true, JSON.stringify(r.failures));
  const w = r.warnings.find((f) => f.check === 'out_of_range' && f.column === 'price');
  assert.ok(w, JSON.stringify(r.warnings));
  assert.equal(w.count, 1344);
  assert.match(w.message, /the column drifted beyond its old range/);
  assert.equal(r.columns.find((c) => c.column === 'price')!.rangeVerdict, 'drift');
  assert.equal(r.rule.outOfRange, 'auto');
});

test('a shifted distribution beyond the old range is drift: a warning, not a failure', () => {
  // demand moves from N(50, 10) (reference range about [15, 85], allowed up to about 155) to N(200, 10).
  const r = validateBatch(reference, { records: rows(3, 500, () => 0.003467, (rng) => 200 + 10 * rng.normal()) });
  assert.equal(r.passed, true, JSON.stringify(r.failures));
  assert.equal(r.columns.find((c) => c.column === 'demand')!.rangeVerdict, 'drift');
  assert.ok((range(r, 'demand')?.count ?? 0) > 400);
  assert.deepEqual(r.drifted, ['demand']);
});

test('a sentinel repeated in many rows fails even though it is too many to be "few"', () => {
  // -1 for "unknown" in 30% of a non-negative column: one repeated value.
  const r = validateBatch(reference, { records: rows(4, 500, () => 0.003467, (rng) => (rng.next() < 0.3 ? -1 : 50 + 10 * rng.normal())) });
  assert.equal(r.passed, false);
  const f = r.failures.find((x) => x.check === 'out_of_range' && x.column === 'demand');
  assert.ok(f, JSON.stringify(r.failures));
  assert.match(f.message, /are the same value -1: the signature of a sentinel or default value/);
  assert.equal(r.columns.find((c) => c.column === 'demand')!.rangeVerdict, 'repeated');
});

test('a broad spread absurdly far from the reference (a unit error) fails', () => {
  // demand in thousandths: varied values, but about 700 reference widths beyond the range.
  const r = validateBatch(reference, { records: rows(5, 500, () => 0.003467, (rng) => 1000 * (50 + 10 * rng.normal())) });
  assert.equal(r.passed, false);
  assert.equal(r.columns.find((c) => c.column === 'demand')!.rangeVerdict, 'far');
  assert.match(range(r, 'demand')!.message, /reference widths beyond the reference range \(more than 10\): a sentinel or a unit error/);
});

test('a few distinct values beyond the range fail as isolated errors', () => {
  // Three typos (a decimal point lost) among 500 values: distinct and near, but too few to be a shift.
  const typos = new Map([[10, 512], [200, 487], [301, 530]]);
  const r = validateBatch(reference, { records: rows(6, 500, () => 0.003467, (rng) => 50 + 10 * rng.normal()).map((x, i) => (typos.has(i) ? { ...x, demand: typos.get(i)! } : x)) });
  assert.equal(r.passed, false);
  const f = r.failures.find((x) => x.check === 'out_of_range' && x.column === 'demand')!;
  assert.deepEqual(f.rows, [11, 201, 302]);
  assert.match(f.message, /too few to be a shift of the distribution/);
});

test('policy fail fails drift, policy warn passes a sentinel, and a configured range stays a hard bound', () => {
  const drift = { records: rows(7, 1344, (rng) => rng.next()) };
  const strict = validateBatch(reference, drift, { outOfRange: 'fail' });
  assert.equal(strict.passed, false);
  assert.equal(strict.columns.find((c) => c.column === 'price')!.rangeVerdict, 'strict');
  const bounded = validateBatch(reference, drift, { ranges: { price: { min: 0, max: 0.5 } } });
  assert.equal(bounded.passed, false);
  assert.equal(bounded.columns.find((c) => c.column === 'price')!.rangeVerdict, 'explicit');
  const sentinel = { records: rows(8, 200, () => 0.003467).map((x, i) => (i === 3 ? { ...x, demand: 9999 } : x)) };
  assert.equal(validateBatch(reference, sentinel).passed, false);
  const warned = validateBatch(reference, sentinel, { outOfRange: 'warn' });
  assert.equal(warned.passed, true, JSON.stringify(warned.failures));
  assert.ok(warned.warnings.some((w) => w.check === 'out_of_range' && w.column === 'demand'));
  assert.throws(() => validateBatch(reference, sentinel, { outOfRange: 'loose' as never }), /options\.outOfRange: expected one of "fail", "warn", "auto", got "loose"/);
});
