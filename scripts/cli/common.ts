/**
 * What every `retrain` command's implementation shares (the lighter part is ./base, the Temporal connection is
 * ./temporal): option parsing with zod (an invalid option is reported by its flag name), output in text or
 * `--json`, names of runs and models, and the action wrapper that turns any error into its exit code. It loads no
 * Temporal SDK, so an offline command such as `config validate` does not pay for it.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { parseRunWorkflowId, runWorkflowId } from '../../workflows/names';
import { CliError, ExitCodes, reportError, type ExitCode } from './base';

// The light part (exit codes, the error type, the shared flags) lives in ./base, which main.ts loads for every call.
export { CliError, EXIT_CODES_HELP, ExitCodes, addConnectionOptions, addJsonOption, reportError, type ExitCode } from './base';

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
      // Errors from Temporal were translated by withTemporal (./temporal); anything else not a CliError is a failure.
      const e = err instanceof CliError ? err : new CliError(err instanceof Error ? err.message : String(err), ExitCodes.failure);
      reportError(e, json);
      process.exitCode = e.exitCode;
    }
  };
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
