/**
 * `tsx bench/devserver/rpc-floor.ts [N] [--gzip] [--concurrency C]`: the server's CPU cost of a trivial unary RPC
 * (GetSystemInfo from the TS client, C in flight (50 by default), gzip-compressed requests with --gzip as the SDK
 * worker sends them), i.e. the floor node's http2 and the server's call layer (devserver/unary-calls.ts) put under
 * every RPC. With `--concurrency 1` each call wakes the server on its own, as in the update-latency case; many in
 * flight share wake-ups. Prints one JSON line. BENCH_DEVSERVER_BIN selects another executable to compare, and
 * RETRAIN_DEVSERVER_CALLS=grpc-js (passed on to the server) measures grpc-js's call layer instead.
 */
import { Connection } from '@temporalio/client';
import { serverCpuPerCall, startServerProcess } from './server-process';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 5000);
  const gzip = process.argv.includes('--gzip');
  const c = process.argv.indexOf('--concurrency');
  const concurrency = c > 0 ? Number(process.argv[c + 1]) : 50;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error('--concurrency: expected a positive integer');
  const server = await startServerProcess();
  const connection = await Connection.connect({
    address: server.address,
    channelArgs: gzip ? { 'grpc.default_compression_algorithm': 2 } : {},
  });
  try {
    const svc = connection.workflowService;
    const { us, wallS } = await serverCpuPerCall(server, () => svc.getSystemInfo({}), { count: n, warmup: 500, concurrency });
    process.stdout.write(`${JSON.stringify({ case: 'rpc_floor', gzip, concurrency, rpcs: n, server_cpu_us_per_rpc: Math.round(us), rpc_per_s: Math.round(n / wallS) })}\n`);
  } finally {
    await connection.close();
    await server.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
