// The server's own unary call layer (devserver/unary-calls.ts), driven with raw HTTP/2 requests so that every edge of
// the gRPC protocol it answers can be sent: frames, compression flags, timeouts, resets, content types. The SDK-level
// suites run over this layer too; test/devserver/grpc-errors.test.ts runs over both layers. The runs started here
// replay against fixtures/raw-workflows.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { google, temporal } from '@temporalio/proto';
import { Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../devserver';
import { frame, rawRequest } from './raw-http2';
import { RAW_WORKFLOWS, replayAll } from './replay-all';

/** Replays every run the server holds (see replay-all.ts), over a client connection of its own. */
async function replayServer(server: DevServer, opts: { pageSize?: number } = {}): Promise<string[]> {
  const connection = await Connection.connect({ address: server.address });
  try {
    return await replayAll(connection.workflowService, RAW_WORKFLOWS, opts);
  } finally {
    await connection.close();
  }
}

const WS = '/temporal.api.workflowservice.v1.WorkflowService';
const v1 = temporal.api.workflowservice.v1;

const systemInfo = () => frame(v1.GetSystemInfoRequest.encode({}).finish());

describe('the unary call layer (raw HTTP/2)', () => {
  let server: DevServer;
  let session: http2.ClientHttp2Session;

  before(async () => {
    server = await startDevServer({ port: 0 });
    session = http2.connect(`http://${server.address}`);
  });
  after(async () => {
    session?.close();
    await server?.close();
  });

  test('the server serves unary calls with its own layer by default (grpc-js internals as expected)', () => {
    assert.equal(server.unaryCalls, 'devserver');
  });

  test('an answer is headers, one frame holding the response, and grpc-status 0 in trailers', async () => {
    const r = await rawRequest(session, `${WS}/GetSystemInfo`, systemInfo());
    assert.equal(r.httpStatus, 200);
    assert.equal(r.headers['content-type'], 'application/grpc+proto');
    assert.equal(r.trailers?.['grpc-status'], '0');
    assert.equal(r.body[0], 0, 'uncompressed');
    assert.equal(r.body.readUInt32BE(1), r.body.length - 5, 'one frame, its length prefix matching');
    const info = v1.GetSystemInfoResponse.decode(r.body.subarray(5));
    assert.equal(info.capabilities?.sdkMetadata, true);
  });

  test('gzip and deflate requests are inflated; a compressed flag without an encoding, or an unknown one, is refused', async () => {
    const bytes = v1.DescribeNamespaceRequest.encode({ namespace: 'default' }).finish();
    for (const [encoding, deflate] of [
      ['gzip', zlib.gzipSync],
      ['deflate', zlib.deflateSync],
    ] as const) {
      const r = await rawRequest(session, `${WS}/DescribeNamespace`, frame(deflate(bytes), true), { 'grpc-encoding': encoding });
      assert.equal(r.status, grpc.status.OK, `${encoding}: ${r.message}`);
      assert.equal(v1.DescribeNamespaceResponse.decode(r.body.subarray(5)).namespaceInfo?.name, 'default');
    }
    const identity = await rawRequest(session, `${WS}/DescribeNamespace`, frame(zlib.gzipSync(bytes), true));
    assert.equal(identity.status, grpc.status.INTERNAL);
    assert.match(identity.message, /compressed message but "grpc-encoding" header was identity/);
    const snappy = await rawRequest(session, `${WS}/DescribeNamespace`, frame(bytes, true), { 'grpc-encoding': 'snappy' });
    assert.equal(snappy.status, grpc.status.UNIMPLEMENTED);
    assert.match(snappy.message, /snappy/);
    const corrupt = await rawRequest(session, `${WS}/DescribeNamespace`, frame(Buffer.from('not gzip'), true), { 'grpc-encoding': 'gzip' });
    assert.equal(corrupt.status, grpc.status.INTERNAL);
    assert.match(corrupt.message, /Failed to decompress/);
  });

  test('a unary request must hold exactly one whole message', async () => {
    const none = await rawRequest(session, `${WS}/GetSystemInfo`, Buffer.alloc(0));
    assert.equal(none.status, grpc.status.UNIMPLEMENTED);
    assert.match(none.message, /no request message/);
    const two = await rawRequest(session, `${WS}/GetSystemInfo`, Buffer.concat([systemInfo(), systemInfo()]));
    assert.equal(two.status, grpc.status.UNIMPLEMENTED);
    assert.match(two.message, /second request message/);
    const cut = await rawRequest(session, `${WS}/GetSystemInfo`, frame(Buffer.alloc(40)).subarray(0, 20));
    assert.equal(cut.status, grpc.status.INTERNAL);
    assert.match(cut.message, /ended inside its message/);
    const flag = systemInfo();
    flag[0] = 2;
    assert.equal((await rawRequest(session, `${WS}/GetSystemInfo`, flag)).status, grpc.status.INTERNAL);
  });

  test('errors are trailers-only answers with the message URI-encoded and the status details in grpc-status-details-bin', async () => {
    const r = await rawRequest(session, `${WS}/DescribeNamespace`, frame(v1.DescribeNamespaceRequest.encode({ namespace: 'no such ns' }).finish()));
    assert.equal(r.trailers, undefined, 'trailers-only: the status is in the headers');
    assert.equal(r.headers['grpc-status'], String(grpc.status.NOT_FOUND));
    assert.match(r.message, /Namespace no such ns is not found/);
    const details = r.headers['grpc-status-details-bin'];
    assert.equal(typeof details, 'string', 'status details sent');
    const status = google.rpc.Status.decode(Buffer.from(details as string, 'base64'));
    assert.equal(status.code, grpc.status.NOT_FOUND);
    assert.equal(status.details[0]?.type_url, 'type.googleapis.com/temporal.api.errordetails.v1.NamespaceNotFoundFailure');
    assert.equal(r.body.length, 0);
  });

  test('a grpc-timeout holds a long poll until the deadline, answers DEADLINE_EXCEEDED and drops the poller', async () => {
    const poll = frame(v1.PollWorkflowTaskQueueRequest.encode({ namespace: 'default', taskQueue: { name: 'raw-deadline' } }).finish());
    const t0 = Date.now();
    const r = await rawRequest(session, `${WS}/PollWorkflowTaskQueue`, poll, { 'grpc-timeout': '300m' });
    const took = Date.now() - t0;
    assert.equal(r.status, grpc.status.DEADLINE_EXCEEDED);
    // Held until the deadline, not answered before it (how long after depends on the machine's load); the status shows
    // it was the deadline that ended it, not the server's own long-poll timeout (which answers OK, empty).
    assert.ok(took >= 280, `answered after ${took} ms`);
    assert.equal(server.engine.workflowTasks.waiting, 0, 'the expired poll no longer holds a place');
    const bad = await rawRequest(session, `${WS}/GetSystemInfo`, systemInfo(), { 'grpc-timeout': 'soon' });
    assert.equal(bad.status, grpc.status.INTERNAL);
    assert.match(bad.message, /Invalid grpc-timeout value "soon"/);
  });

  test('a held poll reset by the client is dropped, and the next task goes to a live poll', async () => {
    const queue = 'raw-reset';
    const req = session.request({ ':method': 'POST', ':path': `${WS}/PollWorkflowTaskQueue`, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => {});
    req.end(frame(v1.PollWorkflowTaskQueueRequest.encode({ namespace: 'default', taskQueue: { name: queue } }).finish()));
    for (let i = 0; i < 100 && server.engine.workflowTasks.waiting === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.engine.workflowTasks.waiting, 1, 'the poll is held');
    req.close(http2.constants.NGHTTP2_CANCEL);
    for (let i = 0; i < 100 && server.engine.workflowTasks.waiting > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.engine.workflowTasks.waiting, 0, 'the reset poll was removed');

    await rawRequest(
      session,
      `${WS}/StartWorkflowExecution`,
      frame(
        v1.StartWorkflowExecutionRequest.encode({ namespace: 'default', workflowId: 'raw-reset-wf', workflowType: { name: 'neverRuns' }, taskQueue: { name: queue }, requestId: 'r1' }).finish(),
      ),
    );
    const live = await rawRequest(session, `${WS}/PollWorkflowTaskQueue`, frame(v1.PollWorkflowTaskQueueRequest.encode({ namespace: 'default', taskQueue: { name: queue } }).finish()));
    assert.equal(live.status, grpc.status.OK);
    const task = v1.PollWorkflowTaskQueueResponse.decode(live.body.subarray(5));
    assert.equal(task.workflowExecution?.workflowId, 'raw-reset-wf', 'the task was not lost to the reset poll');
  });

  test('the history of the run above replays with the real SDK', async () => {
    assert.deepEqual(await replayServer(server), ['raw-reset-wf']);
  });

  test('grpc-js still answers what the layer does not serve: unknown methods and requests that are not gRPC', async () => {
    const unknown = await rawRequest(session, `${WS}/NoSuchMethod`, systemInfo());
    assert.equal(unknown.status, grpc.status.UNIMPLEMENTED);
    assert.match(unknown.message, /NoSuchMethod/);
    const notGrpc = await rawRequest(session, `${WS}/GetSystemInfo`, systemInfo(), { 'content-type': 'application/json' });
    assert.equal(notGrpc.httpStatus, 415);
  });
});

// The same limits on both layers: grpc-js answers with its own checks, the server's layer with the same statuses.
for (const unaryCalls of ['devserver', 'grpc-js'] as const) {
  describe(`message size limits (${unaryCalls} call layer)`, () => {
    let server: DevServer;
    let session: http2.ClientHttp2Session;

    before(async () => {
      server = await startDevServer({ port: 0, unaryCalls, maxMessageBytes: 1000 });
      session = http2.connect(`http://${server.address}`);
    });
    after(async () => {
      session?.close();
      await server?.close();
    });

    const describeNs = (namespace: string) => v1.DescribeNamespaceRequest.encode({ namespace }).finish();

    test('a request past the limit, plain or once inflated, is RESOURCE_EXHAUSTED and the server keeps serving', async () => {
      const big = await rawRequest(session, `${WS}/DescribeNamespace`, frame(describeNs('n'.repeat(2000))));
      assert.equal(big.status, grpc.status.RESOURCE_EXHAUSTED, big.message);
      const inflated = await rawRequest(session, `${WS}/DescribeNamespace`, frame(zlib.gzipSync(describeNs('n'.repeat(2000))), true), { 'grpc-encoding': 'gzip' });
      assert.equal(inflated.status, grpc.status.RESOURCE_EXHAUSTED, inflated.message);
      const ok = await rawRequest(session, `${WS}/DescribeNamespace`, frame(describeNs('default')));
      assert.equal(ok.status, grpc.status.OK, ok.message);
    });

    test('a response past the limit is RESOURCE_EXHAUSTED, not sent', async () => {
      const input = { payloads: [{ metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.alloc(700, 7) }] };
      const start = frame(
        v1.StartWorkflowExecutionRequest.encode({ namespace: 'default', workflowId: 'big-history', workflowType: { name: 'neverRuns' }, taskQueue: { name: 'q' }, requestId: 'r', input }).finish(),
      );
      assert.equal((await rawRequest(session, `${WS}/StartWorkflowExecution`, start)).status, grpc.status.OK);
      // Each request fits the limit; together, in the history, they do not.
      for (let i = 0; i < 3; i++) {
        const signal = v1.SignalWorkflowExecutionRequest.encode({ namespace: 'default', workflowExecution: { workflowId: 'big-history' }, signalName: `s${i}`, input }).finish();
        assert.equal((await rawRequest(session, `${WS}/SignalWorkflowExecution`, frame(signal))).status, grpc.status.OK);
      }
      const history = await rawRequest(
        session,
        `${WS}/GetWorkflowExecutionHistory`,
        frame(v1.GetWorkflowExecutionHistoryRequest.encode({ namespace: 'default', execution: { workflowId: 'big-history' } }).finish()),
      );
      assert.equal(history.status, grpc.status.RESOURCE_EXHAUSTED, history.message);
      assert.match(history.message, /larger than max/);
    });

    test('that history, read one event a page, replays with the real SDK', async () => {
      assert.deepEqual(await replayServer(server, { pageSize: 1 }), ['big-history']);
    });
  });
}
