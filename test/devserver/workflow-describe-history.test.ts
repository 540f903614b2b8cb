// Workflow-level conformance: describe (status, type, queue, history length, memo and search attributes), memo and
// search-attribute upserts, history paging over more than a thousand events, and the result long poll, through the
// real SDK worker and client under time skipping. Every test ends with a replay of the history.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowNotFoundError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { useHarness } from './helpers';
import * as activities from './fixtures/core-activities';
import { CORE_WORKFLOWS, eventMs, events, replay, typeName, types, untilEvent, wait } from './workflow-helpers';
import { replaysEveryRun } from './replay-all';

const h = useHarness({ worker: { workflowsPath: CORE_WORKFLOWS }, activities });
type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;

describe('describe and history', () => {
  test('describe reports status, type, task queue, history length, and the memo and search attributes set at start', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('collectSignals', {
      taskQueue,
      workflowId: nextId('describe'),
      args: [0],
      memo: { owner: 'ml-team', retries: 3, nested: { a: [1, 2] } },
      searchAttributes: { CustomKeywordField: ['retrain'], CustomIntField: [42] },
    });
    assert.equal(await handle.query('state'), 'waiting');
    const running = await handle.describe();
    assert.equal(running.status.name, 'RUNNING');
    assert.equal(running.type, 'collectSignals');
    assert.equal(running.taskQueue, taskQueue);
    assert.equal(running.workflowId, handle.workflowId);
    assert.equal(running.runId, handle.firstExecutionRunId);
    assert.equal(running.closeTime, undefined);
    assert.deepEqual(running.memo, { owner: 'ml-team', retries: 3, nested: { a: [1, 2] } });
    assert.deepEqual(running.searchAttributes, { CustomKeywordField: ['retrain'], CustomIntField: [42] });
    let evs = await events(handle);
    assert.equal(running.historyLength, evs.length);
    assert.equal(running.startTime.getTime(), eventMs(evs[0]));
    assert.equal(running.executionTime?.getTime(), eventMs(evs[0]));

    await handle.signal('done');
    await handle.result();
    const closed = await handle.describe();
    evs = await events(handle);
    assert.equal(closed.status.name, 'COMPLETED');
    assert.equal(closed.historyLength, evs.length);
    assert.equal(closed.closeTime?.getTime(), eventMs(evs.at(-1)!));
    assert.deepEqual(closed.memo, running.memo);
    await assert.rejects(env.client.workflow.getHandle(nextId('nobody')).describe(), WorkflowNotFoundError);
    await replay(handle);
  });

  test('upsertSearchAttributes and upsertMemo write their command events and show in describe and workflowInfo', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('upserts', {
      taskQueue,
      workflowId: nextId('upserts'),
      memo: { initial: 'yes', removed: 'soon' },
      searchAttributes: { CustomKeywordField: ['initial'] },
    });
    const evs = await untilEvent(handle, 'WORKFLOW_PROPERTIES_MODIFIED');
    const names = evs.map(typeName);
    const completed = names.indexOf('WORKFLOW_TASK_COMPLETED');
    assert.deepEqual(names.slice(completed, completed + 3), [
      'WORKFLOW_TASK_COMPLETED',
      'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
      'WORKFLOW_PROPERTIES_MODIFIED',
    ]);
    const upsert = evs[completed + 1].upsertWorkflowSearchAttributesEventAttributes!;
    assert.equal(Number(upsert.workflowTaskCompletedEventId), completed + 1);
    assert.deepEqual(Object.keys(upsert.searchAttributes?.indexedFields ?? {}).sort(), ['CustomIntField', 'CustomKeywordField']);
    const modified = evs[completed + 2].workflowPropertiesModifiedEventAttributes!;
    assert.deepEqual(Object.keys(modified.upsertedMemo?.fields ?? {}).sort(), ['note', 'removed']);

    const d = await handle.describe();
    assert.deepEqual(d.memo, { initial: 'yes', note: 'upserted' }, 'upserted memo merges, and an undefined value deletes');
    assert.deepEqual(d.searchAttributes, { CustomKeywordField: ['upserted'], CustomIntField: [7] });
    await handle.signal('done');
    assert.deepEqual(await handle.result(), { memo: { initial: 'yes', note: 'upserted' }, keywords: ['upserted'] });
    await replay(handle);
  });

  test('history paging with pages of 100 returns the full contiguous history of a run with over 1,000 events', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('manyTimers', { taskQueue, workflowId: nextId('paging'), args: [600] });
    assert.equal(await handle.result(), 600);
    const all: IHistoryEvent[] = [];
    let token: Uint8Array | undefined;
    let pages = 0;
    do {
      const page = await env.client.workflowService.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: handle.workflowId, runId: handle.firstExecutionRunId },
        maximumPageSize: 100,
        nextPageToken: token,
      });
      const got = page.history?.events ?? [];
      assert.ok(got.length <= 100, `page ${pages} holds ${got.length} events`);
      all.push(...got);
      pages++;
      token = page.nextPageToken && page.nextPageToken.length ? page.nextPageToken : undefined;
    } while (token && pages < 100);
    assert.ok(all.length > 1_000, `expected over 1,000 events, got ${all.length}`);
    all.forEach((e, i) => assert.equal(Number(e.eventId), i + 1, 'ids are contiguous from 1'));
    assert.equal(pages, Math.ceil(all.length / 100));
    assert.equal(typeName(all.at(-1)!), 'WORKFLOW_EXECUTION_COMPLETED');
    const viaClient = await events(handle);
    assert.equal(viaClient.length, all.length, 'fetchHistory follows the pages to the same history');
    const started = all.filter((e) => typeName(e) === 'TIMER_STARTED');
    const fired = all.filter((e) => typeName(e) === 'TIMER_FIRED');
    assert.equal(started.length, 600);
    assert.equal(fired.length, 600);
    const startedAt = eventMs(started[0]);
    for (const f of fired) {
      const late = eventMs(f) - startedAt - 60_000;
      assert.ok(late >= 0 && late < 1_000, `a one-minute timer fired ${late} ms late in virtual time`);
    }
    await replay(handle);
  });

  test('result() long-polls: it stays pending while the workflow runs and resolves when it closes', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start('collectSignals', { taskQueue, workflowId: nextId('long-poll'), args: [0] });
    let settled = false;
    const result = handle.result().finally(() => {
      settled = true;
    });
    await wait(400);
    assert.equal(settled, false, 'no answer while the workflow is open');
    await handle.signal('add', 'wake');
    await wait(100);
    assert.equal(settled, false, 'a signal is not a close event');
    await handle.signal('done');
    assert.deepEqual(await result, ['wake']);
    assert.equal((await types(handle)).at(-1), 'WORKFLOW_EXECUTION_COMPLETED');
    await replay(handle);
  });
});

replaysEveryRun(h, CORE_WORKFLOWS);
