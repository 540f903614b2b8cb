import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CsvError, type DataSchema, type Frame, inferCsvSchema, inferCsvSchemaFromText, loadCsv, parseCsvText } from '../../ml/data';
import { isMlInputError } from '../../ml/errors';
import { Rng } from '../../ml/random';

const schema: DataSchema = {
  features: [
    { name: 'price', type: 'numeric' },
    { name: 'note', type: 'categorical' },
  ],
  label: { name: 'class', positive: 'UP' },
};

function values(f: Frame, name: string): number[] {
  const c = f.column(name);
  return c.type === 'numeric' ? [...c.values] : [...c.codes];
}

function categories(f: Frame, name: string): readonly string[] {
  const c = f.column(name);
  assert.ok(c.type === 'categorical');
  return c.categories;
}

function csvError(fn: () => unknown): CsvError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CsvError, `expected a CsvError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a CsvError');
}

async function csvErrorAsync(p: Promise<unknown>): Promise<CsvError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CsvError, `expected a CsvError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a CsvError');
}

test('quoted fields may hold commas, doubled quotes and line breaks (RFC 4180 section 2)', () => {
  const text = 'price,note,class\r\n"1.5","a, ""quoted"" word",UP\r\n2,"two\r\nlines",DOWN\r\n';
  const f = parseCsvText(text, schema);
  assert.equal(f.nRows, 2);
  assert.deepEqual(values(f, 'price'), [1.5, 2]);
  assert.deepEqual(categories(f, 'note'), ['a, "quoted" word', 'two\r\nlines']);
  assert.deepEqual([...f.labels], [1, 0]);
});

test('columns are found by header name, extra columns are ignored, and a missing final newline is fine', () => {
  const f = parseCsvText('extra,class,note,price\nzz,UP,b,3\nzz,DOWN,a,4', schema);
  assert.deepEqual(values(f, 'price'), [3, 4]);
  assert.deepEqual(categories(f, 'note'), ['b', 'a']);
  assert.deepEqual([...f.labels], [1, 0]);
});

test('a byte-order mark and blank lines are skipped', () => {
  const f = parseCsvText('\uFEFFprice,note,class\n\n1,a,UP\n\n2,b,UP\n', schema);
  assert.deepEqual(values(f, 'price'), [1, 2]);
});

test('empty, NA, NaN, ? and blank fields are missing: NaN for numbers, -1 for categories', () => {
  const text = 'price,note,class\n,NA,UP\nNA,,DOWN\nNaN,?,UP\n?,x,UP\n  ,"",UP\n"",NaN,UP\n';
  const f = parseCsvText(text, schema);
  assert.equal(f.nRows, 6);
  assert.ok(values(f, 'price').every(Number.isNaN));
  assert.deepEqual(values(f, 'note'), [-1, -1, -1, 0, -1, -1]);
});

test('custom missing tokens replace the defaults, and a numeric token such as -999 is missing rather than a number', () => {
  const f = parseCsvText('price,note,class\n-999,NA,UP\n7,-,UP\n', schema, { missing: ['-999', '-'] });
  assert.deepEqual(values(f, 'price').map((v) => (Number.isNaN(v) ? 'missing' : v)), ['missing', 7]);
  assert.deepEqual(categories(f, 'note'), ['NA']);
  assert.deepEqual(values(f, 'note'), [0, -1]);
});

test('a value that is not a number names the data row, the column, the value and what was expected', () => {
  const e = csvError(() => parseCsvText('price,note,class\n1,a,UP\n2,b,UP\nabc,c,UP\n', schema));
  assert.equal(e.message, 'row 3, column "price": expected a number, got "abc"');
  assert.equal(e.row, 3);
  assert.equal(e.column, 'price');
});

test('infinite values are rejected as numbers', () => {
  assert.match(csvError(() => parseCsvText('price,note,class\nInfinity,a,UP\n', schema)).message, /row 1, column "price": expected a number, got "Infinity"/);
});

test('an empty label is an error, and the positive value and one other value are the two classes', () => {
  const e = csvError(() => parseCsvText('price,note,class\n1,a,UP\n2,b,\n', schema));
  assert.match(e.message, /^row 2, column "class": expected a label \(the positive class is "UP"; labels may not be missing\), got ""$/);
  assert.equal(e.code, 'LABEL_VALUE');
  const f = parseCsvText('price,note,class\n1,a,UP\n2,b,DOWN\n3,c,DOWN\n4,d,"UP"\n', schema);
  assert.deepEqual([...f.labels], [1, 0, 0, 1]);
});

