/**
 * User metadata through the real SDK against the devserver (time skipping): a workflow's static summary and details,
 * set on start, signal-with-start or a child's options, are written on its started event (and a child's on the
 * parent's initiated event) and returned by Describe; `setCurrentDetails()` reaches the client through the SDK's
 * `__temporal_workflow_metadata` query.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import { assertReplays, useHarness } from './helpers';
import { doneSignal, parentOfSummarised, withDetails } from './fixtures/retry-workflows';
import { replaysEveryRun } from './replay-all';

const WF = require.resolve('./fixtures/retry-workflows');
const h = useHarness({ worker: { workflowsPath: WF } });
const EventType = temporal.api.enums.v1.EventType;

/** A payload's JSON value (the default converter's encoding of the summary and details strings). */
function json(p: temporal.api.common.v1.IPayload | null | undefined): unknown {
  return p?.data ? JSON.parse(Buffer.from(p.data).toString('utf8')) : undefined;
}

describe('user metadata', { timeout: 60_000 }, () => {
  test('static summary and details from start are on the started event and in Describe; current details answer the metadata query', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start(withDetails, {
      taskQueue,
      workflowId: nextId('summarised'),
      args: ['training epoch 3 of 10'],
      staticSummary: 'retrain churn model',
      staticDetails: 'triggered by drift on **feature_7**',
    });
    const desc = await handle.describe();
    assert.equal(await desc.staticSummary(), 'retrain churn model');
    assert.equal(await desc.staticDetails(), 'triggered by drift on **feature_7**');
    const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.equal(meta.currentDetails, 'training epoch 3 of 10');
    await handle.signal(doneSignal);
    await handle.result();
    const started = (await handle.fetchHistory()).events![0];
    assert.equal(json(started.userMetadata?.summary), 'retrain churn model');
    assert.equal(json(started.userMetadata?.details), 'triggered by drift on **feature_7**');
    await assertReplays(handle, WF);
  });

  test('signal-with-start keeps the static summary; a start without one describes as undefined', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.signalWithStart(withDetails, {
      taskQueue,
      workflowId: nextId('sws'),
      args: ['x'],
      signal: doneSignal,
      staticSummary: 'from signal-with-start',
    });
    await handle.result();
    const desc = await handle.describe();
    assert.equal(await desc.staticSummary(), 'from signal-with-start');
    assert.equal(await desc.staticDetails(), undefined);
    await assertReplays(handle, WF);

    const plain = await env.client.workflow.start(withDetails, { taskQueue, workflowId: nextId('plain'), args: ['y'] });
    await plain.signal(doneSignal);
    await plain.result();
    assert.equal(await (await plain.describe()).staticSummary(), undefined);
  });

  test("a child's static summary and details are on the parent's initiated event, the child's started event and its Describe", async () => {
    const { env, taskQueue, nextId } = h();
    const parent = await env.client.workflow.start(parentOfSummarised, { taskQueue, workflowId: nextId('parent'), args: [nextId('child')] });
    await parent.result();
    const initiated = (await parent.fetchHistory()).events!.find((e) => e.eventType === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)!;
    const childIdFromEvent = initiated.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId!;
    assert.equal(json(initiated.userMetadata?.summary), 'child summary');
    const child = env.client.workflow.getHandle(childIdFromEvent);
    const desc = await child.describe();
    assert.equal(await desc.staticSummary(), 'child summary');
    assert.equal(await desc.staticDetails(), 'child static details');
    assert.equal((await child.query<{ currentDetails?: string }>('__temporal_workflow_metadata')).currentDetails, 'child details');
    await child.signal(doneSignal);
    await child.result();
    assert.equal(json((await child.fetchHistory()).events![0].userMetadata?.summary), 'child summary');
    await assertReplays(parent, WF);
    await assertReplays(child, WF);
  });
});

replaysEveryRun(h, WF);
