// History helpers shared by the activity conformance files (test/devserver/activity-*.test.ts).
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;

export const ACTIVITY_WORKFLOWS_PATH = require.resolve('./fixtures/activity-workflows');

export function toNum(v: unknown): number {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'object' && 'toNumber' in (v as object)) return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

/** Milliseconds of a proto Timestamp. */
export function tsMs(t: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return t ? toNum(t.seconds) * 1000 + Math.round((t.nanos ?? 0) / 1e6) : 0;
}

/** Milliseconds of a proto Duration (0 when unset). */
export function durMs(d: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return tsMs(d);
}

export function typeName(e: IHistoryEvent): string {
  return String(temporal.api.enums.v1.EventType[e.eventType as number]).replace(/^EVENT_TYPE_/, '');
}

export async function historyOf(handle: WorkflowHandle): Promise<IHistoryEvent[]> {
  return (await handle.fetchHistory()).events ?? [];
}

export async function typesOf(handle: WorkflowHandle): Promise<string[]> {
  return (await historyOf(handle)).map(typeName);
}

/** Event types without the workflow-task bookkeeping, to compare activity sequences. */
export function withoutWft(types: string[]): string[] {
  return types.filter((t) => !t.startsWith('WORKFLOW_TASK_'));
}

export function eventsOfType(events: IHistoryEvent[], type: string): IHistoryEvent[] {
  return events.filter((e) => typeName(e) === type);
}

export function onlyEvent(events: IHistoryEvent[], type: string): IHistoryEvent {
  const found = eventsOfType(events, type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}: ${events.map(typeName).join(', ')}`);
  return found[0];
}

/** Polls until the handle's history holds an event of the type. */
export async function waitForEvent(handle: WorkflowHandle, type: string, timeoutMs = 20_000): Promise<IHistoryEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = eventsOfType(await historyOf(handle), type);
    if (found.length) return found[0];
    if (Date.now() > deadline) throw new Error(`no ${type} event after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Asserts `actual` is within `tolerance` of `expected` (for virtual timestamps). */
export function near(actual: number, expected: number, tolerance = 100): boolean {
  return Math.abs(actual - expected) <= tolerance;
}
