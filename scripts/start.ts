/**
 * `npm start`: the whole system on one machine, on the embedded defaults. Starts the embedded Temporal-compatible
 * server (devserver/) on 127.0.0.1:7233 (RETRAIN_TEMPORAL_PORT to change it), then stays up until Ctrl-C.
 * Workers and the retraining workflows join here as they land (see ../shared/docs/architecture.md); production
 * uses a real Temporal cluster instead (docker-compose.yml). package.json runs it with node's
 * `--initial-old-space-size=256`, as bin/temporal-devserver (whose header says why).
 */
import { z } from 'zod';
import { startDevServer } from '../devserver';

const Env = z.object({
  RETRAIN_TEMPORAL_PORT: z.coerce.number().int().min(0).max(65535).default(7233),
  RETRAIN_TEMPORAL_HOST: z.string().min(1).default('127.0.0.1'),
});

async function main(): Promise<void> {
  const parsed = Env.safeParse(process.env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`${issue.path.join('.')}: ${issue.message}`);
    process.exit(2);
  }
  const env = parsed.data;
  const server = await startDevServer({ host: env.RETRAIN_TEMPORAL_HOST, port: env.RETRAIN_TEMPORAL_PORT });
  console.log(`Retrain: embedded Temporal server listening on ${server.address} (namespace "default").`);
  console.log('Point Temporal clients and workers at it; Ctrl-C stops it.');
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
