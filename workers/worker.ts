/**
 * `npm run worker`: the composition root of Retrain's Temporal workers. It connects through
 * `@temporalio/envconfig` (TEMPORAL_ADDRESS, default 127.0.0.1:7233; TEMPORAL_NAMESPACE, default `default`;
 * TEMPORAL_PROFILE and the config file's profiles), registers the four Keyword search attributes when the
 * namespace lacks them, builds the activities' dependencies from the environment (RETRAIN_HOME, RETRAIN_S3_*),
 * and runs the workers of the queues RETRAIN_WORKER_QUEUES names (default both): `retrain` (the workflows and
 * the light activities) and `retrain-training` (train and evaluate), so training workers can run on machines of
 * their own. SIGINT or SIGTERM shuts down gracefully: polling stops, running activities are cancelled after the
 * grace time and heartbeat their checkpoint, so the retry on another worker resumes.
 */
import { resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { createActivities, lightActivities, trainingActivities, type ActivitiesOptions } from '../activities';
import { createDependencies, type ActivityDeps } from '../activities/deps';
import { SEARCH_ATTRIBUTES, TASK_QUEUE, TRAINING_TASK_QUEUE } from '../workflows/definitions';
import { cannotConnect, refusalUnlessProxied } from './temporal-address';

export const Queues = { retrain: TASK_QUEUE, training: TRAINING_TASK_QUEUE } as const;
export type Queue = (typeof Queues)[keyof typeof Queues];
const ALL_QUEUES: readonly Queue[] = [Queues.retrain, Queues.training];

export const DEFAULT_WORKFLOWS_PATH = resolve(__dirname, '..', 'workflows', 'index.ts');

/** RETRAIN_WORKER_QUEUES: a comma-separated subset of `retrain,retrain-training`. */
export const QueuesSchema = z
  .string()
  .transform((s) => s.split(',').map((q) => q.trim()).filter((q) => q !== ''))
  .pipe(z.array(z.enum([Queues.retrain, Queues.training], { error: `expected a comma-separated list of ${ALL_QUEUES.map((q) => JSON.stringify(q)).join(', ')}` })).min(1, 'expected at least one queue'));

export function parseQueues(value: string | undefined): Queue[] {
  if (value === undefined || value.trim() === '') return [...ALL_QUEUES];
  const r = QueuesSchema.safeParse(value);
  if (!r.success) throw new TypeError(`RETRAIN_WORKER_QUEUES: ${r.error.issues.map((i) => i.message).join('; ')}, got ${JSON.stringify(value)}`);
  return [...new Set(r.data)];
}

export interface StartWorkersOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly deps: ActivityDeps;
  readonly queues?: readonly Queue[];
  /** Default: workflows/index.ts. */
  readonly workflowsPath?: string;
  readonly activities?: ActivitiesOptions;
  /** How long running activities may go on after shutdown begins, before they are cancelled. Default 10 s. */
  readonly shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  readonly identity?: string;
  /** Worker interceptors (both queues), e.g. to time activities in a benchmark. */
  readonly interceptors?: WorkerOptions['interceptors'];
}

export interface RunningWorkers {
  readonly workers: readonly Worker[];
  readonly queues: readonly Queue[];
  /** Resolves when every worker has stopped (rejects if one failed). */
  readonly done: Promise<void>;
  /** Graceful shutdown of every worker; resolves when they have stopped. */
  shutdown(): Promise<void>;
}

/** Creates and runs the workers of `queues` on an existing connection (for `npm start`, `npm run worker` and tests). */
export async function startWorkers(options: StartWorkersOptions): Promise<RunningWorkers> {
  const queues = options.queues?.length ? [...options.queues] : [...ALL_QUEUES];
  const all = createActivities(options.deps, options.activities);
  const common = {
    connection: options.connection,
    namespace: options.namespace,
    shutdownGraceTime: options.shutdownGraceTime ?? '10 seconds',
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
  };
  const workers: Worker[] = [];
  for (const q of queues) {
    workers.push(
      q === Queues.retrain
        ? await Worker.create({ ...common, taskQueue: q, workflowsPath: options.workflowsPath ?? DEFAULT_WORKFLOWS_PATH, activities: lightActivities(all) })
        : await Worker.create({ ...common, taskQueue: q, activities: trainingActivities(all), maxConcurrentActivityTaskExecutions: 2 }),
    );
  }
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  return {
    workers,
    queues,
    done,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}

/** Adds the Keyword search attributes the workflows set, when the namespace does not have them yet. */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTES.map((k) => k.name).filter((name) => !have.has(name));
  if (missing.length) {
    const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((n) => [n, KEYWORD])) });
    } catch (e) {
      // Another worker may have added them in the meantime.
      if (!/already exists/i.test((e as Error).message)) throw e;
    }
  }
  return missing;
}

/** The error `npm run worker` exits with when Temporal cannot be reached: where it looked, why, and what to do. */
function unreachable(address: string, why: unknown): Error {
  return new Error(cannotConnect(address, why, 'start it (`npm start` runs an embedded server, docker-compose.yml a cluster) or point TEMPORAL_ADDRESS (or TEMPORAL_PROFILE) at yours'));
}

/** The `npm run worker` process. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const queues = parseQueues(env.RETRAIN_WORKER_QUEUES);
  const config = loadClientConnectConfig({ ...(env.TEMPORAL_PROFILE ? { profile: env.TEMPORAL_PROFILE } : {}) });
  const address = config.connectionOptions.address ?? '127.0.0.1:7233';
  const namespace = config.namespace ?? 'default';
  const deps = createDependencies({ env });
  // A server that is not there is found out at once and named, not after the connect deadline's anonymous error.
  const refused = await refusalUnlessProxied(address, config.connectionOptions);
  if (refused) throw unreachable(address, refused);
  const client = await Connection.connect({ ...config.connectionOptions, address } as never).catch((e: unknown) => {
    throw unreachable(address, e);
  });
  try {
    const added = await registerSearchAttributes(client, namespace);
    if (added.length) deps.log.info(`registered search attributes ${added.join(', ')}`, { namespace });
  } finally {
    await client.close();
  }
  const connection = await NativeConnection.connect({ ...config.connectionOptions, address }).catch((e: unknown) => {
    throw unreachable(address, e);
  });
  const running = await startWorkers({ connection, namespace, deps, queues });
  deps.log.info(`workers running on ${queues.join(', ')}`, { address, namespace, home: deps.home, pid: process.pid });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    deps.log.info(`${signal}: shutting down the workers`);
    void running.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  try {
    await running.done;
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(`npm run worker: ${e instanceof Error ? e.message : e}`);
      process.exit(1);
    },
  );
}
