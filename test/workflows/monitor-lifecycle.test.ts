/**
 * The model monitor over a longer life, against the devserver with time skipping and scripted activities: the
 * initial run, a bad batch that fails validation while the monitor goes on, the built-in check's alerts and aliases,
 * a rollback made in the registry behind the monitor's back, and continue-as-new with drift signals arriving and a
 * run in flight, losing nothing. Every history is replayed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../devserver/helpers';
import { driftDetectedSignal, monitorStatusQuery, monitorWorkflowId, retrainNowUpdate, runStatusQuery, TASK_QUEUE, type MonitorStatus } from '../../workflows/definitions';
import type { modelMonitor } from '../../workflows/model-monitor';
import { config, FakeWorld } from './fake-activities';
import { eventually, replays, useWorkflowHarness, WORKFLOWS } from './harness';

const world = new FakeWorld();
const harness = useWorkflowHarness(world.activities());

async function startMonitor(cfg: any, historyLimit?: number): Promise<WorkflowHandle<typeof modelMonitor>> {
  return harness().env.client.workflow.start<typeof modelMonitor>('modelMonitor', {
    taskQueue: TASK_QUEUE,
    workflowId: monitorWorkflowId(cfg.model),
    args: [{ config: cfg, ...(historyLimit ? { historyLimit } : {}) }],
  });
}

const status = (h: WorkflowHandle) => h.query(monitorStatusQuery);
const finished = (n: number) => (s: MonitorStatus) => s.activeRun === null && s.runs.length === n && s.runs.every((r) => r.decision !== null);

describe('the model monitor over time', () => {
  test('keeps the last failed probe of its data source in its status and current details', async () => {
    const model = 'life-missing-source';
    world.scripts.set(model, { probeError: 'config.data.source.path: no file at /data/missing.csv' });
    // A folder source polls, so a fixed source is found again by the monitor itself.
    const handle = await startMonitor(config(model, { data: { source: { kind: 'folder', path: '/data/in', pollEvery: '1 minute' }, label: 'y', positive: '1' } }));
    const s = await eventually(() => status(handle), (x) => x.source?.error !== undefined, 'the failed probe in status');
    assert.equal(s.source?.error, 'config.data.source.path: no file at /data/missing.csv');
    assert.equal(s.source?.batches, null);
    assert.equal(s.batches?.arrived, 0);
    const details = await eventually(
      async () => (await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '',
      (d) => d.includes('data source:'),
      'the probe error in the current details',
    );
    assert.match(details, /data source: config\.data\.source\.path: no file at \/data\/missing\.csv/);

    await handle.terminate('test over');
    await replays(handle);
  });

  test('after a bad batch fails its run at validate, promotes nothing and goes on to the next trigger', async () => {
    const model = 'life-bad-batch';
    world.scripts.set(model, {
      badRuns: [1],
      // Once a production model exists, the built-in check raises a DDM alert on batch 4.
      check: (i) => (i.batch === 4 ? { alerts: [{ source: 'builtin:ddm', severity: 'high' }], accuracy: 0.61 } : { accuracy: 0.8 }),
    });
    const handle = await startMonitor(config(model, { triggers: { initialBatches: 1, cooldown: '1 hour' }, rollout: { steps: [1] } }));
    // Batch 0 arrives at once, labelled: the initial run starts and fails validation.
    let s = await eventually(() => status(handle), finished(1), 'the initial run');
    assert.equal(s.runs[0].trigger, 'initial');
    assert.equal(s.runs[0].decision, 'validation_failed');
    assert.equal(s.productionVersion, null);
    assert.equal(world.callsOf(model, 'promote').length, 0);
    assert.equal(world.callsOf(model, 'train').length, 0);
    // The monitor goes on by itself: with no model yet, it retries the initial run once a new labelled batch has
    // arrived (batch 1, a day later), from the batch after the bad one.
    await harness().env.sleep('1 day');
    s = await eventually(() => status(handle), finished(2), 'the retried initial run');
    assert.equal(s.runs[1].trigger, 'initial');
    assert.equal(s.runs[1].decision, 'promoted');
    assert.equal(s.productionVersion, 1);
    assert.equal(world.callsOf(model, 'collect')[1].input.sinceBatch, 1);
    // With a production model, each new batch is checked; batch 4's alert starts run 3.
    await harness().env.sleep('3 days');
    s = await eventually(() => status(handle), finished(3), 'the drift run from the built-in check');
    assert.equal(s.runs[2].trigger, 'drift');
    const checks = world.callsOf(model, 'checkBatch');
    assert.deepEqual(checks.map((c) => c.input.batch).slice(0, 3), [2, 3, 4]);
    assert.deepEqual(checks[0].input.production, { version: 1 });
    // Detector state goes in and comes back out, kept by the workflow.
    assert.equal(checks[2].input.detectors.seen, 2);
    const trigger = (await harness().env.client.workflow.getHandle(s.runs[2].workflowId).query(runStatusQuery)).trigger;
    assert.match(trigger.detail, /builtin:ddm/);
    assert.equal(s.batches?.lastAccuracy !== undefined, true);
    await replays(handle);
  });

  test('after an operator rolls production back in the registry, the next run evaluates against and promotes over the rolled-back version', async () => {
    const model = 'life-rollback';
    // No built-in check: its alias refresh would update the monitor's copy and hide a run that trusts it.
    const handle = await startMonitor(config(model, { triggers: { initialBatches: 1, builtin: { enabled: false }, cooldown: '1 hour' }, rollout: { steps: [1] } }));
    await eventually(() => status(handle), finished(1), 'the initial run');
    await harness().env.sleep('1 day');
    await handle.executeUpdate(retrainNowUpdate, { args: [{ requestedBy: 'dana', reason: 'second model' }] });
    let s = await eventually(() => status(handle), finished(2), 'the second run');
    assert.equal(s.productionVersion, 2);
    // `retrain rollback` moves the registry's alias directly: the monitor still believes v2.
    world.production.set(model, 1);
    await harness().env.sleep('1 day');
    assert.equal((await status(handle)).productionVersion, 2);
    await handle.executeUpdate(retrainNowUpdate, { args: [{ requestedBy: 'dana', reason: 'after the rollback' }] });
    s = await eventually(() => status(handle), finished(3), 'the run after the rollback');
    const runId = s.runs[2].workflowId;
    const run = await harness().env.client.workflow.getHandle(runId).query(runStatusQuery);
    assert.equal(s.runs[2].decision, 'promoted', run.error);
    const n = run.n;
    assert.equal(world.callsOf(model, 'evaluate').find((c) => c.input.n === n)?.input.productionVersion, 1);
    assert.equal(world.callsOf(model, 'validate').find((c) => c.input.n === n)?.input.productionVersion, 1);
    assert.equal(world.callsOf(model, 'promote').find((c) => c.input.runWorkflowId === runId)?.input.expected, 1);
    assert.equal(run.productionVersion, 1, 'the status names the incumbent it was judged against');
    assert.equal(world.reports.get(runId)?.productionVersion, 1, 'so does the report');
    assert.match(run.timeline[0].note ?? '', /production is v1 in the registry \(the monitor had v2\)/);
    assert.equal(world.production.get(model), 3);
    assert.equal(s.productionVersion, 3);
    await replays(harness().env.client.workflow.getHandle(runId));
    await replays(handle);
  });

  test('notices a run terminated after it continued as new: the run slot frees and the queued trigger starts', async () => {
    const model = 'life-terminated';
    const handle = await startMonitor(
      config(model, {
        triggers: { initialBatches: 1000, builtin: { enabled: false }, cooldown: '1 minute' },
        // A week to approve: the run is still in flight when the monitor continues as new, and when it is terminated.
        promotion: { approvers: ['olga'], deadline: '7 days' },
      }),
      40,
    );
    const firstRunId = (await handle.describe()).runId;
    await handle.executeUpdate(retrainNowUpdate, { args: [{ requestedBy: 'dana', reason: 'first' }] });
    const runId = (await eventually(() => status(handle), (s) => s.activeRun !== null, 'a run in flight')).activeRun!;
    // Alerts below the minimum severity change nothing but the history's length, until the monitor continues as new.
    let sent = 0;
    await eventually(
      async () => {
        await handle.signal(driftDetectedSignal, { eventId: `low-${sent++}`, source: 'grafana', severity: 'low' });
        return status(handle);
      },
      (s) => (s.continuedAsNew ?? 0) >= 1,
      'a continue-as-new with the run in flight',
    );
    const queued = await handle.executeUpdate(retrainNowUpdate, { args: [{ requestedBy: 'erin', reason: 'second' }] });
    assert.equal(queued.queued, true);
    // An operator terminates the run (Temporal UI, `temporal workflow terminate`): it sends no runFinished signal.
    await harness().env.client.workflow.getHandle(runId).terminate('operator: canary stuck');
    await harness().env.sleep('10 minutes');
    const s = await eventually(() => status(handle), (x) => x.runs.length === 2 && x.activeRun === x.runs[1].workflowId, 'the queued trigger started after the terminated run');
    assert.equal(s.runs[0].workflowId, runId);
    assert.equal(s.runs[0].decision, 'failed');
    assert.equal(s.runs[1].trigger, 'manual');
    assert.equal(s.runs[1].decision, null);
    assert.equal(s.queuedTrigger, undefined);
    assert.ok(world.callsOf(model, 'runOutcome').some((c) => c.input.workflowId === runId), 'the monitor asked the server about the run');
    await replays(harness().env.client.workflow.getHandle(handle.workflowId, firstRunId));
    await replays(harness().env.client.workflow.getHandle(handle.workflowId));
    await handle.terminate('test over');
  });

  test('clears the canary a terminated run left behind, so the next run can roll out', async () => {
    const model = 'life-terminated-canary';
    const handle = await startMonitor(
      config(model, { triggers: { initialBatches: 1000, builtin: { enabled: false }, cooldown: '1 minute' }, rollout: { steps: [0.5, 1], observe: '1 day' } }),
    );
    await handle.executeUpdate(retrainNowUpdate, { args: [{ requestedBy: 'dana', reason: 'first' }] });
    const runId = (await eventually(() => status(handle), (s) => s.activeRun !== null, 'a run in flight')).activeRun!;
    await eventually(async () => world.canary.get(model) ?? null, (c) => c?.weight === 0.5, 'the run\u2019s canary at 50%');
    // Terminated, the run cannot clear its canary itself (its wrap-up never runs).
    await harness().env.client.workflow.getHandle(runId).terminate('operator: wrong data');
    await eventually(() => status(handle), (s) => s.activeRun === null && s.runs[0].decision === 'failed', 'the run noticed as lost');
    await eventually(async () => world.canary.get(model) ?? null, (c) => c === null, 'the canary cleared');
    const clear = world.callsOf(model, 'clearCanary').find((c) => c.input.runWorkflowId === runId);
    assert.equal(clear?.input.by, 'retrain');
    assert.match(clear?.input.reason, /ended without clearing its canary/);
    // The next run's rollout starts from no canary instead of failing on the old one (AliasConflict).
    await harness().env.sleep('2 minutes');
    await handle.executeUpdate(retrainNowUpdate, { args: [{ requestedBy: 'dana', reason: 'again' }] });
    await eventually(async () => world.canary.get(model) ?? null, (c) => c?.weight === 0.5 && c.version === 2, 'the second run\u2019s canary');
    assert.equal((await status(handle)).runs[1].decision, null);
    await replays(handle);
    await handle.terminate('test over');
  });

  test('an execution that the previous release continued as new with a run in flight replays unchanged', async () => {
    // Recorded with the monitor from before it checked on carried runs: run 1 in flight (waiting for approval), a
    // queued trigger, 2 hours of virtual time and an alert. The check must not run in it (its patch is absent).
    const text = readFileSync(join(__dirname, 'histories', 'monitor-carried-run-before-check.json'), 'utf8');
    const history = historyFromJSON(JSON.parse(text));
    const types = (history.events ?? []).map((e) => e.eventType);
    assert.ok(types.length > 10);
    assert.ok(!text.includes('runOutcome') && !text.includes('monitor-checks-carried-run'));
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(WORKFLOWS) }, history, 'monitor/carried-run');
  });

  test('a weekly schedule recorded when its trigger read "every 1 week" replays with the shared formatDuration ("every 1w")', async () => {
    // Two scheduled runs started as children; the trigger text is in their input, which replay does not compare.
    const text = readFileSync(join(__dirname, 'histories', 'monitor-weekly-schedule-old-text.json'), 'utf8');
    const history = historyFromJSON(JSON.parse(text));
    const children = (history.events ?? []).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes);
    assert.equal(children.length, 2);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(WORKFLOWS) }, history, 'monitor/weekly-text');
  });

  test('continues as new with drift signals arriving and a run in flight, and loses none of them', async () => {
    const model = 'life-can';
    const handle = await startMonitor(
      config(model, {
        triggers: { initialBatches: 1000, builtin: { enabled: false }, cooldown: '1 minute', drift: { debounce: '1 minute' } },
        // A run that takes a day of canary: it is still running when the monitor continues as new.
        rollout: { steps: [0.5, 1], observe: '1 day' },
      }),
      40,
    );
    const firstRunId = (await handle.describe()).runId;
    await handle.signal(driftDetectedSignal, { eventId: 'start', source: 'grafana', severity: 'high' });
    await eventually(() => status(handle), (s) => s.activeRun !== null, 'a run in flight');
    // 80 alerts in bursts of 8 sent at once, a couple below severity and a redelivery in each burst.
    let sent = 1;
    for (let burst = 0; burst < 10; burst++) {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => {
          const id = burst * 8 + i;
          sent++;
          return handle.signal(driftDetectedSignal, { eventId: i === 7 ? `e-${burst * 8}` : `e-${id}`, source: `s-${id % 3}`, severity: i === 6 ? 'low' : 'high' });
        }),
      );
      // Every other burst, let the monitor catch up, so the bursts land in different executions.
      if (burst % 2 === 1) await eventually(() => status(handle), (x) => (x.drift?.received ?? 0) === sent, `burst ${burst} counted`);
    }
    const s = await eventually(() => status(handle), (x) => (x.drift?.received ?? 0) === sent && (x.continuedAsNew ?? 0) >= 2, `all ${sent} alerts counted after continue-as-new`);
    assert.ok((s.continuedAsNew ?? 0) >= 2, `continued as new ${s.continuedAsNew} times`);
    assert.equal(s.drift?.duplicates, 10);
    assert.equal(s.drift?.belowSeverity, 10);
    const first = harness().env.client.workflow.getHandle(handle.workflowId, firstRunId);
    assert.equal((await first.describe()).status.name, 'CONTINUED_AS_NEW');
    // The run started before continue-as-new reports back to the monitor's new execution.
    await harness().env.sleep('2 days');
    const done = await eventually(() => status(handle), (x) => x.runs.length >= 1 && x.runs[0].decision === 'promoted', 'the first run reported back');
    assert.equal(done.productionVersion !== null, true);
    await replays(first);
    await replays(harness().env.client.workflow.getHandle(handle.workflowId));
  });
});
