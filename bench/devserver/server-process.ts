/**
 * The devserver under benchmark, in its own process: `bin/temporal-devserver --port <free port>` (plain dev mode, no
 * time skipping), its CPU seconds and resident memory read from /proc, and its own RPC counts read through the
 * statistics file that devserver/cli.ts writes on SIGUSR2 (RETRAIN_DEVSERVER_STATS_FILE).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { DEVSERVER_EXECUTABLE } from '../../devserver';
import * as activities from './activities';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** User and system CPU seconds a process has used so far, from /proc/<pid>/stat (utime, stime). */
export function procCpuSplit(pid: number, statPath = `/proc/${pid}/stat`): { user: number; system: number } {
  const stat = readFileSync(statPath, 'utf8');
  // The command name (field 2) may contain spaces; the fields after its closing parenthesis start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[14 - 3]) / CLK_TCK, system: Number(fields[15 - 3]) / CLK_TCK };
}

/**
 * CPU seconds of a process's main thread and of all its other threads (for node: V8's concurrent compiler and GC
 * helpers, libuv's pool), from /proc/<pid>/task/<tid>/stat. Threads that have already exited are not counted.
 */
export function procThreadCpu(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let cpu: number;
    try {
      const { user, system } = procCpuSplit(Number(tid), `/proc/${pid}/task/${tid}/stat`);
      cpu = user + system;
    } catch {
      continue; // the thread ended between the listing and the read
    }
    if (Number(tid) === pid) main = cpu;
    else others += cpu;
  }
  return { main, others };
}

/**
 * The machine's CPU ticks so far, and those stolen by the hypervisor, from /proc/stat's `cpu` line. Between two
 * readings, a stolen share well above zero means other guests competed for the host, and CPU seconds measured in
 * that window are inflated and noisy (`host_steal_share`, windowFields).
 */
