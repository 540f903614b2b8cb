// Workflows the devserver benchmark drives (bench/devserver/run.ts). Workflow code: deterministic, sandboxed.
import * as wf from '@temporalio/workflow';
import type * as acts from './activities';

const { step } = wf.proxyActivities<typeof acts>({ startToCloseTimeout: '1 minute' });

export const goSignal = wf.defineSignal<[number]>('go');

/** The throughput case: one activity, then the signal, then two more activities. */
export async function threeActivitiesOneSignal(n: number): Promise<number> {
  let bonus: number | undefined;
  wf.setHandler(goSignal, (b) => {
    bonus = b;
  });
  const a = await step(n);
  await wf.condition(() => bonus !== undefined);
  const b = await step(a);
  const c = await step(b);
  return c + bonus!;
}

/** The idle case: waits for the signal, then returns its value. */
export async function waitForSignal(): Promise<number> {
  let value: number | undefined;
  wf.setHandler(goSignal, (v) => {
    value = v;
  });
  await wf.condition(() => value !== undefined);
  return value!;
}

/** The soak case: closes on its first workflow task. */
export async function quick(n: number): Promise<number> {
  return n + 1;
}
