/**
 * The retraining run's approval stage, against the devserver with time skipping and scripted activities: who may
 * approve (validators reject malformed payloads, unlisted approvers, the run's initiator, the wrong stage and a second
 * answer, and a rejected update leaves no trace in history), rejection, escalation and expiry, the policy deciding
 * alone, cancellation compensating, and replaying a history downloaded as JSON.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../devserver/helpers';
import {
  approvePromotionUpdate,
  labelsApprovedSignal,
  rejectPromotionUpdate,
  RetrainDecision,
  RetrainModel,
  RetrainStage,
  RetrainTrigger,
  runStatusQuery,
  runWorkflowId,
  TASK_QUEUE,
  type RunInput,
  type RunResult,
  type TriggerInfo,
} from '../../workflows/definitions';
import { ModelConfigSchema } from '../../workflows/config';
import type { retrainingRun } from '../../workflows/retraining-run';
import { config, FakeWorld } from './fake-activities';
import { assertNoTrace, eventually, replays, settled, useWorkflowHarness, WORKFLOWS } from './harness';

const world = new FakeWorld();
const harness = useWorkflowHarness(world.activities());

const manual: TriggerInfo = { kind: 'manual', detail: 'manual: new labels', requestedBy: 'bob', at: '2024-01-01T00:00:00.000Z' };

async function startRun(model: string, overrides: Record<string, unknown>, trigger: TriggerInfo = manual, productionVersion: number | null = null): Promise<WorkflowHandle<typeof retrainingRun>> {
  const input: RunInput = { model, n: 1, config: ModelConfigSchema.parse(config(model, overrides)), trigger, labelledBatches: 3, sinceBatch: 0, productionVersion };
  if (productionVersion !== null) world.production.set(model, productionVersion);
  return harness().env.client.workflow.start<typeof retrainingRun>('retrainingRun', {
    taskQueue: TASK_QUEUE,
    workflowId: runWorkflowId(model, 1),
    args: [input],
    staticSummary: `${model} #1: ${trigger.detail}`,
  });
}

async function rejection(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => assert.fail('the update was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, `expected a rejected update, got ${String(err)}`);
  return String((err.cause as Error | undefined)?.message);
}

const approvers = { promotion: { approvers: ['alice', 'bob'], deadline: '2 days' } };

describe('approving a promotion', () => {
  test('every invalid approval is rejected with a reason naming the field, and rejected updates add no history', async () => {
    const model = 'approve-validators';
    const handle = await startRun(model, { ...approvers, labels: { mode: 'approval', approvers: ['lena'], deadline: '1 day' } });
    await eventually(() => handle.query(runStatusQuery), (s) => s.stage === 'label' && s.labeling !== undefined, 'the label stage');

    // Wrong stage: the run waits for labels, not for approval.
    const before = await settled(handle);
    assert.match(await rejection(handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'alice' }] })), /stage label, not approve/);
    await assertNoTrace(handle, before);

    // Labels: a malformed signal and one from someone not listed are ignored and counted; lena's counts.
    await handle.signal(labelsApprovedSignal, { approver: 42 } as never);
    await handle.signal(labelsApprovedSignal, { approver: 'carol' });
    await handle.signal(labelsApprovedSignal, { approver: 'lena', labelsUri: 'mem://labels.csv' });
    const waiting = await eventually(() => handle.query(runStatusQuery), (s) => s.stage === 'approve', 'the approve stage');
    assert.equal(waiting.rejectedMessages?.count, 2);
    assert.match(waiting.rejectedMessages!.last[0], /^labelsApproved\.approver: /);
    assert.match(waiting.rejectedMessages!.last[1], /"carol" is not a labels approver/);
    assert.deepEqual(waiting.approval?.approvers, ['alice'], 'bob asked for the run, so only alice may approve it');
    assert.equal(world.callsOf(model, 'train')[0].input.labelsUri, 'mem://labels.csv');

    const waitingLength = await settled(handle);
    assert.match(await rejection(handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: '' }] })), /^approvePromotion\.approver: /);
    assert.match(await rejection(handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'alice', extra: 1 } as never] })), /unknown field "extra"/);
    assert.match(await rejection(handle.executeUpdate(rejectPromotionUpdate, { args: [{ approver: 'alice' } as never] })), /^rejectPromotion\.reason: /);
    assert.match(await rejection(handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'mallory' }] })), /approvePromotion\.approver: "mallory" is not a promotion approver/);
    assert.match(await rejection(handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'bob' }] })), /approvePromotion\.approver: "bob" requested this run and may not approve it/);
    await assertNoTrace(handle, waitingLength);

    const accepted = await handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'alice', comment: 'looks good' }] });
    // The update answers with the status after the approval took effect: the run has moved on to its rollout.
    assert.equal(accepted.stage, 'rollout');
    assert.equal(accepted.decidedBy, 'alice');

    // After the decision: the run is rolling out (a canary watched for an hour), and a second answer is refused.
    await eventually(() => handle.query(runStatusQuery), (s) => s.stage === 'rollout' && s.canary !== undefined, 'the first canary step');
    const decidedLength = await settled(handle);
    assert.match(await rejection(handle.executeUpdate(rejectPromotionUpdate, { args: [{ approver: 'alice', reason: 'changed my mind' }] })), /already approved by alice/);
    await assertNoTrace(handle, decidedLength);

    const result = await handle.result();
    assert.equal(result.decision, 'promoted');
    assert.equal(result.decidedBy, 'alice');
    assert.equal(world.production.get(model), result.candidateVersion);
    await replays(handle);
  });

  test('a rejection ends the run as rejected, names who decided, and promotes nothing', async () => {
    const model = 'approve-reject';
    const handle = await startRun(model, approvers);
    await eventually(() => handle.query(runStatusQuery), (s) => s.stage === 'approve', 'the approve stage');
    const answered = await handle.executeUpdate(rejectPromotionUpdate, { args: [{ approver: 'alice', reason: 'fairness gap on group B' }] });
    assert.deepEqual([answered.decision, answered.decidedBy], ['rejected', 'alice'], 'the update answers with the status after the rejection');
    const result = await handle.result();
    assert.equal(result.decision, 'rejected');
    assert.equal(result.decidedBy, 'alice');
    assert.equal(world.callsOf(model, 'promote').length, 0);
    assert.equal(world.callsOf(model, 'setCanary').length, 0);
    const report = world.reports.get(runWorkflowId(model, 1))!;
    assert.equal(report.decision, 'rejected');
    assert.match(report.timeline.find((s) => s.stage === 'approve')!.note!, /rejected by alice: fairness gap on group B/);
    await replays(handle);
  });

  test('an unanswered approval escalates at half the deadline and expires at the deadline', async () => {
    const model = 'approve-expire';
    const handle = await startRun(model, approvers);
    const result = await handle.result();
    assert.equal(result.decision, 'approval_expired');
    const kinds = world.callsOf(model, 'notify').map((c) => c.input.kind);
    assert.deepEqual(kinds, ['approval_requested', 'approval_escalated', 'decision']);
    const status = await handle.query(runStatusQuery);
    assert.equal(status.approval?.escalated, true);
    assert.equal(status.stage, 'done');
    const approve = status.timeline.find((s) => s.stage === 'approve')!;
    assert.equal(Date.parse(approve.endedAt!) - Date.parse(approve.startedAt) >= 2 * 86_400_000, true);
    await replays(handle);
  });

  test('with no approvers the policy decides alone, the first run is compared with the majority baseline, and search attributes follow the run', async () => {
    const model = 'approve-policy';
    const handle = await startRun(model, {}, { kind: 'initial', detail: 'initial: 3 labelled batches', at: '2024-01-01T00:00:00.000Z' });
    const result: RunResult = await handle.result();
    assert.equal(result.decision, 'promoted');
    assert.equal(result.decidedBy, undefined);
    assert.equal(result.productionVersion, result.candidateVersion);
    assert.equal(world.callsOf(model, 'evaluate')[0].input.productionVersion, null);
    const report = world.reports.get(runWorkflowId(model, 1))!;
    assert.equal(report.evaluation?.baseline, 'majority');
    // Canary 10% and 50%, each observed, then production moved once and the canary cleared.
    assert.deepEqual(
      world.moves.filter((m) => m.model === model),
      [
        { model, alias: 'canary', version: 1, weight: 0.1 },
        { model, alias: 'canary', version: 1, weight: 0.5 },
        { model, alias: 'production', version: 1 },
        { model, alias: 'canary', version: null },
      ],
    );
    assert.equal(world.callsOf(model, 'observeCanary').length, 2);
    assert.deepEqual(
      report.timeline.map((s) => s.stage),
      ['collect', 'validate', 'train', 'evaluate', 'gate', 'rollout', 'promote'],
    );
    const description = await handle.describe();
    const sa = description.typedSearchAttributes;
    assert.equal(sa.get(RetrainModel), model);
    assert.equal(sa.get(RetrainStage), 'done');
    assert.equal(sa.get(RetrainTrigger), 'initial');
    assert.equal(sa.get(RetrainDecision), 'promoted');
    await replays(handle);
  });

  test('cancelling a run during rollout removes the canary in a non-cancellable scope and writes the report', async () => {
    const model = 'approve-cancel';
    const handle = await startRun(model, {}, manual, 4);
    await eventually(() => handle.query(runStatusQuery), (s) => s.stage === 'rollout' && s.canary !== undefined, 'the first canary step');
    assert.deepEqual(world.canary.get(model), { version: 1, weight: 0.1 });
    await handle.cancel();
    const err = await handle.result().then(
      () => assert.fail('a canceled run completed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
    assert.equal(world.canary.get(model), null);
    assert.equal(world.production.get(model), 4);
    const report = world.reports.get(runWorkflowId(model, 1))!;
    assert.equal(report.decision, 'canceled');
    assert.equal(world.callsOf(model, 'promote').length, 0);
    await replays(handle);
  });

  test('a history downloaded as JSON replays against the workflow code', async () => {
    const model = 'approve-json';
    const handle = await startRun(model, approvers);
    await eventually(() => handle.query(runStatusQuery), (s) => s.stage === 'approve', 'the approve stage');
    await handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'alice' }] });
    await handle.result();
    // What `temporal workflow show --output json` or the UI's download gives: proto JSON text.
    const text = historyToJSON(await handle.fetchHistory());
    const history = historyFromJSON(JSON.parse(text));
    assert.ok((history.events?.length ?? 0) > 10);
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(WORKFLOWS) }, history, handle.workflowId);
  });
});
