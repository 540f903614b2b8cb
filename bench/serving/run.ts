/**
 * `npm run bench:serving`: requests per second and latency of `POST /v1/models/:model/predict` (Retrain's prediction
 * endpoint over a temporary registry with one trained model as production, every prediction written to the
 * prediction log) beside the ceiling: a plain node HTTP server that answers a constant, measured with the same
 * client at the same concurrency in the same run. Each server runs in its own process (target.ts), one at a time,
 * so the load client here never shares an event loop with it. The client is node's own: an `http.Agent` with
 * keep-alive and N concurrent request loops.
 *
 * Prints one JSON object per line on stdout (progress on stderr):
 *   {"case":"predict","target":"serving"|"ceiling","rows":R,"concurrency":N,"requests":…,"rps":…,"p50_ms":…,"p99_ms":…,"server_cpu_seconds":…}
 *   {"case":"compare","rows":R,"concurrency":N,"rps_ratio":serving/ceiling,"p99_ratio":serving/ceiling}
 *
 * Options: `--seconds S` measured per case (5), `--warmup S` (1), `--concurrency N[,N…]` (16), `--rows R[,R…]` rows
 * per request (1,100), `--trainer logistic|gbdt` (logistic). Example: `npm run bench:serving -- --rows 1 --seconds 3`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { hyperplaneStream } from '../../ml/data';
import type { NumericColumn } from '../../ml/data/frame';
import { BENCH_FEATURES, BENCH_MODEL, type TargetKind, type TargetMessage } from './target';

const list = (name: string) =>
  z.string().transform((s, ctx) => {
    const xs = s.split(',').map((x) => Number(x.trim()));
    if (!xs.length || xs.some((x) => !Number.isInteger(x) || x < 1)) {
      ctx.addIssue({ code: 'custom', message: `${name}: expected positive whole numbers separated by commas, got ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    return xs;
  });
const seconds = (name: string) =>
  z.string().transform((s, ctx) => {
    const x = Number(s);
    if (!(x > 0)) {
      ctx.addIssue({ code: 'custom', message: `${name}: expected a positive number of seconds, got ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    return x;
  });

const OptionsSchema = z
  .object({
    seconds: seconds('--seconds').default(5),
    warmup: seconds('--warmup').default(1),
    concurrency: list('--concurrency').default([16]),
    rows: list('--rows').default([1, 100]),
    trainer: z.enum(['logistic', 'gbdt'], { error: '--trainer: expected "logistic" or "gbdt"' }).default('logistic'),
  })
  .strict();

function parseArgs(argv: readonly string[]): z.output<typeof OptionsSchema> {
  const raw: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)$/.exec(argv[i]);
    if (!m || argv[i + 1] === undefined) throw new Error(`unexpected argument ${JSON.stringify(argv[i])} (options: --seconds, --warmup, --concurrency, --rows, --trainer)`);
    raw[m[1]] = argv[++i];
  }
  const r = OptionsSchema.safeParse(raw);
  if (!r.success) throw new Error(r.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown option(s) ${i.keys.map((k) => `--${k}`).join(', ')}` : i.message)).join('\n'));
  return r.data;
}

interface Target {
  readonly port: number;
  stop(): Promise<{ cpuSeconds: number; rssMb: number }>;
  /** Restarts the CPU count at the start of the measured window. */
  mark(): void;
}

