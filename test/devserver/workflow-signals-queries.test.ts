// Workflow-level conformance: signals (idle, during a task, racing with completion, signal-with-start, closed runs,
// request id dedupe) and queries (running, closed, during a task, unknown type, failing handler, reject condition),
// through the real SDK worker and client under time skipping. Every test ends with a replay of the history.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  QueryNotRegisteredError,
  QueryRejectedError,
  ServiceError,
  WorkflowClient,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { testCallLayer, useHarness } from './helpers';
import * as activities from './fixtures/core-activities';
import { CORE_WORKFLOWS, RACE_TASK_ITERATIONS, SLOW_TASK_ITERATIONS, events, startWithTaskInFlight, eventMs, replay, taskInFlight, typeName, types, wait } from './workflow-helpers';
import { replaysEveryRun } from './replay-all';

const h = useHarness({ worker: { workflowsPath: CORE_WORKFLOWS }, activities });

testCallLayer(h);
const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;

describe('signals', () => {
  test('signals to an idle workflow each write Signaled then a workflow task, and the result lists them in order', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('idle'), args: [0] });
    assert.equal(await handle.query('state'), 'waiting'); // the first task has completed: the workflow is idle
    await handle.signal('add', 'a');
    assert.deepEqual(await handle.query('signals'), ['a']);
    await handle.signal('add', 'b');
    await handle.signal('done');
    assert.deepEqual(await handle.result(), ['a', 'b']);
    const evs = await events(handle);
    const names = evs.map(typeName);
    assert.deepEqual(names.slice(0, 8), [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
    ]);
    assert.equal(names.at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    const signaled = evs.filter((e) => e.workflowExecutionSignaledEventAttributes);
    assert.deepEqual(
      signaled.map((e) => e.workflowExecutionSignaledEventAttributes!.signalName),
      ['add', 'add', 'done'],
    );
    // Event ids are contiguous and times never go backwards.
    evs.forEach((e, i) => assert.equal(Number(e.eventId), i + 1));
    for (let i = 1; i < evs.length; i++) assert.ok(eventMs(evs[i]) >= eventMs(evs[i - 1]));
    await replay(handle);
  });

  test('a signal during a slow workflow task is buffered until the task completes, then written with a new task', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await startWithTaskInFlight(env, taskQueue, nextId('during-task'));
    await handle.signal('add', 'during');
    const mid = await types(handle);
    if (!mid.includes('WORKFLOW_TASK_COMPLETED')) {
      assert.deepEqual(mid, ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_STARTED'], 'no Signaled inside a started task');
    }
    assert.equal(await handle.query('state'), 'waiting'); // waits for the slow task to complete
    await handle.signal('done');
    assert.deepEqual(await handle.result(), ['during']);
    assert.deepEqual((await types(handle)).slice(0, 7), [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
    ]);
    await replay(handle);
  });

  test('a signal racing with completion is answered UnhandledCommand, and the result includes it (repeated)', async () => {
    const { env, taskQueue, nextId } = h();
    for (let round = 0; round < 3; round++) {
      const handle = await env.client.workflow.start('spinThenReturnSignals', {
        taskQueue,
        workflowId: nextId('race'),
        args: [RACE_TASK_ITERATIONS],
      });
      await taskInFlight(env, handle);
      // The task in flight will complete the workflow; these signals arrive while it runs.
      await handle.signal('add', `r${round}-1`);
      await handle.signal('add', `r${round}-2`);
      assert.deepEqual(await handle.result(), [`r${round}-1`, `r${round}-2`], `round ${round}`);
      const evs = await events(handle);
      assert.deepEqual(evs.map(typeName), [
        'WORKFLOW_EXECUTION_STARTED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_FAILED',
        'WORKFLOW_EXECUTION_SIGNALED',
        'WORKFLOW_EXECUTION_SIGNALED',
        'WORKFLOW_TASK_SCHEDULED',
        'WORKFLOW_TASK_STARTED',
        'WORKFLOW_TASK_COMPLETED',
        'WORKFLOW_EXECUTION_COMPLETED',
      ]);
      const failed = evs[3].workflowTaskFailedEventAttributes!;
      assert.equal(failed.cause, Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND);
      assert.equal(Number(failed.scheduledEventId), 2);
      assert.equal(Number(failed.startedEventId), 3);
      assert.equal(Number(evs[7].workflowTaskStartedEventAttributes!.scheduledEventId), 7);
      assert.equal(evs[6].workflowTaskScheduledEventAttributes!.attempt, 1, 'a fresh task after UnhandledCommand');
      await replay(handle);
    }
  });

  test('signal-with-start writes Started, Signaled, then the first task; on a running workflow it only signals', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('sws');
    const first = await env.client.workflow.signalWithStart('collectSignals', {
      taskQueue,
      workflowId,
      args: [0],
      signal: 'add',
      signalArgs: ['first'],
    });
    assert.deepEqual((await types(first)).slice(0, 3), [
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
    ]);
    assert.equal(await first.query('state'), 'waiting');
    const second = await env.client.workflow.signalWithStart('collectSignals', {
      taskQueue,
      workflowId,
      args: [0],
      signal: 'add',
      signalArgs: ['second'],
    });
    assert.equal(second.signaledRunId, first.signaledRunId, 'the running workflow was signalled, not restarted');
    await first.signal('done');
    assert.deepEqual(await first.result(), ['first', 'second']);
    const names = await types(first);
    assert.equal(names.filter((n) => n === 'WORKFLOW_EXECUTION_STARTED').length, 1);
    assert.equal(names.filter((n) => n === 'WORKFLOW_EXECUTION_SIGNALED').length, 3);
    await replay(first);

    // After it closed, signal-with-start starts a new run in the chain of the same id.
    const third = await env.client.workflow.signalWithStart('collectSignals', {
      taskQueue,
      workflowId,
      args: [0],
      signal: 'add',
      signalArgs: ['third'],
    });
    assert.notEqual(third.signaledRunId, first.signaledRunId);
    await third.signal('done');
    assert.deepEqual(await third.result(), ['third']);
    assert.deepEqual((await types(third)).slice(0, 3), ['WORKFLOW_EXECUTION_STARTED', 'WORKFLOW_EXECUTION_SIGNALED', 'WORKFLOW_TASK_SCHEDULED']);
    await replay(third);
  });

  test('signals to a closed or unknown workflow fail with WorkflowNotFoundError', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('closed'), args: [0] });
    await handle.signal('done');
    assert.deepEqual(await handle.result(), []);
    await assert.rejects(handle.signal('add', 'late'), WorkflowNotFoundError);
    await assert.rejects(env.client.workflow.getHandle(nextId('never-started')).signal('add', 'x'), WorkflowNotFoundError);
    assert.equal((await types(handle)).filter((n) => n === 'WORKFLOW_EXECUTION_SIGNALED').length, 1);
    await replay(handle);
  });

  test('a signal repeated with the same requestId is written once', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('dedupe'), args: [0] });
    const payload = (s: string) => ({ payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify(s)) }] });
    const send = (requestId: string, value: string) =>
      env.client.workflowService.signalWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: handle.workflowId },
        signalName: 'add',
        input: payload(value),
        requestId,
        identity: 'dedupe-test',
      });
    await send('req-1', 'x');
    await send('req-1', 'x');
    await send('req-2', 'y');
    await send('req-1', 'x');
    await handle.signal('done');
    assert.deepEqual(await handle.result(), ['x', 'y']);
    const signaled = (await events(handle)).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'add');
    assert.equal(signaled.length, 2);
    assert.equal(signaled[0].workflowExecutionSignaledEventAttributes!.identity, 'dedupe-test');
    await replay(handle);
  });
});

