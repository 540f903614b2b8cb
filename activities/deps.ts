/**
 * What the activities need from the outside world, injected by `createActivities(deps)`: the artifact store,
 * the model registry, the prediction log, RETRAIN_HOME, a logger and a clock. `createDependencies` builds them
 * from the environment (RETRAIN_HOME, or RETRAIN_S3_* for an S3 artifact store), validated with zod so a wrong
 * variable is reported by name with the accepted values.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { ArtifactStore } from '../storage/artifact-store';
import { openArtifactStore } from '../storage/open';
import { ModelRegistry } from '../storage/registry';
import { StorePredictionLog, type PredictionLogPort } from './prediction-log';

export interface ActivityLogger {
  info(message: string, attrs?: Record<string, unknown>): void;
  warn(message: string, attrs?: Record<string, unknown>): void;
  error(message: string, attrs?: Record<string, unknown>): void;
}

export interface ActivityDeps {
  readonly store: ArtifactStore;
  readonly registry: ModelRegistry;
  readonly predictionLog: PredictionLogPort;
  /** RETRAIN_HOME: labeling requests and notifications are files under it, whatever the artifact store. */
  readonly home: string;
  readonly log: ActivityLogger;
  readonly clock?: () => Date;
  /** Where RETRAIN_NOTIFY_URL points, if set: notifications are also POSTed there. */
  readonly notifyUrl?: string;
}

/** A logger that writes one JSON line per message to stderr (the worker's default). */
export const consoleLogger: ActivityLogger = {
  info: (message, attrs) => console.error(JSON.stringify({ level: 'info', message, ...attrs })),
  warn: (message, attrs) => console.error(JSON.stringify({ level: 'warn', message, ...attrs })),
  error: (message, attrs) => console.error(JSON.stringify({ level: 'error', message, ...attrs })),
};

const bool = z.enum(['true', 'false', '1', '0']).transform((s) => s === 'true' || s === '1');

/** The environment variables createDependencies reads; unset ones take the defaults. */
export const DependenciesEnvSchema = z.object({
  RETRAIN_HOME: z.string().min(1).default('.retrain'),
  /** Set to keep artifacts in S3 instead of RETRAIN_HOME (labeling requests and notifications stay local). */
  RETRAIN_S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)').optional(),
  RETRAIN_S3_PREFIX: z.string().default(''),
  RETRAIN_S3_ENDPOINT: z.url({ error: 'expected a URL such as http://127.0.0.1:9000' }).optional(),
  RETRAIN_S3_REGION: z.string().min(1).optional(),
  RETRAIN_S3_FORCE_PATH_STYLE: bool.optional(),
  RETRAIN_NOTIFY_URL: z.url({ error: 'expected an http(s) URL' }).optional(),
});

export interface DependenciesOptions {
  /** RETRAIN_HOME (default: the env's, else ./.retrain). */
  readonly home?: string;
  /** An S3 artifact store instead of the local one under home. */
  readonly s3?: { bucket: string; prefix?: string; endpoint?: string; region?: string; forcePathStyle?: boolean };
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: ActivityLogger;
  readonly clock?: () => Date;
}

/** Builds the activities' dependencies from options and the environment; a bad variable throws naming it. */
export function createDependencies(options: DependenciesOptions = {}): ActivityDeps {
  const raw = Object.fromEntries(Object.entries(options.env ?? process.env).filter(([k, v]) => k.startsWith('RETRAIN_') && v !== ''));
  const parsed = DependenciesEnvSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TypeError(`environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const env = parsed.data;
  const home = resolve(options.home ?? env.RETRAIN_HOME);
  mkdirSync(home, { recursive: true });
  const s3 = options.s3 ?? (env.RETRAIN_S3_BUCKET
    ? { bucket: env.RETRAIN_S3_BUCKET, prefix: env.RETRAIN_S3_PREFIX, endpoint: env.RETRAIN_S3_ENDPOINT, region: env.RETRAIN_S3_REGION, forcePathStyle: env.RETRAIN_S3_FORCE_PATH_STYLE }
    : undefined);
  const store = s3 ? openArtifactStore({ kind: 's3', ...s3 }) : openArtifactStore({ kind: 'local', root: home });
  const clock = options.clock;
  return {
    store,
    registry: new ModelRegistry(store, clock ? { now: clock } : {}),
    predictionLog: new StorePredictionLog(store),
    home,
    log: options.log ?? consoleLogger,
    ...(clock ? { clock } : {}),
    ...(env.RETRAIN_NOTIFY_URL ? { notifyUrl: env.RETRAIN_NOTIFY_URL } : {}),
  };
}
