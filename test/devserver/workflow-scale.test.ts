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
  const wall = Date.now();
  const ns = Array.from({ length: COUNT }, (_, i) => i + 1);
  const prefix = nextId('scale');
  const handles = await pool(ns, 50, (n) =>
    env.client.workflow.start('waitSignalOrTimer', { taskQueue, workflowId: `${prefix}-${n}`, args: [n] }),
  );
  const started = Date.now() - wall;
  assert.equal(new Set(handles.map((x) => x.firstExecutionRunId)).size, COUNT, 'every start got its own run');

  await pool(
    handles.filter((_, i) => ns[i] % 2 === 0),
    50,
    (handle) => handle.signal('done'),
  );
  const signalled = Date.now() - wall;
  // The time-skipping client's result() unlocks time while it waits: with 200 calls in flight, virtual time runs past
  // the odd workflows' one-hour timers whenever the worker is idle.
  const results = await pool(handles, 200, (handle) => handle.result());
  const elapsed = Date.now() - wall;
  results.forEach((r, i) => assert.equal(r, ns[i] % 2 === 0 ? ns[i] * 2 : -ns[i], `workflow ${ns[i]}`));
  console.log(`1,000 workflows: started by ${started} ms, signalled by ${signalled} ms, all results by ${elapsed} ms`);
  // Measured on a shared 2-core machine: about 24 s at load 4, 36-50 s at load 10-15. The bound is a guard.
  assert.ok(elapsed < 60_000, `1,000 workflows took ${elapsed} ms`);

  // Odd workflows closed on their timer, exactly one virtual hour after it started.
  const odd = handles[0] as WorkflowHandle;
  const oddEvents = await events(odd);
  const timerStarted = oddEvents.find((e) => typeName(e) === 'TIMER_STARTED')!;
  const timerFired = oddEvents.find((e) => typeName(e) === 'TIMER_FIRED')!;
  const late = eventMs(timerFired) - eventMs(timerStarted) - HOUR;
  assert.ok(late >= 0 && late < 50, `the timer fired ${late} ms late in virtual time`);
  const even = handles[1] as WorkflowHandle;
  assert.ok((await events(even)).some((e) => typeName(e) === 'WORKFLOW_EXECUTION_SIGNALED'));

  // Replay a sample of histories in one replay worker, plus the shared check on one of each kind.
  const sample = handles.filter((_, i) => i % 100 === 0 || i % 100 === 1);
  const histories = await Promise.all(sample.map(async (x) => ({ workflowId: x.workflowId, history: await x.fetchHistory() })));
  for await (const r of Worker.runReplayHistories({ workflowBundle: await workflowBundle(CORE_WORKFLOWS) }, histories)) {
    assert.equal(r.error, undefined, `replay of ${r.workflowId}: ${r.error}`);
  }
  await replay(odd);
  await replay(even);
});