describe('queries', () => {
  test('queries answer on a running workflow and, by replay, on a closed one', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('query'), args: [0] });
    assert.equal(await handle.query('state'), 'waiting');
    await handle.signal('add', 'one');
    assert.deepEqual(await handle.query('signals'), ['one']);
    await handle.signal('add', 'two');
    await handle.signal('done');
    assert.deepEqual(await handle.result(), ['one', 'two']);
    const before = (await events(handle)).length;
    assert.deepEqual(await handle.query('signals'), ['one', 'two']);
    assert.equal(await handle.query('state'), 'waiting');
    assert.equal((await events(handle)).length, before, 'queries write nothing to history');
    await replay(handle);
  });

  test('a query sent right after a signal sees that signal, also while other workflows keep the worker busy', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('read-your-signal'), args: [0] });
    assert.equal(await handle.query('state'), 'waiting');
    // Slow tasks of other workflows occupy the worker's pollers and task slots while the signals arrive.
    const busy = await Promise.all(
      Array.from({ length: 4 }, () =>
        env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('busy'), args: [SLOW_TASK_ITERATIONS] }),
      ),
    );
    const sent: string[] = [];
    for (let i = 0; i < 15; i++) {
      sent.push(`s${i}`);
      await handle.signal('add', `s${i}`);
      assert.deepEqual(await handle.query('signals'), sent, `query after signal ${i}`);
    }
    await handle.signal('done');
    assert.deepEqual(await handle.result(), sent);
    for (const b of busy) await b.terminate('busy work over');
    await replay(handle);
  });

  test('a query sent during a long workflow task waits for the task to complete and sees its result', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await startWithTaskInFlight(env, taskQueue, nextId('query-during'));
    const state = await handle.query<string>('state');
    assert.equal(state, 'waiting', 'answered from the state after the task, never mid-task');
    const names = await types(handle);
    assert.ok(names.includes('WORKFLOW_TASK_COMPLETED'), 'the query was answered only after the task completed');
    await handle.signal('done');
    assert.deepEqual(await handle.result(), []);
    await replay(handle);
  });

  test('a query waiting on the first workflow task fails promptly when the workflow is terminated during that task', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await startWithTaskInFlight(env, taskQueue, nextId('query-terminated'));
    const query = handle.query<string>('state');
    query.catch(() => undefined);
    await wait(50);
    await handle.terminate('closing under a waiting query');
    // The error says why the query ended (the run closed before its first task completed), so no time bound is needed;
    // the race only keeps a query the server forgot from hanging the test.
    await assert.rejects(
      Promise.race([query, new Promise((_, reject) => setTimeout(() => reject(new Error('query still waiting')), 60_000))]),
      (e: Error) => {
        assert.doesNotMatch(e.message, /query still waiting/);
        assert.ok(e instanceof ServiceError, `got ${e.constructor.name}: ${e.message}`);
        const grpcCause = e.cause as { code?: number; details?: string } | undefined;
        assert.equal(grpcCause?.code, 9 /* FAILED_PRECONDITION */);
        assert.match(grpcCause?.details ?? '', /closed before completing its first workflow task/);
        return true;
      },
    );
    assert.equal((await types(handle)).at(-1), 'WORKFLOW_EXECUTION_TERMINATED');
    await replay(handle);
  });

  test('an unknown query type fails with QueryNotRegisteredError naming it', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('query-unknown'), args: [0] });
    await assert.rejects(handle.query('no-such-query'), (e: unknown) => {
      assert.ok(e instanceof QueryNotRegisteredError, `got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      assert.match((e as Error).message, /no-such-query/);
      return true;
    });
    // The workflow is unaffected.
    assert.equal(await handle.query('state'), 'waiting');
    await handle.signal('done');
    assert.deepEqual(await handle.result(), []);
    await replay(handle);
  });

  test("a query handler that throws surfaces the handler's error message to the caller", async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('query-throws'), args: [0] });
    await assert.rejects(handle.query('explode', 'on purpose'), (e: unknown) => {
      assert.ok(e instanceof QueryNotRegisteredError, `got ${(e as Error)?.constructor?.name}`);
      assert.match((e as Error).message, /query handler exploded: on purpose/);
      return true;
    });
    await handle.signal('done');
    assert.deepEqual(await handle.result(), []);
    // Still failing the same way on the closed workflow.
    await assert.rejects(handle.query('explode', 'after close'), /query handler exploded: after close/);
    assert.ok(!(await types(handle)).includes('WORKFLOW_TASK_FAILED'), 'a failing query does not fail a workflow task');
    await replay(handle);
  });

  test('queryRejectCondition NOT_OPEN and NOT_COMPLETED_CLEANLY reject queries on closed workflows only', async () => {
    const { env, taskQueue, nextId } = h();
    const notOpen = new WorkflowClient({ connection: env.connection, namespace: env.namespace, queryRejectCondition: 'NOT_OPEN' });
    const notClean = new WorkflowClient({ connection: env.connection, namespace: env.namespace, queryRejectCondition: 'NOT_COMPLETED_CLEANLY' });
    const ok = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('reject-ok'), args: [0] });
    assert.equal(await notOpen.getHandle(ok.workflowId).query('state'), 'waiting', 'open workflows answer');
    await ok.signal('done');
    await ok.result();
    await assert.rejects(notOpen.getHandle(ok.workflowId).query('state'), (e: unknown) => {
      assert.ok(e instanceof QueryRejectedError);
      assert.equal(e.status, temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED);
      return true;
    });
    assert.equal(await notClean.getHandle(ok.workflowId).query('state'), 'waiting', 'completed cleanly: answered');
    await replay(ok);

    const term = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('reject-term'), args: [0] });
    assert.equal(await term.query('state'), 'waiting');
    await term.terminate('for the reject condition');
    await assert.rejects(notClean.getHandle(term.workflowId).query('state'), (e: unknown) => {
      assert.ok(e instanceof QueryRejectedError);
      assert.equal(e.status, temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED);
      return true;
    });
    assert.equal(await term.query('state'), 'waiting', 'without a reject condition a terminated workflow still answers');
    await replay(term);
  });
});

replaysEveryRun(h, CORE_WORKFLOWS);
