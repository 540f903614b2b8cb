/**
 * Search-attribute payloads carry their registered type on the way out, as the real server labels them
 * (`searchattribute.ApplyTypeMap` in DescribeWorkflowExecution, in the history events of GetWorkflowExecutionHistory
 * and of workflow tasks; the visibility store's typed encoding in List): a client that starts a workflow with the
 * untyped `searchAttributes` option still reads `typedSearchAttributes` back, Datetime values come back as Dates,
 * and workflow code sees its typed attributes. History keeps the payloads as sent; List answers the indexed values
 * (Datetime in RFC 3339, single values unwrapped). Real SDK 1.24 client and worker against the CLI-style devserver.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WithStartWorkflowOperation, type WorkflowExecutionInfo, type WorkflowHandle } from '@temporalio/client';
import {
  defineSearchAttributeKey,
  type SearchAttributePair,
  type SearchAttributes,
  type SearchAttributeType,
  type TypedSearchAttributes,
} from '@temporalio/common';
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { temporal } from '@temporalio/proto';
import { assertReplays, useHarness } from './helpers';
import {
  finishSignal,
  misbehaveSignal,
  saMisbehaver,
  saParent,
  saWatcher,
  seenQuery,
  upsertUpdate,
  type Misbehaviour,
  type SeenAttribute,
} from './fixtures/sa-type-workflows';
import { untilEvent } from './workflow-helpers';
import { replaysEveryRun } from './replay-all';

const WF = require.resolve('./fixtures/sa-type-workflows');
type IPayload = temporal.api.common.v1.IPayload;

// The dev server's defaults, plus a KeywordList registered with the launch flag (as the samples do through the
// OperatorService).
const Keyword = defineSearchAttributeKey('CustomKeywordField', 'KEYWORD');
const Text = defineSearchAttributeKey('CustomTextField', 'TEXT');
const Int = defineSearchAttributeKey('CustomIntField', 'INT');
const Double = defineSearchAttributeKey('CustomDoubleField', 'DOUBLE');
const Bool = defineSearchAttributeKey('CustomBoolField', 'BOOL');
const Datetime = defineSearchAttributeKey('CustomDatetimeField', 'DATETIME');
const KeywordList = defineSearchAttributeKey('CustomKeywordListField', 'KEYWORD_LIST');

const h = useHarness({ local: true, worker: { workflowsPath: WF }, searchAttributes: [KeywordList] });

const WHEN = new Date('2025-03-01T10:20:30.450Z');
const LATER = new Date('2025-04-02T00:00:00.000Z');

/** The name the server writes into `type` metadata for each SDK type. */
const METADATA_TYPE: Record<SearchAttributeType, string> = {
  TEXT: 'Text', KEYWORD: 'Keyword', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList',
};

type Expected = Array<[SearchAttributeKey<SearchAttributeType>, unknown]>;
const ALL: Expected = [
  [Keyword, 'model-a'],
  [Text, 'drift alert on churn'],
  [Int, 42],
  [Double, 0.75],
  [Bool, true],
  [Datetime, WHEN],
  [KeywordList, ['red', 'blue']],
];

const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

function untypedOf(expected: Expected): SearchAttributes {
  return Object.fromEntries(expected.map(([k, v]) => [k.name, Array.isArray(v) ? v : [v]])) as SearchAttributes;
}

function typedOf(expected: Expected): SearchAttributePair[] {
  return expected.map(([key, value]) => ({ key, value }) as SearchAttributePair);
}

function assertTyped(typed: TypedSearchAttributes, expected: Expected, where: string): void {
  assert.deepEqual(
    typed.getAll().map(({ key }) => `${key.name}:${key.type}`).sort(),
    expected.map(([k]) => `${k.name}:${k.type}`).sort(),
    `${where}: names and types`,
  );
  for (const [key, value] of expected) {
    const got = typed.get(key);
    if (value instanceof Date) {
      assert.ok(got instanceof Date, `${where}: ${key.name} is a Date (got ${JSON.stringify(got)})`);
      assert.equal(got.getTime(), value.getTime(), `${where}: ${key.name}`);
    } else {
      assert.deepEqual(got, value, `${where}: ${key.name}`);
    }
  }
}

