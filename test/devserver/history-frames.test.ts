import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventType, jsonPayload, long, methodDefinition, serviceMethods, timestamp, type IHistoryEvent } from '../../devserver/proto';

// Full-history responses reuse the frames built for the same run's earlier responses (kept on its first event).
// Every response must still decode to exactly what a plain protobuf encoding of the same message gives.

const WS = 'temporal.api.workflowservice.v1.WorkflowService';
const method = (name: string) => serviceMethods(WS).find((m) => m.name === name)!;
const poll = method('PollWorkflowTaskQueue');
const pollDef = methodDefinition(poll);
const history = method('GetWorkflowExecutionHistory');
const historyDef = methodDefinition(history);

let taskId = 0;
function event(id: number, signal: string, size = 10): IHistoryEvent {
  if (id === 1) {
    return {
      eventId: long(1),
      eventTime: timestamp(1_700_000_000_000),
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      taskId: long(++taskId),
      workflowExecutionStartedEventAttributes: { workflowType: { name: 'wf' }, taskQueue: { name: 'tq' } },
    };
  }
  return {
    eventId: long(id),
    eventTime: timestamp(1_700_000_000_000 + id),
    eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    taskId: long(++taskId),
    workflowExecutionSignaledEventAttributes: { signalName: signal, input: { payloads: [jsonPayload('x'.repeat(size))] } },
  };
}

/** The signal names of the events a serialized response carries, after checking it equals the plain encoding. */
function signalsOf(m: typeof poll, def: typeof pollDef, value: object): string[] {
  const bytes = def.responseSerialize(value) as Buffer;
  // Field order may differ (the history is written last), so compare what both decode to.
  const asObject = (b: Uint8Array) => m.responseType.toObject(m.responseType.decode(b), { longs: String, bytes: String, defaults: true });
  const plain = Buffer.from(m.responseType.encode(value).finish());
  assert.equal(bytes.length, plain.length);
  assert.deepEqual(asObject(bytes), asObject(plain));
  const decoded = m.responseType.toObject(m.responseType.decode(bytes)) as { history: { events: { eventId: string; workflowExecutionSignaledEventAttributes?: { signalName: string } }[] } };
  return decoded.history.events.map((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? 'start');
}

describe('full-history responses built from the frames of earlier responses', () => {
  test('a growing history encodes exactly as a plain encoding at every step, across buffer growth', () => {
    const events = [event(1, '')];
    for (let i = 2; i <= 300; i++) {
      // Sizes cross the one-, two- and three-byte varint boundaries and force the frame buffer to grow many times.
      events.push(event(i, `s${i}`, i % 50 === 0 ? 20_000 : i % 7 === 0 ? 200 : 5));
      if (i % 13 === 0 || i === 300) {
        const names = signalsOf(poll, pollDef, { taskToken: Buffer.from('t'), startedEventId: long(i), history: { events: events.slice() } });
        assert.equal(names.length, i);
        assert.equal(names[i - 1], `s${i}`);
      }
    }
  });

  test('a partial history (a sticky task\'s events, not from event 1) encodes exactly as a plain encoding', () => {
    const events = [event(1, '')];
    for (let i = 2; i <= 40; i++) events.push(event(i, `p${i}`, i % 9 === 0 ? 300 : 5));
    // Varied lengths: one-byte and two-byte frame lengths, and a single event.
    assert.deepEqual(signalsOf(poll, pollDef, { history: { events: events.slice(30) } }), events.slice(30).map((_, j) => `p${31 + j}`));
    assert.deepEqual(signalsOf(poll, pollDef, { history: { events: events.slice(17, 19) } }), ['p18', 'p19']);
    assert.deepEqual(signalsOf(poll, pollDef, { history: { events: [events[39]] } }), ['p40']);
  });

  test('transient events past the history are replaced by the real events of the next response', () => {
    const events = [event(1, ''), event(2, 'a'), event(3, 'b')];
    assert.deepEqual(signalsOf(poll, pollDef, { history: { events: events.slice() } }), ['start', 'a', 'b']);
    // A transient workflow task: two events that never enter the history.
    assert.deepEqual(signalsOf(poll, pollDef, { history: { events: [...events, event(4, 'transient-1'), event(5, 'transient-2')] } }), [
      'start',
      'a',
      'b',
      'transient-1',
      'transient-2',
    ]);
    events.push(event(4, 'real-4'), event(5, 'real-5'), event(6, 'real-6'));
    assert.deepEqual(signalsOf(poll, pollDef, { history: { events: events.slice() } }), ['start', 'a', 'b', 'real-4', 'real-5', 'real-6']);
  });

  test('a first history page is a prefix of the frames, and later pages and the next full history stay exact', () => {
    const events = [event(1, '')];
    for (let i = 2; i <= 40; i++) events.push(event(i, `s${i}`, 30));
    assert.equal(signalsOf(poll, pollDef, { history: { events: events.slice() } }).length, 40);
    const page1 = signalsOf(history, historyDef, { history: { events: events.slice(0, 10) }, nextPageToken: Buffer.from('11') });
    assert.deepEqual(page1, ['start', ...Array.from({ length: 9 }, (_, i) => `s${i + 2}`)]);
    const page2 = signalsOf(history, historyDef, { history: { events: events.slice(10, 20) }, nextPageToken: Buffer.from('21') });
    assert.deepEqual(page2, Array.from({ length: 10 }, (_, i) => `s${i + 11}`));
    events.push(event(41, 's41'));
    const full = signalsOf(poll, pollDef, { history: { events: events.slice() } });
    assert.equal(full.length, 41);
    assert.equal(full[40], 's41');
  });

  test('two runs never share frames', () => {
    const a = [event(1, ''), event(2, 'a2')];
    const b = [event(1, ''), event(2, 'b2'), event(3, 'b3')];
    assert.deepEqual(signalsOf(poll, pollDef, { history: { events: a.slice() } }), ['start', 'a2']);
    assert.deepEqual(signalsOf(poll, pollDef, { history: { events: b.slice() } }), ['start', 'b2', 'b3']);
    a.push(event(3, 'a3'));
    assert.deepEqual(signalsOf(poll, pollDef, { history: { events: a.slice() } }), ['start', 'a2', 'a3']);
  });
});
