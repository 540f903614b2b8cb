/**
 * `npm run bench:devserver`: benchmarks the embedded Temporal server (devserver/) against the real SDK 1.24 worker
 * and client. The server runs in its own process (bin/temporal-devserver, plain dev mode); the worker and the client
 * run in this process. Prints one JSON object per line on stdout (progress goes to stderr):
 *
 * - `{"case":"throughput", ...}`: workflows with three activities and one signal (start, signal, wait for the
 *   result), after a short warm-up. CPU seconds of the server (from /proc/<pid>/stat) and of this process
 *   (`process.cpuUsage()`, every thread of the SDK worker and client) over the measured window;
 *   `server_cpu_share` = server / (server + worker and client). Target: at most 0.20.
 * - `{"case":"idle", ...}`: open workflows each waiting on a signal, a worker polling; once they settle, the
 *   server's resident memory (VmRSS) and its RPC rate over an idle window, counted by the server itself (SIGUSR2
 *   statistics file, see devserver/cli.ts). Targets: at most 200 MB, under 5 RPCs per second.
 * - `{"case":"soak", ...}`: `--soak N` (100,000) short workflows (start, one workflow task, complete) on a server
 *   run with `--retention 2s` and node's `--expose-gc`, so every run is evicted soon after it closes; then the
 *   server's resident memory once every run is evicted, against its resident memory before the soak (after a
 *   warm-up of 1,000 workflows, also evicted, so JIT code and buffer pools are in both). Both readings follow a full
 *   garbage collection in the server (its statistics handler calls gc() under --expose-gc): without it, RSS reads
 *   whatever the collector had not yet got round to. Target: back within 20% of the start.
 *
 * Options: `--case throughput|idle|soak` (default throughput and idle; soak runs alone, being long), `--workflows N` (2000), `--warmup N` (100), `--concurrency N`
 * (workflows in flight, 200), `--open N` (1000), `--idle-seconds S` (10), `--profile DIR` (writes a `node
 * --cpu-prof` profile of the server process to DIR). Example: `npm run bench:devserver -- --case throughput`.
 */
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { loadAverages as load, measureWindow, round, rpcDelta, totalRpcs, withServer, type ServerProcess } from './server-process';

const TARGETS = { serverCpuShareMax: 0.2, idleRssMbMax: 200, idleRpcPerSecondMax: 5, soakRssGrowthMax: 0.2 };

