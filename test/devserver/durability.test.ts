/**
 * `--db-filename`: the server process is SIGKILLed and started again on the same journal and port, with real SDK
 * workers and clients connected throughout; runs waiting on a timer, an activity (running, and not yet started), a
 * signal and an update finish as if nothing happened, and their histories replay. Then the journal's failure modes
 * (a torn last record, a corrupt one before it) and kill-and-restart rounds under load, where no acknowledged start or
 * signal may be lost.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { DEVSERVER_EXECUTABLE } from '../../devserver';
import { parseJournal } from '../../devserver/journal';
import { decodeHistoryEvent, EventType } from '../../devserver/proto';
import { eventTypes, freePort, killServer, quietRuntime, startJournalledServer, workflowBundle } from './helpers';
import { replayAll } from './replay-all';
import {
  addSignal,
  awaitsUpdate,
  collects,
  doneSignal,
  parentOfWaiting,
  releaseSignal,
  runsActivity,
  setUpdate,
  sleepsThenReturns,
} from './fixtures/durable-workflows';

const WORKFLOWS = require.resolve('./fixtures/durable-workflows');
const START_CHILD_INITIATED = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED;

/** The exit code and stderr of a server that is expected not to start. */
function failedStart(port: number, db: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(DEVSERVER_EXECUTABLE, ['--port', String(port), '--db-filename', db], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      err += d;
      if (err.includes('listening on')) child.kill('SIGKILL');
    });
    child.on('exit', (code) => resolve({ code, stderr: err }));
  });
}

/** Waits until the handle's history has an event of `type` (polling: the server writes it on its own schedule). */
async function untilEvent(handle: WorkflowHandle, type: string): Promise<void> {
  while (!(await eventTypes(handle)).includes(type)) await sleep(50);
}

async function assertReplays(handle: WorkflowHandle): Promise<void> {
  const history = await handle.fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle(WORKFLOWS) }, history, handle.workflowId);
}

const dir = mkdtempSync(join(tmpdir(), 'retrain-durability-'));
after(() => rmSync(dir, { recursive: true, force: true }));
before(() => quietRuntime());

