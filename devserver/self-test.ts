/**
 * The start-up self-test of the two places the server reaches into private internals: its own call layer (which
 * takes over grpc-js's private `http2Servers` streams, unary-calls.ts) and the reused inflater (which drives a
 * node:zlib stream's private native handle, grpc-decompress.ts). Right after the server listens, it sends itself a
 * real gzip-compressed gRPC call over HTTP/2, as the SDK's worker does, and checks the answer. On any failure it
 * falls back step by step to the public paths (node's zlib, then grpc-js's own call handling and decompression),
 * probing again after each step, and logs what it did once. An upgrade of node or grpc-js that changes those
 * internals then costs speed, not correctness.
 */
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import type * as grpc from '@grpc/grpc-js';
import { uninstallFastRequestDecompression, usePublicInflater } from './grpc-decompress';
import { temporal } from './proto';
import { stopServingUnaryCalls } from './unary-calls';

const WS = temporal.api.workflowservice.v1;
const PROBE_TIMEOUT_MS = 5000;

/**
 * Sends DescribeNamespace for `namespace`, gzip-compressed and padded past the inflater's 64 KB output buffer (so a
 * multi-chunk inflate is exercised), to the server at host:port. Resolves null when the answer is OK and names the
 * namespace, else a reason.
 */
export function probeGzipCall(host: string, port: number, namespace: string): Promise<string | null> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (reason: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.close();
      resolve(reason);
    };
    const timer = setTimeout(() => done(`no answer within ${PROBE_TIMEOUT_MS} ms`), PROBE_TIMEOUT_MS);
    const session = http2.connect(`http://${host.includes(':') ? `[${host}]` : host}:${port}`);
    session.on('error', (e) => done(`connection failed: ${e.message}`));
    // The id is ignored when the name is set; it only makes the message big enough to inflate in several chunks.
    const message = Buffer.from(WS.DescribeNamespaceRequest.encode({ namespace, id: 'x'.repeat(100_000) }).finish());
    const compressed = zlib.gzipSync(message);
    const frame = Buffer.alloc(5 + compressed.length);
    frame[0] = 1;
    frame.writeUInt32BE(compressed.length, 1);
    compressed.copy(frame, 5);
    const stream = session.request({
      ':method': 'POST',
      ':path': '/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-encoding': 'gzip',
      'grpc-accept-encoding': 'identity',
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    let detail = '';
    const note = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) detail = decodeURIComponent(String(h['grpc-message']));
    };
    stream.on('response', note);
    stream.on('trailers', note);
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (e) => done(`stream failed: ${e.message}`));
    stream.on('close', () => {
      if (status !== '0') return done(`status ${status ?? 'missing'}${detail ? `: ${detail}` : ''}`);
      const body = Buffer.concat(chunks);
      if (body.length < 5 || body[0] !== 0) return done('the answer is not one uncompressed message');
      try {
        const res = WS.DescribeNamespaceResponse.decode(body.subarray(5, 5 + body.readUInt32BE(1)));
        done(res.namespaceInfo?.name === namespace ? null : `the answer names namespace "${res.namespaceInfo?.name}"`);
      } catch (e) {
        done(`the answer does not decode: ${(e as Error).message}`);
      }
    });
    stream.end(frame);
  });
}

export interface SelfTestOptions {
  server: grpc.Server;
  /** The layer serving unary calls before the test. */
  unaryCalls: 'devserver' | 'grpc-js';
  /** One end-to-end probe; null when it passed (tests inject failures here). */
  probe: () => Promise<string | null>;
  log: (message: string) => void;
}

/** Runs the self-test and its fallbacks; resolves to the layer that serves unary calls afterwards. */
export async function selfTestCallPaths(o: SelfTestOptions): Promise<'devserver' | 'grpc-js'> {
  const first = await o.probe();
  if (first === null) return o.unaryCalls;
  const steps = [`a gzip-compressed call through ${o.unaryCalls === 'devserver' ? "the server's call layer" : 'grpc-js'} failed (${first})`];
  // Step 1: the reused inflater is the likelier casualty of a node upgrade; node's public zlib calls replace it.
  usePublicInflater(true);
  let problem = await o.probe();
  if (problem === null) {
    o.log(`start-up self-test: ${steps[0]}; passed with node's zlib instead of the reused inflater, which stays off`);
    return o.unaryCalls;
  }
  steps.push(`with node's zlib: ${problem}`);
  // Step 2: everything back to grpc-js (its call handling and its own decompression).
  let unaryCalls = o.unaryCalls;
  if (unaryCalls === 'devserver') {
    stopServingUnaryCalls(o.server);
    unaryCalls = 'grpc-js';
  }
  uninstallFastRequestDecompression();
  problem = await o.probe();
  o.log(
    `start-up self-test: ${steps.join('; ')}; ` +
      (problem === null ? 'passed with grpc-js serving every call' : `still failing with grpc-js serving every call (${problem})`),
  );
  return unaryCalls;
}
