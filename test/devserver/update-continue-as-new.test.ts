/**
 * An update admitted while the workflow task that continues the run as new is in flight (real SDK worker, time
 * skipping). As on the real server, the update does not hold the run open: the run continues as new, the update is
 * aborted with the retryable RESOURCE_EXHAUSTED "workflow is closing", and the client's retry lands on the new run,
 * whose answer the original executeUpdate call returns. The probe sink admits the update from inside the task.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowInfo } from '@temporalio/workflow';
import { temporal } from '@temporalio/proto';
import { assertReplays, eventTypes, useHarness } from './helpers';
import { doneSignal, generations, goSignal, labelUpdate } from './fixtures/update-can-workflows';
import { replaysEveryRun } from './replay-all';

const WF = require.resolve('./fixtures/update-can-workflows');
const Stage = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;

/** What the probe sink does; set by each test before it sends `go`. */
let onInFlight: (info: WorkflowInfo) => Promise<void> = async () => {};

const h = useHarness({
  worker: {
    workflowsPath: WF,
    sinks: { probe: { inFlight: { fn: (info: WorkflowInfo) => onInFlight(info) } } },
  },
});

describe('updates and continue-as-new', { timeout: 60_000 }, () => {
  test('an update admitted during the task that continues as new is retried on the new run and answered there', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start(generations, { taskQueue, workflowId: nextId('can-update') });
    const firstRunId = handle.firstExecutionRunId;
    let pending: Promise<string> | undefined;
    let admittedOn: string | undefined;
    onInFlight = async (info) => {
      // The worker awaits this before it completes the task: the update is admitted while the task is started.
      pending = env.client.workflow.getHandle(info.workflowId).executeUpdate(labelUpdate, { args: ['u1'], updateId: 'u1' });
      for (;;) {
        try {
          const res = await env.client.workflowService.pollWorkflowExecutionUpdate({
            namespace: 'default',
            updateRef: { workflowExecution: { workflowId: info.workflowId, runId: info.runId }, updateId: 'u1' },
            waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED },
          });
          admittedOn = res.updateRef?.workflowExecution?.runId ?? undefined;
          return;
        } catch (e) {
          // NOT_FOUND until the update call reaches the server; then the loop ends.
          if ((e as { code?: number }).code !== 5) throw e;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };
    await handle.signal(goSignal);
    // The update was admitted on the first run while its last task was in flight...
    const closed = await env.client.workflow.result(handle.workflowId, firstRunId, { followRuns: false }).catch((e: Error) => e);
    assert.equal((closed as Error).name, 'WorkflowExecutionContinuedAsNewError');
    assert.equal(admittedOn, firstRunId);
    // ...and answered by the second generation: the first run's close did not wait for it, nor lose it.
    assert.equal(await pending, 'u1 handled by generation 2');
    await handle.signal(doneSignal);
    assert.equal(await handle.result(), 'generation 2 saw u1');

    const first = env.client.workflow.getHandle(handle.workflowId, firstRunId);
    const firstEvents = await eventTypes(first);
    // The continue-as-new went through at once: no failed task, no update event on the first run.
    assert.equal(firstEvents[firstEvents.length - 1], 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    assert.ok(!firstEvents.includes('WORKFLOW_TASK_FAILED'), firstEvents.join(' '));
    assert.ok(!firstEvents.some((t) => t.startsWith('WORKFLOW_EXECUTION_UPDATE_')), firstEvents.join(' '));
    assert.equal(firstEvents.filter((t) => t === 'WORKFLOW_EXECUTION_SIGNALED').length, 1);
    const second = await handle.describe();
    assert.notEqual(second.runId, firstRunId);
    const secondEvents = await eventTypes(env.client.workflow.getHandle(handle.workflowId, second.runId));
    assert.deepEqual(
      secondEvents.filter((t) => t.startsWith('WORKFLOW_EXECUTION_UPDATE_') || t === 'WORKFLOW_EXECUTION_SIGNALED'),
      ['WORKFLOW_EXECUTION_UPDATE_ACCEPTED', 'WORKFLOW_EXECUTION_UPDATE_COMPLETED', 'WORKFLOW_EXECUTION_SIGNALED'],
    );
    await assertReplays(first, WF);
    await assertReplays(env.client.workflow.getHandle(handle.workflowId, second.runId), WF);
  });
});

replaysEveryRun(h, WF);