function parseArgs(argv: string[]) {
  const o = { cases: ['throughput', 'idle'] as string[], workflows: 2000, warmup: 100, concurrency: 200, open: 1000, idleSeconds: 10, soak: 100_000, profile: undefined as string | undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a}: expected a value`);
      return x;
    };
    const n = () => {
      const x = Number(v());
      if (!Number.isFinite(x) || x < 0) throw new Error(`${a}: expected a non-negative number`);
      return x;
    };
    if (a === '--case') {
      const c = v();
      if (c !== 'throughput' && c !== 'idle' && c !== 'soak') throw new Error(`--case: expected throughput, idle or soak, got "${c}"`);
      o.cases = [c];
    } else if (a === '--workflows') o.workflows = n();
    else if (a === '--warmup') o.warmup = n();
    else if (a === '--concurrency') o.concurrency = Math.max(1, n());
    else if (a === '--open') o.open = n();
    else if (a === '--soak') {
      o.soak = n();
      o.cases = ['soak'];
    }
    else if (a === '--idle-seconds') o.idleSeconds = n();
    else if (a === '--profile') o.profile = v();
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

type Options = ReturnType<typeof parseArgs>;

const progress = (m: string) => process.stderr.write(`bench:devserver: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function serverFor<T>(opts: Options, taskQueue: string, body: (s: ServerProcess, client: Client, worker: Worker) => Promise<T>): Promise<T> {
  return withServer(
    { profileDir: opts.profile, taskQueue, workflowsPath: require.resolve('./workflows'), maxCachedWorkflows: Math.max(opts.concurrency, opts.open) + 100 },
    body,
  );
}

/** Runs `count` workflows with at most `concurrency` in flight: start, signal, wait for the result. */
async function runWorkflows(client: Client, taskQueue: string, prefix: string, count: number, concurrency: number): Promise<void> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const handle = await client.workflow.start('threeActivitiesOneSignal', { taskQueue, workflowId: `${prefix}-${i}`, args: [i] });
      await handle.signal('go', 1000);
      const r = await handle.result();
      if (r !== i + 3 + 1000) throw new Error(`workflow ${prefix}-${i} returned ${r}, expected ${i + 1003}`);
      if (++done % 500 === 0) progress(`${prefix}: ${done}/${count}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

async function throughput(opts: Options): Promise<object> {
  const taskQueue = `bench-throughput-${process.pid}`;
  return serverFor(opts, taskQueue, async (server, client) => {
    if (opts.warmup > 0) {
      progress(`warm-up: ${opts.warmup} workflows`);
      await runWorkflows(client, taskQueue, 'warmup', opts.warmup, opts.concurrency);
    }
    progress(`measuring: ${opts.workflows} workflows, ${opts.concurrency} in flight`);
    const m = await measureWindow(server, TARGETS.serverCpuShareMax, () => runWorkflows(client, taskQueue, 'wf', opts.workflows, opts.concurrency));
    return {
      case: 'throughput',
      workflows: opts.workflows,
      workflows_per_s: round(opts.workflows / m.wall, 1),
      wall_s: round(m.wall),
      ...m.fields,
      server_cpu_ms_per_workflow: round((m.serverCpu * 1000) / opts.workflows),
      server_rpcs_per_workflow: round(m.rpcs / opts.workflows, 2),
      warmup_workflows: opts.warmup,
      concurrency: opts.concurrency,
    };
  });
}

async function idle(opts: Options): Promise<object> {
  const taskQueue = `bench-idle-${process.pid}`;
  return serverFor(opts, taskQueue, async (server, client) => {
    progress(`starting ${opts.open} workflows that wait on a signal`);
    const t0 = performance.now();
    let next = 0;
    const handles: Awaited<ReturnType<typeof client.workflow.start>>[] = [];
    await Promise.all(
      Array.from({ length: Math.min(opts.concurrency, opts.open) }, async () => {
        while (next < opts.open) {
          const i = next++;
          handles.push(await client.workflow.start('waitForSignal', { taskQueue, workflowId: `idle-${i}` }));
        }
      }),
    );
    // Settled: every run's first workflow task answered, and the server's counts stop moving.
    let s = await server.stats();
    const deadline = Date.now() + 120_000;
    while ((s.rpcCounts.RespondWorkflowTaskCompleted ?? 0) < opts.open) {
      if (Date.now() > deadline) throw new Error(`only ${s.rpcCounts.RespondWorkflowTaskCompleted ?? 0} of ${opts.open} first workflow tasks completed in 120 s`);
      await sleep(200);
      s = await server.stats();
    }
    const settleS = (performance.now() - t0) / 1000;
    await sleep(2000);
    progress(`settled in ${settleS.toFixed(1)} s; measuring ${opts.idleSeconds} s of idleness`);
    const loadBefore = load();
    const before = await server.stats();
    const cpu0 = server.cpuSeconds();
    const w0 = performance.now();
    await sleep(opts.idleSeconds * 1000);
    const after = await server.stats();
    const window = (performance.now() - w0) / 1000;
    const idleCpu = server.cpuSeconds() - cpu0;
    const rss = server.rssMb();
    const rate = (totalRpcs(after) - totalRpcs(before)) / window;
    // Finish the workflows so the worker shuts down without a thousand open runs in its cache.
    await Promise.all(handles.map((h) => h.signal('go', 1)));
    return {
      case: 'idle',
      open_workflows: opts.open,
      server_rss_mb: round(rss, 1),
      idle_rpc_per_s: round(rate, 2),
      idle_window_s: round(window, 2),
      idle_rpcs: rpcDelta(before, after),
      idle_polls_held: after.pollsWaiting,
      idle_server_cpu_s: round(idleCpu),
      server_heap_used_mb: round(after.heapUsed / 2 ** 20, 1),
      settle_s: round(settleS, 2),
      target_server_rss_mb_max: TARGETS.idleRssMbMax,
      target_idle_rpc_per_s_max: TARGETS.idleRpcPerSecondMax,
      targets_met: rss <= TARGETS.idleRssMbMax && rate < TARGETS.idleRpcPerSecondMax,
      load_avg_before: loadBefore,
      load_avg_after: load(),
    };
  });
}

/** Runs `count` workflows of `type` with at most `concurrency` in flight, each started and waited for. */
async function runShort(client: Client, taskQueue: string, prefix: string, count: number, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        await client.workflow.execute('quick', { taskQueue, workflowId: `${prefix}-${i}`, args: [i] });
        if (i % 10_000 === 0 && i) progress(`${prefix}: ${i} of ${count}`);
      }
    }),
  );
}

async function soak(opts: Options): Promise<object> {
  const taskQueue = `bench-soak-${process.pid}`;
  const retentionS = 2;
  return withServer(
    {
      profileDir: opts.profile,
      taskQueue,
      workflowsPath: require.resolve('./workflows'),
      maxCachedWorkflows: opts.concurrency + 100,
      serverArgs: ['--retention', `${retentionS}s`],
      nodeFlags: ['--expose-gc'],
    },
    async (server, client) => {
      // Every run evicted: the server holds none (its sweep runs at least once a second).
      const drained = async (what: string) => {
        const deadline = Date.now() + 120_000;
        let s = await server.stats();
        while (s.runs > 0) {
          if (Date.now() > deadline) throw new Error(`${what}: ${s.runs} runs still held 120 s after the last closed`);
          await sleep(500);
          s = await server.stats();
        }
        await sleep(1000);
        return server.stats();
      };
      const fresh = await server.stats();
      progress('soak: warm-up, 1000 workflows');
      await runShort(client, taskQueue, 'warmup', 1000, opts.concurrency);
      const start = await drained('warm-up');
      progress(`soak: ${opts.soak} workflows, retention ${retentionS} s (start RSS ${round(start.rss / 2 ** 20, 1)} MB)`);
      const loadBefore = load();
      const t0 = performance.now();
      let peak = start.rss;
      const sampler = setInterval(() => void server.stats().then((s) => (peak = Math.max(peak, s.rss)), () => undefined), 5000);
      try {
        await runShort(client, taskQueue, 'soak', opts.soak, opts.concurrency);
      } finally {
        clearInterval(sampler);
      }
      const wall = (performance.now() - t0) / 1000;
      const end = await drained('soak');
      const growth = end.rss / start.rss - 1;
      return {
        case: 'soak',
        workflows: opts.soak,
        retention_s: retentionS,
        wall_s: round(wall, 1),
        workflows_per_s: round(opts.soak / wall, 1),
        evicted: end.evicted,
        runs_held_after: end.runs,
        server_rss_mb_fresh: round(fresh.rss / 2 ** 20, 1),
        server_rss_mb_start: round(start.rss / 2 ** 20, 1),
        server_rss_mb_peak_sampled: round(peak / 2 ** 20, 1),
        server_rss_mb_end: round(end.rss / 2 ** 20, 1),
        server_heap_used_mb_start: round(start.heapUsed / 2 ** 20, 1),
        server_heap_used_mb_end: round(end.heapUsed / 2 ** 20, 1),
        rss_growth: round(growth),
        target_rss_growth_max: TARGETS.soakRssGrowthMax,
        targets_met: growth <= TARGETS.soakRssGrowthMax && end.runs === 0,
        load_avg_before: loadBefore,
        load_avg_after: load(),
      };
    },
  );
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  Runtime.install({ logger: new DefaultLogger('WARN') });
  for (const c of opts.cases) {
    const result = c === 'throughput' ? await throughput(opts) : c === 'idle' ? await idle(opts) : await soak(opts);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  // Issue 3's cases (child fan-out, update latency) run after the core ones unless one case was asked for alone.
  if (opts.cases.length > 1) {
    const { runFanoutAndUpdateCases } = await import('./fanout-updates');
    await runFanoutAndUpdateCases((o) => process.stdout.write(`${JSON.stringify(o)}\n`), { profile: opts.profile });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench:devserver failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
