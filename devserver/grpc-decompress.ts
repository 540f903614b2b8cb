/**
 * Cheaper decompression of gzip-compressed requests. The SDK worker (tonic, in core-bridge) gzips every request by
 * default, and @grpc/grpc-js (1.14) inflates each message through a new zlib stream: about 0.2 ms of CPU per
 * message, which made it the server's largest cost in `npm run bench:devserver` (over a third of its CPU). Small
 * messages are inflated here with one synchronous zlib call instead (about a tenth of the cost); messages over
 * SYNC_LIMIT_BYTES compressed, and any grpc-js whose internals differ, keep grpc-js's own path. Errors map to the
 * same statuses grpc-js gives (INTERNAL, or RESOURCE_EXHAUSTED past the receive limit).
 *
 * The server's own call layer (unary-calls.ts) inflates with `inflateMessage`; the patch serves calls left to
 * grpc-js (RETRAIN_DEVSERVER_CALLS=grpc-js).
 */
import * as zlib from 'node:zlib';
import { Status } from './errors';

const SYNC_LIMIT_BYTES = 256 * 1024;
// Read once: through tsx's namespace-import interop, every `zlib.constants` read is a getter call.
const Z_FINISH = zlib.constants.Z_FINISH;

type Decompress = (this: { maxReceiveMessageSize: number }, message: Buffer, encoding: string) => Promise<Buffer> | Buffer;

let installed = false;
/** grpc-js's own decompressMessage, kept to put back (`uninstallFastRequestDecompression`). */
let originalDecompress: { proto: { decompressMessage?: Decompress }; fn: Decompress } | undefined;
/** Whether the reused inflater is used; the start-up self-test (self-test.ts) turns it off when it misbehaves. */
let reuseInflater = true;

/** Makes `inflateMessage` use node's public zlib.gunzipSync / inflateSync (true) or the reused inflater again (false). */
export function usePublicInflater(on: boolean): void {
  reuseInflater = !on;
}

/** The native handle inside a node:zlib stream object (node 18 to 22): synchronous writes and reset. */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  reset(): void;
  onerror: (message: string, errno: number) => void;
}

/**
 * One inflater reused for every message. `zlib.gunzipSync` builds a whole zlib stream (native state, a 16 KB output
 * buffer, stream bookkeeping) per call, which cost more than the inflating; the native handle inside one such
 * stream is reset and driven directly instead, as node's own synchronous path drives it. `run` returns undefined
 * when this node's zlib internals are not the expected ones (the caller then uses zlib.gunzipSync), and throws on
 * corrupt data or output past `max` (ERR_BUFFER_TOO_LARGE, as zlib does).
 */
class ReusedInflater {
  private handle: ZlibHandle | null | undefined;
  private state!: Uint32Array;
  private error: string | undefined;
  private readonly out = Buffer.allocUnsafeSlow(64 * 1024);

  constructor(private readonly create: () => zlib.Gunzip | zlib.Inflate) {}

  private init(): ZlibHandle | null {
    const stream = this.create() as unknown as { _handle?: ZlibHandle; _writeState?: Uint32Array };
    const h = stream._handle;
    if (!h || typeof h.writeSync !== 'function' || typeof h.reset !== 'function' || !(stream._writeState instanceof Uint32Array)) return null;
    this.state = stream._writeState;
    // Errors arrive synchronously through the handle's onerror; the stream object itself is never used.
    h.onerror = (message) => {
      this.error = message;
    };
    return h;
  }

  run(input: Buffer, max: number): Buffer | undefined {
    if (this.handle === undefined) this.handle = this.init();
    const h = this.handle;
    if (!h) return undefined;
    h.reset();
    this.error = undefined;
    const out = this.out;
    const chunks: Buffer[] = [];
    let total = 0;
    let inOff = 0;
    let availIn = input.length;
    for (;;) {
      h.writeSync(Z_FINISH, input, inOff, availIn, out, 0, out.length);
      if (this.error !== undefined) throw new Error(this.error);
      const availOut = this.state[0];
      const availInAfter = this.state[1];
      const produced = out.length - availOut;
      total += produced;
      if (total > max) throw Object.assign(new Error('output past the receive limit'), { code: 'ERR_BUFFER_TOO_LARGE' });
      if (produced) chunks.push(Buffer.from(out.subarray(0, produced)));
      inOff += availIn - availInAfter;
      availIn = availInAfter;
      // A full output buffer means more may follow; otherwise the stream ended (or the input is used up).
      if (availOut !== 0 || availIn === 0) break;
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  }
}

const gunzip = new ReusedInflater(() => zlib.createGunzip());
const inflate = new ReusedInflater(() => zlib.createInflate());

/**
 * Inflates one gzip- or deflate-compressed message synchronously, at most `max` bytes out (Infinity: no limit).
 * Throws a gRPC status (RESOURCE_EXHAUSTED past the limit, INTERNAL on corrupt data), as grpc-js answers.
 */
export function inflateMessage(contents: Buffer, encoding: 'gzip' | 'deflate', max: number): Buffer {
  try {
    const reused = reuseInflater ? (encoding === 'gzip' ? gunzip : inflate).run(contents, max) : undefined;
    if (reused) return reused;
    const options: zlib.ZlibOptions = Number.isFinite(max) ? { maxOutputLength: max } : {};
    return encoding === 'gzip' ? zlib.gunzipSync(contents, options) : zlib.inflateSync(contents, options);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw { code: Status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${max}` };
    }
    throw { code: Status.INTERNAL, details: 'Failed to decompress message' };
  }
}

/** Patches grpc-js's server-side request decompression once per process; returns whether the patch applied. */
export function installFastRequestDecompression(): boolean {
  if (installed) return true;
  let proto: { decompressMessage?: Decompress } | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    proto = require('@grpc/grpc-js/build/src/server-interceptors').BaseServerInterceptingCall?.prototype;
  } catch {
    return false;
  }
  const original = proto?.decompressMessage;
  if (!proto || typeof original !== 'function' || original.length !== 2) return false;
  originalDecompress = { proto, fn: original };
  proto.decompressMessage = function (this: { maxReceiveMessageSize: number }, message: Buffer, encoding: string) {
    if ((encoding !== 'gzip' && encoding !== 'deflate') || message.length - 5 > SYNC_LIMIT_BYTES) {
      return original.call(this, message, encoding);
    }
    const max = this.maxReceiveMessageSize;
    try {
      return Promise.resolve(inflateMessage(message.subarray(5), encoding, max > 0 ? max : Infinity));
    } catch (status) {
      return Promise.reject(status);
    }
  };
  installed = true;
  return true;
}

/** Puts grpc-js's own request decompression back (the self-test's fallback); installFastRequestDecompression redoes it. */
export function uninstallFastRequestDecompression(): void {
  if (!installed || !originalDecompress) return;
  originalDecompress.proto.decompressMessage = originalDecompress.fn;
  originalDecompress = undefined;
  installed = false;
}
