/**
 * Continue-as-new through the real SDK against the devserver (time skipping): a monitor that continues as new 50
 * times while 200 signals arrive (through signal and signal-with-start) loses none; every run keeps the workflow id
 * and first run id and links to its neighbours; result() follows the chain; workflowInfo() reports history length
 * and size and `continueAsNewSuggested` once the history passes the server's limit (launched with
 * `--suggest-continue-as-new-after-events 40`).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowContinuedAsNewError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { assertReplays, useHarness, workflowBundle } from './helpers';
import { finishSignal, growUntilSuggested, incUpdate, monitor, monitorLeftQuery, pingSignal, type MonitorState } from './fixtures/ext2-workflows';
import { replaysEveryRun } from './replay-all';

const WF = require.resolve('./fixtures/ext2-workflows');
const SUGGEST_AFTER = 40;
const h = useHarness({ worker: { workflowsPath: WF }, extraArgs: ['--suggest-continue-as-new-after-events', String(SUGGEST_AFTER)] });

const EventType = temporal.api.enums.v1.EventType;
type Event = temporal.api.history.v1.IHistoryEvent;

function initial(left: number, tick: MonitorState['tick']): MonitorState {
  return { left, tick, total: 0, count: 0, finished: false, perRun: [], runIds: [] };
}

/** Replays many runs with one replay worker (a worker per history costs about half a second each). */
async function assertRunsReplay(workflowId: string, runIds: string[]): Promise<void> {
  const client = h().env.client.workflow;
  const histories = await Promise.all(runIds.map(async (runId) => ({ workflowId, history: await client.getHandle(workflowId, runId).fetchHistory() })));
  let n = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle(WF) }, histories)) {
    if (r.error) throw r.error;
    n++;
  }
  assert.equal(n, runIds.length);
}

