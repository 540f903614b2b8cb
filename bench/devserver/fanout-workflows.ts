// Workflows of the fan-out and update-latency cases (bench/devserver/fanout-updates.ts). Workflow code: deterministic,
// sandboxed.
import * as wf from '@temporalio/workflow';
import type * as acts from './activities';

const { step } = wf.proxyActivities<typeof acts>({ startToCloseTimeout: '1 minute' });

/** A fan-out child: one activity, returns n + 1. */
export async function fanoutChild(n: number): Promise<number> {
  return step(n);
}

/** Starts `children` child workflows at once and awaits them all; returns the sum of their results. */
export async function fanoutParent(children: number): Promise<number> {
  const id = wf.workflowInfo().workflowId;
  const results = await Promise.all(
    Array.from({ length: children }, (_, i) => wf.executeChild(fanoutChild, { workflowId: `${id}-child-${i}`, args: [i] })),
  );
  return results.reduce((a, b) => a + b, 0);
}

export const pingUpdate = wf.defineUpdate<number, [number]>('ping');
export const stopSignal = wf.defineSignal('stop');

/** Answers every `ping` update at once (with its argument + 1) until the `stop` signal; returns the number answered. */
export async function updateTarget(): Promise<number> {
  let answered = 0;
  let stop = false;
  wf.setHandler(pingUpdate, (n) => {
    answered++;
    return n + 1;
  });
  wf.setHandler(stopSignal, () => {
    stop = true;
  });
  await wf.condition(() => stop);
  return answered;
}
