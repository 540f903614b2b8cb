/**
 * Shared setup for the devserver conformance suites: a TestWorkflowEnvironment launched through the executable
 * stand-in (the same route a user takes), a worker on a unique task queue, and the replay check that every test's
 * history must pass: any history the server writes that a real worker would reject fails the suite.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createHash } from 'node:crypto';
import { DEVSERVER_EXECUTABLE, startDevServer, type DevServer } from '../../devserver';

let runtimeInstalled = false;
/** Installs the SDK runtime with a WARN logger; call before any Worker (replay included) exists in the process. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

export const WORKFLOWS_PATH = require.resolve('./fixtures/workflows');

/**
 * Workflow bundles by workflows path, built once per test process: bundling takes seconds, and the worker and every
 * replay check of a file use the same code.
 */
const bundles = new Map<string, Promise<{ code: string }>>();
export function workflowBundle(workflowsPath: string): Promise<{ code: string }> {
  let b = bundles.get(workflowsPath);
  if (!b) {
    b = bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
    bundles.set(workflowsPath, b);
  }
  return b;
}

export type CallLayer = 'devserver' | 'grpc-js';

/** The layer serving unary calls that RETRAIN_DEVSERVER_CALLS asks for (scripts/run-tests.mjs's second pass sets it). */
export function expectedCallLayer(): CallLayer {
  return process.env.RETRAIN_DEVSERVER_CALLS === 'grpc-js' ? 'grpc-js' : 'devserver';
}

export interface Harness {
  env: TestWorkflowEnvironment;
  /** The layer serving unary calls, as the spawned server's start line names it (unknown when the SDK launched it). */
  callLayer?: CallLayer;
  worker: Worker;
  taskQueue: string;
  /** Starts a workflow on the harness queue with a unique id unless one is given. */
  nextId(prefix: string): string;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Spawns bin/temporal-devserver with `args` (it inherits this process's environment, RETRAIN_DEVSERVER_CALLS
 * included) and resolves once it listens (waiting up to a minute), with the layer its start line says serves calls.
 */
export interface SpawnedServer {
  child: ChildProcess;
  /** The layer the server's start line says serves unary calls. */
  callLayer: CallLayer;
  /** Everything the server has written to stderr so far. */
  stderr(): string;
}

export function spawnDevServer(args: string[]): Promise<SpawnedServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(DEVSERVER_EXECUTABLE, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`devserver did not listen within 60 s: ${err}`));
    }, 60_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      err += d;
      const line = /listening on .*\bunary calls: ([\w-]+)\)/.exec(err);
      if (line) {
        clearTimeout(timer);
        resolve({ child, callLayer: line[1] as CallLayer, stderr: () => err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`devserver exited with code ${code}: ${err}`));
    });
  });
}

/** bin/temporal-devserver on `port` with the journal `db` (`--db-filename`), once it listens. */
export function startJournalledServer(port: number, db: string): Promise<SpawnedServer> {
  return spawnDevServer(['--port', String(port), '--db-filename', db]);
}

/** SIGKILLs a spawned server (as a crash would) and waits until it has exited; nothing if it already has. */
export async function killServer(server: { child: ChildProcess }): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGKILL');
  await exited;
}

const ATTACH = require.resolve('./fixtures/attach-to-running-server');

/**
 * Starts the devserver executable in its own process with the same arguments TestWorkflowEnvironment would pass,
 * waits until it listens, then builds the environment on its port. The SDK allows a launched server only 5 s to
 * answer, which TypeScript loading can exceed on a loaded 2-core machine (CI runs two test files at once, each
 * bundling workflows); so the environment's own launch is pointed at a stand-in that just waits to be killed,
 * while the real server, already up, answers on the port. `smoke.test.ts` still exercises the SDK launching the
 * executable itself; `workflow-local.test.ts` checks the arguments the SDK launches it with in dev-server form.
 */
async function startEnvironment(opts: {
  local?: boolean;
  searchAttributes?: Array<{ name: string; type: string }> | unknown;
  extraArgs?: string[];
}): Promise<{ env: TestWorkflowEnvironment; server: ChildProcess; callLayer: CallLayer }> {
  const port = await freePort();
  const saArgs = ((opts.searchAttributes as Array<{ name: string; type: string }> | undefined) ?? []).flatMap(({ name, type }) => [
    '--search-attribute',
    `${name}=${TypedSearchAttributes.toMetadataType(type as never)}`,
  ]);
  const args = opts.local
    ? ['server', 'start-dev', '--port', String(port), '--namespace', 'default', '--ip', '127.0.0.1', '--headless', ...saArgs, ...(opts.extraArgs ?? [])]
    : [String(port), ...(opts.extraArgs ?? [])];
  const { child: server, callLayer } = await spawnDevServer(args);
  try {
    const executable = { type: 'existing-path' as const, path: ATTACH };
    const env = opts.local
      ? await TestWorkflowEnvironment.createLocal({ server: { executable, port } })
      : await TestWorkflowEnvironment.createTimeSkipping({ server: { executable, port } });
    return { env, server, callLayer };
  } catch (e) {
    server.kill('SIGKILL');
    throw e;
  }
}

/**
 * Registers before/after hooks that start a devserver (time skipping unless `local`), and a worker running in the
 * background for the whole file. Returns a getter for the harness.
 */
