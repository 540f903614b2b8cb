/**
 * Long polls that time out leave nothing behind: each `result()` poll (GetWorkflowExecutionHistory waiting for the
 * close event) and each update wait registers a callback, which must be withdrawn when the wait ends unanswered, or
 * a run polled for days would collect one per poll. Counted through the server's internal accessors. The runs'
 * histories (never a task completed) replay against fixtures/raw-workflows.ts's `neverRuns`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startDevServer, type DevServer } from '../../devserver';
import { updateWaiterCount } from '../../devserver/updates';
import { RAW_WORKFLOWS, replayAll } from './replay-all';

const CLOSE_EVENT = temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;
const ACCEPTED = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;

describe('waiters of long polls that time out', () => {
  let server: DevServer;
  let connection: Connection;
  before(async () => {
    // A short hold, so that 50 polls that find nothing end quickly (no worker ever runs these workflows).
    server = await startDevServer({ port: 0, historyPollTimeoutMs: 20 });
    connection = await Connection.connect({ address: server.address });
  });
  after(async () => {
    await connection.close();
    await server.close();
  });

  const start = async (workflowId: string) => {
    const { runId } = await connection.workflowService.startWorkflowExecution({
      namespace: 'default',
      workflowId,
      workflowType: { name: 'neverRuns' },
      taskQueue: { name: 'no-worker' },
      requestId: workflowId,
    });
    return server.engine.namespace('default').runs.get(runId!)!;
  };

  test('50 result() polls that time out leave no close-event waiter on the run', async () => {
    const run = await start('waiters-close');
    for (let i = 0; i < 50; i++) {
      const res = await connection.workflowService.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: 'waiters-close' },
        waitNewEvent: true,
        historyEventFilterType: CLOSE_EVENT,
      });
      assert.equal(res.history?.events?.length ?? 0, 0, 'the run is open: the poll ends empty');
    }
    assert.equal(run.waiterCount, 0);
  });

  test('50 polls for new events that time out leave no event waiter on the run', async () => {
    const run = await start('waiters-events');
    const first = await connection.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: 'waiters-events' } });
    for (let i = 0; i < 50; i++) {
      await connection.workflowService.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: 'waiters-events' },
        waitNewEvent: true,
        nextPageToken: first.nextPageToken?.length ? first.nextPageToken : Buffer.from(String(run.history.length + 1)),
      });
    }
    assert.equal(run.waiterCount, 0);
  });

  test('50 update waits for ACCEPTED that time out leave no waiter on the update', async () => {
    const run = await start('waiters-update');
    for (let i = 0; i < 50; i++) {
      const res = await connection.workflowService.updateWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: 'waiters-update' },
        waitPolicy: { lifecycleStage: ACCEPTED },
        request: { meta: { updateId: 'same-update' }, input: { name: 'set' } },
      });
      assert.notEqual(res.stage, ACCEPTED, 'no worker accepts it: the wait ends at ADMITTED');
    }
    assert.equal(updateWaiterCount(run), 0);
  });

  test('a waiter that is answered is gone too: the run closes and every poll returns its close event', async () => {
    const run = await start('waiters-answered');
    const polls = Array.from({ length: 5 }, () =>
      connection.workflowService.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: 'waiters-answered' },
        waitNewEvent: true,
        historyEventFilterType: CLOSE_EVENT,
      }),
    );
    await connection.workflowService.terminateWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: 'waiters-answered' } });
    for (const res of await Promise.all(polls)) {
      // A poll either saw the close event, or timed out before it and came back empty; neither leaves a waiter.
      assert.ok((res.history?.events?.length ?? 0) <= 1);
    }
    assert.equal(run.waiterCount, 0);
  });

  test('every history above replays with the real SDK', async () => {
    const ids = await replayAll(connection.workflowService, RAW_WORKFLOWS);
    assert.deepEqual(ids, ['waiters-answered', 'waiters-close', 'waiters-events', 'waiters-update']);
  });
});
