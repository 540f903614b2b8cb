import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../ml/random';
import { frameFromArrays, type DataSchema } from '../../ml/data';
import { Frame } from '../../ml/data/frame';
import { seaStream } from '../../ml/data/synthetic';
import { validateBatch, type ValidationReport } from '../../ml/data/validation';
import { parseCsvText } from '../../ml/data/csv';
import { mlErrorCode } from '../../ml/errors';

/** A frame as CSV text: features, label ("1"/"0") and time, in the schema's order. */
function toCsv(frame: Frame): string {
  const s = frame.schema;
  const header = [...s.features.map((f) => f.name), s.label.name, ...(s.time ? [s.time.name] : [])];
  const lines = [header.join(',')];
  for (let i = 0; i < frame.nRows; i++) {
    const cells = s.features.map((f) => {
      const c = frame.column(f.name);
      if (c.type === 'numeric') return Number.isNaN(c.values[i]) ? '' : String(c.values[i]);
      return c.codes[i] < 0 ? '' : c.categories[c.codes[i]];
    });
    cells.push(frame.labels[i] === 1 ? s.label.positive : '0');
    if (frame.time) cells.push(String(frame.time[i]));
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Replaces cell (row r, 1-based data row, column name) of CSV text. */
function setCell(csv: string, row: number, column: string, value: string): string {
  const lines = csv.split('\n');
  const j = lines[0].split(',').indexOf(column);
  const cells = lines[row].split(',');
  cells[j] = value;
  lines[row] = cells.join(',');
  return lines.join('\n');
}

const reference = seaStream({ rows: 3000, seed: 1 }).frame;

function failure(r: ValidationReport, check: string, column: string | null) {
  const f = r.failures.find((x) => x.check === check && x.column === column);
  assert.ok(f, `no ${check} failure for ${column}: ${JSON.stringify(r.failures)}`);
  return f;
}

test('clean batches from the same stream pass, as frames and as CSV, with no false alarm', () => {
  // Ten batches of 500 rows from other seeds of the same SEA stream (features uniform on [0, 10]).
  for (let seed = 2; seed < 12; seed++) {
    const batch = seaStream({ rows: 500, seed }).frame;
    for (const input of [batch, { csv: toCsv(batch) }]) {
      const r = validateBatch(reference, input);
      assert.equal(r.passed, true, JSON.stringify(r.failures));
      assert.deepEqual(r.failures, []);
      assert.equal(r.rows, 500);
    }
  }
});

test('a sentinel 9999 in a column whose reference stays within [0, 10] is flagged by default, with its rows', () => {
  let csv = toCsv(seaStream({ rows: 400, seed: 20 }).frame);
  csv = setCell(csv, 17, 'f2', '9999');
  csv = setCell(csv, 230, 'f2', '9999');
  const r = validateBatch(reference, { csv });
  assert.equal(r.passed, false);
  const f = failure(r, 'out_of_range', 'f2');
  assert.deepEqual(f.rows, [17, 230]);
  assert.equal(f.count, 2);
  assert.match(f.message, /2 values outside the allowed range \[0, 19\.99\] \(reference \[0\.00\d+, 9\.99\d+\]\): row 17: 9999, row 230: 9999/);
  const col = r.columns.find((c) => c.column === 'f2')!;
  assert.deepEqual(col.outOfRange, { count: 2, rows: [17, 230], values: [9999, 9999] });
  // Only f2 is at fault.
  assert.deepEqual(r.failures.map((x) => x.column), ['f2']);
});

test('a -1 sentinel in a non-negative column is out of range, though it is within one range of the minimum', () => {
  const csv = setCell(toCsv(seaStream({ rows: 200, seed: 21 }).frame), 5, 'f1', '-1');
  const f = failure(validateBatch(reference, { csv }), 'out_of_range', 'f1');
  assert.deepEqual(f.rows, [5]);
});

test('a type error in one cell is named with its row and value, and the rest of the batch is still checked', () => {
  let csv = toCsv(seaStream({ rows: 300, seed: 22 }).frame);
  csv = setCell(csv, 42, 'f3', 'seven');
  csv = setCell(csv, 43, 'f1', '9999');
  // The strict loader stops at the first bad cell...
  assert.throws(() => parseCsvText(csv, reference.schema), /row 42/);
  // ...validation reports it and carries on.
  const r = validateBatch(reference, { csv });
  const t = failure(r, 'type', 'f3');
  assert.deepEqual(t.rows, [42]);
  assert.match(t.message, /1 value is not a number \(row 42: "seven"\)/);
  failure(r, 'out_of_range', 'f1');
  assert.equal(r.columns.find((c) => c.column === 'f3')!.missingRate, 0);
});

test('a missing column fails the schema check and an extra one is a warning', () => {
  const lines = toCsv(seaStream({ rows: 100, seed: 23 }).frame).trimEnd().split('\n');
  // Drop f3 (the third column) and add "note".
  const csv = lines.map((l, i) => [...l.split(',').filter((_, j) => j !== 2), i === 0 ? 'note' : 'x'].join(',')).join('\n');
  const r = validateBatch(reference, { csv });
  assert.equal(r.passed, false);
  assert.match(failure(r, 'schema', 'f3').message, /missing column "f3" \(a numeric feature of the reference\)/);
  assert.equal(r.columns.find((c) => c.column === 'f3')!.present, false);
  assert.ok(r.warnings.some((w) => w.check === 'schema' && /extra column "note"/.test(w.message)), JSON.stringify(r.warnings));
});

const mixedSchema: DataSchema = {
  features: [
    { name: 'region', type: 'categorical' },
    { name: 'amount', type: 'numeric' },
  ],
  label: { name: 'label', positive: 'up', negative: ['down'] },
};

function mixed(seed: number, n: number, regions = ['north', 'south', 'west']) {
  const rng = new Rng(seed);
  return {
    region: Array.from({ length: n }, () => regions[Math.floor(rng.next() * regions.length)]),
    amount: Array.from({ length: n }, () => 50 + 10 * rng.normal()),
    label: Array.from({ length: n }, (): string => (rng.next() < 0.3 ? 'up' : 'down')),
  };
}

const mixedReference = (() => {
  const d = mixed(1, 2000);
  return frameFromArrays(mixedSchema, { features: { region: d.region, amount: d.amount }, labels: d.label });
})();

test('an unseen category is reported by name with its rows and share', () => {
  const d = mixed(2, 400);
  for (const i of [3, 9, 11, 200, 201, 399]) d.region[i] = 'east';
  const records = d.region.map((region, i) => ({ region, amount: d.amount[i], label: d.label[i] }));
  const r = validateBatch(mixedReference, { records });
  const f = failure(r, 'unseen_category', 'region');
  assert.deepEqual(f.rows, [4, 10, 12, 201, 202, 400]);
  assert.match(f.message, /1 category not in the reference \("east" x6\) in 1\.5% of values/);
  assert.deepEqual(r.columns.find((c) => c.column === 'region')!.unseen, { categories: ['east'], count: 6, share: 0.015, rows: [4, 10, 12, 201, 202, 400] });
  // Below the 1% share it is a warning, not a failure.
  const one = validateBatch(mixedReference, { records: records.map((x, i) => (x.region === 'east' && i !== 3 ? { ...x, region: 'north' } : x)) });
  assert.equal(one.passed, true, JSON.stringify(one.failures));
  assert.ok(one.warnings.some((w) => w.check === 'unseen_category' && w.column === 'region'));
});

test('label values that are neither positive nor a declared negative are failures with their rows', () => {
  const d = mixed(3, 200);
  d.label[7] = 'UP';
  d.label[8] = 'sideways';
  const r = validateBatch(mixedReference, { records: d.region.map((region, i) => ({ region, amount: d.amount[i], label: d.label[i] })) });
  const f = failure(r, 'label', 'label');
  assert.deepEqual(f.rows, [8, 9]);
  assert.match(f.message, /2 label values are neither the positive "up" nor an accepted negative \("down"\): row 8: "UP", row 9: "sideways"/);
});

test('a rise in the missing rate beyond the tolerance fails, unless a small batch leaves it to chance', () => {
  const d = mixed(4, 600);
  const records = d.region.map((region, i) => ({ region, amount: i % 3 === 0 ? null : d.amount[i], label: d.label[i] }));
  const r = validateBatch(mixedReference, { records });
  assert.match(failure(r, 'missing_rate', 'amount').message, /missing rate 33\.3% vs 0% in the reference: a rise of 33\.3% > the tolerance 5%/);
  // Against a reference with 5% blanks, 3 of 20 (15%) is a rise of 10 points, but p = 0.02 by the
  // two-proportion test: chance, at the 0.01 level the rule asks for.
  const ref = mixed(7, 2000);
  const holey = frameFromArrays(mixedSchema, { features: { region: ref.region, amount: ref.amount.map((v, i) => (i % 20 === 0 ? null : v)) }, labels: ref.label });
  const small = mixed(5, 20);
  const few = validateBatch(holey, { records: small.region.map((region, i) => ({ region, amount: i < 3 ? null : small.amount[i], label: small.label[i] })) });
  assert.equal(few.passed, true, JSON.stringify(few.failures));
  assert.equal(few.columns.find((c) => c.column === 'amount')!.missingRate, 0.15);
  // The same 15% in a batch of 400 is no longer chance.
  const large = mixed(8, 400);
  const many = validateBatch(holey, { records: large.region.map((region, i) => ({ region, amount: i % 20 < 3 ? null : large.amount[i], label: large.label[i] })) });
  failure(many, 'missing_rate', 'amount');
});

test('a shifted distribution is a warning from ml/drift, not a failure', () => {
  const d = mixed(6, 1000);
  const records = d.region.map((region, i) => ({ region, amount: d.amount[i] + 8, label: d.label[i] }));
  const r = validateBatch(mixedReference, { records });
  assert.equal(r.passed, true, JSON.stringify(r.failures));
  assert.deepEqual(r.drifted, ['amount']);
  assert.ok(r.warnings.some((w) => w.check === 'distribution' && w.column === 'amount' && /KS D=/.test(w.message)));
});

test('the report is plain JSON and row lists are capped', () => {
  let csv = toCsv(seaStream({ rows: 500, seed: 24 }).frame);
  for (let row = 1; row <= 100; row++) csv = setCell(csv, row, 'f1', 'x');
  const r = validateBatch(reference, { csv }, { maxRows: 5 });
  const f = failure(r, 'type', 'f1');
  assert.equal(f.count, 100);
  assert.deepEqual(f.rows, [1, 2, 3, 4, 5]);
  assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  assert.ok(JSON.stringify(r).length < 5000, `${JSON.stringify(r).length} characters`);
});

test('bad arguments are coded input errors', () => {
  assert.throws(() => validateBatch(reference, {} as never), (e: unknown) => mlErrorCode(e) === 'INPUT_INVALID' && /batch: expected a Frame/.test(String(e)));
  assert.throws(() => validateBatch(reference, { csv: '' }, { missingTolerance: 2 }), /options\.missingTolerance: expected a number in \[0, 1\], got 2/);
});
