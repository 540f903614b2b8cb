/**
 * What every `retrain` command shares: the exit codes, the error type that carries one, option parsing with zod
 * (an invalid option is reported by its flag name), output in text or `--json`, and the Temporal connection (through
 * `@temporalio/envconfig`, like the worker, so TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_PROFILE and the
 * profile file apply). Errors are translated once here into an exit code and a sentence that says what to do.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, isGrpcServiceError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError, NamespaceNotFoundError } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { parseRunWorkflowId, runWorkflowId, type RunResult } from '../../workflows/definitions';

export const ExitCodes = {
  ok: 0,
  /** Anything else went wrong (a workflow failed, an unexpected error). */
  failure: 1,
  /** Bad usage or input: unknown option, invalid value, invalid config file. */
  usage: 2,
  /** The named thing does not exist: monitor, run, file, report, model version. */
  notFound: 3,
  /** The workflow (or registry) refused the request: approval refused, run not waiting for it, run not promoted. */
  rejected: 4,
  /** Temporal cannot be reached. */
  unavailable: 5,
} as const;
export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

const KIND_OF: Readonly<Record<ExitCode, string>> = {
  0: 'ok',
  1: 'failure',
  2: 'usage',
  3: 'not_found',
  4: 'rejected',
  5: 'unavailable',
};

/** The `--help` epilogue: the exit codes, written once. */
export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  failure (a workflow or an unexpected error)
  2  bad usage or input (unknown option, invalid value, invalid config file)
  3  not found (monitor, run, file, report, model version)
  4  rejected by the workflow or the registry (approval refused, run not waiting, run not promoted, alias moved)
  5  cannot connect to Temporal

Connection: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE (default "default"), TEMPORAL_PROFILE
and the envconfig profile file; --address and --namespace override them. Registry and report commands read
RETRAIN_HOME (default ./.retrain). --json prints one JSON document on stdout (errors as {"error": {...}}).`;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** `--json` and the connection overrides, on every command that talks to Temporal. */
export const JsonOption = { json: z.boolean().default(false) };
export const ConnectionOptions = {
  ...JsonOption,
  address: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
};
export type ConnectionOpts = { address?: string; namespace?: string };

/** A person's name for `--as`: who approves, pauses, rolls back (recorded in history). */
export const PersonSchema = z.string().trim().min(1, 'expected a name');
export const ReasonSchema = z.string().trim().min(1, 'expected a reason');

export function addJsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print machine-readable JSON on stdout');
}

export function addConnectionOptions(cmd: Command): Command {
  return addJsonOption(cmd)
    .option('--address <host:port>', 'Temporal frontend address (default: TEMPORAL_ADDRESS or the envconfig profile)')
    .option('--namespace <name>', 'Temporal namespace (default: TEMPORAL_NAMESPACE or the envconfig profile)');
}

function flagOf(key: PropertyKey): string {
  return `--${String(key).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Options through their zod schema; the first problem names the flag ("--severity: expected one of …"). */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const messages = r.error.issues.map((i) => {
    const where = i.path.length ? flagOf(i.path[0]) : 'options';
    const what =
      i.code === 'invalid_value'
        ? `expected one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`
        : i.code === 'unrecognized_keys'
          ? `unknown option ${i.keys.map(flagOf).join(', ')}`
          : i.message;
    return `${where}: ${what}`;
  });
  throw new CliError(messages.join('; '), ExitCodes.usage);
}

// ---------------------------------------------------------------------------------------------------------------
// Output.

export interface Output {
  readonly json: boolean;
  /** Prints the result: the object as JSON, or the text lines. */
  result(value: unknown, text: () => string): void;
  /** A progress line (text mode on stdout; JSON mode: one JSON object per line on stderr, so stdout stays one document). */
  progress(line: string, event?: unknown): void;
}

export function makeOutput(json: boolean): Output {
  return {
    json,
    result(value, text) {
      process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
    },
    progress(line, event) {
      if (json) process.stderr.write(`${JSON.stringify(event ?? { progress: line })}\n`);
      else process.stdout.write(`${line}\n`);
    },
  };
}

/** Reports an error: a sentence on stderr, and with --json an `{"error": …}` document on stdout for scripts. */
export function reportError(err: CliError, json: boolean): void {
  process.stderr.write(`retrain: ${err.message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ error: { kind: KIND_OF[err.exitCode], exitCode: err.exitCode, message: err.message } }, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Commands.

/**
 * Wraps a command's handler: reads the positional arguments and the options (through the schema), runs it, and
 * turns any error into an exit code. Commander calls actions with (...args, options, command).
 */
export function action<S extends z.ZodType>(
  schema: S,
  handler: (args: string[], opts: z.output<S>, out: Output) => Promise<ExitCode | void>,
): (...params: unknown[]) => Promise<void> {
  return async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const raw = command.opts();
    const json = raw.json === true;
    try {
      const opts = parseOptions(schema, raw);
      const args = command.args.slice(0, command.registeredArguments.length);
      const code = await handler(args, opts, makeOutput(json));
      process.exitCode = code ?? ExitCodes.ok;
    } catch (err) {
      const e = toCliError(err);
      reportError(e, json);
      process.exitCode = e.exitCode;
    }
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Temporal.

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
    throw err;
  } finally {
    await connection.close();
  }
}

function isUnavailable(err: unknown): boolean {
  // 14 UNAVAILABLE: the server went away after the connection was made.
  return isGrpcServiceError(err) && err.code === 14;
}

function unavailable(address: string, err: unknown): CliError {
  const why = err instanceof Error ? err.message : String(err);
  return new CliError(
    `cannot connect to Temporal at ${address} (${why}): is \`npm start\` (or your Temporal cluster) running? set TEMPORAL_ADDRESS or --address`,
    ExitCodes.unavailable,
  );
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
// Names.

/** RUN as a workflow id (`retrain/churn/3`) or `MODEL/N` (`churn/3`) → the workflow id. */
export function runIdOf(ref: string): { workflowId: string; model: string; n: number } {
  const full = parseRunWorkflowId(ref);
  if (full) return { workflowId: ref, ...full };
  const m = /^(.+)\/(\d+)$/.exec(ref);
  if (m) return { workflowId: runWorkflowId(m[1], Number(m[2])), model: m[1], n: Number(m[2]) };
  throw new CliError(`RUN ${JSON.stringify(ref)}: expected a run workflow id (retrain/MODEL/N) or MODEL/N, as \`retrain runs\` lists them`, ExitCodes.usage);
}

export const ModelNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

export function modelOf(name: string): string {
  const r = ModelNameSchema.safeParse(name);
  if (!r.success) throw new CliError(`MODEL ${JSON.stringify(name)}: ${r.error.issues[0].message}`, ExitCodes.usage);
  return r.data;
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
