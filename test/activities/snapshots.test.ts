import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readSnapshot, writeSnapshot } from '../../activities/common';
import { readParquet } from '../../ml/data/parquet';
import { getSnapshot, putSnapshot } from '../../storage/snapshots';
import { sandbox, type Sandbox } from './helpers';

const label = { name: 'y', positive: 'yes', categorical: ['zip'] };
const table = {
  header: ['x', 'city', 'zip', 'y'],
  rows: [
    ['1.5', 'Oslo', '0150', 'yes'],
    ['', 'Bergen', '5003', 'no'],
    ['-2', '', '0150', 'no'],
  ],
};

describe('dataset snapshots', () => {
  let box: Sandbox;
  before(() => {
    box = sandbox();
  });
  after(() => box.cleanup());

  it('are Parquet files with numeric and categorical columns and the label as written, read back as the same table', async () => {
    const s = await writeSnapshot(box.deps.store, table, { role: 'test' }, label);
    assert.match(s.uri, /\.parquet$/);
    const frame = await readParquet(await getSnapshot(box.deps.store, s.uri));
    assert.deepEqual(frame.schema.features.map((f) => [f.name, f.type]), [['x', 'numeric'], ['city', 'categorical'], ['zip', 'categorical']]);
    assert.deepEqual(await readSnapshot(box.deps.store, s.uri), { header: table.header, rows: table.rows });
    const again = await writeSnapshot(box.deps.store, table, { role: 'again' }, label);
    assert.equal(again.uri, s.uri, 'the same content, the same address');
  });

  it('stay CSV when a frame cannot hold the table exactly: a missing label', async () => {
    const unlabelled = { header: table.header, rows: [...table.rows, ['3', 'Oslo', '0150', '']] };
    const s = await writeSnapshot(box.deps.store, unlabelled, {}, label);
    assert.match(s.uri, /\.csv$/);
    assert.deepEqual((await readSnapshot(box.deps.store, s.uri)).rows, unlabelled.rows);
  });

  it('read older CSV snapshots', async () => {
    const s = await putSnapshot(box.deps.store, 'a,y\n1,yes\n2,no\n', { format: 'csv' });
    assert.deepEqual(await readSnapshot(box.deps.store, s.uri), { header: ['a', 'y'], rows: [['1', 'yes'], ['2', 'no']] });
  });
});
