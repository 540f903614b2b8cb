// The devserver's gRPC face with the server in process (startDevServer): status codes and messages for unimplemented
// RPCs, missing fields, undecodable bytes and unknown namespaces; long polls that hold, time out and end at close.
// The one run each server holds replays against fixtures/raw-workflows.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Client, Connection, NamespaceNotFoundError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { startDevServer, type DevServer } from '../../devserver';
import { RAW_WORKFLOWS, replayAll } from './replay-all';

const WS = '/temporal.api.workflowservice.v1.WorkflowService';
const v1 = temporal.api.workflowservice.v1;
type PollResponse = temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse;

interface GrpcError {
  code: number;
  details?: string;
  message: string;
}

/** Expects `p` to fail with gRPC `code`, the message matching `pattern`. */
async function rejectsWith(p: Promise<unknown>, code: grpc.status, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: GrpcError) => {
    assert.equal(e.code, code, `expected ${grpc.status[code]}, got ${grpc.status[e.code] ?? e.code}: ${e.message}`);
    assert.match(e.details ?? e.message, pattern);
    return true;
  });
}

/** A raw unary call on a grpc-js client; `encode` returns the request bytes as they go on the wire. */
function rawCall(client: grpc.Client, method: string, bytes: Buffer, deadlineMs?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `${WS}/${method}`,
      () => bytes,
      (b: Buffer) => b,
      {},
      deadlineMs ? { deadline: Date.now() + deadlineMs } : {},
      (err, res) => (err ? reject(err) : resolve(res!)),
    );
  });
}

function pollBytes(taskQueue: string, namespace = 'default'): Buffer {
  return Buffer.from(
    v1.PollWorkflowTaskQueueRequest.encode({ namespace, taskQueue: { name: taskQueue }, identity: 'grpc-errors-test' }).finish(),
  );
}