export function stealTicks(): { steal: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  return { steal: f[7] ?? 0, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
}

/** CPU seconds (user + system) a process has used so far. */
export function procCpuSeconds(pid: number): number {
  const { user, system } = procCpuSplit(pid);
  return user + system;
}

/** Resident memory of a process in MB, from VmRSS in /proc/<pid>/status. */
export function procRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** CPU seconds of this process (all threads: the SDK core's Rust threads and workflow worker threads included). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerStats {
  rpcCounts: Record<string, number>;
  /** Runs the server holds, and runs it evicted after their retention. */
  runs: number;
  evicted: number;
  rss: number;
  heapUsed: number;
  pollsWaiting: number;
  at: number;
}

export interface ServerProcess {
  readonly pid: number;
  readonly address: string;
  cpuSeconds(): number;
  cpuSplit(): { user: number; system: number };
  /** CPU seconds of the main (JavaScript) thread and of V8's helper threads (concurrent compiler, GC). */
  threadCpu(): { main: number; others: number };
  rssMb(): number;
  /** Asks the server for its statistics (SIGUSR2) and waits for the file it writes. */
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The node flags on a script's first line when it is `#!/usr/bin/env -S node <flags>` (none otherwise). */
export function shebangNodeFlags(script: string): string[] {
  const first = readFileSync(script, 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S node((?:\s+\S+)*)\s*$/.exec(first);
  return m ? m[1].trim().split(/\s+/).filter(Boolean) : [];
}

/**
 * Spawns the executable on a free port. `profileDir` turns on `node --cpu-prof` for the server process only (the
 * profile is written when the server exits on SIGTERM).
 */
export async function startServerProcess(opts: { profileDir?: string; args?: string[]; nodeFlags?: string[] } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'devserver-bench-'));
  const statsFile = join(dir, 'stats.json');
  const env: NodeJS.ProcessEnv = { ...process.env, RETRAIN_DEVSERVER_STATS_FILE: statsFile };
  delete env.RETRAIN_DEVSERVER_VERBOSE;
  const args = ['--port', String(port), ...(opts.args ?? [])];
  // BENCH_DEVSERVER_BIN runs another copy of the executable (e.g. an older commit's) for before/after comparisons.
  const executable = process.env.BENCH_DEVSERVER_BIN || DEVSERVER_EXECUTABLE;
  // Node 20 refuses --cpu-prof in NODE_OPTIONS, so a profiled server runs the same script under an explicit node, with
  // the node flags of the script's `#!/usr/bin/env -S node ...` line.
  // Node flags (--expose-gc for the soak case) take the same route.
  const nodeFlags = [...(opts.nodeFlags ?? []), ...(opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [])];
  const child: ChildProcess = nodeFlags.length
    ? spawn(process.execPath, [...shebangNodeFlags(executable), ...nodeFlags, executable, ...args], {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    : spawn(executable, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    let listening = false;
    const timer = setTimeout(() => reject(new Error(`devserver did not start in 30 s: ${buf}`)), 30_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (!listening) {
        buf += d;
        if (buf.includes('listening on')) {
          listening = true;
          clearTimeout(timer);
          resolve();
        }
      }
      // Keep forwarding the server's own log lines (warnings, errors) as progress.
      for (const line of d.split('\n')) if (line.trim() && !line.includes('listening on')) process.stderr.write(`[server] ${line}\n`);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`devserver exited with code ${code} before listening: ${buf}`));
    });
  });
  const pid = child.pid!;
  let seq = 0;
  return {
    pid,
    address: `127.0.0.1:${port}`,
    cpuSeconds: () => procCpuSeconds(pid),
    cpuSplit: () => procCpuSplit(pid),
    threadCpu: () => procThreadCpu(pid),
    rssMb: () => procRssMb(pid),
    async stats() {
      seq++;
      rmSync(statsFile, { force: true });
      const sentAt = Date.now();
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 500; i++) {
        await sleep(10);
        if (existsSync(statsFile)) {
          const s = JSON.parse(readFileSync(statsFile, 'utf8')) as ServerStats;
          if (s.at >= sentAt - 5) return s;
        }
      }
      throw new Error(`devserver wrote no statistics file (request ${seq}) within 5 s`);
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await Promise.race([exit, sleep(10_000)]);
        if (!exited) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sum of all RPC counts. */
export function totalRpcs(s: ServerStats): number {
  return Object.values(s.rpcCounts).reduce((a, b) => a + b, 0);
}

/** The per-RPC difference between two snapshots, non-zero entries only. */
export function rpcDelta(before: ServerStats, after: ServerStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.rpcCounts)) {
    const d = v - (before.rpcCounts[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
}

export const round = (x: number, digits = 3) => Number(x.toFixed(digits));
export const loadAverages = () => loadavg().map((x) => round(x, 2));

/** The raw figures of a measured window, from which its `fields` are computed; consecutive windows add up. */
export interface WindowTotals {
  wall: number;
  serverUser: number;
  serverSystem: number;
  serverMain: number;
  serverHelpers: number;
  /** CPU seconds of this process (the SDK worker and client). */
  selfCpu: number;
  rpcsByMethod: Record<string, number>;
  /** The host's CPU ticks over the window, and those stolen by the hypervisor. */
  ticks: { steal: number; total: number };
  rssMb: number;
  loadBefore: number[];
  loadAfter: number[];
}

/**
 * The JSON fields every CPU-share case prints, from a window's totals; `share` = server / (server + this process).
 * Without `shareMax`, the target fields are left to the caller (a case judged by another target).
 */
export function windowFields(t: WindowTotals, shareMax?: number) {
  const serverCpu = t.serverUser + t.serverSystem;
  const total = serverCpu + t.selfCpu;
  const share = total > 0 ? serverCpu / total : 0;
  return {
    serverCpu,
    rpcs: Object.values(t.rpcsByMethod).reduce((x, y) => x + y, 0),
    fields: {
      server_cpu_share: round(share),
      server_cpu_s: round(serverCpu),
      server_user_cpu_s: round(t.serverUser),
      server_system_cpu_s: round(t.serverSystem),
      server_main_thread_cpu_s: round(t.serverMain),
      server_helper_threads_cpu_s: round(t.serverHelpers),
      worker_client_cpu_s: round(t.selfCpu),
      total_cpu_s: round(total),
      server_rpcs: Object.values(t.rpcsByMethod).reduce((x, y) => x + y, 0),
      server_rpcs_by_method: t.rpcsByMethod,
      server_rss_mb: round(t.rssMb, 1),
      ...(shareMax === undefined ? {} : { target_server_cpu_share_max: shareMax, targets_met: share <= shareMax }),
      load_avg_before: t.loadBefore,
      load_avg_after: t.loadAfter,
      host_steal_share: round(t.ticks.total > 0 ? t.ticks.steal / t.ticks.total : 0),
    },
  };
}

/** Consecutive windows as one: their totals added up (RSS and the load after from the last, the load before from the first). */
export function sumWindows(ts: readonly WindowTotals[]): WindowTotals {
  const sum = (f: (t: WindowTotals) => number) => ts.reduce((a, t) => a + f(t), 0);
  const rpcsByMethod: Record<string, number> = {};
  for (const t of ts) for (const [k, v] of Object.entries(t.rpcsByMethod)) rpcsByMethod[k] = (rpcsByMethod[k] ?? 0) + v;
  const last = ts[ts.length - 1];
  return {
    wall: sum((t) => t.wall),
    serverUser: sum((t) => t.serverUser),
    serverSystem: sum((t) => t.serverSystem),
    serverMain: sum((t) => t.serverMain),
    serverHelpers: sum((t) => t.serverHelpers),
    selfCpu: sum((t) => t.selfCpu),
    rpcsByMethod,
    ticks: { steal: sum((t) => t.ticks.steal), total: sum((t) => t.ticks.total) },
    rssMb: last.rssMb,
    loadBefore: ts[0].loadBefore,
    loadAfter: last.loadAfter,
  };
}

/**
 * Runs `body` and measures the window around it: CPU seconds of the server (user, system, main thread, V8's helper
 * threads) and of this process (the SDK worker and client, every thread), the server's RPCs, and the host's steal.
 * `fields` are the JSON fields every CPU-share case prints (windowFields); `totals` add up over windows (sumWindows).
 */
export async function measureWindow<T>(server: ServerProcess, shareMax: number, body: () => Promise<T>) {
  const loadBefore = loadAverages();
  const stats0 = await server.stats();
  const split0 = server.cpuSplit();
  const threads0 = server.threadCpu();
  const steal0 = stealTicks();
  const self0 = selfCpuSeconds();
  const t0 = performance.now();
  const result = await body();
  const wall = (performance.now() - t0) / 1000;
  const split1 = server.cpuSplit();
  const threads1 = server.threadCpu();
  const selfCpu = selfCpuSeconds() - self0;
  const steal1 = stealTicks();
  const stats1 = await server.stats();
  const totals: WindowTotals = {
    wall,
    serverUser: split1.user - split0.user,
    serverSystem: split1.system - split0.system,
    serverMain: threads1.main - threads0.main,
    serverHelpers: threads1.others - threads0.others,
    selfCpu,
    rpcsByMethod: rpcDelta(stats0, stats1),
    ticks: { steal: steal1.steal - steal0.steal, total: steal1.total - steal0.total },
    rssMb: server.rssMb(),
    loadBefore,
    loadAfter: loadAverages(),
  };
  return { result, wall, totals, ...windowFields(totals, shareMax) };
}

/**
 * The server CPU, in µs, of each of `count` calls made `concurrency` at a time (after `warmup` calls), and the wall
 * time they took: with one at a time each call wakes the server on its own; many in flight share wake-ups.
 */
export async function serverCpuPerCall(
  server: ServerProcess,
  call: () => Promise<unknown>,
  opts: { count: number; warmup: number; concurrency: number },
): Promise<{ us: number; wallS: number }> {
  for (let i = 0; i < opts.warmup; i++) await call();
  const c0 = server.cpuSeconds();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next++ < opts.count) await call();
    }),
  );
  return { us: ((server.cpuSeconds() - c0) * 1e6) / opts.count, wallS: (performance.now() - t0) / 1000 };
}

