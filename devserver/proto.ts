/**
 * Protocol plumbing for the embedded server: gRPC service definitions built from the reflection root that ships in
 * `@temporalio/proto` (no protoc step), and small converters between protobuf's wire shapes (Long, Timestamp,
 * Duration, Payload) and the plain numbers the server keeps in memory.
 */
import type * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { temporal, google, grpc as grpcProto } from '@temporalio/proto';
import type Long from 'long';
// The reflection root (a protobufjs Root); the typed namespaces above come from the same object.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const root: protobuf.Root = require('@temporalio/proto/protos/root');

export { temporal, google, grpcProto as grpc, root };

export const enums = temporal.api.enums.v1;
export const EventType = enums.EventType;
export type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;
export type IPayload = temporal.api.common.v1.IPayload;
export type IPayloads = temporal.api.common.v1.IPayloads;
export type IFailure = temporal.api.failure.v1.IFailure;

/** Marks a request whose bytes did not decode, so the handler can answer INVALID_ARGUMENT instead of crashing. */
export interface UndecodableRequest {
  readonly __undecodable: string;
}

export function isUndecodable(x: unknown): x is UndecodableRequest {
  return typeof x === 'object' && x !== null && '__undecodable' in x;
}

export interface MethodInfo {
  readonly name: string;
  readonly path: string;
  readonly requestType: protobuf.Type;
  readonly responseType: protobuf.Type;
  readonly responseStream: boolean;
}

/** Every method of a service in the reflection root, with its resolved message types. */
export function serviceMethods(fullName: string): MethodInfo[] {
  const service = root.lookupService(fullName);
  service.resolveAll();
  return Object.values(service.methods).map((m) => ({
    name: m.name,
    path: `/${fullName}/${m.name}`,
    requestType: m.resolvedRequestType as protobuf.Type,
    responseType: m.resolvedResponseType as protobuf.Type,
    responseStream: !!m.responseStream,
  }));
}

/**
 * A grpc-js definition for one method; encoding accepts plain objects shaped like the message (no fromObject).
 * Responses with a `history` field (workflow task polls, history reads) splice each event's cached encoding
 * (`encodedEvent`) instead of encoding the whole history again on every workflow task.
 */
export function methodDefinition(m: MethodInfo): grpc.MethodDefinition<unknown, unknown> {
  const splice = historyFieldId(m);
  return {
    path: m.path,
    requestStream: false,
    responseStream: m.responseStream,
    requestSerialize: (value: unknown) => Buffer.from(m.requestType.encode(value as protobuf.Message).finish()),
    requestDeserialize: (buf: Buffer) => m.requestType.decode(buf),
    responseSerialize: (value: unknown) =>
      Buffer.isBuffer(value)
        ? value
        : splice
          ? encodeWithHistory(m.responseType, splice, value as { history?: { events?: IHistoryEvent[] | null } | null }, 0)
          : Buffer.from(m.responseType.encode(value as protobuf.Message).finish()),
    responseDeserialize: (buf: Buffer) => m.responseType.decode(buf),
  } as grpc.MethodDefinition<unknown, unknown>;
}

/**
 * A response encoder for the server's own call layer (unary-calls.ts): the message as one gRPC length-prefixed frame
 * (flag byte 0, then the length as 4 bytes big-endian), written in one buffer.
 */
export function framedResponseEncoder(m: MethodInfo): (value: unknown) => Buffer {
  const splice = historyFieldId(m);
  const type = m.responseType;
  return (value) => {
    if (splice) return frameHeader(encodeWithHistory(type, splice, value as { history?: { events?: IHistoryEvent[] | null } | null }, 5));
    const body = type.encode(value as protobuf.Message).finish();
    const out = Buffer.allocUnsafe(body.length + 5);
    out.set(body, 5);
    return frameHeader(out);
  };
}

/** Writes the gRPC frame header into the first 5 bytes of `out` (an uncompressed message of the rest). */
function frameHeader(out: Buffer): Buffer {
  out[0] = 0;
  out.writeUInt32BE(out.length - 5, 1);
  return out;
}

/** The field number of a response's `History history` field, if it has one (0 otherwise). */
function historyFieldId(m: MethodInfo): number {
  const historyField = m.responseType.fields.history;
  // Field types resolve lazily (on first encode), so resolve this one now.
  return historyField?.resolve().resolvedType?.fullName === '.temporal.api.history.v1.History' ? historyField.id : 0;
}

