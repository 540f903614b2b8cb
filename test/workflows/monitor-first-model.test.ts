/**
 * A model whose first run produced no model: with no production model nothing is scored and no detector can fire,
 * so the monitor itself retries the initial run once `triggers.initialBatches` more labelled batches have arrived,
 * after the cooldown, and says meanwhile that it waits for a first model. Devserver with time skipping, scripted
 * activities, every history replayed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { monitorStatusQuery, monitorWorkflowId, runStatusQuery, TASK_QUEUE, type MonitorStatus } from '../../workflows/definitions';
import type { modelMonitor } from '../../workflows/model-monitor';
import { config, FakeWorld } from './fake-activities';
import { eventually, replays, settled, useWorkflowHarness } from './harness';

const world = new FakeWorld();
const harness = useWorkflowHarness(world.activities());

async function startMonitor(cfg: any): Promise<WorkflowHandle<typeof modelMonitor>> {
  return harness().env.client.workflow.start<typeof modelMonitor>('modelMonitor', { taskQueue: TASK_QUEUE, workflowId: monitorWorkflowId(cfg.model), args: [{ config: cfg }] });
}

const status = (h: WorkflowHandle) => h.query(monitorStatusQuery);
const finished = (n: number) => (s: MonitorStatus) => s.activeRun === null && s.runs.length === n && s.runs.every((r) => r.decision !== null);
const details = async (h: WorkflowHandle) => (await h.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails ?? '';

describe('a model with no first model yet', () => {
  test('the monitor retries the initial run after initialBatches new labelled batches, and the second candidate becomes the first model', async () => {
    const model = 'first-refused';
    // The gate refuses the first candidate and blesses the second. One batch a day, labelled on arrival.
    world.scripts.set(model, { notBlessedRuns: [1] });
    const handle = await startMonitor(config(model, { triggers: { initialBatches: 2, cooldown: '1 hour' }, rollout: { steps: [1] } }));
    // Batch 1 arrives on day 1: two labelled batches, the initial run, refused at the gate.
    await harness().env.sleep('1 day');
    let s = await eventually(() => status(handle), finished(1), 'the initial run');
    assert.equal(s.runs[0].trigger, 'initial');
    assert.equal(s.runs[0].decision, 'not_blessed');
    assert.equal(s.productionVersion, null);
    assert.deepEqual(s.waitingForFirstModel, { attempts: 1, lastDecision: 'not_blessed', labelledBatches: 2, nextAttemptAtLabelledBatches: 4 });
    assert.match(await details(handle), /waiting for a first model: retrain\/first-refused\/1 ended not_blessed; next initial attempt at 4 labelled batches \(2 now\)/);
    // Day 2: one new batch is not enough for another attempt: no tight loop.
    await harness().env.sleep('1 day');
    await settled(handle);
    s = await status(handle);
    assert.equal(s.runs.length, 1);
    assert.equal(s.waitingForFirstModel?.labelledBatches, 3);
    // Day 3: two new labelled batches since the last attempt: the retry, as an initial run, and it is promoted.
    await harness().env.sleep('1 day');
    s = await eventually(() => status(handle), finished(2), 'the retried initial run');
    assert.equal(s.runs[1].trigger, 'initial');
    assert.equal(s.runs[1].decision, 'promoted');
    // Version 1 was the refused candidate.
    assert.equal(s.productionVersion, 2);
    assert.equal(s.waitingForFirstModel, undefined);
    assert.doesNotMatch(await details(handle), /waiting for a first model/);
    const run2 = await harness().env.client.workflow.getHandle(s.runs[1].workflowId).query(runStatusQuery);
    assert.match(run2.trigger.detail, /^initial, attempt 2: 4 labelled batches, no production model \(retrain\/first-refused\/1 ended not_blessed\)/);
    // The retry sees the new data and, with no incumbent, is compared with the no-skill baseline again.
    const collects = world.callsOf(model, 'collect');
    assert.equal(collects.length, 2);
    assert.equal(collects[1].input.labelledBatches, 4);
    assert.equal(world.callsOf(model, 'evaluate')[1].input.productionVersion, null);
    // With a model in production, the built-in check takes over and no more initial runs start.
    await harness().env.sleep('3 days');
    await settled(handle);
    s = await status(handle);
    assert.equal(s.runs.filter((r) => r.trigger === 'initial').length, 2);
    assert.ok(world.callsOf(model, 'checkBatch').length >= 3);
    await replays(handle);
  });

  test('a retry waits for the cooldown, and a failed validation is retried like a refused candidate', async () => {
    const model = 'first-cooldown';
    world.scripts.set(model, { badRuns: [1] });
    const handle = await startMonitor(config(model, { triggers: { initialBatches: 1, cooldown: '3 days' }, rollout: { steps: [1] } }));
    let s = await eventually(() => status(handle), finished(1), 'the initial run');
    assert.equal(s.runs[0].decision, 'validation_failed');
    assert.equal(s.waitingForFirstModel?.nextAttemptAtLabelledBatches, 2);
    // Day 2: the retry is due (a new labelled batch arrived on day 1), but the cooldown holds it until day 3.
    await harness().env.sleep('2 days');
    await settled(handle);
    s = await status(handle);
    assert.equal(s.runs.length, 1);
    assert.equal(s.queuedTrigger?.kind, 'initial');
    await harness().env.sleep('1 day');
    s = await eventually(() => status(handle), finished(2), 'the retry after the cooldown');
    assert.equal(s.runs[1].decision, 'promoted');
    assert.ok(Date.parse(s.runs[1].startedAt) - Date.parse(s.runs[0].startedAt) >= 3 * 86_400_000, JSON.stringify(s.runs));
    await replays(handle);
  });
});