describe('a server restarted on its journal', () => {
  test('runs waiting on a timer, a running activity, a queued activity, a signal and an update complete after SIGKILL and restart; histories replay', async () => {
    const db = join(dir, 'restart.db');
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    let server = await startJournalledServer(port, db);
    assert.match(server.stderr(), /journal .*restart\.db: 0 records replayed/);
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address });
    const tq = `durable-${process.pid}`;
    let entered!: () => void;
    const activityEntered = new Promise<void>((r) => (entered = r));
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    const workflows = await Worker.create({ connection: native, taskQueue: tq, workflowBundle: await workflowBundle(WORKFLOWS) });
    const gated = await Worker.create({
      connection: native,
      taskQueue: `${tq}-gated`,
      activities: {
        async gatedEcho(s: string) {
          entered();
          await gate;
          return s;
        },
      },
    });
    const running = [workflows.run(), gated.run()];
    try {
      const timer = await client.workflow.start(sleepsThenReturns, { taskQueue: tq, workflowId: 'timer', args: [3000] });
      const activity = await client.workflow.start(runsActivity, { taskQueue: tq, workflowId: 'activity', args: [`${tq}-gated`, 'ran'] });
      const queued = await client.workflow.start(runsActivity, { taskQueue: tq, workflowId: 'queued', args: [`${tq}-later`, 'queued'] });
      const signals = await client.workflow.start(collects, { taskQueue: tq, workflowId: 'signals' });
      const update = await client.workflow.start(awaitsUpdate, { taskQueue: tq, workflowId: 'update' });
      await signals.signal(addSignal, 'before');
      const updateHandle = await update.startUpdate(setUpdate, { args: ['v'], waitForStage: WorkflowUpdateStage.ACCEPTED });
      await activityEntered;
      await untilEvent(timer, 'TIMER_STARTED');
      await untilEvent(queued, 'ACTIVITY_TASK_SCHEDULED');
      await untilEvent(signals, 'WORKFLOW_EXECUTION_SIGNALED');

      await killServer(server);
      server = await startJournalledServer(port, db);
      assert.match(server.stderr(), /records replayed .*\(5 runs, 5 open\)/);

      const later = await Worker.create({ connection: native, taskQueue: `${tq}-later`, activities: { echo: async (s: string) => s } });
      running.push(later.run());
      await signals.signal(addSignal, 'after');
      await signals.signal(doneSignal);
      await update.signal(releaseSignal);
      openGate();

      assert.equal(await timer.result(), 'slept');
      assert.equal(await activity.result(), 'ran');
      assert.equal(await queued.result(), 'queued');
      assert.deepEqual(await signals.result(), ['before', 'after']);
      assert.equal(await updateHandle.result(), 'set v');
      assert.equal(await update.result(), 'v');
      for (const h of [timer, activity, queued, signals, update]) await assertReplays(h);
      // The running activity was not run again: its worker reported it with the task token from before the restart.
      const activityEvents = await eventTypes(activity);
      assert.equal(activityEvents.filter((t) => t === 'ACTIVITY_TASK_STARTED').length, 1);
      later.shutdown();
    } finally {
      openGate();
      workflows.shutdown();
      gated.shutdown();
      await Promise.allSettled(running);
      await native.close();
      await connection.close();
      await killServer(server);
    }

    // The same journal, its last record torn by a crash mid-write: dropped with a warning, and the server starts.
    const torn = join(dir, 'torn.db');
    copyFileSync(db, torn);
    truncateSync(torn, statSync(torn).size - 3);
    const restarted = await startJournalledServer(port, torn);
    try {
      assert.match(restarted.stderr(), /WARNING: journal .*torn\.db: torn last record at offset \d+/);
      const whole = parseJournal(readFileSync(db), db).records.length;
      assert.match(restarted.stderr(), new RegExp(`: ${whole - 1} records replayed .*\\(5 runs, `));
      const c = await Connection.connect({ address });
      const listed = await new Client({ connection: c }).workflow.count();
      assert.equal(listed.count, 5);
      await c.close();
    } finally {
      await killServer(restarted);
    }

    // A corrupt record before the last is not a crash's doing: the server refuses to start and names its offset.
    const corrupt = join(dir, 'corrupt.db');
    const bytes = readFileSync(db);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(corrupt, bytes);
    const failed = await failedStart(port, corrupt);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /corrupt record at offset \d+/);
  });

  test('a parent waiting on its child completes after restarts, also when the child start was lost with the process', async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    for (const lostStart of [false, true]) {
      const db = join(dir, `children-${lostStart}.db`);
      let server = await startJournalledServer(port, db);
      const connection = await Connection.connect({ address });
      const client = new Client({ connection });
      const workerConnection = await NativeConnection.connect({ address });
      const tq = `children-${process.pid}-${lostStart}`;
      const worker = await Worker.create({ connection: workerConnection, taskQueue: tq, workflowBundle: await workflowBundle(WORKFLOWS) });
      const running = worker.run();
      try {
        const childId = `child-${lostStart}`;
        const parent = await client.workflow.start(parentOfWaiting, { taskQueue: tq, workflowId: `parent-${lostStart}`, args: [childId] });
        const child = client.workflow.getHandle(childId);
        await untilEvent(parent, 'CHILD_WORKFLOW_EXECUTION_STARTED');
        await untilEvent(child, 'WORKFLOW_TASK_COMPLETED');
        await killServer(server);
        if (lostStart) {
          // Cut the journal right after the parent's StartChildWorkflowExecutionInitiated: as if the process died
          // between that workflow task's answer and the child's start.
          const { records } = parseJournal(readFileSync(db), db);
          const i = records.findIndex((r) => r.head.t === 'ev' && decodeHistoryEvent(r.tail).eventType === START_CHILD_INITIATED);
          truncateSync(db, records[i + 1].offset);
        }
        server = await startJournalledServer(port, db);
        await untilEvent(child, 'WORKFLOW_TASK_COMPLETED');
        await child.signal(releaseSignal);
        assert.equal(await parent.result(), 'parent saw: child released');
        await assertReplays(parent);
        await assertReplays(child);
      } finally {
        worker.shutdown();
        await running.catch(() => undefined);
        await workerConnection.close();
        await connection.close();
        await killServer(server);
      }
    }
  });

  test('20 kill-and-restart rounds under load lose no acknowledged start or signal', async () => {
    const db = join(dir, 'load.db');
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    let server = await startJournalledServer(port, db);
    // No retry interceptor: a call made while the server is down fails at once instead of being retried, so every
    // success the loop records is one the server acknowledged.
    // grpc-js backs off reconnecting for up to two minutes by default; the rounds are shorter than that.
    const channelArgs = { 'grpc.initial_reconnect_backoff_ms': 50, 'grpc.max_reconnect_backoff_ms': 200 };
    const connection = await Connection.connect({ address, interceptors: [], channelArgs });
    const client = new Client({ connection });
    const native = await NativeConnection.connect({ address });
    const tq = `load-${process.pid}`;
    const worker = await Worker.create({ connection: native, taskQueue: tq, workflowBundle: await workflowBundle(WORKFLOWS) });
    const running = worker.run();
    const acked = new Map<string, string[]>();
    let stop = false;
    let seq = 0;
    let failures = 0;
    const load = async () => {
      while (!stop) {
        const ids = [...acked.keys()];
        try {
          if (ids.length < 20 || seq % 4 === 0) {
            const id = `load-${++seq}`;
            await client.workflow.start(collects, { taskQueue: tq, workflowId: id });
            acked.set(id, []);
          } else {
            const id = ids[seq % ids.length];
            const payload = `s${++seq}`;
            await client.workflow.getHandle(id).signal(addSignal, payload);
            acked.get(id)!.push(payload);
          }
        } catch {
          failures++;
          await sleep(20);
        }
      }
    };
    const loops = [load(), load()];
    try {
      for (let round = 0; round < 20; round++) {
        await sleep(300);
        await killServer(server);
        server = await startJournalledServer(port, db);
      }
      await sleep(200);
      stop = true;
      await Promise.all(loops);
      assert.ok(failures > 0, 'some calls met the server down (the rounds did interrupt the load)');
      const signalled = [...acked.values()].reduce((n, s) => n + s.length, 0);
      assert.ok(acked.size >= 20 && signalled > 20, `load made progress: ${acked.size} starts, ${signalled} signals acknowledged`);
      const retrying = new Client({ connection: await Connection.connect({ address }) });
      await Promise.all(
        [...acked].map(async ([id, payloads]) => {
          const handle = retrying.workflow.getHandle<typeof collects>(id);
          await handle.signal(doneSignal);
          const got = await handle.result();
          // Every acknowledged signal arrived, in the order acknowledged (a retried call may add a duplicate).
          const seen = got.filter((s) => payloads.includes(s));
          assert.deepEqual([...new Set(seen)], payloads, `workflow ${id}`);
        }),
      );
      // Every run's history replays, those whose start was never acknowledged (the reply lost with the process) too.
      const replayed = await replayAll(retrying.workflowService, WORKFLOWS);
      for (const id of acked.keys()) assert.ok(replayed.includes(id), `${id} replayed`);
      await retrying.connection.close();
    } finally {
      stop = true;
      await Promise.allSettled(loops);
      worker.shutdown();
      await running.catch(() => undefined);
      await native.close();
      await connection.close();
      await killServer(server);
    }
  });
});
