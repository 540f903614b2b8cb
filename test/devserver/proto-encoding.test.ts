import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventType, encodeHistoryEvent, encodedEvent, eventSize, jsonPayload, long, methodDefinition, serviceMethods, temporal, timestamp, type IHistoryEvent } from '../../devserver/proto';

const WS = 'temporal.api.workflowservice.v1.WorkflowService';
const method = (name: string) => serviceMethods(WS).find((m) => m.name === name)!;

function event(id: number, type: number, attrs: Record<string, unknown>): IHistoryEvent {
  return { eventId: long(id), eventTime: timestamp(1_700_000_000_000 + id), eventType: type, taskId: long(1000 + id), ...attrs };
}

/** Events of growing size, so event lengths need one-, two- and three-byte varints. */
function history(): IHistoryEvent[] {
  return [
    event(1, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, {
      workflowExecutionStartedEventAttributes: { workflowType: { name: 'wf' }, taskQueue: { name: 'tq' }, input: { payloads: [jsonPayload('x')] } },
    }),
    event(2, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, { workflowTaskScheduledEventAttributes: { taskQueue: { name: 'tq' }, attempt: 1 } }),
    event(3, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, {
      workflowExecutionSignaledEventAttributes: { signalName: 's', input: { payloads: [jsonPayload('y'.repeat(300))] } },
    }),
    event(4, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, {
      workflowExecutionSignaledEventAttributes: { signalName: 'big', input: { payloads: [jsonPayload('z'.repeat(20_000))] } },
    }),
  ];
}

function plainAndSpliced(name: string, value: object) {
  const m = method(name);
  const plain = Buffer.from(m.responseType.encode(value).finish());
  const spliced = methodDefinition(m).responseSerialize(value);
  return { m, plain, spliced };
}

describe('response encoding with cached history events', () => {
  test('a workflow task poll response decodes to the same message as a plain encoding', () => {
    const value = {
      taskToken: Buffer.from('token'),
      workflowExecution: { workflowId: 'w', runId: 'r' },
      workflowType: { name: 'wf' },
      previousStartedEventId: long(0),
      startedEventId: long(3),
      attempt: 1,
      history: { events: history() },
      scheduledTime: timestamp(1_700_000_000_000),
    };
    const { m, plain, spliced } = plainAndSpliced('PollWorkflowTaskQueue', value);
    assert.equal(spliced.length, plain.length);
    const a = m.responseType.toObject(m.responseType.decode(plain), { longs: String, bytes: String });
    const b = m.responseType.toObject(m.responseType.decode(spliced), { longs: String, bytes: String });
    assert.deepEqual(b, a);
    assert.equal((b.history.events as unknown[]).length, 4);
    assert.equal(b.history.events[3].workflowExecutionSignaledEventAttributes.signalName, 'big');
  });

  test('history pages with an empty event list or a next-page token keep every field', () => {
    for (const value of [
      { history: { events: [] } , nextPageToken: Buffer.from('close') },
      { history: { events: history().slice(0, 2) }, nextPageToken: Buffer.from('3') },
      {},
    ]) {
      const { m, plain, spliced } = plainAndSpliced('GetWorkflowExecutionHistory', value);
      assert.deepEqual(
        m.responseType.toObject(m.responseType.decode(spliced), { longs: String, bytes: String, defaults: true }),
        m.responseType.toObject(m.responseType.decode(plain), { longs: String, bytes: String, defaults: true }),
      );
    }
  });

  test('workflow task and history responses carry the cached bytes of each event', () => {
    const events = history();
    const cached = encodedEvent(events[3]);
    // Alter the cached bytes of the signal name ('big' -> 'bog'): a response built from the cache shows it.
    const at = Buffer.from(cached).indexOf('big');
    assert.ok(at > 0);
    cached[at + 1] = 'o'.charCodeAt(0);
    for (const name of ['PollWorkflowTaskQueue', 'GetWorkflowExecutionHistory']) {
      const m = method(name);
      const bytes = methodDefinition(m).responseSerialize({ history: { events } });
      const decoded = m.responseType.toObject(m.responseType.decode(bytes));
      assert.equal(decoded.history.events[3].workflowExecutionSignaledEventAttributes.signalName, 'bog', name);
    }
  });

  test('an event is encoded once and its size is its cached encoding length', () => {
    const e = history()[3];
    const first = encodedEvent(e);
    assert.equal(encodedEvent(e), first);
    assert.equal(eventSize(e), temporal.api.history.v1.HistoryEvent.encode(e).finish().length);
    assert.ok(eventSize(e) > 20_000);
  });

  test('a modified copy of an event is encoded afresh, not with the original bytes', () => {
    const e = history()[1];
    const original = encodedEvent(e);
    const copy = { ...e, eventId: long(99) };
    const decoded = temporal.api.history.v1.HistoryEvent.decode(encodedEvent(copy));
    assert.equal(Number(decoded.eventId), 99);
    assert.notEqual(encodedEvent(copy), original);
    assert.deepEqual(Object.keys(e), Object.keys(copy));
    assert.equal(JSON.stringify(e).includes('encoded'), false);
  });
});

describe('the history event encoder', () => {
  const generic = (e: IHistoryEvent) => Buffer.from(temporal.api.history.v1.HistoryEvent.encode(e).finish());

  test('writes the same bytes as protobufjs for events with every kind of envelope value', () => {
    const events: IHistoryEvent[] = [
      ...history(),
      // Zero values are omitted on the wire; an empty timestamp is still present.
      { eventId: long(0), eventTime: { seconds: long(0), nanos: 0 }, eventType: 0, taskId: long(0) },
      { eventId: long(1), eventTime: {}, eventType: EventType.EVENT_TYPE_TIMER_FIRED, timerFiredEventAttributes: { timerId: 't', startedEventId: long(7) } },
      { eventId: long(2 ** 40), eventTime: timestamp(4_102_444_800_123), eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, taskId: long(2 ** 52 + 3) },
      { eventId: long(3), eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, workflowTaskCompletedEventAttributes: {} },
    ];
    for (const e of events) assert.deepEqual(Buffer.from(encodeHistoryEvent(e)), generic(e), JSON.stringify(e));
  });

  test('shapes outside the fast path (Long values, two attribute fields, other fields) take the generic encoder', () => {
    const Long = temporal.api.history.v1.HistoryEvent.decode(generic({ eventId: long(5) })).eventId!.constructor as unknown as {
      fromNumber(n: number): unknown;
    };
    const odd: IHistoryEvent[] = [
      { eventId: Long.fromNumber(5) as never, eventType: EventType.EVENT_TYPE_TIMER_FIRED, timerFiredEventAttributes: { timerId: 't' } },
      { eventId: long(6), timerFiredEventAttributes: { timerId: 'a' }, timerCanceledEventAttributes: { timerId: 'b' } },
      { eventId: long(7), eventType: EventType.EVENT_TYPE_TIMER_FIRED, version: long(3), workerMayIgnore: true },
      { eventId: long(-1) },
    ];
    for (const e of odd) assert.deepEqual(Buffer.from(encodeHistoryEvent(e)), generic(e), String(e.eventId));
  });
});
