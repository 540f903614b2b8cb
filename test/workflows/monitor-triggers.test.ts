/**
 * The model monitor's trigger policy, against the devserver with time skipping and scripted activities: an alert
 * storm folded into one run, minimum severity and k-of-n, the cooldown with one queued trigger that later triggers
 * merge into, a weekly schedule over a quarter, the performance threshold, and malformed or refused messages that are
 * counted and never fail the monitor; a configure update that repeats the current config is a no-op (so a monitor
 * started with update-with-start is at config version 1). Every monitor history is replayed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import {
  configureUpdate,
  driftDetectedSignal,
  monitorStatusQuery,
  monitorWorkflowId,
  pauseUpdate,
  performanceReportedSignal,
  resumeUpdate,
  retrainNowUpdate,
  RetrainStage,
  RetrainTrigger,
  runStatusQuery,
  TASK_QUEUE,
  type MonitorStatus,
} from '../../workflows/definitions';
import type { modelMonitor } from '../../workflows/model-monitor';
import { config, FakeWorld } from './fake-activities';
import { assertNoTrace, eventually, replays, settled, useWorkflowHarness } from './harness';

const world = new FakeWorld();
const harness = useWorkflowHarness(world.activities());

/** A monitor that never starts an initial run by itself and promotes without canary steps. */
function quiet(model: string, triggers: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): any {
  return config(model, { triggers: { initialBatches: 1000, builtin: { enabled: false }, ...triggers }, rollout: { steps: [1] }, ...extra });
}

async function startMonitor(cfg: any): Promise<WorkflowHandle<typeof modelMonitor>> {
  return harness().env.client.workflow.start<typeof modelMonitor>('modelMonitor', {
    taskQueue: TASK_QUEUE,
    workflowId: monitorWorkflowId(cfg.model),
    args: [{ config: cfg }],
    staticSummary: `monitor of ${cfg.model}`,
  });
}

const status = (h: WorkflowHandle) => h.query(monitorStatusQuery);
const finished = (s: MonitorStatus) => s.activeRun === null && s.runs.length > 0 && s.runs.every((r) => r.decision !== null);

