/**
 * The benchmark's production stand-in: the embedded devserver with time skipping, started as its own process (the
 * same route the workflow tests take), and the two real workers (`retrain` and `retrain-training`) running the
 * production workflow bundle and the real activities. Each strategy gets its own RETRAIN_HOME (artifact store,
 * registry, prediction log); one pair of workers serves every strategy of the process, routing each activity call
 * to the dependencies of the model it names, so several strategies can share one server without sharing state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { TypedSearchAttributes } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createActivities, createDependencies, type ActivityDeps, type RetrainActivities } from '../../activities';
import { trainingActivities, lightActivities } from '../../activities';
import type { ActivityLogger } from '../../activities/deps';
import type { ValidateResult } from '../../activities/types';
import { DEVSERVER_EXECUTABLE } from '../../devserver';
import { freePort } from '../devserver/server-process';
import { SEARCH_ATTRIBUTES, TASK_QUEUE, TRAINING_TASK_QUEUE } from '../../workflows/definitions';

const WORKFLOWS = require.resolve('../../workflows/index');
/** TestWorkflowEnvironment insists on launching an executable; this one only waits, the real server is ours. */
const ATTACH = require.resolve('../../test/devserver/fixtures/attach-to-running-server');

/**
 * How the validate stage's range check counts. `strict` is the system as it is. `warn` is the benchmark's
 * stop-gap for a deadlock in it: validate checks new data against the range of production's training set, so on
 * drifting data (Elec2's prices, or its Victoria columns, constant for the first year) every later window fails,
 * nothing is ever promoted again, and the range never widens. With `warn`, a validation whose only failures are
 * `out_of_range` passes (the real activity still runs and writes its report; the override is counted).
 */
export type ValidationRanges = 'strict' | 'warn';

export interface BenchHarness {
  readonly env: TestWorkflowEnvironment;
  /** Gives a model its own dependencies (RETRAIN_HOME); activities naming it are served from them. */
  register(model: string, home: string): ActivityDeps;
  unregister(model: string): void;
  /** Warnings and errors the activities logged, per model (a benchmark run reports them rather than hiding them). */
  problems(model: string): string[];
  /** Validations passed only because their range failures were downgraded (`warn`), per model. */
  rangeOverrides(model: string): number;
  close(): Promise<void>;
}

function spawnServer(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(DEVSERVER_EXECUTABLE, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`devserver did not listen within 60 s: ${err}`));
    }, 60_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (err.length < 20_000) err += d;
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`devserver exited with code ${code}: ${err}`));
    });
  });
}

/** The model an activity input is about: every input names it, directly, in its config, or in its report. */
function modelOf(input: unknown): string {
  const i = input as { model?: unknown; config?: { model?: unknown }; report?: { model?: unknown } } | null;
  const m = i?.config?.model ?? i?.model ?? i?.report?.model;
  if (typeof m !== 'string') throw new TypeError('bench harness: an activity input without a model name');
  return m;
}

let runtimeInstalled = false;

export async function startHarness(options: { validationRanges?: ValidationRanges } = {}): Promise<BenchHarness> {
  const ranges = options.validationRanges ?? 'strict';
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  }
  const bundle = bundleWorkflowCode({ workflowsPath: WORKFLOWS, logger: new DefaultLogger('ERROR') });
  bundle.catch(() => undefined);
  const port = await freePort();
  const sa = SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${TypedSearchAttributes.toMetadataType(k.type)}`]);
  const server = await spawnServer([String(port), ...sa]);
  let env: TestWorkflowEnvironment;
  try {
    env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: ATTACH }, port } });
  } catch (e) {
    server.kill('SIGKILL');
    throw e;
  }

  const routes = new Map<string, RetrainActivities>();
  const logs = new Map<string, string[]>();
  const overrides = new Map<string, number>();
  const route = (names: Iterable<string>): Record<string, (input: unknown) => Promise<unknown>> => {
    const out: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const name of names) {
      out[name] = (input) => {
        const model = modelOf(input);
        const acts = routes.get(model);
        if (!acts) throw new Error(`bench harness: no dependencies registered for model ${model}`);
        const call = (acts as unknown as Record<string, (i: unknown) => Promise<unknown>>)[name](input);
        if (name !== 'validate' || ranges === 'strict') return call;
        return call.then((r) => {
          const v = r as ValidateResult;
          if (v.passed || v.failures.length === 0 || !v.failures.every((f) => f.check === 'out_of_range')) return v;
          overrides.set(model, (overrides.get(model) ?? 0) + 1);
          return { ...v, passed: true };
        });
      };
    }
    return out;
  };
  // Only the names matter here: the routed functions look up each model's own activities per call.
  const template = createActivities(createDependencies({ home: process.env.TMPDIR ?? '/tmp', log: silentLogger([]) }));
  const code = { workflowBundle: await bundle };
  const connection = env.nativeConnection;
  const namespace = env.namespace ?? 'default';
  const light = await Worker.create({ connection, namespace, taskQueue: TASK_QUEUE, activities: route(Object.keys(lightActivities(template))), ...code });
  const heavy = await Worker.create({ connection, namespace, taskQueue: TRAINING_TASK_QUEUE, activities: route(Object.keys(trainingActivities(template))), ...code });
  const running = [light.run(), heavy.run()];

  return {
    env,
    register(model, home) {
      const problems: string[] = [];
      logs.set(model, problems);
      const deps = createDependencies({ home, log: silentLogger(problems), env: {} });
      routes.set(model, createActivities(deps));
      return deps;
    },
    unregister(model) {
      routes.delete(model);
      overrides.delete(model);
    },
    problems: (model) => logs.get(model) ?? [],
    rangeOverrides: (model) => overrides.get(model) ?? 0,
    async close() {
      light.shutdown();
      heavy.shutdown();
      await Promise.allSettled(running);
      await env.teardown().catch(() => undefined);
      server.kill('SIGKILL');
    },
  };
}

/** Keeps the activities' warnings and errors for the report instead of one JSON line each on stderr. */
function silentLogger(into: string[]): ActivityLogger {
  const keep = (level: string) => (message: string) => {
    if (into.length < 200) into.push(`${level}: ${message}`);
  };
  return { info: () => undefined, warn: keep('warn'), error: keep('error') };
}
