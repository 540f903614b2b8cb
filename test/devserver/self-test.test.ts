/**
 * The start-up self-test (devserver/self-test.ts): a server sends itself a real gzip-compressed call through the
 * layer that serves it and keeps its private-internals paths only when that passes; failures (injected through
 * `selfTestProbe`) fall back to node's zlib, then to grpc-js for everything, with one log line, and the server
 * keeps answering compressed calls. No workflow runs here, so there is no history to replay.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../devserver';
import { installFastRequestDecompression, usePublicInflater } from '../../devserver/grpc-decompress';
import { probeGzipCall } from '../../devserver/self-test';

/** Captures what the server logs to stderr while `fn` runs. */
async function capturingStderr<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    lines.push(String(chunk));
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    return { value: await fn(), lines };
  } finally {
    process.stderr.write = write;
  }
}

/** A probe wrapper failing the first `n` probes, counting all of them. */
function failing(n: number) {
  const counter = { probes: 0 };
  const wrap = (real: () => Promise<string | null>) => (++counter.probes <= n ? Promise.resolve('injected failure') : real());
  return { wrap, counter };
}

let server: DevServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  // The fallbacks switch process-wide state; put the fast paths back for the next test.
  usePublicInflater(false);
  installFastRequestDecompression();
});

const selfTestLines = (lines: string[]) => lines.filter((l) => l.includes('start-up self-test'));

describe('start-up self-test of the call layer and the inflater', { timeout: 30_000 }, () => {
  for (const layer of ['devserver', 'grpc-js'] as const) {
    test(`passes on the ${layer} layer, which keeps serving, and logs nothing`, async () => {
      const { value, lines } = await capturingStderr(() => startDevServer({ unaryCalls: layer }));
      server = value;
      assert.equal(server.unaryCalls, layer);
      assert.deepEqual(selfTestLines(lines), []);
      assert.equal(await probeGzipCall('127.0.0.1', server.port, 'default'), null);
    });
  }

  test("a first failure turns the reused inflater off; the server's call layer stays", async () => {
    const { wrap, counter } = failing(1);
    const { value, lines } = await capturingStderr(() => startDevServer({ selfTestProbe: wrap }));
    server = value;
    assert.equal(counter.probes, 2);
    assert.equal(server.unaryCalls, 'devserver');
    const logged = selfTestLines(lines);
    assert.equal(logged.length, 1);
    assert.match(logged[0], /injected failure.*passed with node's zlib instead of the reused inflater/);
    assert.equal(await probeGzipCall('127.0.0.1', server.port, 'default'), null);
  });

  test('a second failure hands every call to grpc-js, which answers compressed and SDK calls', async () => {
    const { wrap, counter } = failing(2);
    const { value, lines } = await capturingStderr(() => startDevServer({ selfTestProbe: wrap }));
    server = value;
    assert.equal(counter.probes, 3);
    assert.equal(server.unaryCalls, 'grpc-js');
    const logged = selfTestLines(lines);
    assert.equal(logged.length, 1);
    assert.match(logged[0], /passed with grpc-js serving every call/);
    assert.equal(await probeGzipCall('127.0.0.1', server.port, 'default'), null);
    const connection = await Connection.connect({ address: server.address });
    try {
      const res = await connection.workflowService.describeNamespace({ namespace: 'default' });
      assert.equal(res.namespaceInfo?.name, 'default');
    } finally {
      await connection.close();
    }
  });

  test('the probe reports a wrong namespace or a closed port as a reason, not a pass', async () => {
    server = await startDevServer();
    assert.match((await probeGzipCall('127.0.0.1', server.port, 'no-such-namespace')) ?? '', /status 5/);
    const port = server.port;
    await server.close();
    server = undefined;
    assert.match((await probeGzipCall('127.0.0.1', port, 'default')) ?? '', /connection failed|stream failed/);
  });
});
