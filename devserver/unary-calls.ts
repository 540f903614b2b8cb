/**
 * The server's unary call layer: gRPC unary calls to the methods in a route table are served straight off the http2
 * streams of the server grpc-js listens with. grpc-js keeps the rest: binding and listening, the HTTP/2 sessions
 * (settings, keepalive, shutdown), and every stream not in the table (unknown methods, non-gRPC content types), which
 * still reaches its own handler.
 *
 * Why: on the benchmark's sequential update round trip (three RPCs per update), grpc-js's per-call machinery (an
 * intercepting call object per RPC with its listener chain, metadata conversion, a stream decoder, deadline and
 * status bookkeeping) cost about a fifth of the server's CPU, and the server's share of the round trip's CPU stayed
 * above the 0.20 target (see bench/devserver/fanout-updates.ts). A unary call needs far less: read the request's one
 * length-prefixed message (inflating it when the client compressed it), answer with headers, one framed message and
 * the `grpc-status` trailers, or with a trailers-only error. That is all this file does, following the gRPC over
 * HTTP/2 protocol (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md) and answering as grpc-js does:
 *
 * - a `grpc-timeout` header sets a deadline; past it the call answers DEADLINE_EXCEEDED and its handler is cancelled;
 * - a stream closed or reset by the client before the answer cancels the handler (`CallContext.onCancel`);
 * - a compressed message (flag 1) is inflated per `grpc-encoding` (gzip or deflate; identity with the flag set is
 *   INTERNAL, others UNIMPLEMENTED); a message past the receive limit is RESOURCE_EXHAUSTED;
 * - a request without exactly one message is UNIMPLEMENTED with grpc-js's wording; a response past the send limit
 *   is RESOURCE_EXHAUSTED;
 * - errors carry `grpc-message` (URI-encoded) and their metadata (`grpc-status-details-bin`) in a trailers-only answer.
 *
 * `RETRAIN_DEVSERVER_CALLS=grpc-js` leaves every call to grpc-js, for comparison or diagnosis; the conformance tests
 * run a scenario over each layer (test/devserver/unary-calls.test.ts).
 */
import type * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import type { CallContext } from './engine';
import { Status } from './errors';
import { inflateMessage } from './grpc-decompress';

export interface ServiceErrorLike {
  code: number;
  details?: string;
  metadata?: grpc.Metadata | null;
}

/** What a route's handler gets: the cancellation hook and the one answer. */
export interface UnaryCallContext extends CallContext {
  answer(err: ServiceErrorLike | null, response?: unknown): void;
}

export interface UnaryRoute {
  /** Decodes the request message (never throws: undecodable bytes are the handler's concern). */
  decode(message: Buffer): unknown;
  /** Encodes the response as one gRPC frame (5-byte prefix included). */
  encodeFramed(response: unknown): Buffer;
  /** Runs the call; calls `call.answer` once. */
  invoke(request: unknown, call: UnaryCallContext): void;
}

const OK_HEADERS: http2.OutgoingHttpHeaders = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const OK_TRAILERS: http2.OutgoingHttpHeaders = { 'grpc-status': '0', 'grpc-message': 'OK' };
const WAIT_FOR_TRAILERS = { waitForTrailers: true };
const END_STREAM = { endStream: true };
const TIMEOUT = /^(\d{1,8})\s*([HMSmun])$/;
const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

const kCall = Symbol('unaryCall');
type Stream = http2.ServerHttp2Stream & { [kCall]?: UnaryCall };

/**
 * One call. The stream's listeners are module functions that find the call through a symbol on the stream, so a call
 * allocates no closures (tsx's keepNames would also wrap each named closure in a defineProperty call).
 */