test('without declared negatives, a third label value is refused naming its row, the value and the accepted values', () => {
  const e = csvError(() => parseCsvText('price,note,class\n1,a,UP\n2,b,DOWN\n3,c,SIDEWAYS\n', schema));
  assert.equal(e.code, 'LABEL_VALUE');
  assert.equal(e.row, 3);
  assert.equal(e.column, 'class');
  assert.match(e.message, /^row 3, column "class": expected "UP" \(positive\) or "DOWN" \(the negative value, seen first at row 2\), got "SIDEWAYS"; .*declare label\.negative/);
});

test('a positive value in the wrong case fails loudly on UP/DOWN data instead of making every label 0', () => {
  const lower: DataSchema = { ...schema, label: { name: 'class', positive: 'up' } };
  const e = csvError(() => parseCsvText('price,note,class\n1,a,UP\n2,b,DOWN\n', lower));
  assert.equal(e.code, 'LABEL_VALUE');
  assert.equal(e.row, 2);
  assert.match(e.message, /^row 2, column "class": expected "up" \(positive\) or "UP" \(the negative value, seen first at row 1\), got "DOWN"/);
  const single = csvError(() => parseCsvText('price,note,class\n1,a,UP\n2,b,UP\n', lower));
  assert.equal(single.code, 'LABEL_VALUE');
  assert.equal(single.row, 1);
  assert.match(single.message, /expected the positive value "up" in at least one row, but every label is "UP" \(the first at row 1\) \(labels are case-sensitive/);
});

test('declared negative values are the only other accepted labels, and a column without positives is then allowed', () => {
  const declared: DataSchema = { ...schema, label: { name: 'class', positive: 'UP', negative: ['DOWN', 'FLAT'] } };
  const f = parseCsvText('price,note,class\n1,a,UP\n2,b,FLAT\n3,c,DOWN\n', declared);
  assert.deepEqual([...f.labels], [1, 0, 0]);
  assert.deepEqual([...parseCsvText('price,note,class\n1,a,DOWN\n', declared).labels], [0]);
  const e = csvError(() => parseCsvText('price,note,class\n1,a,UP\n2,b,up\n', declared));
  assert.equal(e.row, 2);
  assert.equal(e.code, 'LABEL_VALUE');
  assert.match(e.message, /^row 2, column "class": expected "UP" \(positive\) or one of "DOWN", "FLAT" \(label\.negative\), got "up"/);
});

test('errors carry stable codes: CSV_PARSE for bad values, SCHEMA_MISMATCH for a header without the schema columns', () => {
  assert.equal(csvError(() => parseCsvText('price,note,class\nabc,a,UP\n', schema)).code, 'CSV_PARSE');
  assert.equal(csvError(() => parseCsvText('price,class\n1,UP\n', schema)).code, 'SCHEMA_MISMATCH');
  assert.ok(isMlInputError(csvError(() => parseCsvText('price,class\n1,UP\n', schema))));
});

test('a row with the wrong number of fields is named', () => {
  const e = csvError(() => parseCsvText('price,note,class\n1,a,UP\n2,b\n', schema));
  assert.equal(e.message, 'row 2: expected 3 fields as in the header, got 2');
});

test('a header without a schema column names what is missing and what is there', () => {
  const e = csvError(() => parseCsvText('price,class\n1,UP\n', schema));
  assert.equal(e.message, 'header: missing column "note" named by the schema; the header has "price", "class"');
});

test('an unclosed quote and text after a closing quote are reported with row and column', () => {
  assert.match(csvError(() => parseCsvText('price,note,class\n1,"open,UP\n', schema)).message, /^row 1, column "note": a quoted field is never closed/);
  assert.match(csvError(() => parseCsvText('price,note,class\n1,"a"b,UP\n', schema)).message, /^row 1, column "note": expected a comma or a line end after a closing quote, got "b"/);
});

test('a value outside declared categories names the accepted values', () => {
  const s: DataSchema = { ...schema, features: [{ name: 'note', type: 'categorical', categories: ['a', 'b'] }] };
  assert.equal(csvError(() => parseCsvText('note,class\na,UP\nc,UP\n', s)).message, 'row 2, column "note": expected one of "a", "b", got "c"');
});

test('a time column accepts numbers and dates, and rejects missing or unreadable times', () => {
  const s: DataSchema = { ...schema, time: { name: 'when' } };
  const f = parseCsvText('when,price,note,class\n2024-01-31T12:00:00Z,1,a,UP\n1700000000000,2,a,UP\n', s);
  assert.deepEqual([...f.time!], [Date.UTC(2024, 0, 31, 12), 1700000000000]);
  assert.match(csvError(() => parseCsvText('when,price,note,class\n,1,a,UP\n', s)).message, /^row 1, column "when": expected a time/);
  assert.match(csvError(() => parseCsvText('when,price,note,class\nsoon,1,a,UP\n', s)).message, /got "soon"$/);
});

test('numbers are read to the same double as Number() in every form, including the fast decimal path', () => {
  const rng = new Rng(42);
  const texts: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const digits = 1 + rng.nextInt(20);
    let s = rng.next() < 0.3 ? '-' : '';
    for (let k = 0; k < digits; k++) s += String(rng.nextInt(10));
    const point = rng.nextInt(digits + 1);
    if (point < digits) s = `${s.slice(0, s.length - digits + point)}.${s.slice(s.length - digits + point)}`;
    if (rng.next() < 0.3) s += `e${rng.next() < 0.5 ? '-' : '+'}${rng.nextInt(40)}`;
    if (s.startsWith('.') || s.startsWith('-.')) s = s.replace('.', '0.');
    texts.push(s);
  }
  texts.push('0.1', '0.056443', '1e23', '9007199254740993', '123456789012345', '1234567890123456', '.5', '5.', '+3', '-0', '0x1F');
  const f = parseCsvText(`price,note,class\n${texts.map((t) => `${t},a,UP`).join('\n')}\n`, schema);
  const got = values(f, 'price');
  texts.forEach((t, i) => assert.ok(Object.is(got[i], Number(t)), `${t}: got ${got[i]}, Number() gives ${Number(t)}`));
});

