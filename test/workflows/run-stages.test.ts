/**
 * The retraining run's other outcomes, against the devserver with time skipping and scripted activities: the label
 * deadline, a batch that fails validation, a candidate the gate does not bless, a canary that regresses, a training
 * attempt lost after a checkpoint, and a stage that fails outright. Every history is replayed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { labelsApprovedSignal, runStatusQuery, runWorkflowId, TASK_QUEUE, type RunInput, type TriggerInfo } from '../../workflows/definitions';
import { ModelConfigSchema } from '../../workflows/config';
import type { retrainingRun } from '../../workflows/retraining-run';
import { config, FakeWorld, type Script } from './fake-activities';
import { eventually, replays, useWorkflowHarness } from './harness';

const world = new FakeWorld();
const harness = useWorkflowHarness(world.activities());

const drift: TriggerInfo = { kind: 'drift', detail: 'drift: 1 alert(s) from grafana (high)', at: '2024-01-01T00:00:00.000Z', eventIds: ['a1'] };

async function startRun(model: string, script: Script, overrides: Record<string, unknown> = {}, productionVersion: number | null = 3): Promise<WorkflowHandle<typeof retrainingRun>> {
  world.scripts.set(model, script);
  world.production.set(model, productionVersion);
  const input: RunInput = { model, n: 1, config: ModelConfigSchema.parse(config(model, overrides)), trigger: drift, labelledBatches: 5, sinceBatch: 2, productionVersion };
  return harness().env.client.workflow.start<typeof retrainingRun>('retrainingRun', { taskQueue: TASK_QUEUE, workflowId: runWorkflowId(model, 1), args: [input] });
}

describe('a retraining run', () => {
  test('without labels by the deadline ends as labels_expired, after counting the labelsApproved signals it ignored', async () => {
    const model = 'stage-labels';
    const handle = await startRun(model, {}, { labels: { mode: 'approval', approvers: ['lena'], deadline: '2 days' } });
    await eventually(() => handle.query(runStatusQuery), (s) => s.labeling !== undefined, 'the labeling request');
    await handle.signal(labelsApprovedSignal, { approver: 'lena', unexpected: true } as never);
    const result = await handle.result();
    assert.equal(result.decision, 'labels_expired');
    const status = await handle.query(runStatusQuery);
    assert.equal(status.rejectedMessages?.count, 1);
    assert.match(status.rejectedMessages!.last[0], /labelsApproved: unknown field "unexpected"/);
    assert.equal(world.callsOf(model, 'train').length, 0);
    assert.deepEqual(world.callsOf(model, 'notify').map((c) => c.input.kind), ['labels_requested']);
    const label = status.timeline.find((s) => s.stage === 'label')!;
    assert.ok(Date.parse(label.endedAt!) - Date.parse(label.startedAt) >= 2 * 86_400_000);
    await replays(handle);
  });

  test('with a bad batch ends at validate as validation_failed, promotes nothing, and reports the failing checks', async () => {
    const model = 'stage-bad-batch';
    const handle = await startRun(model, { badRuns: [1] });
    const result = await handle.result();
    assert.equal(result.decision, 'validation_failed');
    assert.equal(result.candidateVersion, undefined);
    assert.equal(result.productionVersion, 3);
    for (const name of ['train', 'evaluate', 'gate', 'setCanary', 'promote'] as const) assert.equal(world.callsOf(model, name).length, 0, name);
    const report = world.reports.get(runWorkflowId(model, 1))!;
    assert.equal(report.decision, 'validation_failed');
    assert.match(report.validation!.failures[0].message, /column x: 3 values out of range/);
    const status = await handle.query(runStatusQuery);
    assert.equal(status.validation?.passed, false);
    assert.equal(status.reportUri, `mem://${runWorkflowId(model, 1)}/report.json`);
    await replays(handle);
  });

  test('with a candidate the gate does not bless ends as not_blessed and keeps production', async () => {
    const model = 'stage-not-blessed';
    const handle = await startRun(model, { notBlessedRuns: [1] });
    const result = await handle.result();
    assert.equal(result.decision, 'not_blessed');
    assert.equal(result.candidateVersion, 1);
    assert.equal(world.production.get(model), 3);
    const status = await handle.query(runStatusQuery);
    assert.equal(status.blessing?.promote, false);
    assert.equal(status.blessing?.checks[0].pValue, 0.4);
    await replays(handle);
  });

  test('whose canary regresses on live metrics rolls back: the canary is cleared and production never moves', async () => {
    const model = 'stage-regression';
    const handle = await startRun(model, { regressAtWeight: 0.5 });
    const result = await handle.result();
    assert.equal(result.decision, 'rolled_back');
    assert.equal(world.production.get(model), 3);
    assert.equal(world.canary.get(model), null);
    assert.equal(world.callsOf(model, 'promote').length, 0);
    assert.deepEqual(world.callsOf(model, 'setCanary').map((c) => [c.input.weight, c.input.expected]), [[0.1, null], [0.5, 1]]);
    assert.deepEqual(world.callsOf(model, 'notify').map((c) => c.input.kind), ['rollback']);
    const report = world.reports.get(runWorkflowId(model, 1))!;
    assert.deepEqual(report.rollout!.map((s) => s.observation?.regression), [false, true]);
    // Each step was watched for the configured hour of (virtual) time.
    const observed = world.callsOf(model, 'observeCanary').map((c) => Date.parse(c.input.until) - Date.parse(c.input.since));
    assert.ok(observed.every((ms) => ms >= 3_600_000), String(observed));
    await replays(handle);
  });

  test('whose training worker is lost after a checkpoint retries, resumes from it, and still promotes once', async () => {
    const model = 'stage-train-retry';
    const handle = await startRun(model, { trainCrashes: 1 }, { rollout: { steps: [1] } });
    const result = await handle.result();
    assert.equal(result.decision, 'promoted');
    assert.equal(world.callsOf(model, 'train').length, 2);
    assert.deepEqual(world.moves.filter((m) => m.model === model), [{ model, alias: 'production', version: 1 }]);
    const train = (await handle.query(runStatusQuery)).timeline.find((s) => s.stage === 'train')!;
    assert.equal(train.retries, 1);
    assert.match(train.note!, /resumed from iteration 10/);
    await replays(handle);
  });

  test('whose stage fails for good ends as failed with a report, and Temporal shows the run failed', async () => {
    const model = 'stage-failure';
    const handle = await startRun(model, { collectError: 'data.source.path: no such file' });
    const err = await handle.result().then(
      () => assert.fail('the run completed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
    assert.equal(err.cause.type, 'RunFailed');
    assert.match(err.cause.message, /failed in stage collect: .*no such file/);
    const report = world.reports.get(runWorkflowId(model, 1))!;
    assert.equal(report.decision, 'failed');
    assert.match(report.error!, /no such file/);
    assert.equal((await handle.query(runStatusQuery)).decision, 'failed');
    await replays(handle);
  });
});
