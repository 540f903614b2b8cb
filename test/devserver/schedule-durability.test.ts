/**
 * Schedules under `--db-filename`: their state is journalled and rebuilt at start. A server process SIGKILLed while
 * an interval schedule acts, a paused one waits and one's action runs under BUFFER_ONE comes back with the same
 * description, and the schedules go on acting with no start made twice (the real SDK worker and `client.schedule`
 * throughout). Times that fell due while the server was down follow the catch-up window, as on the real server's
 * scheduler. Compaction keeps live schedules (their latest state only) and drops deleted ones.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleDescription, type ScheduleSpec } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../devserver';
import { encodeRecord, parseJournal } from '../../devserver/journal';
import { freePort, killServer, quietRuntime, startJournalledServer, workflowBundle } from './helpers';
import { longTask, scheduledTask, type RunReport } from './fixtures/schedule-workflows';
import { replayAll } from './replay-all';

const WORKFLOWS = require.resolve('./fixtures/schedule-workflows');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const dir = mkdtempSync(join(tmpdir(), 'retrain-schedule-durability-'));
after(() => rmSync(dir, { recursive: true, force: true }));
before(() => quietRuntime());

/** Polls `fn` until it returns a truthy value (the server acts on its own schedule), for up to `ms`. */
async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** What a description must keep across a restart, dates as milliseconds. */
function durable(d: ScheduleDescription) {
  return {
    spec: d.spec,
    action: d.action,
    policies: d.policies,
    state: d.state,
    memo: d.memo,
    createdAt: d.info.createdAt.getTime(),
    lastUpdatedAt: d.info.lastUpdatedAt?.getTime(),
    recentActions: d.info.recentActions.map((a) => ({
      scheduledAt: a.scheduledAt.getTime(),
      takenAt: a.takenAt.getTime(),
      workflowId: a.action.workflow.workflowId,
      runId: a.action.workflow.firstExecutionRunId,
    })),
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    taken: d.info.numActionsTaken,
    missed: d.info.numActionsMissedCatchupWindow,
  };
}

/** The ids of every workflow a schedule started (its TemporalScheduledById search attribute), with repeats. */
async function startedBy(client: Client, scheduleId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of client.workflow.list({ query: `TemporalScheduledById = '${scheduleId}'` })) ids.push(w.workflowId);
  return ids.sort();
}

