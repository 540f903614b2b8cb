/**
 * Small helpers shared by the workflow-level conformance files (workflow-*.test.ts): the core fixtures' paths,
 * history reading (event type names, attributes, virtual timestamps) and waiting for a workflow task to be in flight.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { assertReplays } from './helpers';

export const CORE_WORKFLOWS = require.resolve('./fixtures/core-workflows');

type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;

/** Replays the handle's history against the core fixtures. */
export function replay(handle: WorkflowHandle): Promise<void> {
  return assertReplays(handle, CORE_WORKFLOWS);
}

export function typeName(e: IHistoryEvent): string {
  return String(EventType[e.eventType as number]).replace(/^EVENT_TYPE_/, '');
}

export async function events(handle: WorkflowHandle): Promise<IHistoryEvent[]> {
  return (await handle.fetchHistory()).events ?? [];
}

export async function types(handle: WorkflowHandle): Promise<string[]> {
  return (await events(handle)).map(typeName);
}

/** Event time in epoch milliseconds (virtual time under time skipping). */
export function eventMs(e: IHistoryEvent): number {
  const t = e.eventTime!;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

export function num(x: unknown): number {
  return typeof x === 'number' ? x : Number(x ?? 0);
}

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export { wait };

/** `p`, or a rejection naming `what` if it is still pending after `ms` (a guard against hangs, not a timing check). */
export function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** Resolves true if `p` is still pending after `ms`. */
export async function pendingAfter(p: Promise<unknown>, ms = 300): Promise<boolean> {
  const marker = Symbol('pending');
  return (await Promise.race([p.then(() => null, () => null), wait(ms).then(() => marker)])) === marker;
}

/** Raw DescribeWorkflowExecution (the client's `describe()` leaves out the pending workflow task). */
export function rawDescribe(env: TestWorkflowEnvironment, handle: WorkflowHandle) {
  return env.client.workflowService.describeWorkflowExecution({
    namespace: env.namespace ?? 'default',
    execution: { workflowId: handle.workflowId },
  });
}

/** Resolves once a workflow task of the run is started (handed to the worker and not yet answered). */
export async function taskInFlight(
  env: TestWorkflowEnvironment,
  handle: WorkflowHandle,
  pred: (t: temporal.api.workflow.v1.IPendingWorkflowTaskInfo) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<temporal.api.workflow.v1.IPendingWorkflowTaskInfo> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const d = await rawDescribe(env, handle);
    const t = d.pendingWorkflowTask;
    if (t && t.state === temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED && pred(t)) return t;
    if (Date.now() > end) throw new Error(`no workflow task in flight for ${handle.workflowId} after ${timeoutMs} ms`);
    await wait(3);
  }
}

/** CPU loop iterations that keep a workflow task busy for roughly 200 ms of wall time (more on a loaded machine). */
export const SLOW_TASK_ITERATIONS = 35_000_000;
/** A shorter loop for the completion race, which runs it several times per round (first try, retry, replay). */
export const RACE_TASK_ITERATIONS = 20_000_000;

/** Starts `collectSignals` with a slow first workflow task and resolves once that task is in flight. */
export async function startWithTaskInFlight(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  workflowId: string,
): Promise<WorkflowHandle> {
  const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId, args: [SLOW_TASK_ITERATIONS] });
  await taskInFlight(env, handle);
  return handle;
}

/** Resolves with the run's history once it holds an event of `type` (e.g. 'TIMER_STARTED'). */
export async function untilEvent(handle: WorkflowHandle, type: string, timeoutMs = 10_000): Promise<IHistoryEvent[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const evs = await events(handle);
    if (evs.some((e) => typeName(e) === type)) return evs;
    if (Date.now() > end) throw new Error(`no ${type} in ${handle.workflowId} after ${timeoutMs} ms: ${evs.map(typeName).join(', ')}`);
    await wait(5);
  }
}