async function runHistory(workflowId: string, runId: string): Promise<Event[]> {
  return (await h().env.client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
}

describe('continue-as-new', { timeout: 60_000 }, () => {
  test('a monitor continues as new 50 times while receiving 200 signals and loses none', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('monitor');
    const memo = { model: 'churn', owner: 'ml-platform' };

    // Each run waits 50 ms of workflow time; the test keeps time-skipping locked while it signals, so runs turn
    // over at wall-clock pace and signals land on every run, some while a run is continuing as new.
    const start = initial(50, 50);
    const handle = await env.client.workflow.start(monitor, { taskQueue, workflowId, args: [start], memo });
    const byId = env.client.workflow.getHandle(workflowId);
    let expected = 0;
    let sent = 0;
    const seenRuns = new Set<string>([handle.firstExecutionRunId]);
    for (let batch = 0; batch < 50; batch++) {
      const before = (await byId.describe()).runId;
      const sends: Promise<unknown>[] = [];
      for (let j = 0; j < 4; j++) {
        const value = ++sent;
        expected += value;
        sends.push(
          value % 2 === 0
            ? env.client.workflow.signalWithStart(monitor, { taskQueue, workflowId, args: [start], signal: pingSignal, signalArgs: [value] })
            : byId.signal(pingSignal, value),
        );
      }
      await Promise.all(sends);
      // Pace the next batch on the chain: wait for a new run, unless the chain has no continuations left.
      for (let i = 0; i < 500; i++) {
        const d = await byId.describe();
        seenRuns.add(d.runId);
        if (d.runId !== before || (await byId.query(monitorLeftQuery)) === 0) break;
        await delay(5);
      }
    }
    await byId.signal(finishSignal);
    const final = await handle.result();

    assert.equal(sent, 200);
    assert.equal(final.count, 200);
    assert.equal(final.total, expected);
    assert.equal(final.total, (200 * 201) / 2);
    assert.equal(final.left, 0);
    assert.equal(final.runIds.length, 51);
    assert.equal(new Set(final.runIds).size, 51);
    assert.equal(final.runIds[0], handle.firstExecutionRunId);
    assert.equal(final.perRun.reduce((a, b) => a + b, 0), 200);
    const runsWithSignals = final.perRun.filter((n) => n > 0).length;
    assert.ok(runsWithSignals >= 25, `signals reached only ${runsWithSignals} runs: ${final.perRun.join(',')}`);
    assert.ok(seenRuns.size >= 25);

    // Walk the chain through the histories: same workflow id and first run id, links both ways, one close each.
    let signaled = 0;
    for (const [i, runId] of final.runIds.entries()) {
      const events = await runHistory(workflowId, runId);
      const started = events[0].workflowExecutionStartedEventAttributes!;
      assert.equal(started.firstExecutionRunId, handle.firstExecutionRunId);
      assert.equal(started.continuedExecutionRunId || undefined, i === 0 ? undefined : final.runIds[i - 1]);
      assert.equal(started.workflowId, workflowId);
      const last = events[events.length - 1];
      if (i < 50) {
        assert.equal(last.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
        assert.equal(last.workflowExecutionContinuedAsNewEventAttributes!.newExecutionRunId, final.runIds[i + 1]);
      } else {
        assert.equal(last.eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
      }
      const pings = events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'ping').length;
      assert.equal(pings, final.perRun[i], `run ${i}`);
      signaled += pings;
      const d = await env.client.workflow.getHandle(workflowId, runId).describe();
      assert.equal(d.status.name, i < 50 ? 'CONTINUED_AS_NEW' : 'COMPLETED');
      assert.equal(d.raw.workflowExecutionInfo?.firstRunId, handle.firstExecutionRunId);
      assert.deepEqual(d.memo, memo);
    }
    assert.equal(signaled, 200);
    await assertRunsReplay(workflowId, final.runIds);
    await assertReplays(handle, WF);
  });

  test('updates sent while the monitor keeps continuing as new all complete, each on some run, none twice', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('monitor-upd');
    const handle = await env.client.workflow.start(monitor, { taskQueue, workflowId, args: [initial(20, 30)] });
    const byId = env.client.workflow.getHandle(workflowId);
    const results: number[] = [];
    let expected = 0;
    for (let batch = 0; batch < 20; batch++) {
      const values = [1, 2, 3].map((j) => 1000 * batch + j);
      expected += values.reduce((a, b) => a + b, 0);
      results.push(...(await Promise.all(values.map((v) => byId.executeUpdate(incUpdate, { args: [v], updateId: `u-${v}` })))));
      await delay(10);
    }
    await byId.signal(finishSignal);
    const final = await handle.result();
    assert.equal(final.updates, 60);
    assert.equal(final.total, expected);
    assert.equal(new Set(results).size, 60);
    assert.ok(final.runIds.length === 21);
    // Each update id was accepted and completed exactly once, across the whole chain.
    const seen: string[] = [];
    for (const runId of final.runIds) {
      for (const e of await runHistory(workflowId, runId)) {
        const id = e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId;
        if (id) seen.push(id);
      }
    }
    assert.equal(seen.length, 60);
    assert.equal(new Set(seen).size, 60);
    await assertRunsReplay(workflowId, final.runIds);
    await assertReplays(handle, WF);
  });

  test('the new run keeps the workflow id and first run id; result() follows the chain unless told not to', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('chain');
    const handle = await env.client.workflow.start(monitor, { taskQueue, workflowId, args: [{ ...initial(3, '1 day'), finished: true }] });
    const final = await handle.result();
    assert.equal(final.runIds.length, 4);
    const latest = await env.client.workflow.getHandle(workflowId).describe();
    assert.equal(latest.workflowId, workflowId);
    assert.equal(latest.runId, final.runIds[3]);
    assert.notEqual(latest.runId, handle.firstExecutionRunId);
    assert.equal(latest.raw.workflowExecutionInfo?.firstRunId, handle.firstExecutionRunId);
    assert.equal(latest.status.name, 'COMPLETED');
    // Each run slept a virtual day: the last run started three days after the first.
    const first = await env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).describe();
    assert.equal(first.status.name, 'CONTINUED_AS_NEW');
    const days = (latest.startTime.getTime() - first.startTime.getTime()) / 86_400_000;
    assert.ok(days >= 3 && days < 3.01, `${days} days`);
    // A handle on the first run with followRuns off stops at the first continuation.
    const err = await env.client.workflow
      .getHandle(workflowId, handle.firstExecutionRunId, { followRuns: false })
      .result()
      .catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowContinuedAsNewError, `got ${(err as Error)?.name}`);
    assert.equal(err.newExecutionRunId, final.runIds[1]);
    // A handle on a middle run follows from there.
    assert.deepEqual(await env.client.workflow.getHandle(workflowId, final.runIds[2]).result(), final);
    await assertRunsReplay(workflowId, final.runIds);
    await assertReplays(env.client.workflow.getHandle(workflowId), WF);
  });

  test('workflowInfo() reports history length and size, and continueAsNewSuggested once the history passes the limit', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('grow');
    const handle = await env.client.workflow.start(growUntilSuggested, { taskQueue, workflowId, args: [100, null] });
    const { first, samples: second } = await handle.result();
    assert.ok(first, 'the first run should have continued as new once suggested');
    // The first run grew until the suggestion came: the server suggests once the history before a task's
    // WorkflowTaskStarted holds the limit's number of events.
    assert.ok(first.length > 3);
    for (const [i, s] of first.entries()) {
      assert.equal(s.suggested, s.historyLength - 1 >= SUGGEST_AFTER, `sample ${i}: ${JSON.stringify(s)}`);
      assert.ok(s.historySize > 0);
      if (i > 0) {
        assert.ok(s.historyLength > first[i - 1].historyLength);
        assert.ok(s.historySize > first[i - 1].historySize);
      }
    }
    assert.equal(first[first.length - 1].suggested, true);
    assert.ok(!first[first.length - 2].suggested);
    // The samples are exactly what the WorkflowTaskStarted events carried.
    const firstEvents = await runHistory(workflowId, handle.firstExecutionRunId);
    for (const s of first) {
      const ev = firstEvents[s.historyLength - 1];
      assert.equal(ev.eventType, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
      assert.equal(Number(ev.workflowTaskStartedEventAttributes!.historySizeBytes), s.historySize);
      assert.equal(Boolean(ev.workflowTaskStartedEventAttributes!.suggestContinueAsNew), s.suggested);
    }
    // The new run starts small again: no suggestion, history length 3 at its first task.
    assert.deepEqual(
      second.map((s) => [s.historyLength, s.suggested]),
      [[3, false], [8, false], [13, false], [18, false]],
    );
    assert.ok(second[0].historySize < first[first.length - 1].historySize);
    const d = await handle.describe();
    assert.equal(Number(d.raw.workflowExecutionInfo?.historyLength), d.historyLength);
    assert.ok(Number(d.raw.workflowExecutionInfo?.historySizeBytes) > second[second.length - 1].historySize);
    await assertReplays(env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId), WF);
    await assertReplays(env.client.workflow.getHandle(workflowId), WF);
  });
});

replaysEveryRun(h, WF);
