/**
 * Child workflows and external workflow handles through the real SDK against the devserver (time skipping):
 * results, failures, timeouts and cancellation delivered to the parent; WORKFLOW_ALREADY_EXISTS; the three parent
 * close policies when a parent is terminated or completes; task-queue inheritance and parent links; pending children
 * in describe(); signals and cancellation requests sent to running and to missing workflows.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, ChildWorkflowFailure, RetryState, TerminatedFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { assertReplays, useHarness } from './helpers';
import {
  canceller,
  finishSignal,
  ledger,
  parentAsksWho,
  parentCancelsChild,
  parentOfChain,
  parentOfFailing,
  parentOfSlow,
  parentSum,
  parentWithChildId,
  parentWithPolicies,
  patient,
  signaller,
  totalQuery,
} from './fixtures/ext2-workflows';
import { replaysEveryRun } from './replay-all';

const WF = require.resolve('./fixtures/ext2-workflows');
const h = useHarness({ worker: { workflowsPath: WF } });

const EventType = temporal.api.enums.v1.EventType;
const ParentClosePolicy = temporal.api.enums.v1.ParentClosePolicy;
type Event = temporal.api.history.v1.IHistoryEvent;

async function history(handle: WorkflowHandle): Promise<Event[]> {
  return (await handle.fetchHistory()).events ?? [];
}

function ofType(events: Event[], type: number): Event[] {
  return events.filter((e) => e.eventType === type);
}

function ms(t: Event['eventTime']): number {
  return Number(t!.seconds) * 1000 + Math.round((t!.nanos ?? 0) / 1e6);
}

function handleOf(workflowId: string): WorkflowHandle {
  return h().env.client.workflow.getHandle(workflowId);
}

async function failureOf(p: Promise<unknown>): Promise<WorkflowFailedError> {
  const e = await p.then(
    () => assert.fail('expected the workflow to fail'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
  return e;
}

describe('child workflows', { timeout: 60_000 }, () => {
  test('children run in parallel and their results reach the parent; each child records its parent and initiating event', async () => {
    const { env, taskQueue, nextId } = h();
    const parent = await env.client.workflow.start(parentSum, { taskQueue, workflowId: nextId('sum'), args: [[1, 2, 3]] });
    assert.deepEqual(await parent.result(), [2, 4, 6]);
    const events = await history(parent);
    const initiated = ofType(events, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED);
    assert.equal(initiated.length, 3);
    assert.equal(ofType(events, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED).length, 3);
    const completed = ofType(events, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED);
    assert.deepEqual(
      completed.map((e) => Number(e.childWorkflowExecutionCompletedEventAttributes!.initiatedEventId)).sort(),
      initiated.map((e) => Number(e.eventId)).sort(),
    );
    for (const [i, init] of initiated.entries()) {
      const childId = `${parent.workflowId}/kid-${i}`;
      assert.equal(init.startChildWorkflowExecutionInitiatedEventAttributes!.workflowId, childId);
      const first = (await history(handleOf(childId)))[0].workflowExecutionStartedEventAttributes!;
      assert.equal(first.parentWorkflowExecution?.workflowId, parent.workflowId);
      assert.equal(first.parentWorkflowExecution?.runId, parent.firstExecutionRunId);
      assert.equal(Number(first.parentInitiatedEventId), Number(init.eventId));
      assert.equal(first.rootWorkflowExecution?.workflowId, parent.workflowId);
    }
    // Each child slept a minute of workflow time before answering.
    const started = ms(events[0].eventTime);
    for (const c of completed) assert.ok(ms(c.eventTime) - started >= 60_000);
    await assertReplays(parent, WF);
    await assertReplays(handleOf(`${parent.workflowId}/kid-1`), WF);
  });

  test('a failing child gives the parent a ChildWorkflowFailure whose cause is the ApplicationFailure', async () => {
    const { env, taskQueue, nextId } = h();
    const parent = await env.client.workflow.start(parentOfFailing, { taskQueue, workflowId: nextId('failing'), args: [-4] });
    const err = await failureOf(parent.result());
    assert.ok(err.cause instanceof ChildWorkflowFailure, `got ${err.cause?.name}`);
    assert.equal(err.cause.execution.workflowId, `${parent.workflowId}/kid`);
    assert.equal(err.cause.workflowType, 'kid');
    const app = err.cause.cause;
    assert.ok(app instanceof ApplicationFailure, `got ${app?.name}`);
    assert.equal(app.type, 'BadInput');
    assert.equal(app.nonRetryable, true);
    assert.deepEqual(app.details, [-4]);
    const events = await history(parent);
    const failed = ofType(events, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED);
    assert.equal(failed.length, 1);
    assert.equal(failed[0].childWorkflowExecutionFailedEventAttributes!.failure?.applicationFailureInfo?.type, 'BadInput');
    assert.equal((await handleOf(`${parent.workflowId}/kid`).describe()).status.name, 'FAILED');
    await assertReplays(parent, WF);
    await assertReplays(handleOf(`${parent.workflowId}/kid`), WF);
  });

  test('a child that exceeds its execution timeout reaches the parent as ChildWorkflowFailure(TimeoutFailure) after 10 virtual minutes', async () => {
    const { env, taskQueue, nextId } = h();
    const parent = await env.client.workflow.start(parentOfSlow, { taskQueue, workflowId: nextId('slow') });
    const err = await failureOf(parent.result());
    assert.ok(err.cause instanceof ChildWorkflowFailure);
    assert.equal(err.cause.retryState, RetryState.TIMEOUT);
    assert.ok(err.cause.cause instanceof TimeoutFailure, `got ${err.cause.cause?.name}`);
    assert.equal(err.cause.cause.timeoutType, TimeoutType.START_TO_CLOSE);
    const child = handleOf(`${parent.workflowId}/slow`);
    const d = await child.describe();
    assert.equal(d.status.name, 'TIMED_OUT');
    assert.equal(d.closeTime!.getTime() - d.startTime.getTime(), 10 * 60_000);
    const childEvents = await history(child);
    assert.equal(childEvents[childEvents.length - 1].eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT);
    assert.equal(ofType(await history(parent), EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT).length, 1);
    await assertReplays(parent, WF);
    await assertReplays(child, WF);
  });

  test('a child terminated from outside reaches the parent as ChildWorkflowFailure(TerminatedFailure)', async () => {
    const { env, taskQueue, nextId } = h();
    const parent = await env.client.workflow.start(parentOfFailing, { taskQueue, workflowId: nextId('outside'), args: [5] });
    let pending: temporal.api.workflow.v1.IPendingChildExecutionInfo[] = [];
    for (let i = 0; i < 200 && !pending.length; i++) {
      pending = (await parent.describe()).raw.pendingChildren ?? [];
      if (!pending.length) await delay(20);
    }
    const child = handleOf(`${parent.workflowId}/kid`);
    await child.terminate('from outside');
    const err = await failureOf(parent.result());
    assert.ok(err.cause instanceof ChildWorkflowFailure);
    assert.ok(err.cause.cause instanceof TerminatedFailure, `got ${err.cause.cause?.name}`);
    const term = ofType(await history(parent), EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED);
    assert.equal(term.length, 1);
    assert.equal(term[0].childWorkflowExecutionTerminatedEventAttributes!.workflowExecution?.runId, pending[0].runId);
    await assertReplays(parent, WF);
    await assertReplays(child, WF);
  });

  test('a parent cancels its child through a cancellation scope; the child ends CANCELED and the parent sees a cancellation', async () => {
    const { env, taskQueue, nextId } = h();
    const parent = await env.client.workflow.start(parentCancelsChild, { taskQueue, workflowId: nextId('cancels') });
    assert.deepEqual(await parent.result(), { childFailure: true, causeIsCancelled: true, isCancellation: true });
    const child = handleOf(`${parent.workflowId}/stubborn`);
    assert.equal((await child.describe()).status.name, 'CANCELLED');
    const events = await history(parent);
    const types = events.map((e) => e.eventType);
    const initiated = types.indexOf(EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED);
    const requested = types.indexOf(EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
    const canceled = types.indexOf(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED);
    assert.ok(initiated > 0 && requested > initiated && canceled > requested, `events: ${types.join(',')}`);
    const childEvents = await history(child);
    const req = ofType(childEvents, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)[0].workflowExecutionCancelRequestedEventAttributes!;
    assert.equal(req.externalWorkflowExecution?.workflowId, parent.workflowId);
    assert.equal(Number(req.externalInitiatedEventId), Number(events[initiated].eventId));
    await assertReplays(parent, WF);
    await assertReplays(child, WF);
  });

  test('a child id held by a running workflow gives the parent WorkflowExecutionAlreadyStartedError; a closed one is reused', async () => {
    const { env, taskQueue, nextId } = h();
    const holderId = nextId('holder');
    // The holder waits for a signal, not a timer: time skips while the test waits on results.
    const holder = await env.client.workflow.start(ledger, { taskQueue, workflowId: holderId });
    const parent = await env.client.workflow.start(parentWithChildId, { taskQueue, workflowId: nextId('dup'), args: [holderId] });
    assert.equal(await parent.result(), `WorkflowExecutionAlreadyStartedError: ${holderId}`);
    const failed = ofType(await history(parent), EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED);
    assert.equal(failed.length, 1);
    assert.equal(
      failed[0].startChildWorkflowExecutionFailedEventAttributes!.cause,
      temporal.api.enums.v1.StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS,
    );
    // The holder is untouched: still running, still the only run of its id, and nobody's child.
    const d = await holder.describe();
    assert.equal(d.status.name, 'RUNNING');
    assert.equal(d.runId, holder.firstExecutionRunId);
    assert.equal(d.raw.workflowExecutionInfo?.parentExecution ?? undefined, undefined);
    await holder.terminate('done holding');
    // Once closed, the id is free for a child under the default reuse policy.
    const again = await env.client.workflow.start(parentWithChildId, { taskQueue, workflowId: nextId('dup'), args: [holderId] });
    assert.equal(await again.result(), 'started');
    assert.equal((await handleOf(holderId).describe()).raw.workflowExecutionInfo?.parentExecution?.workflowId, again.workflowId);
    await assertReplays(parent, WF);
    await assertReplays(again, WF);
  });

  test('describe() lists pending children; a terminated parent terminates, cancels or abandons them by policy', async () => {
    const { env, taskQueue, nextId } = h();
    const parent = await env.client.workflow.start(parentWithPolicies, { taskQueue, workflowId: nextId('policies') });
    let pending: temporal.api.workflow.v1.IPendingChildExecutionInfo[] = [];
    for (let i = 0; i < 200 && pending.length < 3; i++) {
      pending = (await parent.describe()).raw.pendingChildren ?? [];
      if (pending.length < 3) await delay(20);
    }
    assert.deepEqual(
      pending.map((c) => [c.workflowId, c.workflowTypeName, c.parentClosePolicy]),
      [
        [`${parent.workflowId}/terminate`, 'patient', ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE],
        [`${parent.workflowId}/cancel`, 'patient', ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL],
        [`${parent.workflowId}/abandon`, 'patient', ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON],
      ],
    );
    for (const c of pending) assert.ok(c.runId && Number(c.initiatedId) > 0);
    await parent.terminate('operator stop');

    const terminated = handleOf(`${parent.workflowId}/terminate`);
    const err = await failureOf(terminated.result());
    assert.ok(err.cause instanceof TerminatedFailure, `got ${err.cause?.name}`);
    assert.equal((await terminated.describe()).status.name, 'TERMINATED');

    const cancelled = handleOf(`${parent.workflowId}/cancel`);
    assert.equal(await cancelled.result(), 'cancel: saw cancellation');
    const req = ofType(await history(cancelled), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)[0];
    assert.equal(req.workflowExecutionCancelRequestedEventAttributes!.externalWorkflowExecution?.workflowId, parent.workflowId);

    const abandoned = handleOf(`${parent.workflowId}/abandon`);
    assert.equal(await abandoned.result(), 'abandon: slept');
    const ad = await abandoned.describe();
    assert.equal(ad.status.name, 'COMPLETED');
    assert.ok(ad.closeTime!.getTime() - ad.startTime.getTime() >= 3_600_000);

    // The parent's history ends with its termination: nothing about the children was written after it.
    const events = await history(parent);
    assert.equal(events[events.length - 1].eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
    await assertReplays(parent, WF);
    for (const c of [terminated, cancelled, abandoned]) await assertReplays(c, WF);
  });

  test('a parent that completes applies the same close policies to children still running', async () => {
    const { env, taskQueue, nextId } = h();
    const parent = await env.client.workflow.start(parentWithPolicies, { taskQueue, workflowId: nextId('policies-done'), args: ['3 hours'] });
    for (let i = 0; i < 200 && (await parent.query<number>('startedChildren')) < 3; i++) await delay(20);
    await parent.signal(finishSignal);
    assert.equal(await parent.result(), 'finished');
    const statuses = async () =>
      Promise.all(['terminate', 'cancel', 'abandon'].map(async (l) => (await handleOf(`${parent.workflowId}/${l}`).describe()).status.name));
    assert.equal(await handleOf(`${parent.workflowId}/cancel`).result(), 'cancel: saw cancellation');
    assert.equal(await handleOf(`${parent.workflowId}/abandon`).result(), 'abandon: slept');
    assert.deepEqual(await statuses(), ['TERMINATED', 'COMPLETED', 'COMPLETED']);
    const events = await history(parent);
    assert.equal(events[events.length - 1].eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    await assertReplays(parent, WF);
    await assertReplays(handleOf(`${parent.workflowId}/terminate`), WF);
  });

  test('a child that continues as new reports its final run\'s result to the parent; every run keeps the parent link', async () => {
    const { env, taskQueue, nextId } = h();
    const parent = await env.client.workflow.start(parentOfChain, { taskQueue, workflowId: nextId('chain-parent') });
    const final = await parent.result();
    assert.equal(final.runIds.length, 4);
    const childId = `${parent.workflowId}/chain`;
    const events = await history(parent);
    const started = ofType(events, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)[0].childWorkflowExecutionStartedEventAttributes!;
    assert.equal(started.workflowExecution?.runId, final.runIds[0]);
    const completed = ofType(events, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED);
    assert.equal(completed.length, 1);
    assert.equal(completed[0].childWorkflowExecutionCompletedEventAttributes!.workflowExecution?.workflowId, childId);
    // Nothing reached the parent while the child continued as new: one started, one completed.
    assert.equal(ofType(events, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED).length, 1);
    for (const runId of final.runIds) {
      const first = (await env.client.workflow.getHandle(childId, runId).fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
      assert.equal(first.parentWorkflowExecution?.workflowId, parent.workflowId);
      assert.equal(first.firstExecutionRunId, final.runIds[0]);
    }
    await assertReplays(env.client.workflow.getHandle(childId, final.runIds[1]), WF);
    await assertReplays(parent, WF);
  });

  test('a child inherits the task queue and sees its parent and root in workflowInfo()', async () => {
    const { env, taskQueue, nextId } = h();
    const parent = await env.client.workflow.start(parentAsksWho, { taskQueue, workflowId: nextId('who') });
    const { parent: p, child: c } = await parent.result();
    assert.equal(p.taskQueue, taskQueue);
    assert.equal(c.taskQueue, taskQueue);
    assert.equal(p.parent, undefined);
    assert.deepEqual(c.parent, { workflowId: parent.workflowId, runId: parent.firstExecutionRunId });
    assert.deepEqual(c.root, { workflowId: parent.workflowId, runId: parent.firstExecutionRunId });
    const init = ofType(await history(parent), EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)[0];
    assert.equal(init.startChildWorkflowExecutionInitiatedEventAttributes!.taskQueue?.name, taskQueue);
    const d = await handleOf(c.workflowId).describe();
    assert.equal(d.taskQueue, taskQueue);
    assert.equal(d.raw.workflowExecutionInfo?.parentExecution?.workflowId, parent.workflowId);
    assert.equal(d.raw.workflowExecutionInfo?.rootExecution?.workflowId, parent.workflowId);
    await assertReplays(parent, WF);
    await assertReplays(handleOf(c.workflowId), WF);
  });
});

describe('external workflow handles', { timeout: 60_000 }, () => {
  test('signal() reaches a running workflow, which records who sent it', async () => {
    const { env, taskQueue, nextId } = h();
    const target = await env.client.workflow.start(ledger, { taskQueue, workflowId: nextId('target') });
    const sender = await env.client.workflow.start(signaller, { taskQueue, workflowId: nextId('sender'), args: [target.workflowId, 7] });
    assert.equal(await sender.result(), `signalled ${target.workflowId}`);
    assert.equal(await target.query(totalQuery), 7);
    const signaled = ofType(await history(target), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)[0].workflowExecutionSignaledEventAttributes!;
    assert.equal(signaled.signalName, 'ping');
    assert.equal(signaled.externalWorkflowExecution?.workflowId, sender.workflowId);
    const types = (await history(sender)).map((e) => e.eventType);
    assert.ok(types.includes(EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED));
    assert.ok(types.includes(EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED));
    await target.signal(finishSignal);
    assert.equal((await target.result()).total, 7);
    await assertReplays(sender, WF);
    await assertReplays(target, WF);
  });

  test('signal() to a missing or closed workflow fails in the sender with ExternalWorkflowExecutionNotFound', async () => {
    const { env, taskQueue, nextId } = h();
    const closed = await env.client.workflow.start(ledger, { taskQueue, workflowId: nextId('closed') });
    await closed.signal(finishSignal);
    await closed.result();
    for (const targetId of ['no-such-workflow', closed.workflowId]) {
      const sender = await env.client.workflow.start(signaller, { taskQueue, workflowId: nextId('lost'), args: [targetId, 1] });
      const err = await failureOf(sender.result());
      assert.ok(err.cause instanceof ApplicationFailure, `got ${err.cause?.name}`);
      assert.match(err.cause.type ?? '', /ExternalWorkflowExecutionNotFound/);
      assert.match(err.cause.message, /Unable to signal external workflow because it was not found/);
      const failed = ofType(await history(sender), EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED);
      assert.equal(failed.length, 1);
      assert.equal(
        failed[0].signalExternalWorkflowExecutionFailedEventAttributes!.cause,
        temporal.api.enums.v1.SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
      );
      await assertReplays(sender, WF);
    }
    assert.equal((await closed.describe()).status.name, 'COMPLETED');
  });

  test('cancel() requests cancellation of a running workflow, which sees it', async () => {
    const { env, taskQueue, nextId } = h();
    const target = await env.client.workflow.start(patient, { taskQueue, workflowId: nextId('victim'), args: ['victim', '1 day'] });
    const sender = await env.client.workflow.start(canceller, { taskQueue, workflowId: nextId('canceller'), args: [target.workflowId] });
    assert.equal(await sender.result(), `cancelled ${target.workflowId}`);
    assert.equal(await target.result(), 'victim: saw cancellation');
    const req = ofType(await history(target), EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)[0].workflowExecutionCancelRequestedEventAttributes!;
    assert.equal(req.externalWorkflowExecution?.workflowId, sender.workflowId);
    const senderEvents = await history(sender);
    const init = ofType(senderEvents, EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)[0];
    assert.equal(Number(req.externalInitiatedEventId), Number(init.eventId));
    assert.equal(ofType(senderEvents, EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED).length, 1);
    await assertReplays(sender, WF);
    await assertReplays(target, WF);
  });

  test('cancel() of a missing workflow fails in the sender with ExternalWorkflowExecutionNotFound', async () => {
    const { env, taskQueue, nextId } = h();
    const sender = await env.client.workflow.start(canceller, { taskQueue, workflowId: nextId('canceller'), args: ['no-such-workflow'] });
    const err = await failureOf(sender.result());
    assert.ok(err.cause instanceof ApplicationFailure, `got ${err.cause?.name}`);
    assert.match(err.cause.type ?? '', /ExternalWorkflowExecutionNotFound/);
    assert.match(err.cause.message, /Unable to cancel external workflow because not found/);
    assert.equal(ofType(await history(sender), EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED).length, 1);
    await assertReplays(sender, WF);
  });
});

replaysEveryRun(h, WF);
