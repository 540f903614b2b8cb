import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { startDevServer, type DevServer } from '../../devserver';
import { installFastRequestDecompression } from '../../devserver/grpc-decompress';
import { methodDefinition, serviceMethods, temporal } from '../../devserver/proto';
import { frame, rawRequest } from './raw-http2';

const WS = 'temporal.api.workflowservice.v1.WorkflowService';
const describeNamespace = serviceMethods(WS).find((m) => m.name === 'DescribeNamespace')!;

function client(address: string, algorithm: number) {
  const Ctor = grpc.makeGenericClientConstructor({ describeNamespace: methodDefinition(describeNamespace) }, 'WorkflowService');
  return new Ctor(address, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': algorithm }) as unknown as grpc.Client & {
    describeNamespace(req: object, cb: (e: grpc.ServiceError | null, r?: temporal.api.workflowservice.v1.DescribeNamespaceResponse) => void): void;
  };
}

function call(c: ReturnType<typeof client>, namespace: string): Promise<temporal.api.workflowservice.v1.DescribeNamespaceResponse> {
  return new Promise((resolve, reject) => c.describeNamespace({ namespace }, (e, r) => (e ? reject(e) : resolve(r!))));
}

/** Sends one raw gRPC message with the given compressed flag and encoding; resolves with grpc-status and message. */
async function rawCall(port: number, body: Buffer, encoding: string): Promise<{ status: string; message: string }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const r = await rawRequest(session, describeNamespace.path, frame(body, true), { 'grpc-encoding': encoding });
    return { status: String(r.status), message: r.message };
  } finally {
    session.close();
  }
}

describe('compressed requests (the SDK worker gzips every request)', () => {
  let server: DevServer;
  before(async () => {
    server = await startDevServer({ namespace: 'compressed-ns' });
  });
  after(async () => {
    await server.close();
  });

  test('the fast decompression patch applies to the installed grpc-js', () => {
    assert.equal(installFastRequestDecompression(), true);
  });

  test('gzip-compressed and deflate-compressed requests are decoded and answered', async () => {
    for (const algorithm of [2, 1]) {
      const c = client(server.address, algorithm);
      try {
        const r = await call(c, 'compressed-ns');
        assert.equal(r.namespaceInfo?.name, 'compressed-ns');
        await assert.rejects(call(c, 'no-such-namespace'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
      } finally {
        c.close();
      }
    }
  });

  test('a raw gzip frame reaches the handler with its fields intact', async () => {
    const bytes = temporal.api.workflowservice.v1.DescribeNamespaceRequest.encode({ namespace: 'other' }).finish();
    const r = await rawCall(server.port, zlib.gzipSync(bytes), 'gzip');
    assert.equal(r.status, String(grpc.status.NOT_FOUND));
    assert.match(r.message, /Namespace other is not found/);
  });

  test('a corrupt gzip body answers INTERNAL and the server keeps serving', async () => {
    const r = await rawCall(server.port, Buffer.from('definitely not gzip'), 'gzip');
    assert.equal(r.status, String(grpc.status.INTERNAL));
    assert.match(r.message, /Failed to decompress message/);
    const c = client(server.address, 2);
    try {
      assert.equal((await call(c, 'compressed-ns')).namespaceInfo?.name, 'compressed-ns');
    } finally {
      c.close();
    }
  });

  test('a message that inflates past the receive limit is rejected with RESOURCE_EXHAUSTED', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const proto = require('@grpc/grpc-js/build/src/server-interceptors').BaseServerInterceptingCall.prototype;
    const payload = zlib.gzipSync(Buffer.alloc(10_000, 1));
    const frame = Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), payload]);
    await assert.rejects(proto.decompressMessage.call({ maxReceiveMessageSize: 1000 }, frame, 'gzip'), (e: { code: number; details: string }) => {
      assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(e.details, /larger than 1000/);
      return true;
    });
    const ok: Buffer = await proto.decompressMessage.call({ maxReceiveMessageSize: 20_000 }, frame, 'gzip');
    assert.equal(ok.length, 10_000);
    assert.equal(ok[9_999], 1);
  });

  test('the reused inflater gives the same bytes as zlib across sizes, after corrupt and truncated input', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const proto = require('@grpc/grpc-js/build/src/server-interceptors').BaseServerInterceptingCall.prototype;
    const frame = (body: Buffer) => Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), body]);
    const decompress = (body: Buffer, encoding: string): Promise<Buffer> => proto.decompressMessage.call({ maxReceiveMessageSize: 1 << 20 }, frame(body), encoding);
    const random = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => ((i * 2654435761 + seed) >>> 13) % 7));
    const good = zlib.gzipSync(random(3000, 1));
    for (const [i, n] of [0, 1, 200, 65_535, 65_536, 200_000].entries()) {
      const plain = random(n, i);
      assert.deepEqual(await decompress(zlib.gzipSync(plain), 'gzip'), plain, `gzip ${n} bytes`);
      assert.deepEqual(await decompress(zlib.deflateSync(plain), 'deflate'), plain, `deflate ${n} bytes`);
      // Each failure leaves the inflater ready for the next message.
      await assert.rejects(decompress(good.subarray(0, good.length - 9), 'gzip'), (e: { code: number }) => e.code === grpc.status.INTERNAL);
      await assert.rejects(decompress(Buffer.from('not deflate at all'), 'deflate'), (e: { code: number }) => e.code === grpc.status.INTERNAL);
    }
  });
});
