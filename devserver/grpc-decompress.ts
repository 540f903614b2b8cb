/**
 * Cheaper decompression of gzip-compressed requests. The SDK worker (tonic, in core-bridge) gzips every request by
 * default, and @grpc/grpc-js (1.14) inflates each message through a new zlib stream: about 0.2 ms of CPU per
 * message, which made it the server's largest cost in `npm run bench:devserver` (over a third of its CPU). Small
 * messages are inflated here with one synchronous zlib call instead (about a tenth of the cost); messages over
 * SYNC_LIMIT_BYTES compressed, and any grpc-js whose internals differ, keep grpc-js's own path. Errors map to the
 * same statuses grpc-js gives (INTERNAL, or RESOURCE_EXHAUSTED past the receive limit).
 */
import * as zlib from 'node:zlib';
import { Status } from './errors';

const SYNC_LIMIT_BYTES = 256 * 1024;

type Decompress = (this: { maxReceiveMessageSize: number }, message: Buffer, encoding: string) => Promise<Buffer> | Buffer;

let installed = false;

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
  proto.decompressMessage = function (this: { maxReceiveMessageSize: number }, message: Buffer, encoding: string) {
    if ((encoding !== 'gzip' && encoding !== 'deflate') || message.length - 5 > SYNC_LIMIT_BYTES) {
      return original.call(this, message, encoding);
    }
    const contents = message.subarray(5);
    const max = this.maxReceiveMessageSize;
    const options: zlib.ZlibOptions = max > 0 ? { maxOutputLength: max } : {};
    try {
      return Promise.resolve(encoding === 'gzip' ? zlib.gunzipSync(contents, options) : zlib.inflateSync(contents, options));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        return Promise.reject({ code: Status.RESOURCE_EXHAUSTED, details: `Received message that decompresses to a size larger than ${max}` });
      }
      return Promise.reject({ code: Status.INTERNAL, details: 'Failed to decompress message' });
    }
  };
  installed = true;
  return true;
}