/**
 * Starts the server in its own process, connects a client and an SDK worker (the benchmark activities and the
 * workflows at `workflowsPath`) on `taskQueue`, runs `body` while the worker runs, and stops everything.
 */
export async function withServer<T>(
  opts: { profileDir?: string; taskQueue: string; workflowsPath: string; maxCachedWorkflows: number; serverArgs?: string[]; nodeFlags?: string[] },
  body: (s: ServerProcess, client: Client, worker: Worker) => Promise<T>,
): Promise<T> {
  const server = await startServerProcess({ profileDir: opts.profileDir, args: opts.serverArgs, nodeFlags: opts.nodeFlags });
  process.stderr.write(`bench:devserver: server pid ${server.pid} on ${server.address}\n`);
  let connection: Connection | undefined;
  let nativeConnection: NativeConnection | undefined;
  try {
    connection = await Connection.connect({ address: server.address });
    nativeConnection = await NativeConnection.connect({ address: server.address });
    const client = new Client({ connection });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: opts.taskQueue,
      workflowsPath: opts.workflowsPath,
      activities,
      maxConcurrentWorkflowTaskExecutions: 100,
      maxConcurrentActivityTaskExecutions: 200,
      maxCachedWorkflows: opts.maxCachedWorkflows,
    });
    let result: T | undefined;
    await worker.runUntil(async () => {
      result = await body(server, client, worker);
    });
    return result as T;
  } finally {
    await connection?.close().catch(() => undefined);
    await nativeConnection?.close().catch(() => undefined);
    await server.stop();
  }
}