function assertUntyped(sa: SearchAttributes, expected: Expected, where: string): void {
  assert.deepEqual(Object.keys(sa).sort(), expected.map(([k]) => k.name).sort(), `${where}: names`);
  for (const [key, value] of expected) {
    const got = sa[key.name] as unknown[];
    if (value instanceof Date) {
      assert.ok(got[0] instanceof Date, `${where}: ${key.name} is [Date] (got ${JSON.stringify(got)})`);
      assert.equal((got[0] as Date).getTime(), value.getTime(), `${where}: ${key.name}`);
    } else {
      assert.deepEqual(got, Array.isArray(value) ? value : [value], `${where}: ${key.name}`);
    }
  }
}

/** What workflow code saw (workflowInfo().typedSearchAttributes / .searchAttributes), as the query reports it. */
function assertSeen(seen: { typed: SeenAttribute[]; untyped: SeenAttribute[] }, expected: Expected, where: string): void {
  const byName = new Map(seen.typed.map((s) => [s.name, s]));
  assert.equal(seen.typed.length, expected.length, `${where}: ${JSON.stringify(seen.typed)}`);
  for (const [key, value] of expected) {
    const s = byName.get(key.name);
    assert.ok(s, `${where}: ${key.name} missing from typedSearchAttributes`);
    assert.equal(s.type, key.type, `${where}: ${key.name} type`);
    assert.equal(s.isDate, value instanceof Date, `${where}: ${key.name} isDate`);
    assert.deepEqual(s.value, value instanceof Date ? value.toISOString() : value, `${where}: ${key.name}`);
  }
  const dt = seen.untyped.find((s) => s.name === Datetime.name);
  if (expected.some(([k]) => k === Datetime)) assert.equal(dt?.isDate, true, `${where}: untyped Datetime is a Date`);
}

async function listOne(workflowId: string): Promise<WorkflowExecutionInfo> {
  const out: WorkflowExecutionInfo[] = [];
  for await (const e of h().env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) out.push(e);
  assert.equal(out.length, 1);
  return out[0];
}

/** Every search-attribute map the history holds (started and upsert events), by event type name. */
async function historyAttributes(handle: WorkflowHandle): Promise<Array<[string, Record<string, IPayload>]>> {
  const E = temporal.api.enums.v1.EventType;
  const events = (await handle.fetchHistory()).events ?? [];
  const out: Array<[string, Record<string, IPayload>]> = [];
  for (const e of events) {
    if (e.eventType === E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) {
      out.push(['started', (e.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields ?? {}) as Record<string, IPayload>]);
    } else if (e.eventType === E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) {
      out.push(['upsert', (e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}) as Record<string, IPayload>]);
    }
  }
  return out;
}

const TYPE_BY_NAME = new Map(ALL.map(([k]) => [k.name, METADATA_TYPE[k.type]]));

function assertLabelled(fields: Record<string, IPayload>, where: string): void {
  for (const [name, p] of Object.entries(fields)) {
    assert.equal(text(p.metadata?.type), TYPE_BY_NAME.get(name), `${where}: ${name} type metadata`);
  }
}

/** describe(), list() and workflow code all read the run's current `expected` with its types. */
async function assertCurrent(handle: WorkflowHandle, expected: Expected): Promise<void> {
  const d = await handle.describe();
  assertTyped(d.typedSearchAttributes, expected, 'describe');
  assertUntyped(d.searchAttributes, expected, 'describe');
  const listed = await listOne(handle.workflowId);
  assertTyped(listed.typedSearchAttributes, expected, 'list');
  assertUntyped(listed.searchAttributes, expected, 'list');
  assertSeen(await handle.query(seenQuery), expected, 'workflowInfo');
}

/** As assertCurrent, and the started event carries `expected` labelled with its types. */
async function assertReadBack(handle: WorkflowHandle, expected: Expected): Promise<void> {
  await assertCurrent(handle, expected);
  const [[, started]] = await historyAttributes(handle);
  assertLabelled(started, 'started event');
  assertTyped(decodeTypedSearchAttributes(started), expected, 'started event');
}