function startTarget(kind: TargetKind, trainer: string): Promise<Target> {
  const child: ChildProcess = fork(join(__dirname, 'target.ts'), [kind, trainer], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the ${kind} target exited (${code}) before listening`)));
    child.once('message', (m: TargetMessage) => {
      if (!('port' in m)) return reject(new Error(`unexpected message from the ${kind} target`));
      child.removeAllListeners('exit');
      resolve({
        port: m.port,
        mark: () => child.send('mark'),
        stop: () =>
          new Promise((done) => {
            child.once('message', (s: TargetMessage) => done(s as { cpuSeconds: number; rssMb: number }));
            child.send('stop');
          }),
      });
    });
  });
}

/** Request bodies of `rows` rows each, from the same stream the model was trained on (a later stretch of it). */
function bodies(rows: number, count: number): Buffer[] {
  const frame = hyperplaneStream({ rows: rows * count, seed: 2, dimensions: BENCH_FEATURES.length, noise: 0.02 }).frame;
  const cols = frame.columns as readonly NumericColumn[];
  return Array.from({ length: count }, (_, b) => {
    const out = [];
    for (let i = b * rows; i < (b + 1) * rows; i++) out.push(Object.fromEntries(cols.map((c) => [c.name, c.values[i]])));
    return Buffer.from(JSON.stringify({ rows: out, key: `client-${b}` }));
  });
}

function post(agent: Agent, port: number, path: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode} from ${path}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Measured {
  readonly requests: number;
  readonly seconds: number;
  readonly latenciesMs: Float64Array;
}

/** N loops, each sending one request after the other, for warmup + measured seconds; only the latter is counted. */
async function load(port: number, concurrency: number, payloads: readonly Buffer[], warmupS: number, measureS: number, onMeasureStart: () => void): Promise<Measured> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const path = `/v1/models/${BENCH_MODEL}/predict`;
  const latencies: number[] = [];
  const warmupEnd = performance.now() + warmupS * 1000;
  const end = warmupEnd + measureS * 1000;
  let measuring = false;
  let k = 0;
  const loop = async () => {
    for (;;) {
      const t = performance.now();
      if (t >= end) return;
      if (!measuring && t >= warmupEnd) {
        measuring = true;
        onMeasureStart();
      }
      await post(agent, port, path, payloads[k++ % payloads.length]);
      // Counted when it started inside the window, so the tail of the window is not biased toward fast requests.
      if (t >= warmupEnd) latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  agent.destroy();
  return { requests: latencies.length, seconds: measureS, latenciesMs: Float64Array.from(latencies).sort() };
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const round = (x: number, d = 3) => Number(x.toFixed(d));

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  process.stderr.write(`bench:serving on ${cpus().length} cores (load ${loadavg().map((l) => l.toFixed(2)).join(' ')}), ${o.seconds} s per case after ${o.warmup} s of warm-up\n`);
  for (const rows of o.rows) {
    const payloads = bodies(rows, 64);
    for (const concurrency of o.concurrency) {
      const results: Record<string, { rps: number; p99: number }> = {};
      for (const kind of ['ceiling', 'serving'] as const) {
        const target = await startTarget(kind, o.trainer);
        const m = await load(target.port, concurrency, payloads, o.warmup, o.seconds, () => target.mark());
        const usage = await target.stop();
        const rps = m.requests / m.seconds;
        results[kind] = { rps, p99: quantile(m.latenciesMs, 0.99) };
        process.stdout.write(
          `${JSON.stringify({
            case: 'predict',
            target: kind,
            ...(kind === 'serving' ? { trainer: o.trainer } : {}),
            rows,
            concurrency,
            requests: m.requests,
            seconds: m.seconds,
            rps: round(rps, 1),
            rows_per_second: round(rps * rows, 0),
            p50_ms: round(quantile(m.latenciesMs, 0.5)),
            p90_ms: round(quantile(m.latenciesMs, 0.9)),
            p99_ms: round(quantile(m.latenciesMs, 0.99)),
            max_ms: round(m.latenciesMs[m.latenciesMs.length - 1] ?? NaN),
            server_cpu_seconds: round(usage.cpuSeconds, 2),
            server_rss_mb: round(usage.rssMb, 0),
          })}\n`,
        );
      }
      process.stdout.write(
        `${JSON.stringify({
          case: 'compare',
          rows,
          concurrency,
          rps_ratio: round(results.serving.rps / results.ceiling.rps),
          p99_ratio: round(results.serving.p99 / results.ceiling.p99),
        })}\n`,
      );
    }
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(2);
});
