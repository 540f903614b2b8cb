/**
 * Child-workflow fan-out and update round-trip cases of the devserver benchmark (issue 3, item 6). Runs alone with
 * `npx tsx bench/devserver/fanout-updates.ts [options]`, or from bench/devserver/run.ts through
 * `runFanoutAndUpdateCases(emit)`. The server runs in its own process (bin/temporal-devserver, plain dev mode); the SDK
 * worker and client run in this process. One JSON object per line on stdout (progress on stderr):
 *
 * - `{"case":"fanout", ...}`: one parent workflow starts `children` (500) child workflows at once, each running one
 *   activity, and awaits them all. Wall time from the parent's start to its result, children per second.
 * - `{"case":"update_latency", ...}`: `updates` (1,000) sequential `handle.executeUpdate` calls on one running workflow
 *   whose handler returns at once, after `warmup` (50); median and 99th percentile round trip in ms.
 *
 * Both report `server_cpu_share` = server CPU seconds (utime + stime from /proc/<pid>/stat) / (server + this process's
 * `process.cpuUsage()`, every SDK thread included) over the measured window. Target: at most 0.20, as the core cases.
 *
 * Options: `--case fanout|update_latency` (default both), `--children N` (500), `--updates N` (1000), `--warmup N`
 * (50), `--profile DIR` (a `node --cpu-prof` profile of the server process, written when it exits).
 */
import { loadavg } from 'node:os';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type * as workflows from './fanout-workflows';
import { rpcDelta, selfCpuSeconds, totalRpcs, withServer, type ServerProcess } from './server-process';

const SERVER_CPU_SHARE_MAX = 0.2;

export interface FanoutUpdateOptions {
  cases: Array<'fanout' | 'update_latency'>;
  children: number;
  updates: number;
  warmup: number;
  profile?: string;
}

export const DEFAULT_FANOUT_UPDATE_OPTIONS: FanoutUpdateOptions = { cases: ['fanout', 'update_latency'], children: 500, updates: 1000, warmup: 50 };

const progress = (m: string) => process.stderr.write(`bench:devserver: ${m}\n`);
const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const load = () => loadavg().map((x) => round(x, 2));

/** The q-quantile of sorted values (nearest rank). */
function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** CPU of the server and of this process over a measured window. */
async function measured<T>(server: ServerProcess, body: () => Promise<T>) {
  const loadBefore = load();
  const stats0 = await server.stats();
  const server0 = server.cpuSeconds();
  const split0 = server.cpuSplit();
  const self0 = selfCpuSeconds();
  const t0 = performance.now();
  const result = await body();
  const wall = (performance.now() - t0) / 1000;
  const serverCpu = server.cpuSeconds() - server0;
  const split1 = server.cpuSplit();
  const selfCpu = selfCpuSeconds() - self0;
  const stats1 = await server.stats();
  const total = serverCpu + selfCpu;
  const share = total > 0 ? serverCpu / total : 0;
  return {
    result,
    wall,
    share,
    fields: {
      server_cpu_share: round(share),
      server_cpu_s: round(serverCpu),
      server_user_cpu_s: round(split1.user - split0.user),
      server_system_cpu_s: round(split1.system - split0.system),
      worker_client_cpu_s: round(selfCpu),
      server_rpcs: totalRpcs(stats1) - totalRpcs(stats0),
      server_rpcs_by_method: rpcDelta(stats0, stats1),
      server_rss_mb: round(server.rssMb(), 1),
      target_server_cpu_share_max: SERVER_CPU_SHARE_MAX,
      targets_met: share <= SERVER_CPU_SHARE_MAX,
      load_avg_before: loadBefore,
      load_avg_after: load(),
    },
  };
}

async function fanout(server: ServerProcess, client: Client, taskQueue: string, opts: FanoutUpdateOptions): Promise<object> {
  const run = async (workflowId: string, children: number) => {
    const r = await client.workflow.execute<typeof workflows.fanoutParent>('fanoutParent', { taskQueue, workflowId, args: [children] });
    const expected = (children * (children + 1)) / 2;
    if (r !== expected) throw new Error(`${workflowId} returned ${r}, expected ${expected}`);
  };
  progress('fanout warm-up: a parent with 50 children');
  await run(`fanout-warmup-${process.pid}`, 50);
  progress(`fanout: a parent with ${opts.children} children`);
  const m = await measured(server, () => run(`fanout-${process.pid}`, opts.children));
  return {
    case: 'fanout',
    children: opts.children,
    wall_s: round(m.wall),
    children_per_s: round(opts.children / m.wall, 1),
    ...m.fields,
    server_cpu_ms_per_child: round((m.fields.server_cpu_s * 1000) / opts.children),
  };
}

