/**
 * Schedules through the TS SDK's `client.schedule` against the devserver with time skipping: create, describe, list,
 * update, trigger, pause, backfill and delete; an interval schedule firing in virtual time (ids suffixed with the
 * nominal time, the scheduled-by search attributes, each run seeing the last one's result); the overlap policies SKIP,
 * BUFFER_ONE and ALLOW_ALL side by side; a calendar spec for every day at 9:30 UTC (and the same as a cron string).
 * Every workflow a schedule started replays.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleHandle } from '@temporalio/client';
import Long from 'long';
import { temporal } from '@temporalio/proto';
import { assertReplays, useHarness } from './helpers';
import { longTask, scheduledTask, type RunReport } from './fixtures/schedule-workflows';
import { replaysEveryRun } from './replay-all';

const WF = require.resolve('./fixtures/schedule-workflows');
const h = useHarness({ worker: { workflowsPath: WF } });

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** A workflow id a schedule gave: the action's id, a dash, the nominal time in RFC 3339 to the second. */
const SUFFIXED = /^(.*)-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$/;

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The started event's search attributes, decoded from their JSON payloads. */
async function startedSearchAttributes(workflowId: string): Promise<Record<string, unknown>> {
  const history = await h().env.client.workflow.getHandle(workflowId).fetchHistory();
  const fields = history.events?.[0].workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields ?? {};
  return Object.fromEntries(Object.entries(fields).map(([k, p]) => [k, JSON.parse(Buffer.from(p.data!).toString('utf8'))]));
}

async function replayAll(schedule: ScheduleHandle): Promise<void> {
  for (const a of (await schedule.describe()).info.recentActions) {
    await assertReplays(h().env.client.workflow.getHandle(a.action.workflow.workflowId), WF);
  }
}