async function rejection(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => assert.fail('the update was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
  return String((err.cause as Error | undefined)?.message);
}

describe('the model monitor', () => {
  test('folds 100 drift alerts within a minute into exactly one run, counting a redelivered alert once', async () => {
    const model = 'storm';
    const handle = await startMonitor(quiet(model));
    for (let i = 0; i < 100; i++) {
      await handle.signal(driftDetectedSignal, { eventId: `alert-${i}`, source: i % 2 ? 'grafana' : 'evidently', severity: 'high', score: 0.9 });
    }
    await handle.signal(driftDetectedSignal, { eventId: 'alert-7', source: 'evidently', severity: 'high' });
    // Past the debounce window and the cooldown: nothing else may start.
    await harness().env.sleep('3 hours');
    const s = await eventually(() => status(handle), finished, 'the run to finish');
    assert.equal(s.runs.length, 1);
    assert.equal(s.runs[0].trigger, 'drift');
    assert.equal(s.runs[0].decision, 'promoted');
    assert.equal(s.nextRunNumber, 2);
    assert.deepEqual(s.drift, { received: 101, duplicates: 1, belowSeverity: 0, folded: 99 });
    assert.equal(s.productionVersion, 1);
    const run = harness().env.client.workflow.getHandle(s.runs[0].workflowId);
    const trigger = (await run.query(runStatusQuery)).trigger;
    assert.equal(trigger.kind, 'drift');
    assert.equal(trigger.eventIds?.length, 1);
    assert.equal((await handle.describe()).typedSearchAttributes.get(RetrainStage), 'watching');
    // The Temporal UI's view: the child's static summary from the monitor, the run's and monitor's current details.
    const described = await run.describe();
    assert.match((await described.staticSummary()) ?? '', /^storm #1: drift: /);
    assert.equal(described.typedSearchAttributes.get(RetrainTrigger), 'drift');
    const runDetails = (await run.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails;
    assert.match(runDetails ?? '', /\*\*done\*\*.*decision `promoted`/);
    const monitorDetails = (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails;
    assert.match(monitorDetails ?? '', /\*\*watching\*\* · production v1/);
    await replays(handle);
    await replays(run);
  });

  test('ignores alerts below the minimum severity and needs k distinct sources within the debounce window', async () => {
    const model = 'k-of-n';
    const handle = await startMonitor(quiet(model, { drift: { k: 2, debounce: '10 minutes', minSeverity: 'medium' } }));
    await handle.signal(driftDetectedSignal, { eventId: 'a', source: 'grafana', severity: 'high' });
    await handle.signal(driftDetectedSignal, { eventId: 'b', source: 'grafana', severity: 'high' });
    await handle.signal(driftDetectedSignal, { eventId: 'c', source: 'evidently', severity: 'low' });
    await harness().env.sleep('20 minutes');
    // The window expired with one qualifying source: no run. A new storm with two sources starts one.
    assert.equal((await status(handle)).runs.length, 0);
    await handle.signal(driftDetectedSignal, { eventId: 'd', source: 'grafana', severity: 'medium' });
    await handle.signal(driftDetectedSignal, { eventId: 'e', source: 'builtin:ddm', severity: 'high' });
    const s = await eventually(() => status(handle), finished, 'the run to finish');
    assert.equal(s.runs.length, 1);
    assert.equal(s.drift?.belowSeverity, 1);
    const trigger = (await harness().env.client.workflow.getHandle(s.runs[0].workflowId).query(runStatusQuery)).trigger;
    assert.deepEqual(trigger.eventIds, ['d', 'e']);
    assert.match(trigger.detail, /grafana, builtin:ddm \(high\)/);
    await replays(handle);
  });

  test('holds triggers during the cooldown as one queued trigger that later ones merge into, then starts it', async () => {
    const model = 'cooldown';
    const handle = await startMonitor(quiet(model, { cooldown: '6 hours', drift: { debounce: '1 minute' } }));
    await handle.signal(driftDetectedSignal, { eventId: 'first', source: 'grafana', severity: 'high' });
    await eventually(() => status(handle), finished, 'the first run to finish');
    await harness().env.sleep('10 minutes');
    await handle.signal(driftDetectedSignal, { eventId: 'second', source: 'grafana', severity: 'high' });
    await harness().env.sleep('10 minutes');
    const asked = await handle.executeUpdate(retrainNowUpdate, { args: [{ requestedBy: 'dana', reason: 'new season' }] });
    assert.deepEqual(asked, { runWorkflowId: 'retrain/cooldown/2', queued: true });
    let s = await status(handle);
    assert.equal(s.runs.length, 1);
    assert.equal(s.activeRun, null);
    assert.equal(s.queuedTrigger?.kind, 'drift');
    assert.equal(s.queuedTrigger?.requestedBy, 'dana');
    assert.match(s.queuedTrigger!.detail, /then manual: new season/);
    await harness().env.sleep('6 hours');
    s = await eventually(() => status(handle), (x) => finished(x) && x.runs.length === 2, 'the queued run to finish');
    assert.equal(s.queuedTrigger, undefined);
    assert.equal(s.runs[1].workflowId, 'retrain/cooldown/2');
    assert.ok(Date.parse(s.runs[1].startedAt) - Date.parse(s.runs[0].startedAt) >= 6 * 3_600_000);
    // dana asked for the run, so dana may not approve it: the trigger carries who asked.
    const trigger = (await harness().env.client.workflow.getHandle('retrain/cooldown/2').query(runStatusQuery)).trigger;
    assert.equal(trigger.requestedBy, 'dana');
    await replays(handle);
  });

  test('retrains on a weekly schedule: 13 runs over a simulated quarter', async () => {
    const model = 'weekly';
    const handle = await startMonitor(quiet(model, { schedule: { every: '7 days' } }, { data: { ...config(model).data, source: { kind: 'csv-replay', path: '/x.csv', batchRows: 100, every: '7 days', labelDelayBatches: 0 } } }));
    await harness().env.sleep('91 days');
    await harness().env.sleep('1 hour');
    const s = await eventually(() => status(handle), (x) => finished(x) && x.runs.length === 13, '13 scheduled runs');
    assert.ok(s.runs.every((r) => r.trigger === 'schedule' && r.decision === 'promoted'));
    // The configured period, in the units a config reads back.
    assert.equal((await harness().env.client.workflow.getHandle(s.runs[0].workflowId).query(runStatusQuery)).trigger.detail, 'schedule: every 1w');
    const gaps = s.runs.slice(1).map((r, i) => Date.parse(r.startedAt) - Date.parse(s.runs[i].startedAt));
    // A week apart, up to the moments workflow tasks take; the schedule is anchored, so the error does not add up.
    assert.ok(gaps.every((g) => Math.abs(g - 7 * 86_400_000) < 60_000), String(gaps));
    assert.ok(Math.abs(Date.parse(s.runs[12].startedAt) - Date.parse(s.runs[0].startedAt) - 12 * 7 * 86_400_000) < 60_000);
    assert.equal(s.batches?.arrived, 14);
    // Each run trains on the batches that arrived since the previous one.
    const sinceBatches = world.callsOf(model, 'collect').map((c) => c.input.sinceBatch);
    assert.deepEqual(sinceBatches, [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    await replays(handle);
  });

  test('starts a run when a reported metric crosses the performance threshold', async () => {
    const model = 'perf';
    const handle = await startMonitor(quiet(model, { performance: { metric: 'accuracy', threshold: 0.8 } }));
    await handle.signal(performanceReportedSignal, { metric: 'accuracy', value: 0.85, source: 'grafana' });
    await handle.signal(performanceReportedSignal, { metric: 'roc_auc', value: 0.5, source: 'grafana' });
    await settled(handle);
    assert.equal((await status(handle)).runs.length, 0);
    await handle.signal(performanceReportedSignal, { metric: 'accuracy', value: 0.71, source: 'grafana' });
    const s = await eventually(() => status(handle), finished, 'the run to finish');
    assert.equal(s.runs.length, 1);
    assert.equal(s.runs[0].trigger, 'performance');
    await replays(handle);
  });

  test('counts malformed signals in status and keeps running; refused updates name the field and leave no trace', async () => {
    const model = 'malformed';
    const handle = await startMonitor(quiet(model));
    await handle.signal(driftDetectedSignal, { eventId: 'x', source: 'grafana', severity: 'critical' } as never);
    await handle.signal(performanceReportedSignal, { metric: 'accuracy', source: 'grafana' } as never);
    await handle.signal(driftDetectedSignal, 'not even an object' as never);
    const s = await eventually(() => status(handle), (x) => x.rejectedMessages.count === 3, 'three rejections');
    assert.match(s.rejectedMessages.last[0], /^driftDetected\.severity: expected one of "low", "medium", "high"/);
    assert.match(s.rejectedMessages.last[1], /^performanceReported\.value: /);
    assert.equal(s.runs.length, 0);

    const before = await settled(handle);
    assert.match(await rejection(handle.executeUpdate(configureUpdate, { args: [{ config: { ...quiet(model), triggers: { cooldown: 'soon' } }, by: 'ops' }] })), /^configure\.config\.triggers\.cooldown: expected a duration/);
    assert.match(await rejection(handle.executeUpdate(configureUpdate, { args: [{ config: quiet('other-name'), by: 'ops' }] })), /configure\.config\.model: the model name cannot change/);
    assert.match(await rejection(handle.executeUpdate(retrainNowUpdate, { args: [{ requestedBy: 'dana' } as never] })), /^retrainNow\.reason: /);
    await assertNoTrace(handle, before);

    const paused = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'ops', reason: 'holiday freeze' }] });
    assert.equal(paused.paused, true);
    const pausedAt = await settled(handle);
    assert.match(await rejection(handle.executeUpdate(retrainNowUpdate, { args: [{ requestedBy: 'dana', reason: 'please' }] })), /monitor is paused \(by ops: holiday freeze\)/);
    await assertNoTrace(handle, pausedAt);
    assert.equal((await handle.describe()).typedSearchAttributes.get(RetrainStage), 'paused');

    // A trigger while paused waits for resume.
    await handle.signal(driftDetectedSignal, { eventId: 'y', source: 'grafana', severity: 'high' });
    await settled(handle);
    assert.equal((await status(handle)).queuedTrigger?.kind, 'drift');
    await handle.executeUpdate(resumeUpdate, { args: [{ by: 'ops', reason: 'freeze over' }] });
    const after = await eventually(() => status(handle), finished, 'the run after resume');
    assert.equal(after.runs.length, 1);

    assert.deepEqual(await handle.executeUpdate(configureUpdate, { args: [{ config: quiet(model, { cooldown: '2 hours' }), by: 'ops' }] }), { version: 2 });
    assert.equal((await handle.describe()).status.name, 'RUNNING');
    await replays(handle);
  });

  test('starts at config version 1 through update-with-start, and a configure that repeats the config changes nothing', async () => {
    const model = 'configure-same';
    const cfg = quiet(model, { cooldown: '2 hours' });
    // What `retrain monitor start` and the demo do: the config is the start input and, again, the configure update.
    const startWorkflowOperation = new WithStartWorkflowOperation('modelMonitor', {
      workflowId: monitorWorkflowId(model),
      taskQueue: TASK_QUEUE,
      args: [{ config: cfg }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    const first = await harness().env.client.workflow.executeUpdateWithStart(configureUpdate, { args: [{ config: cfg, by: 'ops' }], startWorkflowOperation });
    assert.deepEqual(first, { version: 1 });
    const handle = harness().env.client.workflow.getHandle<typeof modelMonitor>(monitorWorkflowId(model));
    assert.equal((await status(handle)).configVersion, 1);
    // The same config after parsing: keys in another order, and a default written out.
    const reordered = { rollout: cfg.rollout, triggers: { ...cfg.triggers, drift: { minSeverity: 'medium' } }, data: cfg.data, model };
    assert.deepEqual(await handle.executeUpdate(configureUpdate, { args: [{ config: reordered, by: 'ops' }] }), { version: 1 });
    assert.equal((await status(handle)).configVersion, 1);
    // A real change counts.
    assert.deepEqual(await handle.executeUpdate(configureUpdate, { args: [{ config: quiet(model, { cooldown: '3 hours' }), by: 'ops' }] }), { version: 2 });
    assert.equal((await status(handle)).configVersion, 2);
    await replays(handle);
  });
});
