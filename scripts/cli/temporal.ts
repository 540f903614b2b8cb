/**
 * The Temporal connection of the `retrain` commands that talk to Temporal: through `@temporalio/envconfig`, like
 * the worker, so TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_PROFILE and the profile file apply. Temporal's
 * errors are translated once here (in withTemporal) into an exit code and a sentence that says what to do.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, isGrpcServiceError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError, NamespaceNotFoundError } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { RunResult } from '../../workflows/definitions';
import { cannotConnect, refusalUnlessProxied } from '../../workers/temporal-address';
import { CliError, ExitCodes, type ConnectionOpts } from './common';

const CONNECT_TIMEOUT = '5s';

export interface Temporal {
  readonly client: Client;
  readonly address: string;
  readonly namespace: string;
}

/** Resolved connection settings: the envconfig profile, then the command line. */
export function connectionSettings(opts: ConnectionOpts): { address: string; namespace: string; connectionOptions: Record<string, unknown> } {
  const config = loadClientConnectConfig();
  const address = opts.address ?? config.connectionOptions.address ?? '127.0.0.1:7233';
  const namespace = opts.namespace ?? config.namespace ?? 'default';
  return { address, namespace, connectionOptions: { ...config.connectionOptions, address } };
}

/** Connects, runs `fn` with a client, and closes the connection (so the process can exit). */
export async function withTemporal<T>(opts: ConnectionOpts, fn: (t: Temporal) => Promise<T>): Promise<T> {
  const { address, namespace, connectionOptions } = connectionSettings(opts);
  // grpc-js retries a refused connection with backoff until the connect timeout, so a stopped server would cost the
  // whole timeout; a plain TCP connection first finds that out at once.
  const refused = await refusalUnlessProxied(address, connectionOptions);
  if (refused) throw unavailable(address, refused);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...(connectionOptions as object), connectTimeout: CONNECT_TIMEOUT });
  } catch (err) {
    throw unavailable(address, err);
  }
  try {
    return await fn({ client: new Client({ connection, namespace }), address, namespace });
  } catch (err) {
    if (isUnavailable(err)) throw unavailable(address, err);
    if (err instanceof NamespaceNotFoundError) throw new CliError(`namespace ${JSON.stringify(namespace)} does not exist on ${address}: set TEMPORAL_NAMESPACE or --namespace`, ExitCodes.notFound);
    throw toCliError(err);
  } finally {
    await connection.close();
  }
}

function isUnavailable(err: unknown): boolean {
  // 14 UNAVAILABLE: the server went away after the connection was made.
  return isGrpcServiceError(err) && err.code === 14;
}

function unavailable(address: string, err: unknown): CliError {
  return new CliError(cannotConnect(address, err, 'is `npm start` (or your Temporal cluster) running? set TEMPORAL_ADDRESS or --address'), ExitCodes.unavailable);
}

/** The innermost ApplicationFailure message of an update failure: what the validator or handler said. */
function failureMessage(err: Error): string {
  let e: unknown = err;
  let message = err.message;
  while (e instanceof Error) {
    if (e instanceof ApplicationFailure) message = e.message;
    e = (e as { cause?: unknown }).cause;
  }
  return message;
}

/** Any error → a CliError with the exit code of its kind. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof WorkflowNotFoundError) {
    return new CliError(`${err.message}${err.workflowId ? ` (${err.workflowId})` : ''}: check the name with \`retrain runs\` or start the monitor with \`retrain monitor start --config FILE\``, ExitCodes.notFound);
  }
  if (err instanceof WorkflowUpdateFailedError) return new CliError(`refused: ${failureMessage(err)}`, ExitCodes.rejected);
  if (err instanceof WorkflowExecutionAlreadyStartedError) return new CliError(err.message, ExitCodes.failure);
  if (isGrpcServiceError(err)) {
    if (err.code === 5) return new CliError(`not found: ${err.details || err.message}`, ExitCodes.notFound);
    if (err.code === 3) return new CliError(`invalid request: ${err.details || err.message}`, ExitCodes.usage);
    if (err.code === 9) return new CliError(`refused: ${err.details || err.message}`, ExitCodes.rejected);
  }
  return new CliError(err instanceof Error ? err.message : String(err), ExitCodes.failure);
}

// ---------------------------------------------------------------------------------------------------------------
// Answering a run.

function isNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && err.code === 5);
}

/**
 * How a closed run ended: its decision (from the run's result), or the workflow status when it did not complete
 * (`failed`, `terminated`, …). Undefined while it runs.
 */
async function endedAs(handle: WorkflowHandle): Promise<string | undefined> {
  const d = await handle.describe();
  if (d.status.name === 'RUNNING') return undefined;
  if (d.status.name === 'COMPLETED') {
    const r = (await handle.result()) as RunResult | undefined;
    if (r && typeof r.decision === 'string') return r.decision;
  }
  return d.status.name.toLowerCase();
}

/**
 * Sends an update to a run (approve, reject). Temporal answers "not found" both for a run that never existed and
 * for one that already closed (an update needs a running workflow), so on "not found" the run is described: a
 * closed run is a refusal (exit 4) that says how it ended, and only a run that does not exist stays exit 3.
 */
export async function updateRun<T>(handle: WorkflowHandle, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const ended = await endedAs(handle).catch(() => undefined);
    if (ended !== undefined) {
      throw new CliError(`${handle.workflowId} already ended with decision ${ended}: there is nothing left to answer (see \`retrain status ${handle.workflowId}\`)`, ExitCodes.rejected);
    }
    throw err;
  }
}