class UnaryCall implements UnaryCallContext {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Answered (or expired, or cancelled): nothing more is sent. */
  private done = false;
  /** Cancelled (by the client, or the deadline): cancellation callbacks run, later ones at once. */
  private cancelled = false;
  private cancelCallbacks: Array<() => void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    private readonly route: UnaryRoute,
    private readonly maxMessageBytes: number,
  ) {}

  onCancel(cb: () => void): void {
    if (this.cancelled) cb();
    else if (!this.done) (this.cancelCallbacks ??= []).push(cb);
  }

  /** Arms the deadline of a `grpc-timeout` header, or answers INTERNAL when it does not parse. */
  setDeadline(timeout: string): void {
    const m = TIMEOUT.exec(timeout);
    if (m) this.timer = setTimeout(expire, Math.floor(+m[1] * UNIT_MS[m[2]]), this);
    else this.answer({ code: Status.INTERNAL, details: `Invalid grpc-timeout value "${timeout}"` });
  }

  received(chunk: Buffer): void {
    if (this.done) return;
    this.size += chunk.length;
    if (this.size - 5 > this.maxMessageBytes) {
      this.answer({ code: Status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${this.size - 5} vs. ${this.maxMessageBytes})` });
      return;
    }
    this.chunks.push(chunk);
  }

  /** The client half-closed: the request is complete. */
  ended(): void {
    if (this.done) return;
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    if (buf.length < 5) {
      this.answer({ code: Status.UNIMPLEMENTED, details: `received no request message` });
      return;
    }
    const length = buf.readUInt32BE(1);
    if (length !== buf.length - 5) {
      this.answer({
        code: length > buf.length - 5 ? Status.INTERNAL : Status.UNIMPLEMENTED,
        details: length > buf.length - 5 ? 'the request ended inside its message' : 'received a second request message for a unary call',
      });
      return;
    }
    let message = buf.subarray(5);
    const flag = buf[0];
    if (flag & 1) {
      const encoding = this.headers['grpc-encoding'] ?? 'identity';
      if (encoding !== 'gzip' && encoding !== 'deflate') {
        this.answer(
          encoding === 'identity'
            ? { code: Status.INTERNAL, details: 'Received compressed message but "grpc-encoding" header was identity' }
            : { code: Status.UNIMPLEMENTED, details: `Received message compressed with unsupported encoding "${encoding}"` },
        );
        return;
      }
      try {
        message = inflateMessage(message, encoding, this.maxMessageBytes);
      } catch (e) {
        this.answer(e as ServiceErrorLike);
        return;
      }
    } else if (flag !== 0) {
      this.answer({ code: Status.INTERNAL, details: `invalid message flag ${flag}` });
      return;
    }
    this.route.invoke(this.route.decode(message), this);
  }

  /** Past the deadline: answer DEADLINE_EXCEEDED and cancel the handler. */
  expired(): void {
    if (this.done) return;
    this.answer({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    this.cancel();
  }

  /** The stream closed. Before an answer, that is the client's cancellation (a reset, or the connection's end). */
  closed(): void {
    if (!this.done) {
      this.finish();
      this.cancel();
    }
  }

  private cancel(): void {
    this.cancelled = true;
    const cbs = this.cancelCallbacks;
    this.cancelCallbacks = undefined;
    if (cbs) for (const cb of cbs) cb();
  }

  private finish(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  answer(err: ServiceErrorLike | null, response?: unknown): void {
    if (this.done) return;
    this.finish();
    if (!err) this.cancelCallbacks = undefined;
    const stream = this.stream;
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    try {
      if (err) {
        sendError(stream, err);
        return;
      }
      let frame: Buffer;
      try {
        frame = this.route.encodeFramed(response);
      } catch {
        sendError(stream, { code: Status.INTERNAL, details: 'Error serializing response' });
        return;
      }
      if (frame.length - 5 > this.maxMessageBytes) {
        sendError(stream, { code: Status.RESOURCE_EXHAUSTED, details: `Sent message larger than max (${frame.length - 5} vs. ${this.maxMessageBytes})` });
        return;
      }
      stream.respond(OK_HEADERS, WAIT_FOR_TRAILERS);
      stream.on('wantTrailers', sendOkTrailers);
      stream.end(frame);
    } catch {
      // The session is going away (respond and end throw on a stream that closed under us): nothing to answer.
    }
  }
}

function sendError(stream: Stream, err: ServiceErrorLike): void {
  const headers: http2.OutgoingHttpHeaders = {
    ':status': 200,
    'content-type': 'application/grpc+proto',
    'grpc-status': String(err.code),
    'grpc-message': encodeURI(err.details ?? ''),
  };
  if (err.metadata) Object.assign(headers, err.metadata.toHttp2Headers());
  stream.respond(headers, END_STREAM);
}

function sendOkTrailers(this: Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

function onData(this: Stream, chunk: Buffer): void {
  this[kCall]!.received(chunk);
}

function onEnd(this: Stream): void {
  this[kCall]!.ended();
}

function onClose(this: Stream): void {
  this[kCall]!.closed();
}

function expire(call: UnaryCall): void {
  call.expired();
}

/** Stream errors (a reset, a session torn down) always come with a close, which is what a call acts on. */
function ignore(): void {}

type StreamListener = (stream: Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

/** grpc-js's stream listeners this layer stands in front of, per server, to put back (`stopServingUnaryCalls`). */
const replaced = new WeakMap<grpc.Server, Array<[http2.Http2Server, StreamListener]>>();

/** Hands every stream of `server` back to grpc-js (the start-up self-test's fallback); calls already started finish. */
export function stopServingUnaryCalls(server: grpc.Server): void {
  for (const [h2, grpcJs] of replaced.get(server) ?? []) {
    h2.removeAllListeners('stream');
    h2.on('stream', grpcJs);
  }
  replaced.delete(server);
}

/**
 * Serves the unary calls of `routes` (by path) on every http2 server the grpc-js `server` listens with (call after
 * binding), in front of grpc-js's own stream handler, which keeps everything else. Returns false, changing nothing,
 * when this grpc-js's internals are not the expected ones (then grpc-js serves every call).
 */
export function serveUnaryCalls(server: grpc.Server, routes: ReadonlyMap<string, UnaryRoute>, maxMessageBytes: number): boolean {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) return false;
  const h2s = [...servers.keys()] as http2.Http2Server[];
  if (!h2s.every((h2) => typeof h2?.listeners === 'function' && h2.listeners('stream').length === 1)) return false;
  const pairs: Array<[http2.Http2Server, StreamListener]> = [];
  replaced.set(server, pairs);
  for (const h2 of h2s) {
    const grpcJs = h2.listeners('stream')[0] as StreamListener;
    pairs.push([h2, grpcJs]);
    h2.removeAllListeners('stream');
    h2.on('stream', (stream: Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      const route = routes.get(headers[':path'] as string);
      const contentType = headers['content-type'];
      // grpc-js answers the rest: unknown methods (UNIMPLEMENTED) and requests that are not gRPC (415).
      if (route === undefined || contentType === undefined || !contentType.startsWith('application/grpc')) {
        grpcJs(stream, headers, flags, rawHeaders);
        return;
      }
      const call = new UnaryCall(stream, headers, route, maxMessageBytes);
      stream[kCall] = call;
      stream.on('error', ignore);
      stream.on('close', onClose);
      // Read to the end even after an early answer, so that the stream closes and is released.
      stream.on('data', onData);
      stream.on('end', onEnd);
      const timeout = headers['grpc-timeout'];
      if (timeout !== undefined) call.setDeadline(String(timeout));
    });
  }
  return true;
}