describe('schedules in the journal', { timeout: 180_000 }, () => {
  test('SIGKILL and restart: an acting interval schedule, a paused one and a running BUFFER_ONE action come back as described and act on, nothing twice', async () => {
    const db = join(dir, 'kill.db');
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    let server = await startJournalledServer(port, db);
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address });
    const taskQueue = `schedules-${process.pid}`;
    const worker = await Worker.create({ connection: native, taskQueue, workflowBundle: await workflowBundle(WORKFLOWS) });
    const running = worker.run();
    try {
      const every = await client.schedule.create({
        scheduleId: 'every-second',
        spec: { intervals: [{ every: '1 second' }] },
        action: { type: 'startWorkflow', workflowType: scheduledTask, args: ['tick'], taskQueue, workflowId: 'tick' },
        memo: { kind: 'interval' },
      });
      const paused = await client.schedule.create({
        scheduleId: 'paused',
        spec: { intervals: [{ every: '1 second' }] },
        action: { type: 'startWorkflow', workflowType: scheduledTask, args: ['never'], taskQueue, workflowId: 'never' },
        state: { paused: true, note: 'held for the test' },
      });
      const buffered = await client.schedule.create({
        scheduleId: 'buffer-one',
        spec: { intervals: [{ every: '1 second' }] },
        action: { type: 'startWorkflow', workflowType: longTask, args: [HOUR], taskQueue, workflowId: 'long' },
        policies: { overlap: ScheduleOverlapPolicy.BUFFER_ONE },
      });
      // The interval schedule has acted (its second run saw the first one's result); the long action runs with a
      // start buffered behind it.
      await until('two ticks', async () => (await every.describe()).info.numActionsTaken >= 2);
      const b1 = await until('a running action and a buffered start', async () => {
        const d = await buffered.describe();
        return d.info.runningActions.length === 1 && d.info.numActionsTaken === 1 && d.raw.info?.bufferSize?.toString() === '1' && d;
      });

      // Described just before the kill: any action taken after the description is in the journal too.
      const before = { every: await every.describe(), paused: await paused.describe(), buffered: await buffered.describe() };
      await killServer(server);
      server = await startJournalledServer(port, db);
      assert.match(server.stderr(), /journal .*kill\.db: \d+ records replayed/);

      const afterRestart = { every: await every.describe(), paused: await paused.describe(), buffered: await buffered.describe() };
      // The paused and the buffered schedule cannot have acted meanwhile: exactly as before.
      assert.deepEqual(durable(afterRestart.paused), durable(before.paused));
      assert.equal(afterRestart.paused.state.paused, true);
      assert.equal(afterRestart.paused.state.note, 'held for the test');
      assert.deepEqual(durable(afterRestart.buffered), durable(before.buffered));
      assert.equal(afterRestart.buffered.raw.info?.bufferSize?.toString(), '1');
      assert.deepEqual(afterRestart.buffered.info.runningActions.map((a) => a.workflow.workflowId), b1.info.runningActions.map((a) => a.workflow.workflowId));
      // The interval schedule may have caught up the seconds missed while the server was down: its earlier actions
      // are the same ones.
      const e0 = durable(before.every);
      const e1 = durable(afterRestart.every);
      assert.ok(e1.taken >= e0.taken);
      // (Recent actions keep the last ten: as many of the oldest as were taken since may have left the list.)
      const shift = Math.max(0, e0.recentActions.length + e1.taken - e0.taken - 10);
      assert.deepEqual(
        { ...e1, recentActions: e1.recentActions.slice(0, e0.recentActions.length - shift), taken: 0, running: [] },
        { ...e0, recentActions: e0.recentActions.slice(shift), taken: 0, running: [] },
      );

      // It acts on, and no nominal time was started twice: every start is a distinct workflow id, one per action.
      await until('two more ticks', async () => (await every.describe()).info.numActionsTaken >= e0.taken + 2);
      // Paused, so that the count and the list below see the same ticks.
      await every.pause('stop ticking');
      const now = await every.describe();
      const ticks = await until('every tick listed', async () => {
        const ids = await startedBy(client, 'every-second');
        return ids.length >= now.info.numActionsTaken && ids;
      });
      assert.equal(new Set(ticks).size, ticks.length, `a tick started twice: ${ticks.join(', ')}`);
      assert.equal(ticks.length, now.info.numActionsTaken);
      // The result chain went on across the restart: a tick after it saw the result of the one before.
      const lastTick = now.info.recentActions[now.info.recentActions.length - 1].action.workflow.workflowId;
      await until('the last tick to finish', async () => (await client.workflow.getHandle(lastTick).describe()).status.name === 'COMPLETED');
      const report: RunReport = await client.workflow.getHandle(lastTick).result();
      assert.equal((report.lastResult as RunReport | undefined)?.label, 'tick');

      // The paused schedule took nothing; the buffered start goes once the running action ends.
      assert.equal((await paused.describe()).info.numActionsTaken, 0);
      const longId = b1.info.runningActions[0].workflow.workflowId;
      await client.workflow.getHandle(longId).terminate('done with it');
      const b2 = await until('the buffered start', async () => {
        const d = await buffered.describe();
        return d.info.numActionsTaken === 2 && d;
      });
      const longs = await startedBy(client, 'buffer-one');
      assert.equal(longs.length, 2);
      assert.equal(new Set(longs).size, 2);
      assert.ok(b2.info.runningActions.length === 1 && b2.info.runningActions[0].workflow.workflowId !== longId);
      // Every action's history (the ticks, both long runs) replays with the real SDK.
      const replayed = await replayAll(connection.workflowService, WORKFLOWS);
      for (const id of [...ticks, ...longs]) assert.ok(replayed.includes(id), `${id} replayed`);
      for (const s of [every, paused, buffered]) await s.delete();
    } finally {
      worker.shutdown();
      await running.catch(() => undefined);
      await native.close();
      await connection.close();
      await killServer(server);
    }
  });

  test('times missed while the server was down follow the catch-up window; a restart does not start them again', async () => {
    const db = join(dir, 'catchup.db');
    let server: DevServer = await startDevServer({ port: 0, dbFilename: db });
    const clientOf = async (s: DevServer) => new Client({ connection: await Connection.connect({ address: s.address }) });
    let client = await clientOf(server);
    const action = { type: 'startWorkflow' as const, workflowType: 'scheduledTask', taskQueue: 'nobody-polls', workflowId: 'wf' };
    const spec: ScheduleSpec = { intervals: [{ every: '5 minutes' }] };
    await client.schedule.create({ scheduleId: 'window', spec, action: { ...action, workflowId: 'window' }, policies: { catchupWindow: '12 minutes' } });
    await client.schedule.create({ scheduleId: 'default', spec, action: { ...action, workflowId: 'default' } });
    await client.schedule.create({ scheduleId: 'paused', spec, action: { ...action, workflowId: 'paused' }, state: { paused: true } });
    const before = Object.fromEntries(
      await Promise.all(['window', 'default', 'paused'].map(async (id) => [id, await client.schedule.getHandle(id).describe()] as const)),
    );
    await client.connection.close();
    await server.close();
    // An hour of down time: the journal's `now` record (as a compaction writes it) moves the restarted server's clock on.
    const downUntil = Date.now() + HOUR;
    appendFileSync(db, encodeRecord({ t: 'now', at: downUntil }));
    server = await startDevServer({ port: 0, dbFilename: db });
    client = await clientOf(server);
    const d = Object.fromEntries(
      await Promise.all(['window', 'default', 'paused'].map(async (id) => [id, await client.schedule.getHandle(id).describe()] as const)),
    );
    const firstDue = (s: ScheduleDescription) => s.info.nextActionTimes[0].getTime();
    for (const id of ['window', 'default']) {
      assert.equal(d[id].info.numActionsTaken, before[id].info.numActionsTaken + 1, `${id}: one start for the missed times (SKIP)`);
      assert.ok(firstDue(d[id]) > downUntil, `${id}: next time after the down time`);
    }
    // Every 5-minute time of the hour was seen by both: buffered and skipped (one started), or missed.
    const seen = (s: ScheduleDescription) => s.info.numActionsMissedCatchupWindow + s.info.numActionsSkippedOverlap + 1;
    assert.equal(seen(d.window), seen(d.default));
    assert.ok(seen(d.default) >= 12, `an hour holds at least 12 five-minute times (saw ${seen(d.default)})`);
    // The default window (a year) missed none and started the oldest; 12 minutes missed all but the last two or three.
    assert.equal(d.default.info.numActionsMissedCatchupWindow, 0);
    assert.equal(d.default.info.recentActions.at(-1)!.scheduledAt.getTime(), firstDue(before.default));
    const w = d.window.info;
    assert.ok(w.numActionsMissedCatchupWindow >= seen(d.window) - 3 && w.numActionsSkippedOverlap <= 2, JSON.stringify(w));
    const started = w.recentActions.at(-1)!.scheduledAt.getTime();
    assert.ok(started >= firstDue(d.window) - 15 * MINUTE, 'the window schedule started a time within its catch-up window');
    // Paused time is neither caught up nor counted as missed.
    assert.equal(d.paused.info.numActionsTaken, 0);
    assert.equal(d.paused.info.numActionsMissedCatchupWindow, 0);
    for (const id of ['window', 'default']) {
      const wf = d[id].info.recentActions.at(-1)!.action.workflow.workflowId;
      assert.equal((await client.workflow.getHandle(wf).describe()).status.name, 'RUNNING');
    }

    // Restarted again: the starts made after the down time are not made again, and nothing more is missed.
    await client.connection.close();
    await server.close();
    server = await startDevServer({ port: 0, dbFilename: db });
    client = await clientOf(server);
    try {
      for (const id of ['window', 'default', 'paused']) {
        const again = await client.schedule.getHandle(id).describe();
        assert.deepEqual(durable(again), durable(d[id]), id);
        assert.equal(again.info.numActionsSkippedOverlap, d[id].info.numActionsSkippedOverlap, id);
      }
      assert.equal((await startedBy(client, 'window')).length, d.window.info.numActionsTaken);
      assert.equal((await startedBy(client, 'default')).length, d.default.info.numActionsTaken);
      assert.equal((await replayAll(client.workflowService, WORKFLOWS)).length, d.window.info.numActionsTaken + d.default.info.numActionsTaken, 'every start replays');
    } finally {
      await client.connection.close();
      await server.close();
    }

    // A crash mid-write (a torn tail): the file ends inside the record of the default schedule's state written with
    // its start after the down time, so the start's events survive and the state does not. The schedule, back at its
    // state from before, comes to the same time again and takes the run found under its id as that action.
    const torn = join(dir, 'catchup-torn.db');
    const bytes = readFileSync(db);
    const cut = parseJournal(bytes, db).records.filter((r) => r.head.t === 'sched' && r.head.id === 'default').at(-1)!;
    writeFileSync(torn, bytes.subarray(0, cut.offset + 3));
    server = await startDevServer({ port: 0, dbFilename: torn });
    client = await clientOf(server);
    try {
      const again = await client.schedule.getHandle('default').describe();
      assert.equal(again.info.numActionsTaken, d.default.info.numActionsTaken);
      assert.deepEqual(durable(again).recentActions, durable(d.default).recentActions);
      assert.deepEqual(again.info.runningActions.map((a) => a.workflow.workflowId), d.default.info.runningActions.map((a) => a.workflow.workflowId));
      assert.equal((await startedBy(client, 'default')).length, d.default.info.numActionsTaken, 'no second start of the same time');
    } finally {
      await client.connection.close();
      await server.close();
    }
  });

  test('compaction keeps the latest state of live schedules only; deleted ones stay deleted', async () => {
    const db = join(dir, 'compact.db');
    const opts = { port: 0, dbFilename: db, journalCompaction: { compactMinBytes: 0, compactShare: 0 } };
    let server = await startDevServer(opts);
    let client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const action = { type: 'startWorkflow' as const, workflowType: 'scheduledTask', taskQueue: 'nobody-polls', workflowId: 'wf' };
    const spec: ScheduleSpec = { intervals: [{ every: '1 hour' }] };
    const kept = await client.schedule.create({ scheduleId: 'kept', spec, action, state: { paused: true } });
    const gone = await client.schedule.create({ scheduleId: 'gone', spec, action });
    await gone.delete();
    // Each change supersedes the last state; with these thresholds every superseded record starts a compaction.
    for (let i = 0; i < 5; i++) {
      await kept.unpause(`unpaused ${i}`);
      await kept.pause(`paused ${i}`);
    }
    await kept.trigger();
    const described = await kept.describe();
    assert.ok(server.journalStats!.compactions > 0, 'the journal was compacted');
    await client.connection.close();
    await server.close();

    const records = parseJournal(readFileSync(db), db).records.map((r) => r.head);
    const schedRecords = records.filter((h) => h.t === 'sched' || h.t === 'sched-rm');
    assert.ok(schedRecords.every((h) => h.id === 'kept' && h.t === 'sched'), JSON.stringify(schedRecords.map((h) => [h.t, h.id])));
    assert.ok(schedRecords.length <= 2, `the latest state (and the one before) only, not ${schedRecords.length}`);

    server = await startDevServer(opts);
    client = new Client({ connection: await Connection.connect({ address: server.address }) });
    try {
      const d = await client.schedule.getHandle('kept').describe();
      assert.deepEqual(durable(d), durable(described));
      assert.equal(d.state.note, 'paused 4');
      assert.equal(d.info.numActionsTaken, 1);
      await assert.rejects(client.schedule.getHandle('gone').describe(), ScheduleNotFoundError);
      assert.equal((await replayAll(client.workflowService, WORKFLOWS)).length, 1, 'the triggered run replays');
    } finally {
      await client.connection.close();
      await server.close();
    }
  });
});
