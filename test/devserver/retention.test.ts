/**
 * Retention: closed runs leave the server once they have been closed longer than the retention period (server time,
 * moved by time skipping here), answering NOT_FOUND and gone from List as on the real server; runs within it and open
 * runs stay. A namespace's own period wins over the server's. With the journal, an eviction survives a restart, and
 * compaction rewrites the file with the live runs only, whose histories still replay. Under time skipping nothing is
 * evicted unless a retention is given (as the Java test server).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import Long from 'long';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../devserver';
import { quietRuntime, useHarness, workflowBundle } from './helpers';
import { replaysEveryRun } from './replay-all';

const WORKFLOWS = require.resolve('./fixtures/retention-workflows');
const HOUR = 3600_000;

async function replays(handle: WorkflowHandle): Promise<void> {
  const history = await handle.fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle(WORKFLOWS) }, history, handle.workflowId);
}

async function assertGone(handle: WorkflowHandle): Promise<void> {
  await assert.rejects(handle.describe(), WorkflowNotFoundError);
  await assert.rejects(handle.fetchHistory(), (e: Error) => /not found/i.test(e.message));
}

async function listed(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
  return n;
}

describe('time skipping without --retention keeps every run, as the Java test server', () => {
  const h = useHarness({ worker: { workflowsPath: WORKFLOWS } });

  test('a run closed 30 days of skipped time ago is still described, listed and replayable', async () => {
    const { env, taskQueue, nextId } = h();
    const client = env.client;
    const done = await client.workflow.start('quick', { taskQueue, workflowId: nextId('kept'), args: [5] });
    assert.equal(await done.result(), 10);
    await env.sleep('30 days');
    assert.equal((await done.describe()).status.name, 'COMPLETED');
    assert.equal(await listed(client, done.workflowId), 1);
    await replays(done);
    // No retention period to report: the namespace keeps its runs forever.
    const ns = await client.workflowService.describeNamespace({ namespace: client.options.namespace });
    assert.equal(ns.config?.workflowExecutionRetentionTtl ?? null, null);
  });

  replaysEveryRun(h, WORKFLOWS);
});

describe('retention with time skipping (--retention 1h)', () => {
  const h = useHarness({ worker: { workflowsPath: WORKFLOWS }, extraArgs: ['--retention', '1h'] });

  test('a run closed longer ago than the retention is gone; one within it stays; an open run is never evicted', async () => {
    const { env, taskQueue, nextId } = h();
    const client = env.client;
    const old = await client.workflow.start('quick', { taskQueue, workflowId: nextId('old'), args: [1] });
    assert.equal(await old.result(), 2);
    const open = await client.workflow.start('untilReleased', { taskQueue, workflowId: nextId('open') });
    await replays(old);
    await env.sleep('40 minutes');
    const recent = await client.workflow.start('quick', { taskQueue, workflowId: nextId('recent'), args: [2] });
    assert.equal(await recent.result(), 4);
    // 40 minutes after closing: still kept, described, listed and replayable.
    assert.equal((await old.describe()).status.name, 'COMPLETED');
    assert.equal(await listed(client, old.workflowId), 1);
    await replays(old);
    await env.sleep('30 minutes');
    // 70 minutes: gone, as from the real server after retention.
    await assertGone(old);
    assert.equal(await listed(client, old.workflowId), 0);
    // 30 minutes: kept.
    assert.equal((await recent.describe()).status.name, 'COMPLETED');
    await replays(recent);
    // Open 70 minutes: never evicted; it still runs to completion.
    await env.sleep('10 hours');
    assert.equal((await open.describe()).status.name, 'RUNNING');
    await open.signal('release', 'late');
    assert.equal(await open.result(), 'released: late');
    await replays(open);
    await assertGone(recent);
    // The workflow id is free again, as after retention on the real server (REJECT_DUPLICATE finds no run).
    const again = await client.workflow.start('quick', { taskQueue, workflowId: old.workflowId, args: [3], workflowIdReusePolicy: 'REJECT_DUPLICATE' });
    assert.equal(await again.result(), 6);
    await replays(again);
  });

  test("a namespace's own retention period wins over the server's", async () => {
    const { env } = h();
    const svc = env.connection.workflowService;
    await svc.registerNamespace({ namespace: 'short-retention', workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(600) } });
    const described = await svc.describeNamespace({ namespace: 'short-retention' });
    assert.equal(Number(described.config?.workflowExecutionRetentionTtl?.seconds), 600);
    const dflt = await svc.describeNamespace({ namespace: 'default' });
    assert.equal(Number(dflt.config?.workflowExecutionRetentionTtl?.seconds), 3600);
    // No worker is needed: terminated runs are closed runs like any other.
    const shortClient = new Client({ connection: env.connection, namespace: 'short-retention' });
    const inShort = await shortClient.workflow.start('quick', { taskQueue: 'nobody', workflowId: 'ns-short', args: [1] });
    const inDefault = await env.client.workflow.start('quick', { taskQueue: 'nobody', workflowId: h().nextId('ns-default'), args: [1] });
    await inShort.terminate('done');
    await inDefault.terminate('done');
    await env.sleep('11 minutes');
    await assertGone(inShort);
    assert.equal((await inDefault.describe()).status.name, 'TERMINATED');
  });

  replaysEveryRun(h, WORKFLOWS);
});

describe('retention with the journal', () => {
  let dir: string;
  before(() => {
    quietRuntime();
    dir = mkdtempSync(join(tmpdir(), 'devserver-retention-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A server on `file` with a worker; `body` runs while the worker polls. */
  async function withServer<T>(
    file: string,
    opts: { compactMinBytes?: number },
    body: (s: DevServer, client: Client, taskQueue: string) => Promise<T>,
  ): Promise<T> {
    const server = await startDevServer({
      port: 0,
      dbFilename: file,
      retentionMs: HOUR,
      journalCompaction: { compactMinBytes: opts.compactMinBytes ?? Number.MAX_SAFE_INTEGER, compactShare: 0.3 },
    });
    const connection = await Connection.connect({ address: server.address });
    const native = await NativeConnection.connect({ address: server.address });
    try {
      const taskQueue = 'retention-journal';
      const worker = await Worker.create({ connection: native, taskQueue, workflowBundle: await workflowBundle(WORKFLOWS) });
      let out: T | undefined;
      await worker.runUntil(async () => {
        out = await body(server, new Client({ connection }), taskQueue);
      });
      return out as T;
    } finally {
      await connection.close();
      await native.close();
      await server.close();
    }
  }

  test('a restart after eviction keeps the run evicted', async () => {
    const file = join(dir, 'evict.journal');
    const ids = await withServer(file, {}, async (server, client, taskQueue) => {
      const done = await client.workflow.start('quick', { taskQueue, workflowId: 'evicted-1', args: [1] });
      await done.result();
      const open = await client.workflow.start('untilReleased', { taskQueue, workflowId: 'kept-open' });
      await open.describe();
      // Two hours of server time pass without an event (what time skipping does); the next call evicts.
      server.engine.clock.skip(2 * HOUR);
      await assertGone(done);
      assert.equal(server.retention.evicted, 1);
      return { done: done.workflowId, open: open.workflowId };
    });
    await withServer(file, {}, async (server, client) => {
      await assertGone(client.workflow.getHandle(ids.done));
      assert.equal(server.retention.evicted, 0, 'replay dropped the run: nothing was left to evict again');
      const open = client.workflow.getHandle(ids.open);
      await open.signal('release', 'after restart');
      assert.equal(await open.result(), 'released: after restart');
      await replays(open);
    });
  });

  test('compaction drops evicted runs, shrinks the file, and keeps every live run intact', async () => {
    const file = join(dir, 'compact.journal');
    const state = await withServer(file, { compactMinBytes: 1 }, async (server, client, taskQueue) => {
      for (let i = 0; i < 20; i++) {
        const h = await client.workflow.start('quick', { taskQueue, workflowId: `gone-${i}`, args: [i] });
        await h.result();
      }
      const open = await client.workflow.start('untilReleased', { taskQueue, workflowId: 'live-open' });
      await open.describe();
      const before = statSync(file).size;
      server.engine.clock.skip(2 * HOUR);
      // These close after the skip: within the retention, kept through the compaction that the first call triggers.
      const kept: string[] = [];
      for (let i = 0; i < 2; i++) {
        const h = await client.workflow.start('quick', { taskQueue, workflowId: `kept-${i}`, args: [i] });
        assert.equal(await h.result(), i * 2);
        kept.push(h.workflowId);
      }
      assert.equal(server.retention.evicted, 20);
      assert.ok(server.journalStats!.compactions >= 1, 'the journal was compacted');
      const afterSize = statSync(file).size;
      assert.ok(afterSize < before / 2, `the file shrank: ${before} -> ${afterSize} bytes`);
      return { kept, open: open.workflowId };
    });
    await withServer(file, { compactMinBytes: 1 }, async (_server, client) => {
      for (let i = 0; i < 20; i++) await assertGone(client.workflow.getHandle(`gone-${i}`));
      for (const id of state.kept) {
        const h = client.workflow.getHandle(id);
        assert.equal((await h.describe()).status.name, 'COMPLETED');
        await replays(h);
      }
      const open = client.workflow.getHandle(state.open);
      await open.signal('release', 'after compaction');
      assert.equal(await open.result(), 'released: after compaction');
      await replays(open);
    });
  });
});