describe('search attributes read back with their registered types', { timeout: 90_000 }, () => {
  test('untyped searchAttributes at start: describe, list, the started event and workflowInfo give every type, Datetime as a Date', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start(saWatcher, { taskQueue, workflowId: nextId('sa-untyped'), searchAttributes: untypedOf(ALL) });
    await assertReadBack(handle, ALL);

    // Describe answers the payloads as the client sent them, typed; List answers the indexed values (a single
    // value unwrapped, Datetime in RFC 3339 with trailing zeros dropped), typed too; history keeps them as sent.
    const execution = { workflowId: handle.workflowId };
    const raw = await env.connection.workflowService.describeWorkflowExecution({ namespace: 'default', execution });
    const described = raw.workflowExecutionInfo!.searchAttributes!.indexedFields!;
    assert.equal(text(described.CustomDatetimeField.data), '["2025-03-01T10:20:30.450Z"]');
    assert.equal(text(described.CustomKeywordField.data), '["model-a"]');
    assertLabelled(described, 'raw describe');
    const rawList = await env.connection.workflowService.listWorkflowExecutions({ namespace: 'default', query: `WorkflowId = '${handle.workflowId}'` });
    const listed = rawList.executions[0].searchAttributes!.indexedFields!;
    assert.equal(text(listed.CustomDatetimeField.data), '"2025-03-01T10:20:30.45Z"');
    assert.equal(text(listed.CustomKeywordField.data), '"model-a"');
    assert.equal(text(listed.CustomKeywordListField.data), '["red","blue"]');
    assertLabelled(listed, 'raw list');
    const stored = (await env.connection.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution })).history!.events![0]
      .workflowExecutionStartedEventAttributes!.searchAttributes!.indexedFields!;
    assert.equal(text(stored.CustomIntField.data), '[42]');

    await handle.signal(finishSignal);
    assertSeen(await handle.result(), ALL, 'result');
    await assertReplays(handle, WF);
  });

  test('an eager start\'s first task carries the started event typed', async () => {
    const { env, nextId } = h();
    const workflowId = nextId('sa-eager');
    const untyped = (json: string) => ({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(json) });
    const res = await env.connection.workflowService.startWorkflowExecution({
      namespace: 'default',
      workflowId,
      workflowType: { name: 'saWatcher' },
      // No worker polls this queue: the task is the start response's only.
      taskQueue: { name: `${workflowId}-q` },
      requestId: `${workflowId}-start`,
      requestEagerExecution: true,
      searchAttributes: { indexedFields: { CustomDatetimeField: untyped('["2025-03-01T10:20:30.450Z"]'), CustomIntField: untyped('[42]') } },
    });
    const started = res.eagerWorkflowTask!.history!.events![0].workflowExecutionStartedEventAttributes!.searchAttributes!.indexedFields!;
    assertLabelled(started, 'eager task');
    assertTyped(decodeTypedSearchAttributes(started), [[Datetime, WHEN], [Int, 42]], 'eager task');
    await env.client.workflow.getHandle(workflowId).terminate('done');
  });

  test('typedSearchAttributes at start read back the same everywhere', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start(saWatcher, { taskQueue, workflowId: nextId('sa-typed'), typedSearchAttributes: typedOf(ALL) });
    await assertReadBack(handle, ALL);
    await handle.signal(finishSignal);
    await handle.result();
    // Closed runs read the same.
    assertTyped((await handle.describe()).typedSearchAttributes, ALL, 'describe after close');
    assertTyped((await listOne(handle.workflowId)).typedSearchAttributes, ALL, 'list after close');
    await assertReplays(handle, WF);
  });

  test('upserts from workflow code, untyped and typed, read back typed; the upsert events carry types too', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start(saWatcher, {
      taskQueue,
      workflowId: nextId('sa-upsert'),
      typedSearchAttributes: [{ key: Keyword, value: 'before' }, { key: Int, value: 1 }],
    });
    await handle.executeUpdate(upsertUpdate, {
      args: [{ untyped: { CustomDatetimeField: [LATER.toISOString()], CustomKeywordListField: ['x', 'y'], CustomKeywordField: ['after'] }, dates: ['CustomDatetimeField'] }],
    });
    await handle.executeUpdate(upsertUpdate, {
      args: [{ typed: [{ name: 'CustomDoubleField', type: 'DOUBLE', value: 2.5 }, { name: 'CustomBoolField', type: 'BOOL', value: false }, { name: 'CustomIntField', type: 'INT', value: null }] }],
    });
    const expected: Expected = [
      [Keyword, 'after'],
      [Datetime, LATER],
      [KeywordList, ['x', 'y']],
      [Double, 2.5],
      [Bool, false],
    ];
    await assertCurrent(handle, expected);

    const maps = await historyAttributes(handle);
    assert.deepEqual(maps.map(([kind]) => kind), ['started', 'upsert', 'upsert']);
    for (const [kind, fields] of maps) assertLabelled(fields, kind);
    assertTyped(decodeTypedSearchAttributes(maps[1][1]), [[Datetime, LATER], [KeywordList, ['x', 'y']], [Keyword, 'after']], 'untyped upsert event');
    // The removal keeps its null data; the type label is added all the same, as the real server does.
    assert.equal(text(maps[2][1].CustomIntField.data), 'null');
    await handle.signal(finishSignal);
    await handle.result();
    await assertReplays(handle, WF);
  });

  test('child-initiated and continued-as-new events carry types; the child and the next run read back typed', async () => {
    const { env, taskQueue, nextId } = h();
    const handle = await env.client.workflow.start(saParent, { taskQueue, workflowId: nextId('sa-parent'), args: [false] });
    assert.equal(await handle.result(), 'continued');
    const E = temporal.api.enums.v1.EventType;
    const first = (await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory()).events ?? [];
    const initiated = first.find((e) => e.eventType === E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)!;
    const childFields = initiated.startChildWorkflowExecutionInitiatedEventAttributes!.searchAttributes!.indexedFields! as Record<string, IPayload>;
    assertLabelled(childFields, 'child initiated');
    assertTyped(decodeTypedSearchAttributes(childFields), [[Int, 7], [Datetime, WHEN]], 'child initiated');
    const continued = first.find((e) => e.eventType === E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)!;
    const canFields = continued.workflowExecutionContinuedAsNewEventAttributes!.searchAttributes!.indexedFields! as Record<string, IPayload>;
    assertLabelled(canFields, 'continued as new');
    assertTyped(decodeTypedSearchAttributes(canFields), [[Int, 8], [Keyword, 'next']], 'continued as new');
    assertTyped((await env.client.workflow.getHandle(`${handle.workflowId}/child`).describe()).typedSearchAttributes, [[Int, 7], [Datetime, WHEN]], 'child describe');
    assertTyped((await handle.describe()).typedSearchAttributes, [[Int, 8], [Keyword, 'next']], 'next run describe');
  });

  test('schedules: describe() and list() type the schedule\'s attributes and its action\'s; the started workflow reads back typed', async () => {
    const { env, taskQueue, nextId } = h();
    const scheduleId = nextId('sa-schedule');
    const handle = await env.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1 day' }] },
      // Paused, so that only the trigger below starts a workflow.
      state: { paused: true },
      searchAttributes: { CustomKeywordField: ['nightly'], CustomDatetimeField: [WHEN] },
      action: {
        type: 'startWorkflow',
        workflowType: saWatcher,
        taskQueue,
        workflowId: `${scheduleId}-wf`,
        searchAttributes: { CustomIntField: [5], CustomDatetimeField: [LATER] },
      },
    });
    const own: Expected = [[Keyword, 'nightly'], [Datetime, WHEN]];
    const action: Expected = [[Int, 5], [Datetime, LATER]];
    const d = await handle.describe();
    assertTyped(d.typedSearchAttributes, own, 'describeSchedule');
    assertUntyped(d.searchAttributes, own, 'describeSchedule');
    assert.equal(d.action.type, 'startWorkflow');
    assertTyped(d.action.typedSearchAttributes as TypedSearchAttributes, action, 'describeSchedule action');
    const [summary] = await (async () => {
      const out = [];
      for await (const x of env.client.schedule.list()) if (x.scheduleId === scheduleId) out.push(x);
      return out;
    })();
    assertTyped(summary.typedSearchAttributes!, own, 'listSchedules');

    await handle.trigger();
    const workflowId = (await handle.describe()).info.recentActions[0].action.workflow.workflowId;
    const started = env.client.workflow.getHandle(workflowId);
    const sd = await started.describe();
    const scheduledBy = defineSearchAttributeKey('TemporalScheduledById', 'KEYWORD');
    assert.equal(sd.typedSearchAttributes.get(scheduledBy), scheduleId);
    assert.ok(sd.typedSearchAttributes.get(defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME')) instanceof Date);
    const seen = await started.query(seenQuery);
    const custom = (xs: SeenAttribute[]) => xs.filter((x) => !x.name.startsWith('Temporal'));
    assertSeen({ typed: custom(seen.typed), untyped: custom(seen.untyped) }, action, 'scheduled workflowInfo');
    await started.signal(finishSignal);
    await started.result();
    await handle.delete();
    await assertReplays(started, WF);
  });

  test('a start (plain, signal-with-start, update-with-start, schedule) naming an unregistered or a system attribute or a wrong value is INVALID_ARGUMENT naming it', async () => {
    const { env, taskQueue, nextId } = h();
    const cases: Array<[object, RegExp]> = [
      [{ searchAttributes: { NeverRegistered: ['x'] } }, /search attribute NeverRegistered is not defined/],
      [{ typedSearchAttributes: [{ key: defineSearchAttributeKey('AlsoUnknown', 'INT'), value: 1 }] }, /search attribute AlsoUnknown is not defined/],
      [{ searchAttributes: { WorkflowType: ['x'] } }, /WorkflowType attribute can't be set in SearchAttributes/],
      [{ searchAttributes: { CustomDatetimeField: ['not a time'] } }, /invalid value for search attribute CustomDatetimeField of type Datetime/],
    ];
    const rejected = (message: RegExp) => (e: Error & { cause?: Error & { code?: number } }) => {
      assert.equal(e.cause?.code ?? (e as { code?: number }).code, 3, String(e));
      assert.match(`${e.message} ${e.cause?.message ?? ''}`, message);
      return true;
    };
    for (const [opts, message] of cases) {
      await assert.rejects(env.client.workflow.start(saWatcher, { taskQueue, workflowId: nextId('sa-bad'), ...opts }), rejected(message));
      await assert.rejects(
        env.client.workflow.signalWithStart(saWatcher, { taskQueue, workflowId: nextId('sa-bad'), signal: finishSignal, ...opts }),
        rejected(message),
      );
    }
    // Update-with-start and schedules check them too.
    await assert.rejects(
      env.client.workflow.executeUpdateWithStart(upsertUpdate, {
        args: [{}],
        startWorkflowOperation: new WithStartWorkflowOperation(saWatcher, {
          taskQueue,
          workflowId: nextId('sa-bad'),
          workflowIdConflictPolicy: 'FAIL',
          searchAttributes: { NeverRegistered: ['x'] },
        }),
      }),
      rejected(/search attribute NeverRegistered is not defined/),
    );
    await assert.rejects(
      env.client.schedule.create({
        scheduleId: nextId('sa-bad-schedule'),
        spec: { intervals: [{ every: '1 day' }] },
        action: { type: 'startWorkflow', workflowType: saWatcher, taskQueue, searchAttributes: { CustomIntField: ['seven'] } },
      }),
      rejected(/invalid value for search attribute CustomIntField of type Int/),
    );
  });

  test('an upsert, continue-as-new or child start naming an unregistered attribute fails the workflow task with BAD_SEARCH_ATTRIBUTES naming it', async () => {
    const { env, taskQueue, nextId } = h();
    const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
    const expected: Record<Misbehaviour, RegExp> = {
      upsert: /^search attribute NeverRegistered is not defined$/,
      continueAsNew: /^invalid SearchAttributes on ContinueAsNewWorkflowExecutionCommand: search attribute NeverRegistered is not defined\. WorkflowType=saMisbehaver TaskQueue=/,
      child: /^invalid SearchAttributes on StartChildWorkflowCommand: search attribute NeverRegistered is not defined\. WorkflowId=.*\/child WorkflowType=saWatcher Namespace=default$/,
    };
    for (const how of Object.keys(expected) as Misbehaviour[]) {
      const handle = await env.client.workflow.start(saMisbehaver, { taskQueue, workflowId: nextId(`sa-bad-${how}`) });
      await handle.signal(misbehaveSignal, how);
      const evs = await untilEvent(handle, 'WORKFLOW_TASK_FAILED');
      const failed = evs.find((e) => e.workflowTaskFailedEventAttributes)!.workflowTaskFailedEventAttributes!;
      assert.equal(failed.cause, Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, how);
      assert.match(failed.failure?.message ?? '', expected[how], how);
      // Nothing of the command reached history, and the run is still open (its task retried).
      assert.ok(!evs.some((e) => e.upsertWorkflowSearchAttributesEventAttributes || e.startChildWorkflowExecutionInitiatedEventAttributes), how);
      assert.equal((await handle.describe()).status.name, 'RUNNING', how);
      await handle.terminate('done');
    }
  });
});

replaysEveryRun(h, WF);
