/**
 * The model registry the registry and rollback commands read and write directly, without Temporal: the artifact
 * store under RETRAIN_HOME, or an S3 bucket when RETRAIN_S3_BUCKET is set (the same variables the worker reads,
 * so the CLI sees the registry the workers write). `--store URI` overrides both.
 */
import { z } from 'zod';
// The storage modules themselves, not storage/index.ts, which also loads the S3 store and with it the AWS SDK.
import { openArtifactStore, retrainHome } from '../../storage/open';
import { ModelRegistry } from '../../storage/registry';
import { StorageError, StorageErrorCode } from '../../storage/errors';
import type { ArtifactStore } from '../../storage/artifact-store';
import { CliError, ExitCodes } from './common';

const bool = z.enum(['true', 'false', '1', '0']).transform((s) => s === 'true' || s === '1');
const StoreEnvSchema = z.object({
  RETRAIN_S3_BUCKET: z.string().min(1).optional(),
  RETRAIN_S3_PREFIX: z.string().default(''),
  RETRAIN_S3_ENDPOINT: z.url({ error: 'expected a URL such as http://127.0.0.1:9000' }).optional(),
  RETRAIN_S3_REGION: z.string().min(1).optional(),
  RETRAIN_S3_FORCE_PATH_STYLE: bool.optional(),
});

export const StoreOption = { store: z.string().min(1).optional() };
export { STORE_OPTION_HELP } from './base';

export function openStore(uri: string | undefined, env: NodeJS.ProcessEnv = process.env): { store: ArtifactStore; where: string } {
  try {
    if (uri) return { store: openArtifactStore(uri, env), where: uri };
    const raw = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('RETRAIN_S3_') && v !== ''));
    const parsed = StoreEnvSchema.safeParse(raw);
    if (!parsed.success) throw new CliError(`environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, ExitCodes.usage);
    const s3 = parsed.data;
    if (s3.RETRAIN_S3_BUCKET) {
      const store = openArtifactStore(
        { kind: 's3', bucket: s3.RETRAIN_S3_BUCKET, prefix: s3.RETRAIN_S3_PREFIX, endpoint: s3.RETRAIN_S3_ENDPOINT, region: s3.RETRAIN_S3_REGION, forcePathStyle: s3.RETRAIN_S3_FORCE_PATH_STYLE },
        env,
      );
      return { store, where: `s3://${s3.RETRAIN_S3_BUCKET}/${s3.RETRAIN_S3_PREFIX}` };
    }
    const home = retrainHome(env);
    return { store: openArtifactStore({ kind: 'local', root: home }, env), where: home };
  } catch (err) {
    throw storageError(err);
  }
}

export function openRegistry(uri: string | undefined): { registry: ModelRegistry; where: string } {
  const { store, where } = openStore(uri);
  return { registry: new ModelRegistry(store), where };
}

/** Storage errors → exit codes: a bad input is usage, a moved alias is a refusal. */
export function storageError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof StorageError) {
    const code =
      err.code === StorageErrorCode.NOT_FOUND
        ? ExitCodes.notFound
        : err.code === StorageErrorCode.BAD_INPUT || err.code === StorageErrorCode.BAD_URI || err.code === StorageErrorCode.BAD_CONFIG || err.code === StorageErrorCode.BAD_KEY
          ? ExitCodes.usage
          : err.code === StorageErrorCode.ALIAS_CONFLICT || err.code === StorageErrorCode.STORE_CONFLICT
            ? ExitCodes.rejected
            : ExitCodes.failure;
    return new CliError(err.message, code);
  }
  return new CliError(err instanceof Error ? err.message : String(err), ExitCodes.failure);
}
