/**
 * The workflow tests' setup: one time-skipping devserver per test file (so the fixed task queues `retrain` and
 * `retrain-training` are the file's own), the four search attributes registered, and two workers running
 * `workflows/index.ts` with the given activities. Also the small waits the tests share: polling a query until a
 * condition holds (queries do not advance virtual time, so the state observed is the state reached), and replaying
 * a workflow's history with the production workflow bundle.
 */
import { after, before } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { assertReplays, useHarness, workflowBundle, type Harness } from '../devserver/helpers';
import { SEARCH_ATTRIBUTES, TASK_QUEUE, TRAINING_TASK_QUEUE } from '../../workflows/definitions';

export const WORKFLOWS = require.resolve('../../workflows/index');

export interface WorkflowHarness extends Harness {
  trainingWorker: Worker;
}

/** Starts the file's devserver and both workers; the activities serve both task queues. */
export function useWorkflowHarness(activities: object): () => WorkflowHarness {
  let trainingWorker: Worker | undefined;
  let trainingRunning: Promise<void> | undefined;
  // Registered before useHarness's own hook, so the training worker stops before the server goes away.
  after(async () => {
    trainingWorker?.shutdown();
    await trainingRunning?.catch(() => undefined);
  });
  const harness = useHarness({
    activities,
    worker: { taskQueue: TASK_QUEUE, workflowsPath: WORKFLOWS },
    extraArgs: SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${TypedSearchAttributes.toMetadataType(k.type)}`]),
  });
  before(async () => {
    // Node 20 runs a file's root-level `before` hooks without waiting for one another: wait for the server's.
    const h = await eventually(async () => harness(), () => true, 'the devserver harness', 2400);
    trainingWorker = await Worker.create({
      connection: h.env.nativeConnection,
      namespace: h.env.namespace ?? 'default',
      taskQueue: TRAINING_TASK_QUEUE,
      activities,
      workflowBundle: await workflowBundle(WORKFLOWS),
    });
    trainingRunning = trainingWorker.run();
  });
  return () => ({ ...harness(), trainingWorker: trainingWorker! });
}

/** Replays a handle's history with the production workflow code. */
export function replays(handle: WorkflowHandle): Promise<void> {
  return assertReplays(handle, WORKFLOWS);
}

/**
 * Polls `read` until `ok` holds and returns that value; fails with the last value seen after `attempts` polls.
 * Used to observe a workflow reaching a state, not to time it.
 */
export async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, attempts = 300): Promise<T> {
  let last: T | undefined;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (e) {
      lastError = e;
    }
    await delay(50);
  }
  throw new Error(`never reached: ${what}; last seen ${JSON.stringify(last)}${lastError ? ` (${String(lastError)})` : ''}`);
}

export async function historyLength(handle: WorkflowHandle): Promise<number> {
  return (await handle.fetchHistory()).events?.length ?? 0;
}

/**
 * Waits until the workflow is idle: no activity and no workflow task pending, and the history the same length on two
 * reads in a row, so it stays as it is until a message or a timer arrives.
 */
export async function settled(handle: WorkflowHandle): Promise<number> {
  let previous = -1;
  const idle = await eventually(
    async () => {
      const d = await handle.describe();
      const length = (await handle.fetchHistory()).events?.length ?? 0;
      const busy = (d.raw.pendingActivities?.length ?? 0) > 0 || !!d.raw.pendingWorkflowTask;
      const stable = !busy && length === previous;
      previous = length;
      return { stable, length };
    },
    (s) => s.stable,
    'an idle workflow',
  );
  return idle.length;
}

/**
 * The event types a workflow's history gained after its first `from` events. A rejected update must add none: the
 * task that carried it is speculative, and both the real server and the devserver drop it when it only rejected.
 */
export async function eventsAfter(handle: WorkflowHandle, from: number): Promise<string[]> {
  const { temporal } = require('@temporalio/proto') as typeof import('@temporalio/proto');
  const events = (await handle.fetchHistory()).events ?? [];
  return events.slice(from).map((e) => String(temporal.api.enums.v1.EventType[e.eventType as number]).replace(/^EVENT_TYPE_/, ''));
}

/** Asserts that nothing at all reached history after its first `from` events. */
export async function assertNoTrace(handle: WorkflowHandle, from: number): Promise<void> {
  const added = await eventsAfter(handle, from);
  if (added.length) throw new Error(`rejected messages wrote history events: ${added.join(', ')}`);
}