/**
 * Encodes a message whose History field (number `fieldId`) is written from the events' cached encodings, after
 * `headroom` bytes left for the caller.
 */
function encodeWithHistory(type: protobuf.Type, fieldId: number, value: { history?: { events?: IHistoryEvent[] | null } | null }, headroom: number): Buffer {
  const events = value?.history?.events;
  if (!Array.isArray(events)) return withHeadroom(type.encode(value as protobuf.Message).finish(), headroom);
  const rest = type.encode({ ...value, history: undefined } as unknown as protobuf.Message).finish();
  const body = historyBody(events);
  const tag = (fieldId << 3) | 2;
  const out = Buffer.allocUnsafe(headroom + rest.length + varintSize(tag) + varintSize(body.length) + body.length);
  out.set(rest, headroom);
  let o = writeVarint(out, headroom + rest.length, tag);
  o = writeVarint(out, o, body.length);
  out.set(body, o);
  return out;
}

function withHeadroom(bytes: Uint8Array, headroom: number): Buffer {
  if (headroom === 0) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = Buffer.allocUnsafe(headroom + bytes.length);
  out.set(bytes, headroom);
  return out;
}

/** A run's framed history so far: the events framed (in order) and the end offset of each frame in `buf`. */
interface FramedHistory {
  events: IHistoryEvent[];
  ends: number[];
  buf: Buffer;
}

/** Where a run's first event (eventId 1) keeps the framed history of its run, a non-enumerable symbol property. */
const FRAMED = Symbol('framed');

/**
 * The body of a History message (`repeated HistoryEvent events = 1`: each event is tag 0x0a, its length, its bytes).
 * A full history (from eventId 1) reuses the frames built for earlier responses of the same run, kept on its first
 * event: histories only grow, so each workflow task frames only the events added since the last one, instead of
 * walking every event of a long history again (a workflow answering thousands of updates). Frames past the common
 * prefix (a transient workflow task's events, which never enter the history) are dropped and rebuilt.
 */
function historyBody(events: IHistoryEvent[]): Uint8Array {
  const first = events[0] as (IHistoryEvent & { [FRAMED]?: FramedHistory }) | undefined;
  if (!first || num(first.eventId as LongLike) !== 1) return frameOnce(events);
  let f = first[FRAMED];
  if (!f) {
    f = { events: [], ends: [], buf: Buffer.alloc(0) };
    Object.defineProperty(first, FRAMED, { value: f });
  }
  const n = Math.min(f.events.length, events.length);
  let p = 0;
  while (p < n && f.events[p] === events[p]) p++;
  // A first page of a longer history is a prefix: keep the frames past it for the next workflow task.
  if (p === events.length) return f.buf.subarray(0, p ? f.ends[p - 1] : 0);
  f.events.length = p;
  f.ends.length = p;
  return frame(f, events, p);
}

/**
 * The frames of a partial history (a sticky worker's events since its last task), which no later response extends:
 * written once into a buffer of the exact size, without the growing cache buffer of a full history.
 */
function frameOnce(events: IHistoryEvent[]): Uint8Array {
  let size = 0;
  for (let i = 0; i < events.length; i++) {
    const n = encodedEvent(events[i]).length;
    size += 1 + varintSize(n) + n;
  }
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  for (let i = 0; i < events.length; i++) {
    const bytes = encodedEvent(events[i]);
    out[o++] = 0x0a;
    o = writeVarint(out, o, bytes.length);
    out.set(bytes, o);
    o += bytes.length;
  }
  return out;
}

