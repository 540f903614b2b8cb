/**
 * Runs the embedded server from the command line (see cli-args.ts for the accepted forms).
 *
 * Statistics for benchmarks: when `RETRAIN_DEVSERVER_STATS_FILE=<path>` is set, SIGUSR2 makes the process write
 * `{"rpcCounts":{<RPC name>:<count>,...},"rss":<bytes>,"heapUsed":<bytes>,"pollsWaiting":<held polls>,"runs":<runs held>,"evicted":<runs evicted>,"at":<ms>}`
 * to that path (written to a temporary file, then renamed, so a reader never sees a partial file). Under node's
 * --expose-gc, a full garbage collection runs first.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { parseLaunchArgs } from './cli-args';
import { startDevServer } from './server';

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseLaunchArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`temporal-devserver: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const server = await startDevServer(opts);
  process.stderr.write(
    `temporal-devserver listening on ${server.address} (namespace ${opts.namespace ?? 'default'}${opts.timeSkipping ? ', time skipping' : ''}, unary calls: ${server.unaryCalls})\n`,
  );
  const stop = () => void server.close().then(() => process.exit(0));
  const statsFile = process.env.RETRAIN_DEVSERVER_STATS_FILE;
  if (statsFile) {
    process.on('SIGUSR2', () => {
      // Under --expose-gc (the benchmark's soak case) memory is read after a full collection: what is still reachable.
      (globalThis as { gc?: () => void }).gc?.();
      const e = server.engine;
      const stats = {
        rpcCounts: Object.fromEntries(e.rpcCounts),
        rss: process.memoryUsage.rss(),
        heapUsed: process.memoryUsage().heapUsed,
        pollsWaiting: e.workflowTasks.waiting + e.activityTasks.waiting,
        runs: [...e.namespaces.values()].reduce((n, ns) => n + ns.runs.size, 0),
        evicted: server.retention.evicted,
        at: Date.now(),
      };
      writeFileSync(`${statsFile}.tmp`, JSON.stringify(stats));
      renameSync(`${statsFile}.tmp`, statsFile);
    });
  }
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`temporal-devserver: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
