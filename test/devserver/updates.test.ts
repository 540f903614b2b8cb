/**
 * Workflow updates through the real SDK against the devserver (time skipping): execute and start with the ACCEPTED
 * stage, validator rejections that leave no trace in history, updates racing with signals, deduplication by update
 * id, updates on closed workflows, polling through getUpdateHandle, raw ADMITTED-stage calls, and update-with-start.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { assertReplays, testCallLayer, useHarness } from './helpers';
import { approveUpdate, finishSignal, incUpdate, ledger, pingSignal, slowAddUpdate, totalQuery } from './fixtures/ext2-workflows';
import { replaysEveryRun } from './replay-all';

const WF = require.resolve('./fixtures/ext2-workflows');
const h = useHarness({ worker: { workflowsPath: WF } });

testCallLayer(h);

const EventType = temporal.api.enums.v1.EventType;
const Stage = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;

type Event = temporal.api.history.v1.IHistoryEvent;

async function history(handle: WorkflowHandle): Promise<Event[]> {
  return (await handle.fetchHistory()).events ?? [];
}

/** The update id an Accepted/Completed/Admitted/Rejected event belongs to, or undefined for other events. */
function updateIdOf(e: Event): string | undefined {
  return (
    e.workflowExecutionUpdateAcceptedEventAttributes?.protocolInstanceId ??
    e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId ??
    e.workflowExecutionUpdateAdmittedEventAttributes?.request?.meta?.updateId ??
    e.workflowExecutionUpdateRejectedEventAttributes?.protocolInstanceId ??
    undefined
  );
}

function isUpdateEvent(e: Event): boolean {
  return String(EventType[e.eventType as number]).startsWith('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_');
}

function ms(t: Event['eventTime']): number {
  return Number(t!.seconds) * 1000 + Math.round((t!.nanos ?? 0) / 1e6);
}

async function startLedger(prefix: string, initial = 0): Promise<WorkflowHandleWithFirstExecutionRunId<typeof ledger>> {
  const { env, taskQueue, nextId } = h();
  return env.client.workflow.start(ledger, { taskQueue, workflowId: nextId(prefix), args: [initial] });
}

async function finish(handle: WorkflowHandle<typeof ledger>) {
  await handle.signal(finishSignal);
  return handle.result();
}