test('loading a file in chunks of any size gives the same frame as parsing the whole text', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'retrain-csv-'));
  try {
    const text = 'price,note,class\r\n1.25,"é, ""x""",UP\r\n-3,"multi\nline",DOWN\r\n,plain,UP\r\n4e2,ü,DOWN';
    const path = join(dir, 'data.csv');
    writeFileSync(path, text);
    const whole = parseCsvText(text, schema);
    for (const chunkSize of [1, 2, 3, 5, 7, 64]) {
      const f = await loadCsv(path, schema, { chunkSize });
      assert.deepEqual(values(f, 'price'), values(whole, 'price'), `chunkSize ${chunkSize}`);
      assert.deepEqual(categories(f, 'note'), ['é, "x"', 'multi\nline', 'plain', 'ü'], `chunkSize ${chunkSize}`);
      assert.deepEqual([...f.labels], [1, 0, 1, 0]);
    }
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'price,note,class\n1,a,UP\nx,b,UP\n');
    assert.equal((await csvErrorAsync(loadCsv(bad, schema, { chunkSize: 4 }))).message, 'row 2, column "price": expected a number, got "x"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty file has no header, which is an error', () => {
  assert.match(csvError(() => parseCsvText('', schema)).message, /header: expected a header row/);
});

test('inferCsvSchema types a column numeric only when every non-missing sampled value is a number', () => {
  const text = 'id,temp,city,flag,class,when\n1,20.5,Oslo,1,rain,5\n2,NA,Bergen,yes,dry,6\n3,?,Oslo,0,rain,7\n';
  const s = inferCsvSchemaFromText(text, { label: 'class', positive: 'rain', exclude: ['id'], time: 'when' });
  assert.deepEqual(s, {
    features: [
      { name: 'temp', type: 'numeric' },
      { name: 'city', type: 'categorical' },
      { name: 'flag', type: 'categorical' },
    ],
    label: { name: 'class', positive: 'rain' },
    time: { name: 'when' },
  });
  const f = parseCsvText(text, s);
  assert.deepEqual([...f.labels], [1, 0, 1]);
});

test('inferCsvSchema reads only the sample it is given and names columns that are not in the header', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'retrain-infer-'));
  try {
    const path = join(dir, 'data.csv');
    writeFileSync(path, 'a,b,y\n1,2,1\n3,4,0\n5,oops,1\n');
    const sampled = await inferCsvSchema(path, { label: 'y', positive: '1', sampleRows: 2 });
    assert.deepEqual(sampled.features, [
      { name: 'a', type: 'numeric' },
      { name: 'b', type: 'numeric' },
    ]);
    const full = await inferCsvSchema(path, { label: 'y', positive: '1' });
    assert.equal(full.features[1].type, 'categorical');
    await assert.rejects(inferCsvSchema(path, { label: 'class', positive: '1' }), /label: column "class" is not in the header; the header has "a", "b", "y"/);
    await assert.rejects(inferCsvSchema(path, { label: 'y', positive: '1', exclude: ['zz'] }), /exclude\[0\]: column "zz" is not in the header/);
    await assert.rejects(inferCsvSchema(path, { label: 'y', positive: '', sampleRows: 0 }), /positive: expected a string of length >= 1, got ""; sampleRows: expected a number > 0, got 0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
