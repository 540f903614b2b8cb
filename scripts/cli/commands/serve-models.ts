/**
 * `retrain serve`: the prediction endpoint and the drift webhooks (serving/server.ts) as their own process, for a
 * deployment where serving runs apart from the workers (`npm start` runs the same server in its one process). It
 * reads the registry and writes the prediction log in the store of RETRAIN_HOME or RETRAIN_S3_*, and signals the
 * monitors through the Temporal connection the other commands use. Runs until SIGINT or SIGTERM.
 */
import { Client, Connection } from '@temporalio/client';
import { z } from 'zod';
import { createDependencies } from '../../../activities/deps';
import { startServing } from '../../../serving/server';
import { PredictionLog } from '../../../storage';
import { CliError, ConnectionOptions, ExitCodes, action } from '../common';
import { connectionSettings } from '../temporal';

const Port = z
  .string()
  .regex(/^\d+$/, 'expected a port number')
  .transform(Number)
  .refine((n) => n >= 0 && n <= 65535, 'expected a port number from 0 to 65535');

export const ServeOptions = z
  .object({
    ...ConnectionOptions,
    port: Port.default(8080),
    host: z.string().min(1).default('127.0.0.1'),
  })
  .strict();

export const run = action(ServeOptions, async (_args, opts, out) => {
  let deps;
  try {
    deps = createDependencies();
  } catch (err) {
    throw new CliError((err as Error).message, ExitCodes.usage);
  }
  const { address, namespace, connectionOptions } = connectionSettings(opts);
  // The webhooks need Temporal; predictions do not, so a server that is down is a warning, not a refusal.
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ ...(connectionOptions as object), connectTimeout: '5s' });
  } catch (err) {
    console.error(`warning: cannot connect to Temporal at ${address} (${(err as Error).message}): drift webhooks answer 503 until you restart with a reachable server`);
  }
  let serving;
  try {
    serving = await startServing({
      port: opts.port,
      host: opts.host,
      registry: deps.registry,
      store: deps.store,
      predictionLog: new PredictionLog(deps.store),
      ...(connection ? { client: new Client({ connection, namespace }) } : {}),
      ...(process.env.RETRAIN_WEBHOOK_TOKEN ? { webhookToken: process.env.RETRAIN_WEBHOOK_TOKEN } : {}),
      log: (line) => console.error(line),
    });
  } catch (err) {
    await connection?.close();
    throw new CliError(`cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}`, ExitCodes.failure);
  }
  out.result({ url: serving.url, temporal: connection ? address : null }, () => `serving on ${serving.url} (Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await serving.close();
  await connection?.close();
});