describe('schedules', { timeout: 120_000 }, () => {
  test('create, describe, list, trigger, pause and unpause, update, delete', async () => {
    const { env, taskQueue, nextId } = h();
    const scheduleId = nextId('lifecycle');
    const handle = await env.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1 day' }] },
      action: { type: 'startWorkflow', workflowType: scheduledTask, args: ['manual'], taskQueue, workflowId: `${scheduleId}-wf` },
      memo: { owner: 'data-team' },
      // Paused, so that nothing fires while result() lets virtual time run; triggers still start workflows.
      state: { paused: true },
    });

    const created = await handle.describe();
    assert.equal(created.scheduleId, scheduleId);
    assert.equal(created.spec.intervals?.[0].every, DAY);
    assert.deepEqual(created.memo, { owner: 'data-team' });
    assert.equal(created.policies.overlap, ScheduleOverlapPolicy.SKIP);
    assert.equal(created.state.paused, true);
    assert.equal(created.info.numActionsTaken, 0);
    assert.equal(created.info.nextActionTimes.length, 10);
    const times = created.info.nextActionTimes.map((d) => d.getTime());
    for (let i = 1; i < times.length; i++) assert.equal(times[i] - times[i - 1], DAY);
    assert.equal(times[0] % DAY, 0, 'an interval of a day with no offset matches midnight UTC');

    const listed: string[] = [];
    for await (const s of env.client.schedule.list()) listed.push(s.scheduleId);
    assert.ok(listed.includes(scheduleId));

    await handle.trigger();
    const triggered = await handle.describe();
    assert.equal(triggered.info.numActionsTaken, 1);
    const workflowId = triggered.info.recentActions[0].action.workflow.workflowId;
    const m = SUFFIXED.exec(workflowId);
    assert.ok(m, workflowId);
    assert.equal(m[1], `${scheduleId}-wf`);
    const report: RunReport = await env.client.workflow.getHandle(workflowId).result();
    assert.equal(report.label, 'manual');
    const sa = await startedSearchAttributes(workflowId);
    assert.equal(sa.TemporalScheduledById, scheduleId);
    assert.equal(sa.TemporalScheduledStartTime, m[2]);

    await handle.unpause('back');
    let d = await handle.describe();
    assert.equal(d.state.paused, false);
    assert.equal(d.state.note, 'back');
    await handle.pause('maintenance');
    d = await handle.describe();
    assert.equal(d.state.paused, true);
    assert.equal(d.state.note, 'maintenance');

    await handle.update((prev) => ({ ...prev, spec: { calendars: [{ hour: 9, minute: 30 }] } }));
    d = await handle.describe();
    assert.ok(d.info.lastUpdatedAt);
    assert.equal(d.spec.intervals?.length ?? 0, 0);
    for (const t of d.info.nextActionTimes) assert.equal(rfc3339(t.getTime()).slice(10), 'T09:30:00Z');
    assert.equal(d.info.numActionsTaken, 1, 'an update keeps the info');

    await handle.delete();
    await assert.rejects(handle.describe(), ScheduleNotFoundError);
    await assertReplays(env.client.workflow.getHandle(workflowId), WF);
  });

  test('an interval schedule fires every hour of virtual time, each run seeing the last result; paused, it waits', async () => {
    const { env, taskQueue, nextId } = h();
    const scheduleId = nextId('hourly');
    const start = await env.currentTimeMs();
    const handle = await env.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1 hour' }] },
      action: { type: 'startWorkflow', workflowType: scheduledTask, args: ['tick'], taskQueue, workflowId: 'hourly' },
    });
    await env.sleep(3 * HOUR);
    let d = await handle.describe();
    assert.equal(d.info.numActionsTaken, 3);
    // Paused before result() lets virtual time run again.
    await handle.pause();
    const actions = d.info.recentActions;
    for (const [i, a] of actions.entries()) {
      const at = a.scheduledAt.getTime();
      assert.equal(at % HOUR, 0);
      assert.ok(at > start && at <= start + 3 * HOUR);
      if (i > 0) assert.equal(at - actions[i - 1].scheduledAt.getTime(), HOUR);
      assert.equal(a.action.workflow.workflowId, `hourly-${rfc3339(at)}`);
      const sa = await startedSearchAttributes(a.action.workflow.workflowId);
      assert.equal(sa.TemporalScheduledStartTime, rfc3339(at));
      const report: RunReport = await env.client.workflow.getHandle(a.action.workflow.workflowId).result();
      // The schedule hands each run the previous run's result, as the real scheduler does.
      assert.equal((report.lastResult as RunReport | undefined)?.workflowId, i === 0 ? undefined : actions[i - 1].action.workflow.workflowId);
    }
    await replayAll(handle);

    await env.sleep(2 * HOUR);
    assert.equal((await handle.describe()).info.numActionsTaken, 3, 'nothing fires while paused');
    await handle.unpause();
    await env.sleep(HOUR);
    d = await handle.describe();
    assert.equal(d.info.numActionsTaken, 4);
    // The time spent paused is not caught up: the fourth action is the first hour after unpausing.
    assert.ok(d.info.recentActions[3].scheduledAt.getTime() > actions[2].scheduledAt.getTime() + 2 * HOUR);
    await handle.delete();
  });

  test('overlap policies: SKIP drops, BUFFER_ONE defers one start to the close, ALLOW_ALL overlaps', async () => {
    const { env, taskQueue, nextId } = h();
    const make = (policy: ScheduleOverlapPolicy) => {
      const scheduleId = nextId(`overlap-${String(policy).toLowerCase()}`);
      return env.client.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: '1 hour' }] },
        // Each run takes 90 minutes: the next hour's start overlaps it.
        action: { type: 'startWorkflow', workflowType: longTask, args: [1.5 * HOUR], taskQueue, workflowId: scheduleId },
        policies: { overlap: policy },
      });
    };
    const skip = await make(ScheduleOverlapPolicy.SKIP);
    const bufferOne = await make(ScheduleOverlapPolicy.BUFFER_ONE);
    const allowAll = await make(ScheduleOverlapPolicy.ALLOW_ALL);
    // Fires at the next three whole hours b1, b2, b3; the test looks a minute after b3.
    const now = await env.currentTimeMs();
    const firstFire = Math.floor(now / HOUR) * HOUR + HOUR;
    await env.sleep(firstFire + 2 * HOUR + 60_000 - now);

    const s = await skip.describe();
    assert.equal(s.info.numActionsTaken, 2);
    assert.equal(s.info.numActionsSkippedOverlap, 1);
    const [s1, s2] = s.info.recentActions;
    assert.equal(s2.scheduledAt.getTime() - s1.scheduledAt.getTime(), 2 * HOUR, 'the middle hour was skipped');
    assert.equal(s.info.runningActions.length, 1);

    const b = await bufferOne.describe();
    assert.equal(b.info.numActionsTaken, 2);
    assert.equal(b.info.numActionsSkippedOverlap, 0);
    const [b1, b2] = b.info.recentActions;
    assert.equal(b2.scheduledAt.getTime() - b1.scheduledAt.getTime(), HOUR);
    // The buffered start went when the first run closed (90 minutes in), before the next hour, under its nominal time's id.
    const firstClosed = (await env.client.workflow.getHandle(b1.action.workflow.workflowId).describe()).closeTime!.getTime();
    assert.ok(firstClosed - b1.takenAt.getTime() >= 1.5 * HOUR);
    assert.ok(b2.takenAt.getTime() >= firstClosed && b2.takenAt.getTime() < b2.scheduledAt.getTime() + HOUR);
    assert.ok(b2.action.workflow.workflowId.endsWith(rfc3339(b2.scheduledAt.getTime())));
    assert.deepEqual(
      b.info.runningActions.map((r) => r.workflow.workflowId),
      [b2.action.workflow.workflowId],
    );

    const a = await allowAll.describe();
    assert.equal(a.info.numActionsTaken, 3);
    const open = [];
    for (const r of a.info.recentActions) {
      const desc = await env.client.workflow.getHandle(r.action.workflow.workflowId).describe();
      if (desc.status.name === 'RUNNING') open.push(r.action.workflow.workflowId);
    }
    assert.equal(open.length, 2, 'the second and third runs overlap');

    for (const handle of [skip, bufferOne, allowAll]) {
      await replayAll(handle);
      await handle.delete();
    }
  });

  test('a calendar spec for every day at 9:30 UTC: next times, matching times, a firing, a backfill; a cron string is the same spec', async () => {
    const { env, taskQueue, nextId } = h();
    const scheduleId = nextId('daily');
    const handle = await env.client.schedule.create({
      scheduleId,
      spec: { calendars: [{ hour: 9, minute: 30 }] },
      action: { type: 'startWorkflow', workflowType: scheduledTask, args: ['daily'], taskQueue, workflowId: 'daily' },
    });
    const d = await handle.describe();
    const next = d.info.nextActionTimes.map((t) => t.getTime());
    for (const [i, t] of next.entries()) {
      assert.equal(rfc3339(t).slice(10), 'T09:30:00Z');
      if (i > 0) assert.equal(t - next[i - 1], DAY);
    }
    const now = await env.currentTimeMs();
    assert.ok(next[0] > now && next[0] <= now + DAY);

    const matching: temporal.api.workflowservice.v1.IListScheduleMatchingTimesResponse = await env.client.workflowService.listScheduleMatchingTimes({
      namespace: 'default',
      scheduleId,
      startTime: { seconds: Long.fromNumber(Math.floor(now / 1000)) },
      endTime: { seconds: Long.fromNumber(Math.floor((now + 3 * DAY) / 1000)) },
    });
    assert.deepEqual(
      (matching.startTime ?? []).map((t: { seconds?: unknown }) => Number(t.seconds) * 1000),
      next.slice(0, 3),
    );

    await env.sleep(next[0] - now);
    let after = await handle.describe();
    assert.equal(after.info.numActionsTaken, 1);
    assert.equal(after.info.recentActions[0].action.workflow.workflowId, `daily-${rfc3339(next[0])}`);

    // Backfill the three days before: each runs under its own day's id.
    await handle.backfill({ start: new Date(next[0] - 3 * DAY), end: new Date(next[0] - 1), overlap: ScheduleOverlapPolicy.ALLOW_ALL });
    after = await handle.describe();
    assert.equal(after.info.numActionsTaken, 4);
    assert.deepEqual(
      after.info.recentActions.slice(1).map((a) => a.action.workflow.workflowId),
      [3, 2, 1].map((days) => `daily-${rfc3339(next[0] - days * DAY)}`),
    );
    for (const a of after.info.recentActions) await env.client.workflow.getHandle(a.action.workflow.workflowId).result();
    await replayAll(handle);
    await handle.delete();

    const cron = await env.client.schedule.create({
      scheduleId: nextId('daily-cron'),
      spec: { cronExpressions: ['30 9 * * *'] },
      action: { type: 'startWorkflow', workflowType: scheduledTask, args: ['cron'], taskQueue, workflowId: 'daily-cron' },
      state: { paused: true },
    });
    const c = await cron.describe();
    // The server stores the cron string as the structured calendar it means.
    assert.equal(c.spec.calendars?.length, 1);
    assert.deepEqual(c.spec.calendars![0].hour, [{ start: 9, end: 9, step: 1 }]);
    assert.deepEqual(c.spec.calendars![0].minute, [{ start: 30, end: 30, step: 1 }]);
    for (const t of c.info.nextActionTimes) assert.equal(rfc3339(t.getTime()).slice(10), 'T09:30:00Z');
    await cron.delete();
  });

  test('invalid specs and duplicate ids answer INVALID_ARGUMENT and ALREADY_EXISTS', async () => {
    const { env, taskQueue, nextId } = h();
    const action = { type: 'startWorkflow' as const, workflowType: scheduledTask, args: ['x'] as [string], taskQueue };
    await assert.rejects(
      env.client.schedule.create({ scheduleId: nextId('bad'), spec: { cronExpressions: ['61 * * * *'] }, action }),
      (e: Error & { cause?: { code?: number; details?: string } }) =>
        // The SDK turns INVALID_ARGUMENT on create into a TypeError carrying the server's message.
        e instanceof TypeError && /Minute is not in range/.test(e.message),
    );
    const scheduleId = nextId('dup');
    const handle = await env.client.schedule.create({ scheduleId, spec: { intervals: [{ every: '1 day' }] }, action });
    await assert.rejects(env.client.schedule.create({ scheduleId, spec: { intervals: [{ every: '1 day' }] }, action }), /already exists/);
    await handle.delete();
  });
});

replaysEveryRun(h, WF);
