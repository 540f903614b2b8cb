/**
 * Runs the `retrain` command line as a user would: `bin/retrain` in a child process, with `--json` so the output
 * is parsed, and the exit code. Asynchronous on purpose: a test's worker runs in the test process and must keep
 * polling while the CLI waits on it.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

export const RETRAIN_BIN = resolve(__dirname, '..', '..', 'bin', 'retrain');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (undefined when it is not JSON). */
  readonly json: any;
}

export function retrain(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliResult> {
  return new Promise((resolveResult) => {
    execFile(RETRAIN_BIN, [...args], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, ...(cwd ? { cwd } : {}) }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolveResult({ code, stdout, stderr, json });
    });
  });
}

/** A config with every required field, for the tests to vary. */
export function minimalConfig(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model,
    data: { source: { kind: 'csv-replay', path: 'data.csv', batchRows: 100, every: '1 day' }, label: 'y', positive: '1' },
    ...extra,
  };
}