export function useHarness(opts: {
  local?: boolean;
  activities?: object;
  worker?: Partial<WorkerOptions>;
  searchAttributes?: Parameters<typeof TestWorkflowEnvironment.createLocal>[0] extends infer O ? (O extends { server?: { searchAttributes?: infer S } } ? S : never) : never;
  /** Extra launch arguments for the devserver executable (see devserver/cli-args.ts), e.g. server limits. */
  extraArgs?: string[];
} = {}): () => Harness {
  let harness: Harness | undefined;
  let running: Promise<void> | undefined;
  let serverProcess: ChildProcess | undefined;
  let counter = 0;
  before(async () => {
    quietRuntime();
    // Reuse the cached bundle unless the caller brings its own code or bundling options.
    const { workflowsPath = WORKFLOWS_PATH, ...workerOpts } = opts.worker ?? {};
    const custom = workerOpts.interceptors?.workflowModules || workerOpts.bundlerOptions || workerOpts.dataConverter || workerOpts.plugins;
    // Bundle while the server process starts: the two together are most of a file's set-up time (which node:test
    // reports as part of the first test's duration).
    const bundle = workerOpts.workflowBundle || custom ? undefined : workflowBundle(workflowsPath);
    bundle?.catch(() => undefined);
    const { env, server, callLayer } = await startEnvironment(opts);
    serverProcess = server;
    if (callLayer !== expectedCallLayer()) {
      await env.teardown();
      server.kill('SIGKILL');
      throw new Error(`the devserver serves calls on ${callLayer}, not on the ${expectedCallLayer()} layer this run asks for`);
    }
    const taskQueue = `tq-${process.pid}-${Date.now()}`;
    const code = workerOpts.workflowBundle ? {} : custom ? { workflowsPath } : { workflowBundle: await bundle! };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue,
      activities: opts.activities ?? {},
      ...code,
      ...workerOpts,
    });
    running = worker.run();
    harness = { env, callLayer, worker, taskQueue, nextId: (p) => `${p}-${++counter}` };
  });
  after(async () => {
    if (!harness) return;
    harness.worker.shutdown();
    await running?.catch(() => undefined);
    await harness.env.teardown();
    serverProcess?.kill('SIGKILL');
  });
  return () => {
    if (!harness) throw new Error('harness not started');
    return harness;
  };
}

/**
 * A test naming the layer that serves the file's calls (the server's own, or grpc-js's public path in
 * scripts/run-tests.mjs's second pass), asserting it is the one RETRAIN_DEVSERVER_CALLS asks for and that a call
 * goes through.
 */
export function testCallLayer(harness: () => Harness): void {
  const want = expectedCallLayer();
  test(`unary calls are served by ${want === 'grpc-js' ? "grpc-js's public call path (RETRAIN_DEVSERVER_CALLS=grpc-js)" : "the server's own call layer"}`, async () => {
    const h = harness();
    assert.equal(h.callLayer, want);
    const info = await h.env.client.workflowService.getSystemInfo({});
    assert.ok(info.serverVersion, 'GetSystemInfo answered with a server version');
  });
}

/** Replays the handle's history against the same workflow code (default: fixtures/workflows); throws on any nondeterminism. */
export async function assertReplays(handle: WorkflowHandle, workflowsPath: string = WORKFLOWS_PATH): Promise<void> {
  const history = await handle.fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle(workflowsPath) }, history, handle.workflowId);
  replayedHistories.add(replayKey(history, workflowsPath));
}

/**
 * Histories that replayed in this process (by content and workflow code), so that a file's closing replay of every
 * run (replay-all.ts) does not replay again a history a test already replayed unchanged.
 */
export const replayedHistories = new Set<string>();
export function replayKey(history: temporal.api.history.v1.IHistory, workflowsPath: string): string {
  const bytes = temporal.api.history.v1.History.encode(history).finish();
  return `${workflowsPath}\n${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Event type names of a handle's history, e.g. ['WORKFLOW_EXECUTION_STARTED', ...]. */
export async function eventTypes(handle: WorkflowHandle): Promise<string[]> {
  const { temporal } = require('@temporalio/proto') as typeof import('@temporalio/proto');
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((e) => String(temporal.api.enums.v1.EventType[e.eventType as number]).replace(/^EVENT_TYPE_/, ''));
}

/**
 * Registers before/after hooks that start an in-process devserver (no time skipping) and a client connection to it,
 * for raw-protocol tests that drive WorkflowService calls themselves. Returns a getter for the workflow service; its
 * `server()` gives the server itself, for tests that wait on its state (say, until a long poll is held).
 */
export function useInProcessServer(): (() => Connection['workflowService']) & { server(): DevServer } {
  let server: DevServer | undefined;
  let connection: Connection | undefined;
  before(async () => {
    server = await startDevServer({ port: 0 });
    connection = await Connection.connect({ address: server.address });
  });
  after(async () => {
    await connection?.close();
    await server?.close();
  });
  const workflowService = () => {
    if (!connection) throw new Error('in-process server not started');
    return connection.workflowService;
  };
  return Object.assign(workflowService, {
    server: () => {
      if (!server) throw new Error('in-process server not started');
      return server;
    },
  });
}

/**
 * A first workflow task that timed out (eager or from the queue), then its retry started: the events a worker
 * polling attempt 2 sees, the retry's two transient.
 */
export const RETRIED_FIRST_TASK = [
  'WORKFLOW_EXECUTION_STARTED',
  'WORKFLOW_TASK_SCHEDULED',
  'WORKFLOW_TASK_STARTED',
  'WORKFLOW_TASK_TIMED_OUT',
  'WORKFLOW_TASK_SCHEDULED',
  'WORKFLOW_TASK_STARTED',
];
