/**
 * The light part of what every `retrain` command shares, which main.ts loads on every call: the exit codes and
 * their help text, the error type that carries one, how an error is reported, and the shared flags. It imports
 * nothing at run time, so `retrain --version` and `--help` load no Temporal SDK, zod or storage code.
 */
import type { Command } from 'commander';

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

/** Reports an error: a sentence on stderr, and with --json an `{"error": …}` document on stdout for scripts. */
export function reportError(err: CliError, json: boolean): void {
  process.stderr.write(`retrain: ${err.message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ error: { kind: KIND_OF[err.exitCode], exitCode: err.exitCode, message: err.message } }, null, 2)}\n`);
}

export function addJsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print machine-readable JSON on stdout');
}

export function addConnectionOptions(cmd: Command): Command {
  return addJsonOption(cmd)
    .option('--address <host:port>', 'Temporal frontend address (default: TEMPORAL_ADDRESS or the envconfig profile)')
    .option('--namespace <name>', 'Temporal namespace (default: TEMPORAL_NAMESPACE or the envconfig profile)');
}

/** The `--store` flag's help (registry, rollback). */
export const STORE_OPTION_HELP = 'artifact store URI (file:///path or s3://bucket/prefix; default: RETRAIN_S3_BUCKET, else RETRAIN_HOME)';
