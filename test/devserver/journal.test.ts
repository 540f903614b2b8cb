/**
 * The journal file on its own (record framing, torn tails, corruption, group commit), and the state a restart must
 * bring back that lives outside any history: namespaces, search attribute registrations, visibility records. The
 * one run started here replays after the restart, against fixtures/raw-workflows.ts.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startDevServer } from '../../devserver';
import { encodeRecord, Journal, JournalCorruptError, MAGIC, parseJournal } from '../../devserver/journal';
import { RAW_WORKFLOWS, replayAll } from './replay-all';

const dir = mkdtempSync(join(tmpdir(), 'retrain-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const fileOf = (...records: Buffer[]) => Buffer.concat([MAGIC, ...records]);

describe('journal records', () => {
  test('records read back as written, header and binary tail', () => {
    const bytes = fileOf(encodeRecord({ t: 'a', n: 1 }), encodeRecord({ t: 'b' }, Buffer.from([1, 2, 3])));
    const { records, torn } = parseJournal(bytes, 'x');
    assert.equal(torn, undefined);
    assert.deepEqual(records.map((r) => r.head), [{ t: 'a', n: 1 }, { t: 'b' }]);
    assert.deepEqual([...records[1].tail], [1, 2, 3]);
    assert.equal(records[0].offset, MAGIC.length);
  });

  test('a last record cut short, or failing its checksum, is reported as torn and left out', () => {
    const whole = fileOf(encodeRecord({ t: 'a' }), encodeRecord({ t: 'b', pad: 'x'.repeat(40) }));
    for (const cut of [1, 5, 20]) {
      const { records, torn, validLength } = parseJournal(whole.subarray(0, whole.length - cut), 'x');
      assert.deepEqual(records.map((r) => r.head.t), ['a']);
      assert.match(torn!, /torn/);
      assert.equal(validLength, MAGIC.length + encodeRecord({ t: 'a' }).length);
    }
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 3] ^= 1;
    assert.match(parseJournal(flipped, 'x').torn!, /last record at offset \d+ fails its checksum/);
  });

  test('a corrupt record before the last is an error naming its offset', () => {
    const first = encodeRecord({ t: 'a', pad: 'y'.repeat(20) });
    const bytes = fileOf(first, encodeRecord({ t: 'b' }));
    bytes[MAGIC.length + 12] ^= 0xff;
    assert.throws(() => parseJournal(bytes, 'f.db'), (e: Error) => e instanceof JournalCorruptError && /corrupt record at offset 8/.test(e.message));
  });

  test('a file that is not a journal is refused', () => {
    assert.throws(() => parseJournal(Buffer.from('SQLite format 3\0'), 'f.db'), /not a Retrain devserver journal/);
  });

  test('records appended in one turn share one write, and whenDurable resolves once it is done', async () => {
    const path = join(dir, 'group.db');
    const { journal } = Journal.open(path, () => {});
    for (let i = 0; i < 100; i++) journal.append({ t: 'n', i });
    const durable = journal.whenDurable();
    assert.ok(durable, 'records are pending');
    await durable;
    assert.equal(journal.stats.writes, 1);
    assert.equal(journal.stats.records, 100);
    assert.equal(journal.whenDurable(), null, 'nothing pending any more');
    journal.close();
    assert.equal(parseJournal(readFileSync(path), path).records.length, 100);
  });

  test('opening a journal with a torn tail cuts it off the file, so new records follow the last good one', () => {
    const path = join(dir, 'cut.db');
    const whole = fileOf(encodeRecord({ t: 'a' }), encodeRecord({ t: 'b' }));
    writeFileSync(path, whole.subarray(0, whole.length - 2));
    const warnings: string[] = [];
    const { journal, records } = Journal.open(path, (m) => warnings.push(m));
    assert.equal(records.length, 1);
    assert.match(warnings.join('\n'), /WARNING: .*torn/);
    journal.append({ t: 'c' });
    journal.close();
    assert.deepEqual(parseJournal(readFileSync(path), path).records.map((r) => r.head.t), ['a', 'c']);
  });
});

describe('state outside histories across a restart', () => {
  test('namespaces (with their ids), search attribute registrations and visibility records come back', async () => {
    const db = join(dir, 'state.db');
    let server = await startDevServer({ port: 0, dbFilename: db });
    let connection = await Connection.connect({ address: server.address });
    await connection.workflowService.registerNamespace({ namespace: 'team-a' });
    const id = (await connection.workflowService.describeNamespace({ namespace: 'team-a' })).namespaceInfo?.id;
    await connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: { ModelName: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
    });
    const client = new Client({ connection });
    await client.workflow.start('neverRuns', {
      taskQueue: 'no-worker',
      workflowId: 'indexed',
      memo: { owner: 'ml-team' },
      searchAttributes: { ModelName: ['churn'] },
    });
    await connection.close();
    await server.close();

    server = await startDevServer({ port: 0, dbFilename: db });
    connection = await Connection.connect({ address: server.address });
    try {
      assert.equal((await connection.workflowService.describeNamespace({ namespace: 'team-a' })).namespaceInfo?.id, id);
      const listed = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      assert.equal(listed.customAttributes?.ModelName, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
      const found = [];
      for await (const w of new Client({ connection }).workflow.list({ query: `ModelName = 'churn'` })) found.push(w);
      assert.deepEqual(found.map((w) => [w.workflowId, w.status.name, w.memo?.owner]), [['indexed', 'RUNNING', 'ml-team']]);
      assert.deepEqual(await replayAll(connection.workflowService, RAW_WORKFLOWS), ['indexed'], 'its history, read back from the journal, replays');
    } finally {
      await connection.close();
      await server.close();
    }
  });
});
