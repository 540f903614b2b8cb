/**
 * The orchestration floor (workflow code, bundled into the SDK sandbox): an empty workflow that calls the no-op
 * activity once per entry of `queues`, one after another on that task queue, so it makes the same number of
 * activity calls, split between the same queues in the same order, as the retraining run it is compared with.
 */
import { proxyActivities } from '@temporalio/workflow';
import type * as activities from './floor-activities';

export async function activityFloor(queues: string[]): Promise<number> {
  // One proxy per queue, as the run keeps one per timeout profile; a new proxy per call would cost the same anyway.
  const proxies = new Map<string, typeof activities>();
  for (const q of queues) {
    let p = proxies.get(q);
    if (!p) {
      p = proxyActivities<typeof activities>({ taskQueue: q, startToCloseTimeout: '1 minute' });
      proxies.set(q, p);
    }
    await p.noop();
  }
  return queues.length;
}
