// Time-skipping locks are one count for the whole server, as in the Java test server (SelfAdvancingTimerImpl): the
// test client's LockTimeSkipping/UnlockTimeSkipping and the server's own locks for outstanding workflow tasks and
// activities add up, so a test's env.sleep() from inside a running activity releases that activity's hold on the
// clock and time skips to the next timer (samples-typescript timer-examples does this).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertReplays, eventTypes, useHarness } from './helpers';
import { replaysEveryRun } from './replay-all';

const WORKFLOWS = require.resolve('./fixtures/time-skipping-workflows');
const DAY = 86_400_000;
const wallClock = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

describe('time skipping: one lock count for the whole server', () => {
  let reminders = 0;
  let sleptFrom = 0;
  let sleptTo = 0;
  let sleepReturned = false;
  const h = useHarness({
    worker: { workflowsPath: WORKFLOWS },
    activities: {
      async processOrder(): Promise<void> {
        // The activity holds a time-skipping lock while it runs; env.sleep unlocks while it sleeps, which must let
        // the clock jump over the day-long reminder timer (and the reminder activity) to two days on.
        const { env } = h();
        sleptFrom = await env.currentTimeMs();
        // A guard, not a timing assertion: a clock that never skips would hold env.sleep for two real days.
        sleepReturned = await Promise.race([env.sleep('2 days').then(() => true), wallClock(30_000).then(() => false)]);
        sleptTo = await env.currentTimeMs();
      },
      async sendReminder(): Promise<void> {
        reminders++;
      },
    },
  });

  test("env.sleep inside a running activity skips time past the workflow's timer", async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('orderWithReminder', { taskQueue, workflowId: nextId('order'), args: [DAY] });
    const result = await handle.result();
    assert.ok(sleepReturned, "env.sleep('2 days') inside the activity returned");
    assert.equal(result, 'reminded');
    assert.equal(reminders, 1, 'the reminder activity ran while the order activity slept');
    assert.ok(sleptTo - sleptFrom >= 2 * DAY, `virtual time moved ${sleptTo - sleptFrom} ms during env.sleep('2 days')`);
    const events = await eventTypes(handle);
    assert.ok(events.indexOf('TIMER_FIRED') < events.lastIndexOf('ACTIVITY_TASK_COMPLETED'));
    await assertReplays(handle, WORKFLOWS);
  });

  replaysEveryRun(h, WORKFLOWS);
});
