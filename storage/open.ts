/**
 * Builds an artifact store from a config object, a URI or the environment. Configs are validated with zod so a
 * wrong field is reported by name; `file://` and `s3://` URIs are the short form used on command lines.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ArtifactStore } from './artifact-store';
import { BadConfigError, BadUriError } from './errors';
import { LocalArtifactStore } from './local-store';
import type { S3ArtifactStore as S3Store } from './s3-store';

export const localStoreConfigSchema = z.object({
  kind: z.literal('local'),
  /** Defaults to RETRAIN_HOME (itself defaulting to ./.retrain). */
  root: z.string().min(1).optional(),
});

export const s3StoreConfigSchema = z.object({
  kind: z.literal('s3'),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)'),
  prefix: z.string().default(''),
  endpoint: z.url().optional(),
  region: z.string().min(1).optional(),
  forcePathStyle: z.boolean().optional(),
  credentials: z
    .object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().optional() })
    .optional(),
  conditionalWrites: z.enum(['auto', 'native', 'emulated']).default('auto'),
  checksums: z.enum(['when_supported', 'when_required']).optional(),
});

export const artifactStoreConfigSchema = z.discriminatedUnion('kind', [localStoreConfigSchema, s3StoreConfigSchema]);
export type ArtifactStoreConfig = z.input<typeof artifactStoreConfigSchema>;

/** RETRAIN_HOME, resolved against the working directory; `./.retrain` when unset. */
export function retrainHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.RETRAIN_HOME && env.RETRAIN_HOME !== '' ? env.RETRAIN_HOME : '.retrain');
}

/**
 * `openArtifactStore()` is the local store under RETRAIN_HOME; a config object or a URI (`file:///abs/path`,
 * a plain path, or `s3://bucket/prefix`, whose endpoint and credentials then come from the AWS SDK's usual
 * environment: AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, ...) picks another.
 */
export function openArtifactStore(configOrUri?: ArtifactStoreConfig | string, env: NodeJS.ProcessEnv = process.env): ArtifactStore {
  if (configOrUri === undefined) return new LocalArtifactStore(retrainHome(env));
  if (typeof configOrUri === 'string') return fromUri(configOrUri, env);
  const parsed = artifactStoreConfigSchema.safeParse(configOrUri);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new BadConfigError(`invalid artifact store config: ${issues}`, { cause: parsed.error });
  }
  const config = parsed.data;
  if (config.kind === 'local') return new LocalArtifactStore(config.root ?? retrainHome(env));
  // Loaded only for an S3 store: the AWS SDK takes a second or more to load, which every local-only caller (the
  // CLI's registry commands, `retrain monitor status`) would otherwise pay.
  const { S3ArtifactStore } = require('./s3-store') as { S3ArtifactStore: typeof S3Store };
  return new S3ArtifactStore(config);
}

function fromUri(uri: string, env: NodeJS.ProcessEnv): ArtifactStore {
  if (uri.startsWith('file://')) {
    try {
      return new LocalArtifactStore(fileURLToPath(uri));
    } catch {
      throw new BadUriError(uri, 'file:///absolute/path');
    }
  }
  if (uri.startsWith('s3://')) {
    const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!match) throw new BadUriError(uri, 's3://bucket/optional/prefix');
    return openArtifactStore({ kind: 's3', bucket: match[1], prefix: match[2] }, env);
  }
  if (!uri.includes('://')) return new LocalArtifactStore(isAbsolute(uri) ? uri : resolve(uri));
  throw new BadUriError(uri, 'file:///absolute/path, s3://bucket/prefix or a local path');
}