// Both call layers answer alike: the server's own (the default) and grpc-js's (RETRAIN_DEVSERVER_CALLS=grpc-js).
for (const unaryCalls of ['devserver', 'grpc-js'] as const)
describe(`gRPC errors and long polls (in-process server, ${unaryCalls} call layer)`, () => {
  let server: DevServer;
  let connection: Connection;
  let raw: grpc.Client;

  before(async () => {
    server = await startDevServer({ port: 0, unaryCalls });
    connection = await Connection.connect({ address: server.address });
    raw = new grpc.Client(server.address, grpc.credentials.createInsecure());
  });
  after(async () => {
    raw?.close();
    await connection?.close();
    await server?.close();
  });

  test('an RPC the server does not implement answers UNIMPLEMENTED naming the RPC', async () => {
    await rejectsWith(
      connection.workflowService.resetWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: 'w' } }),
      grpc.status.UNIMPLEMENTED,
      /ResetWorkflowExecution/,
    );
    await rejectsWith(
      connection.workflowService.getWorkerBuildIdCompatibility({ namespace: 'default', taskQueue: 'tq' }),
      grpc.status.UNIMPLEMENTED,
      /GetWorkerBuildIdCompatibility/,
    );
    // A method that is not even in the service definition.
    await rejectsWith(rawCall(raw, 'NoSuchRpcAtAll', Buffer.alloc(0)), grpc.status.UNIMPLEMENTED, /NoSuchRpcAtAll/);
  });

  test('a request missing a required field answers INVALID_ARGUMENT naming the field', async () => {
    const ws = connection.workflowService;
    await rejectsWith(
      ws.startWorkflowExecution({ namespace: 'default', workflowType: { name: 'wf' }, taskQueue: { name: 'q' }, requestId: 'r1' }),
      grpc.status.INVALID_ARGUMENT,
      /WorkflowId/,
    );
    await rejectsWith(
      ws.startWorkflowExecution({ namespace: 'default', workflowId: 'w1', taskQueue: { name: 'q' } }),
      grpc.status.INVALID_ARGUMENT,
      /WorkflowType/,
    );
    await rejectsWith(
      ws.startWorkflowExecution({ namespace: 'default', workflowId: 'w1', workflowType: { name: 'wf' } }),
      grpc.status.INVALID_ARGUMENT,
      /TaskQueue/,
    );
    await rejectsWith(
      ws.signalWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: 'w1' } }),
      grpc.status.INVALID_ARGUMENT,
      /SignalName/,
    );
    await rejectsWith(ws.pollWorkflowTaskQueue({ namespace: 'default' }), grpc.status.INVALID_ARGUMENT, /TaskQueue/);
    await rejectsWith(
      ws.respondWorkflowTaskCompleted({ taskToken: Buffer.from('not a token of this server') }),
      grpc.status.INVALID_ARGUMENT,
      /TaskToken/,
    );
    // Nothing was started by the failed requests.
    await rejectsWith(
      ws.describeWorkflowExecution({ namespace: 'default', execution: { workflowId: 'w1' } }),
      grpc.status.NOT_FOUND,
      /w1/,
    );
  });

  test('undecodable request bytes answer INVALID_ARGUMENT and the server keeps serving', async () => {
    // Field 1 with wire type 7 (no such wire type), and a length prefix that runs past the end of the message.
    for (const bytes of [Buffer.from([0x0f, 0xff, 0xff]), Buffer.from([0x0a, 0x7f, 0x01, 0x02])]) {
      await rejectsWith(rawCall(raw, 'StartWorkflowExecution', bytes), grpc.status.INVALID_ARGUMENT, /malformed|StartWorkflowExecutionRequest/i);
      await rejectsWith(rawCall(raw, 'SignalWorkflowExecution', bytes), grpc.status.INVALID_ARGUMENT, /malformed|SignalWorkflowExecutionRequest/i);
    }
    const info = await connection.workflowService.getSystemInfo({});
    assert.match(info.serverVersion ?? '', /devserver/);
    const ns = await connection.workflowService.describeNamespace({ namespace: 'default' });
    assert.equal(ns.namespaceInfo?.name, 'default');
  });

  test('an unknown namespace answers NOT_FOUND, which the client raises as NamespaceNotFoundError', async () => {
    const client = new Client({ connection, namespace: 'no-such-namespace' });
    await assert.rejects(client.workflow.start('wf', { taskQueue: 'q', workflowId: 'w-ns' }), (e: unknown) => {
      assert.ok(e instanceof NamespaceNotFoundError, `got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      assert.equal(e.namespace, 'no-such-namespace');
      return true;
    });
    await rejectsWith(
      connection.workflowService.describeNamespace({ namespace: 'no-such-namespace' }),
      grpc.status.NOT_FOUND,
      /no-such-namespace/,
    );
  });

  test('an idle poll is held until its deadline, its cancelled poller is dropped, and the next task goes to a live poll', async () => {
    const queue = 'held-poll-queue';
    const t0 = Date.now();
    await rejectsWith(rawCall(raw, 'PollWorkflowTaskQueue', pollBytes(queue), 400), grpc.status.DEADLINE_EXCEEDED, /deadline/i);
    const held = Date.now() - t0;
    assert.ok(held >= 350, `the poll answered after ${held} ms instead of being held`);
    for (let i = 0; i < 50 && server.engine.workflowTasks.waiting > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.engine.workflowTasks.waiting, 0, 'the cancelled poll was removed');

    const started = await connection.workflowService.startWorkflowExecution({
      namespace: 'default',
      workflowId: 'after-cancelled-poll',
      workflowType: { name: 'neverRuns' },
      taskQueue: { name: queue },
      requestId: 'after-cancelled-poll-1',
    });
    const res = v1.PollWorkflowTaskQueueResponse.decode(await rawCall(raw, 'PollWorkflowTaskQueue', pollBytes(queue), 5_000)) as PollResponse;
    assert.ok(res.taskToken.length > 0, 'the task was not lost to the cancelled poll');
    assert.equal(res.workflowExecution?.runId, started.runId);
    assert.deepEqual(
      (res.history?.events ?? []).map((e) => temporal.api.enums.v1.EventType[e.eventType as number]),
      ['EVENT_TYPE_WORKFLOW_EXECUTION_STARTED', 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED', 'EVENT_TYPE_WORKFLOW_TASK_STARTED'],
    );
    await connection.workflowService.terminateWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: 'after-cancelled-poll' },
      reason: 'test over',
    });
  });

  test('with a small pollTimeoutMs an idle poll returns an empty response after that time', async () => {
    const short = await startDevServer({ port: 0, pollTimeoutMs: 200, unaryCalls });
    const client = new grpc.Client(short.address, grpc.credentials.createInsecure());
    try {
      const t0 = Date.now();
      // The call's 30 s deadline is far below the default poll timeout: an empty answer (not DEADLINE_EXCEEDED) shows the
      // short pollTimeoutMs ended the poll; how soon after 200 ms depends on the machine's load and is not bounded.
      const res = v1.PollWorkflowTaskQueueResponse.decode(await rawCall(client, 'PollWorkflowTaskQueue', pollBytes('empty-poll'), 30_000));
      const took = Date.now() - t0;
      assert.equal(res.taskToken.length, 0, 'an empty answer, not a task');
      assert.ok(took >= 150, `the poll answered after ${took} ms, before its 200 ms timeout`);
      const act = v1.PollActivityTaskQueueResponse.decode(
        await rawCall(
          client,
          'PollActivityTaskQueue',
          Buffer.from(v1.PollActivityTaskQueueRequest.encode({ namespace: 'default', taskQueue: { name: 'empty-poll' } }).finish()),
          5_000,
        ),
      );
      assert.equal(act.taskToken.length, 0);
    } finally {
      client.close();
      await short.close();
    }
  });

  test("the server's close() returns promptly while polls are held, and the held polls end", async () => {
    const doomed = await startDevServer({ port: 0, unaryCalls });
    const client = new grpc.Client(doomed.address, grpc.credentials.createInsecure());
    const polls = Array.from({ length: 5 }, (_, i) =>
      rawCall(client, 'PollWorkflowTaskQueue', pollBytes(`closing-${i % 2}`)).then(
        (buf) => ({ ok: true as const, empty: v1.PollWorkflowTaskQueueResponse.decode(buf).taskToken.length === 0 }),
        (e: GrpcError) => ({ ok: false as const, code: e.code }),
      ),
    );
    for (let i = 0; i < 100 && doomed.engine.workflowTasks.waiting < 5; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(doomed.engine.workflowTasks.waiting, 5, 'all five polls are held');
    // The polls have no deadline: close() returning at all shows it did not wait for them; how fast is not asserted.
    // The races only keep a close() or a poll that never ends from hanging the test.
    await Promise.race([
      doomed.close(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('close() waited on the held polls')), 60_000)),
    ]);
    const outcomes = await Promise.race([
      Promise.all(polls),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('held polls did not end after close')), 60_000)),
    ]);
    for (const o of outcomes) {
      if (o.ok) assert.equal(o.empty, true, 'a poll ended by shutdown carries no task');
      else assert.ok([grpc.status.UNAVAILABLE, grpc.status.CANCELLED].includes(o.code), `unexpected ${grpc.status[o.code]}`);
    }
    client.close();
  });

  test('the history of the run above (the rejected starts made none) replays with the real SDK', async () => {
    assert.deepEqual(await replayAll(connection.workflowService, RAW_WORKFLOWS), ['after-cancelled-poll']);
  });
});