describe('updates', { timeout: 60_000 }, () => {
  test('executeUpdate returns the handler result and writes one Accepted/Completed pair after the task that ran it', async () => {
    const handle = await startLedger('exec', 100);
    assert.equal(await handle.executeUpdate(incUpdate, { args: [5], updateId: 'inc-a' }), 105);
    assert.equal(await handle.executeUpdate(incUpdate, { args: [7], updateId: 'inc-b' }), 112);
    assert.equal(await handle.query(totalQuery), 112);
    const result = await finish(handle);
    assert.deepEqual(result, { total: 112, pings: 0, updates: 2, approvals: [] });

    const events = await history(handle);
    const accepted = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
    const completed = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED);
    assert.deepEqual(accepted.map(updateIdOf), ['inc-a', 'inc-b']);
    assert.deepEqual(completed.map(updateIdOf), ['inc-a', 'inc-b']);
    for (const [i, acc] of accepted.entries()) {
      const id = Number(acc.eventId);
      // Accepted follows the WorkflowTaskCompleted of the task that carried the request, and the sequencing event id
      // points before that task's started event.
      assert.equal(events[id - 2].eventType, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
      const startedId = Number(events[id - 2].workflowTaskCompletedEventAttributes!.startedEventId);
      assert.ok(Number(acc.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequestSequencingEventId) < startedId);
      assert.equal(acc.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest?.input?.name, 'inc');
      assert.equal(Number(completed[i].workflowExecutionUpdateCompletedEventAttributes!.acceptedEventId), id);
    }
    await assertReplays(handle, WF);
  });

  test('startUpdate waits for ACCEPTED only; the result arrives after the handler sleeps an hour of workflow time', async () => {
    const { env } = h();
    const handle = await startLedger('start-accepted');
    await handle.signal(pingSignal, 5);
    const upd = await handle.startUpdate(slowAddUpdate, { args: [10, '1 hour'], waitForStage: WorkflowUpdateStage.ACCEPTED, updateId: 'slow-1' });
    assert.equal(upd.updateId, 'slow-1');
    assert.equal(upd.workflowId, handle.workflowId);
    // Accepted but not completed: a raw poll for the ACCEPTED stage has no outcome yet.
    const polled = await env.client.workflowService.pollWorkflowExecutionUpdate({
      namespace: 'default',
      updateRef: { workflowExecution: { workflowId: handle.workflowId }, updateId: 'slow-1' },
      waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED },
    });
    assert.equal(polled.stage, Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED);
    assert.equal(polled.outcome, null);
    assert.equal(await handle.query(totalQuery), 5);
    await env.sleep('2 hours');
    assert.equal(await upd.result(), 15);
    assert.deepEqual(await finish(handle), { total: 15, pings: 1, updates: 1, approvals: [] });

    const events = await history(handle);
    const acc = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)!;
    const done = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)!;
    // The handler's hour-long timer fired exactly an hour after it started (time skipped straight to it); the update
    // completed after that, in the workflow task that followed (which ran at wall speed, so its own length is not
    // bounded), and before the test's two-hour sleep ended.
    const timerStarted = events.find((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED && Number(e.eventId) > Number(acc.eventId))!;
    const timerFired = events.find((e) => e.eventType === EventType.EVENT_TYPE_TIMER_FIRED && Number(e.eventId) > Number(timerStarted.eventId))!;
    const timerMs = ms(timerFired.eventTime) - ms(timerStarted.eventTime);
    assert.ok(timerMs >= 3_600_000 && timerMs < 3_600_050, `the hour timer fired after ${timerMs} ms`);
    assert.ok(Number(done.eventId) > Number(timerFired.eventId) && ms(done.eventTime) >= ms(timerFired.eventTime));
    const elapsed = ms(done.eventTime) - ms(acc.eventTime);
    assert.ok(elapsed >= 3_600_000 && elapsed < 7_200_000, `update completed ${elapsed} ms after acceptance`);
    await assertReplays(handle, WF);
  });

  test('a validator rejection raises WorkflowUpdateFailedError, writes no event at all and leaves the workflow unaffected', async () => {
    const handle = await startLedger('reject', 1);
    // A query waits for the first task, so the history below is settled.
    assert.equal(await handle.query(totalQuery), 1);
    const before = await history(handle);
    const err = await handle.executeUpdate(approveUpdate, { args: [{ approver: 'mallory' }], updateId: 'rejected-1' }).then(
      () => assert.fail('the validator should have rejected mallory'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowUpdateFailedError, `got ${(err as Error)?.name}`);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.match(err.cause.message, /approver "mallory" is not authorised/);
    // The rejection happened before anything reached history: no update event at all, for that id or any other.
    const afterReject = await history(handle);
    assert.deepEqual(afterReject.filter(isUpdateEvent), []);
    assert.ok(!afterReject.some((e) => updateIdOf(e) === 'rejected-1'));
    // The speculative task that carried it was dropped too: history is exactly what it was.
    assert.deepEqual(afterReject, before);
    // Rejecting the same id again gives the same answer; more rejections in a row leave history alone as well (the
    // worker rolls back to the last real task each time); an authorised approver goes through.
    await assert.rejects(handle.executeUpdate(approveUpdate, { args: [{ approver: 'mallory' }], updateId: 'rejected-1' }), WorkflowUpdateFailedError);
    for (const i of [2, 3, 4]) {
      await assert.rejects(handle.executeUpdate(approveUpdate, { args: [{ approver: `eve${i}` }], updateId: `rejected-${i}` }), WorkflowUpdateFailedError);
    }
    assert.deepEqual(await history(handle), before);
    // A signal still gets a task of its own; a rejection after it leaves history where the signal's task left it.
    await handle.signal(pingSignal, 5);
    assert.equal(await handle.query(totalQuery), 6);
    const afterSignal = await history(handle);
    assert.ok(afterSignal.length > before.length);
    await assert.rejects(handle.executeUpdate(approveUpdate, { args: [{ approver: 'eve5' }], updateId: 'rejected-5' }), WorkflowUpdateFailedError);
    assert.deepEqual(await history(handle), afterSignal);
    assert.equal(await handle.executeUpdate(approveUpdate, { args: [{ approver: 'ops' }], updateId: 'approved-1' }), 'approved by ops');
    assert.deepEqual(await finish(handle), { total: 6, pings: 1, updates: 0, approvals: ['ops'] });
    const events = await history(handle);
    assert.deepEqual(events.filter(isUpdateEvent).map(updateIdOf), ['approved-1', 'approved-1']);
    await assertReplays(handle, WF);
  });

  test('updates racing with signals: 60 of each sent without waiting, none lost, every update saw a distinct total', async () => {
    const handle = await startLedger('race');
    const N = 60;
    const signals: Promise<void>[] = [];
    const updates: Promise<number>[] = [];
    for (let i = 1; i <= N; i++) {
      signals.push(handle.signal(pingSignal, i));
      updates.push(handle.executeUpdate(incUpdate, { args: [1000 * i], updateId: `race-${i}` }));
    }
    await Promise.all(signals);
    const totals = await Promise.all(updates);
    const pingSum = (N * (N + 1)) / 2;
    const incSum = 1000 * pingSum;
    const result = await finish(handle);
    assert.deepEqual(result, { total: pingSum + incSum, pings: N, updates: N, approvals: [] });
    // Each update returned the total right after its own increment: all distinct, and consistent with the pings
    // and increments applied before it (the thousands part counts increments, the rest counts pings).
    assert.equal(new Set(totals).size, N);
    for (const [i, t] of totals.entries()) assert.ok(t >= 1000 * (i + 1) && t <= pingSum + incSum, `update ${i + 1} returned ${t}`);
    const events = await history(handle);
    const count = (t: number) => events.filter((e) => e.eventType === t).length;
    assert.equal(count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), N + 1);
    assert.equal(count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), N);
    assert.equal(count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED), N);
    // No update or signal waited for a workflow task to time out.
    assert.equal(count(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), 0);
    // Replaying the history in order yields the same totals the updates returned.
    let running = 0;
    const replayed = new Map<string, number>();
    const payload = (p: temporal.api.common.v1.IPayloads | null | undefined) => JSON.parse(Buffer.from(p!.payloads![0].data!).toString());
    for (const e of events) {
      const sig = e.workflowExecutionSignaledEventAttributes;
      if (sig?.signalName === 'ping') running += payload(sig.input);
      const acc = e.workflowExecutionUpdateAcceptedEventAttributes;
      if (acc) {
        running += payload(acc.acceptedRequest!.input!.args);
        replayed.set(acc.protocolInstanceId!, running);
      }
    }
    assert.deepEqual(totals, Array.from({ length: N }, (_, i) => replayed.get(`race-${i + 1}`)));
    await assertReplays(handle, WF);
  });

  test('the same update id twice returns the same result and writes a single Accepted/Completed pair', async () => {
    const { env } = h();
    const handle = await startLedger('dedupe');
    assert.equal(await handle.executeUpdate(incUpdate, { args: [3], updateId: 'once' }), 3);
    assert.equal(await handle.executeUpdate(incUpdate, { args: [3], updateId: 'once' }), 3);
    assert.equal(await handle.query(totalQuery), 3);
    // Two concurrent starts of one slow update also share one execution.
    const [a, b] = await Promise.all([
      handle.startUpdate(slowAddUpdate, { args: [10, '1 hour'], waitForStage: WorkflowUpdateStage.ACCEPTED, updateId: 'slow-once' }),
      handle.startUpdate(slowAddUpdate, { args: [10, '1 hour'], waitForStage: WorkflowUpdateStage.ACCEPTED, updateId: 'slow-once' }),
    ]);
    await env.sleep('90 minutes');
    assert.deepEqual([await a.result(), await b.result()], [13, 13]);
    assert.deepEqual(await finish(handle), { total: 13, pings: 0, updates: 2, approvals: [] });
    const ids = (await history(handle)).filter(isUpdateEvent).map(updateIdOf);
    assert.deepEqual(ids, ['once', 'once', 'slow-once', 'slow-once']);
    await assertReplays(handle, WF);
  });

  test('an update on a closed workflow, or on one that never existed, raises WorkflowNotFoundError', async () => {
    const { env } = h();
    const handle = await startLedger('closed', 9);
    assert.equal((await finish(handle)).total, 9);
    const err = await handle.executeUpdate(incUpdate, { args: [1] }).catch((e: unknown) => e);
    assert.ok(err instanceof WorkflowNotFoundError, `got ${(err as Error)?.name}: ${(err as Error)?.message}`);
    assert.equal(err.workflowId, handle.workflowId);
    await assert.rejects(
      handle.startUpdate(incUpdate, { args: [1], waitForStage: WorkflowUpdateStage.ACCEPTED }),
      WorkflowNotFoundError,
    );
    await assert.rejects(env.client.workflow.getHandle('no-such-workflow').executeUpdate(incUpdate, { args: [1] }), WorkflowNotFoundError);
    assert.deepEqual((await history(handle)).filter(isUpdateEvent), []);
    await assertReplays(handle, WF);
  });

  test('getUpdateHandle(id).result() polls an accepted update to completion (PollWorkflowExecutionUpdate)', async () => {
    const { env } = h();
    const handle = await startLedger('poll', 50);
    await handle.startUpdate(slowAddUpdate, { args: [25, '30 minutes'], waitForStage: WorkflowUpdateStage.ACCEPTED, updateId: 'polled' });
    const t0 = await env.currentTimeMs();
    const pending = env.client.workflow.getHandle(handle.workflowId).getUpdateHandle<number>('polled').result();
    await env.sleep('1 hour');
    assert.equal(await pending, 75);
    assert.ok((await env.currentTimeMs()) - t0 >= 3_600_000);
    // An id the workflow never saw is not found.
    await assert.rejects(handle.getUpdateHandle('never-sent').result(), WorkflowNotFoundError);
    assert.equal((await finish(handle)).total, 75);
    await assertReplays(handle, WF);
  });

  test('raw UpdateWorkflowExecution answers at the ADMITTED stage at once, and a COMPLETED poll gives the outcome', async () => {
    const { env } = h();
    const handle = await startLedger('admitted');
    const { payloadConverter } = env.client.options.loadedDataConverter;
    const res = await env.client.workflowService.updateWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: handle.workflowId },
      waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED },
      request: {
        meta: { updateId: 'raw-1', identity: 'raw' },
        input: { name: 'inc', args: { payloads: [payloadConverter.toPayload(4)] } },
      },
    });
    assert.ok((res.stage ?? 0) >= Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED);
    assert.equal(res.updateRef?.updateId, 'raw-1');
    assert.equal(res.updateRef?.workflowExecution?.runId, handle.firstExecutionRunId);
    const done = await env.client.workflowService.pollWorkflowExecutionUpdate({
      namespace: 'default',
      updateRef: { workflowExecution: { workflowId: handle.workflowId }, updateId: 'raw-1' },
      waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED },
    });
    assert.equal(done.stage, Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED);
    assert.equal(payloadConverter.fromPayload(done.outcome!.success!.payloads![0]), 4);
    assert.equal((await finish(handle)).total, 4);
    await assertReplays(handle, WF);
  });

  test('update-with-start (USE_EXISTING) starts the workflow when absent and reuses the running one when present', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('uws');
    const op1 = new WithStartWorkflowOperation(ledger, { workflowId, taskQueue, args: [100], workflowIdConflictPolicy: 'USE_EXISTING' });
    assert.equal(await env.client.workflow.executeUpdateWithStart(incUpdate, { args: [5], startWorkflowOperation: op1 }), 105);
    const h1 = await op1.workflowHandle();
    const op2 = new WithStartWorkflowOperation(ledger, { workflowId, taskQueue, args: [999], workflowIdConflictPolicy: 'USE_EXISTING' });
    assert.equal(await env.client.workflow.executeUpdateWithStart(incUpdate, { args: [7], startWorkflowOperation: op2 }), 112);
    const h2 = await op2.workflowHandle();
    assert.equal((await h2.describe()).runId, (await h1.describe()).runId);
    // With the FAIL policy an existing run is an error for the start, and the update is not applied.
    const op3 = new WithStartWorkflowOperation(ledger, { workflowId, taskQueue, args: [0], workflowIdConflictPolicy: 'FAIL' });
    await assert.rejects(
      env.client.workflow.executeUpdateWithStart(incUpdate, { args: [1000], startWorkflowOperation: op3 }),
      WorkflowExecutionAlreadyStartedError,
    );
    await assert.rejects(op3.workflowHandle(), WorkflowExecutionAlreadyStartedError);
    assert.equal((await h1.describe()).raw.workflowExecutionInfo?.firstRunId, (await h1.describe()).runId);
    assert.deepEqual(await finish(h1), { total: 112, pings: 0, updates: 2, approvals: [] });
    const events = await history(h1);
    assert.equal(events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED).length, 1);
    assert.equal(events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED).length, 2);
    await assertReplays(h1, WF);
  });

  test('an accepted update whose workflow closes first fails with AcceptedUpdateCompletedWorkflow, for pollers too', async () => {
    const handle = await startLedger('closing');
    const upd = await handle.startUpdate(slowAddUpdate, { args: [1, '1 day'], waitForStage: WorkflowUpdateStage.ACCEPTED, updateId: 'orphan' });
    await handle.terminate('operator stop');
    const check = (e: unknown) => {
      assert.ok(e instanceof WorkflowUpdateFailedError, `got ${(e as Error)?.name}: ${(e as Error)?.message}`);
      assert.ok(e.cause instanceof ApplicationFailure);
      assert.equal(e.cause.type, 'AcceptedUpdateCompletedWorkflow');
      assert.match(e.cause.message, /completed before the Update completed/);
      return true;
    };
    await assert.rejects(upd.result(), check);
    // A second request with the same id gets the same outcome instead of a new update.
    await assert.rejects(handle.executeUpdate(slowAddUpdate, { args: [1, '1 day'], updateId: 'orphan' }), check);
    await assert.rejects(handle.result(), WorkflowFailedError);
    const events = await history(handle);
    assert.deepEqual(events.filter(isUpdateEvent).map(updateIdOf), ['orphan']);
    assert.equal(events[events.length - 1].eventType, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED);
    await assertReplays(handle, WF);
  });
});

replaysEveryRun(h, WF);
