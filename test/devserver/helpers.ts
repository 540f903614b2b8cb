/**
 * Shared setup for the devserver conformance suites: a TestWorkflowEnvironment launched through the executable
 * stand-in (the same route a user takes), a worker on a unique task queue, and the replay check that every test's
 * history must pass: any history the server writes that a real worker would reject fails the suite.
 */
import { after, before } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { DEVSERVER_EXECUTABLE } from '../../devserver';

let runtimeInstalled = false;
function quietRuntime(): void {
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

export interface Harness {
  env: TestWorkflowEnvironment;
  worker: Worker;
  taskQueue: string;
  /** Starts a workflow on the harness queue with a unique id unless one is given. */
  nextId(prefix: string): string;
}

/**
 * Launches the devserver through the executable, as TestWorkflowEnvironment does for the real binaries. The SDK
 * gives a launched server 5 s to answer; on a heavily loaded machine loading TypeScript can take most of that, so a
 * launch that times out is tried again (up to three times) instead of failing the whole file.
 */
async function startEnvironment(opts: { local?: boolean; searchAttributes?: never | unknown; extraArgs?: string[] }): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return opts.local
        ? await TestWorkflowEnvironment.createLocal({
            server: {
              executable: { type: 'existing-path', path: DEVSERVER_EXECUTABLE },
              searchAttributes: opts.searchAttributes as never,
              extraArgs: opts.extraArgs,
            },
          })
        : await TestWorkflowEnvironment.createTimeSkipping({
            server: { executable: { type: 'existing-path', path: DEVSERVER_EXECUTABLE }, extraArgs: opts.extraArgs },
          });
    } catch (e) {
      if (attempt >= 3 || !/start|timed? ?out/i.test(String((e as Error)?.message))) throw e;
    }
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
    const env = await startEnvironment(opts);
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
    harness = { env, worker, taskQueue, nextId: (p) => `${p}-${++counter}` };
  });
  after(async () => {
    if (!harness) return;
    harness.worker.shutdown();
    await running?.catch(() => undefined);
    await harness.env.teardown();
  });
  return () => {
    if (!harness) throw new Error('harness not started');
    return harness;
  };
}

/** Replays the handle's history against the same workflow code (default: fixtures/workflows); throws on any nondeterminism. */
export async function assertReplays(handle: WorkflowHandle, workflowsPath: string = WORKFLOWS_PATH): Promise<void> {
  const history = await handle.fetchHistory();
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle(workflowsPath) }, history, handle.workflowId);
}

/** Event type names of a handle's history, e.g. ['WORKFLOW_EXECUTION_STARTED', ...]. */
export async function eventTypes(handle: WorkflowHandle): Promise<string[]> {
  const { temporal } = require('@temporalio/proto') as typeof import('@temporalio/proto');
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((e) => String(temporal.api.enums.v1.EventType[e.eventType as number]).replace(/^EVENT_TYPE_/, ''));
}