/** Appends the frames of `events[from..]` to `f` (whose first `from` frames are kept); returns the frames of `events`. */
function frame(f: FramedHistory, events: IHistoryEvent[], from: number): Uint8Array {
  let len = from ? f.ends[from - 1] : 0;
  for (let i = from; i < events.length; i++) {
    const bytes = encodedEvent(events[i]);
    const need = len + 1 + varintSize(bytes.length) + bytes.length;
    if (need > f.buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, 2 * f.buf.length, 256));
      grown.set(f.buf.subarray(0, len), 0);
      f.buf = grown;
    }
    f.buf[len++] = 0x0a;
    len = writeVarint(f.buf, len, bytes.length);
    f.buf.set(bytes, len);
    len += bytes.length;
    f.events.push(events[i]);
    f.ends.push(len);
  }
  return f.buf.subarray(0, len);
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, offset: number, n: number): number {
  while (n >= 0x80) {
    buf[offset++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[offset++] = n;
  return offset;
}

/** Server-side definition whose request decoder never throws: malformed bytes become an UndecodableRequest. */
export function serverMethodDefinition(m: MethodInfo): grpc.MethodDefinition<unknown, unknown> {
  const def = methodDefinition(m);
  return {
    ...def,
    requestDeserialize: (buf: Buffer) => {
      try {
        return m.requestType.decode(buf);
      } catch (e) {
        return { __undecodable: `${m.requestType.name}: ${(e as Error).message}` } satisfies UndecodableRequest;
      }
    },
  };
}

type LongLike = number | { toNumber(): number } | null | undefined;

/** An int64 from a decoded message (a Long) or a number, as a JS number. */
export function num(x: LongLike): number {
  if (x == null) return 0;
  return typeof x === 'number' ? x : x.toNumber();
}

export interface TimestampLike {
  seconds?: LongLike;
  nanos?: number | null;
}

/** An int64 field value: protobufjs encodes plain numbers, though its typings ask for Long. */
export function long(n: number): Long {
  return n as unknown as Long;
}

export function timestamp(ms: number): google.protobuf.ITimestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds: long(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function timestampMs(t: TimestampLike | null | undefined): number | undefined {
  if (t == null) return undefined;
  return num(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/** A Duration as milliseconds; undefined when absent. */
export function durationMs(d: TimestampLike | null | undefined): number | undefined {
  if (d == null) return undefined;
  return num(d.seconds) * 1000 + (d.nanos ?? 0) / 1e6;
}

export function duration(ms: number): google.protobuf.IDuration {
  const seconds = Math.floor(ms / 1000);
  return { seconds: long(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

const utf8 = new TextEncoder();

/** A json/plain payload, the encoding the SDK's default data converter reads. */
export function jsonPayload(value: unknown): IPayload {
  return {
    metadata: { encoding: utf8.encode('json/plain') },
    data: utf8.encode(JSON.stringify(value)),
  };
}

/**
 * Where an event object keeps its encoding: a non-enumerable symbol property, which encoders, JSON, Object.keys and
 * object spreads ignore (so a modified copy of an event never inherits stale bytes). Cheaper for the garbage
 * collector than a WeakMap holding every event of every run.
 */
const ENCODED = Symbol('encoded');

/**
 * A history event's wire encoding, computed once per event object and cached on it: events are never modified
 * after they are written (WorkflowRun creates a new object for every event), so the bytes stay valid.
 */
export function encodedEvent(e: IHistoryEvent): Uint8Array {
  const cached = e as IHistoryEvent & { [ENCODED]?: Uint8Array };
  let bytes = cached[ENCODED];
  if (!bytes) {
    bytes = encodeHistoryEvent(e);
    Object.defineProperty(cached, ENCODED, { value: bytes });
  }
  return bytes;
}

const HistoryEventType = root.lookupType('temporal.api.history.v1.HistoryEvent');
HistoryEventType.resolveAll();
/** Each `…EventAttributes` field of HistoryEvent: its tag byte(s) and its message type. */
const ATTRIBUTE_FIELDS = new Map<string, { tag: Buffer; type: protobuf.Type }>(
  Object.values(HistoryEventType.fields)
    .filter((f) => f.name.endsWith('EventAttributes') && f.resolvedType)
    .map((f) => {
      const tag = Buffer.alloc(varintSize((f.id << 3) | 2));
      writeVarint(tag, 0, (f.id << 3) | 2);
      return [f.name, { tag, type: f.resolvedType as protobuf.Type }];
    }),
);
const ENVELOPE_FIELDS = new Set(['eventId', 'eventTime', 'eventType', 'taskId']);

/**
 * Encodes a history event. protobufjs's generated HistoryEvent encoder tests all of its ~60 fields and costs about
 * 25 µs an event (V8 leaves the 15 KB function unoptimised), which made event encoding a tenth of the server's CPU.
 * The events this server writes have the envelope (id, time, type, task id) and one attributes message, so the
 * envelope is written here and only the attributes go through protobufjs (about 1 µs); any other shape takes the
 * generic encoder. Either way the bytes are the same (test/devserver/proto-encoding.test.ts). The fast path writes into
 * `eventBytes` slabs, never into protobufjs's pooled buffers, whose other users would then be kept alive with the event.
 */
export function encodeHistoryEvent(e: IHistoryEvent): Uint8Array {
  let attrsField: { tag: Buffer; type: protobuf.Type } | undefined;
  let attrs: object | undefined;
  for (const k in e) {
    const v = (e as Record<string, unknown>)[k];
    if (v == null || ENVELOPE_FIELDS.has(k)) continue;
    const f = ATTRIBUTE_FIELDS.get(k);
    if (!f || attrsField || typeof v !== 'object') return encodeGeneric(e);
    attrsField = f;
    attrs = v;
  }
  const id = e.eventId as unknown;
  const taskId = e.taskId as unknown;
  const type = e.eventType as unknown;
  const seconds = e.eventTime?.seconds as unknown;
  const nanos = e.eventTime?.nanos ?? 0;
  if (
    !isUint(id ?? 0) ||
    !isUint(taskId ?? 0) ||
    !isUint(type ?? 0) ||
    !isUint(seconds ?? 0) ||
    !isUint(nanos) ||
    (e.eventTime != null && typeof e.eventTime !== 'object')
  ) {
    return encodeGeneric(e);
  }
  const body = attrsField ? attrsField.type.encode(attrs as protobuf.Message).finish() : undefined;
  const timeLen = e.eventTime ? uintFieldSize(seconds as number) + uintFieldSize(nanos) : -1;
  const size =
    uintFieldSize(id as number) +
    (timeLen >= 0 ? 2 + timeLen : 0) +
    uintFieldSize(type as number) +
    uintFieldSize(taskId as number) +
    (body ? attrsField!.tag.length + varintSize(body.length) + body.length : 0);
  const out = eventBytes(size);
  // Field tags: eventId 1, eventTime 2 (Timestamp: seconds 1, nanos 2), eventType 3, taskId 5; all varints but the time.
  let o = writeUintField(out, 0, 0x08, id as number);
  if (timeLen >= 0) {
    out[o++] = 0x12;
    out[o++] = timeLen;
    o = writeUintField(out, o, 0x08, seconds as number);
    o = writeUintField(out, o, 0x10, nanos);
  }
  o = writeUintField(out, o, 0x18, type as number);
  o = writeUintField(out, o, 0x28, taskId as number);
  if (body) {
    out.set(attrsField!.tag, o);
    o += attrsField!.tag.length;
    o = writeVarint(out, o, body.length);
    out.set(body, o);
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Memory for event encodings, carved from 64 KB slabs: a separate allocation per event cost more than encoding the
 * envelope. Events are kept as long as the server runs (it deletes no history), so a slab pinned by its events
 * wastes nothing; large events get their own buffer.
 */
const SLAB_BYTES = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

function eventBytes(n: number): Buffer {
  if (n > SLAB_BYTES / 16) return Buffer.allocUnsafeSlow(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const b = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return b;
}

/** protobufjs's own HistoryEvent encoder, for shapes the fast path does not take; a copy out of its pooled buffer. */
function encodeGeneric(e: IHistoryEvent): Uint8Array {
  return new Uint8Array(HistoryEventType.encode(e).finish());
}

/** Bytes of a one-byte-tag varint field; zero (proto3's default) is not written. */
function uintFieldSize(n: number): number {
  return n ? 1 + varintSize(n) : 0;
}

/** Writes a one-byte-tag varint field unless it is zero; returns the next offset. */
function writeUintField(out: Buffer, offset: number, tag: number, n: number): number {
  if (!n) return offset;
  out[offset] = tag;
  return writeVarint(out, offset + 1, n);
}

/** A non-negative safe integer (a plain number: Long values take the generic encoder). */
function isUint(x: unknown): boolean {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Decodes a history event read back from the journal, keeping a copy of its bytes as its cached encoding (the bytes
 * are what was written, so answers after a restart carry exactly the events served before it).
 */
export function decodeHistoryEvent(bytes: Uint8Array): IHistoryEvent {
  const e = HistoryEventType.decode(bytes) as unknown as IHistoryEvent;
  const copy = eventBytes(bytes.length);
  copy.set(bytes);
  Object.defineProperty(e, ENCODED, { value: new Uint8Array(copy.buffer, copy.byteOffset, copy.length) });
  return e;
}

/** The byte length of a history event on the wire, for `historySizeBytes`. */
export function eventSize(e: IHistoryEvent): number {
  return encodedEvent(e).length;
}