async function updateLatency(server: ServerProcess, client: Client, taskQueue: string, opts: FanoutUpdateOptions): Promise<object> {
  const handle = await client.workflow.start<typeof workflows.updateTarget>('updateTarget', { taskQueue, workflowId: `update-target-${process.pid}` });
  const ping = async (n: number) => {
    const r = await handle.executeUpdate<number, [number]>('ping', { args: [n] });
    if (r !== n + 1) throw new Error(`update ${n} returned ${r}, expected ${n + 1}`);
  };
  progress(`update warm-up: ${opts.warmup} updates`);
  for (let i = 0; i < opts.warmup; i++) await ping(i);
  progress(`update latency: ${opts.updates} sequential updates`);
  const latencies: number[] = [];
  // Server CPU over the first and the last tenth of the updates: the history grows by five events per update, so a
  // cost that grows with history length shows as a difference between the two.
  const tenth = Math.max(1, Math.floor(opts.updates / 10));
  const cpuAt = new Map<number, number>();
  const mark = (i: number) => {
    if (i === 0 || i === tenth || i === opts.updates - tenth || i === opts.updates) cpuAt.set(i, server.cpuSeconds());
  };
  const m = await measured(server, async () => {
    for (let i = 0; i < opts.updates; i++) {
      mark(i);
      const t = performance.now();
      await ping(i);
      latencies.push(performance.now() - t);
    }
    mark(opts.updates);
  });
  const perUpdateMs = (a: number, b: number) => round(((cpuAt.get(b)! - cpuAt.get(a)!) * 1000) / (b - a), 2);
  await handle.signal('stop');
  const answered = await handle.result();
  if (answered !== opts.warmup + opts.updates) throw new Error(`the workflow answered ${answered} updates, expected ${opts.warmup + opts.updates}`);
  latencies.sort((a, b) => a - b);
  return {
    case: 'update_latency',
    updates: opts.updates,
    median_ms: round(quantile(latencies, 0.5), 2),
    p99_ms: round(quantile(latencies, 0.99), 2),
    max_ms: round(latencies[latencies.length - 1], 2),
    updates_per_s: round(opts.updates / m.wall, 1),
    wall_s: round(m.wall),
    ...m.fields,
    server_cpu_ms_per_update: round((m.fields.server_cpu_s * 1000) / opts.updates),
    server_cpu_ms_per_update_first_tenth: perUpdateMs(0, tenth),
    server_cpu_ms_per_update_last_tenth: perUpdateMs(opts.updates - tenth, opts.updates),
    history_events_at_end: (await handle.fetchHistory()).events?.length ?? 0,
    warmup_updates: opts.warmup,
  };
}

/**
 * Runs the fan-out and update-latency cases against one server process and one worker, emitting one object per case.
 * Expects the SDK Runtime to be installed already (or installs the default one).
 */
export async function runFanoutAndUpdateCases(emit: (o: object) => void, options: Partial<FanoutUpdateOptions> = {}): Promise<void> {
  const opts = { ...DEFAULT_FANOUT_UPDATE_OPTIONS, ...options };
  const taskQueue = `bench-fanout-updates-${process.pid}`;
  await withServer(
    { profileDir: opts.profile, taskQueue, workflowsPath: require.resolve('./fanout-workflows'), maxCachedWorkflows: opts.children + 200 },
    async (server, client) => {
      for (const c of opts.cases) emit(c === 'fanout' ? await fanout(server, client, taskQueue, opts) : await updateLatency(server, client, taskQueue, opts));
    },
  );
}

function parseArgs(argv: string[]): FanoutUpdateOptions {
  const o: FanoutUpdateOptions = { ...DEFAULT_FANOUT_UPDATE_OPTIONS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a}: expected a value`);
      return x;
    };
    const n = (min: number) => {
      const x = Number(v());
      if (!Number.isInteger(x) || x < min) throw new Error(`${a}: expected an integer of at least ${min}`);
      return x;
    };
    if (a === '--case') {
      const c = v();
      if (c !== 'fanout' && c !== 'update_latency') throw new Error(`--case: expected fanout or update_latency, got "${c}"`);
      o.cases = [c];
    } else if (a === '--children') o.children = n(1);
    else if (a === '--updates') o.updates = n(1);
    else if (a === '--warmup') o.warmup = n(0);
    else if (a === '--profile') o.profile = v();
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

if (require.main === module) {
  (async () => {
    const opts = parseArgs(process.argv.slice(2));
    Runtime.install({ logger: new DefaultLogger('WARN') });
    await runFanoutAndUpdateCases((o) => process.stdout.write(`${JSON.stringify(o)}\n`), opts);
  })().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`bench:devserver fanout-updates failed: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
