// Workflow-level conformance at scale: 1,000 concurrent workflows through the real SDK worker and client under time
// skipping, half completed by a signal and half by a one-hour timer, with every result checked and a sample of the
// histories replayed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { useHarness, workflowBundle } from './helpers';
import * as activities from './fixtures/core-activities';
import { CORE_WORKFLOWS, eventMs, events, replay, typeName } from './workflow-helpers';

const h = useHarness({
  worker: { workflowsPath: CORE_WORKFLOWS, maxConcurrentWorkflowTaskExecutions: 100, maxCachedWorkflows: 1_200 },
  activities,
});
const COUNT = 1_000;
const HOUR = 3_600_000;

/** Runs `fn` over `items` with at most `width` calls in flight. */
async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

test('1,000 concurrent workflows wait, then all complete: even ones by signal, odd ones by a one-hour timer', async () => {
  const { env, taskQueue, nextId } = h();
  const ns = Array.from({ length: COUNT }, (_, i) => i + 1);
  const prefix = nextId('scale');
  const handles = await pool(ns, 50, (n) =>
    env.client.workflow.start('waitSignalOrTimer', { taskQueue, workflowId: `${prefix}-${n}`, args: [n] }),
  );
  assert.equal(new Set(handles.map((x) => x.firstExecutionRunId)).size, COUNT, 'every start got its own run');

  await pool(
    handles.filter((_, i) => ns[i] % 2 === 0),
    50,
    (handle) => handle.signal('done'),
  );
  // The time-skipping client's result() unlocks time while it waits: with 200 calls in flight, virtual time runs past
  // the odd workflows' one-hour timers whenever the worker is idle. How long this takes is not asserted: throughput is
  // measured in bench/devserver (the throughput case, as a ratio against its floor in the same run).
  const results = await pool(handles, 200, (handle) => handle.result());
  results.forEach((r, i) => assert.equal(r, ns[i] % 2 === 0 ? ns[i] * 2 : -ns[i], `workflow ${ns[i]}`));
  // The server agrees: all 1,000 runs are closed as completed, none still running or failed.
  const query = (status: string) => `WorkflowType = 'waitSignalOrTimer' AND TaskQueue = '${taskQueue}' AND ExecutionStatus = '${status}'`;
  assert.equal((await env.client.workflow.count(query('Completed'))).count, COUNT);
  assert.equal((await env.client.workflow.count(query('Running'))).count, 0);

  // History shape of a sample of each kind: odd ones closed on their timer, exactly one virtual hour after it
  // started (never early; time skips straight to the due time when nothing is outstanding) and without a signal;
  // even ones by the signal, with their timer never fired.
  const sampleIdx = Array.from({ length: COUNT }, (_, i) => i).filter((i) => i % 50 < 2);
  for (const i of sampleIdx) {
    const evs = await events(handles[i]);
    const names = evs.map(typeName);
    assert.equal(names.at(-1), 'WORKFLOW_EXECUTION_COMPLETED', `workflow ${ns[i]}`);
    if (ns[i] % 2 === 1) {
      const timerStarted = evs.find((e) => typeName(e) === 'TIMER_STARTED')!;
      const timerFired = evs.find((e) => typeName(e) === 'TIMER_FIRED');
      assert.ok(timerFired, `workflow ${ns[i]}: ${names.join(', ')}`);
      assert.ok(!names.includes('WORKFLOW_EXECUTION_SIGNALED'), `workflow ${ns[i]}`);
      const late = eventMs(timerFired) - eventMs(timerStarted) - HOUR;
      assert.ok(late >= 0, `workflow ${ns[i]}: the timer fired ${-late} ms early in virtual time`);
    } else {
      assert.ok(names.includes('WORKFLOW_EXECUTION_SIGNALED'), `workflow ${ns[i]}: ${names.join(', ')}`);
      assert.ok(!names.includes('TIMER_FIRED'), `workflow ${ns[i]}: ${names.join(', ')}`);
    }
  }
  const odd = handles[0] as WorkflowHandle;
  const even = handles[1] as WorkflowHandle;

  // Replay a sample of histories in one replay worker, plus the shared check on one of each kind.
  const sample = handles.filter((_, i) => i % 100 === 0 || i % 100 === 1);
  const histories = await Promise.all(sample.map(async (x) => ({ workflowId: x.workflowId, history: await x.fetchHistory() })));
  for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle(CORE_WORKFLOWS) }, histories)) {
    assert.equal(r.error, undefined, `replay of ${r.workflowId}: ${r.error}`);
  }
  await replay(odd);
  await replay(even);
});
