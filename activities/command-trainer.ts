/**
 * The `command` trainer: a user's own program (Python, R, a shell script, anything) trains and scores the model,
 * and Retrain only hands it files. The contract, as the README documents it:
 *
 *   trainer: { kind: "command", train: [argv…], predict: [argv…], params: {…}, cwd?, timeout? ("1 hour") }
 *
 *   Training runs `train` with these placeholders replaced (anywhere inside an argument) by absolute paths:
 *     {data}    a CSV of the training set: a header row, the feature columns and the label column, as in the source
 *     {weights} a text file with one sample weight per data row (recency weighting; all 1 without it)
 *     {schema}  JSON: { "features": [{ "name", "type": "numeric" | "categorical" }], "label": "<column>",
 *               "positive": "<value>", "negative"?: ["<value>", …] }
 *     {params}  JSON: the config's `params` object, as written
 *     {model}   the path the program must write its model to (one file, any format; Retrain stores its bytes)
 *   Scoring runs `predict` with:
 *     {model}   the model file the training program wrote
 *     {data}    a CSV of the rows to score (a header row and the feature columns; the label may be present)
 *     {scores}  the path the program must write: one probability of the positive class per data row, one per
 *               line, in row order (blank lines ignored)
 *   The program's working directory is `cwd` (default: the worker's). Exit code 0 means success; any other exit
 *   code, a missing output file, or scores that are not one number in [0, 1] per row fail the activity with an
 *   ApplicationFailure of type `CommandFailed` carrying the exit code and the last 2 KB of stderr. A program
 *   still running at `timeout` is killed (SIGKILL) and the failure says so; timeouts are retried, other
 *   failures are not (the same program on the same files fails the same way). Cancelling the activity kills it.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorTypes } from './types';
import { failure } from './failures';

export interface CommandRun {
  readonly argv: readonly string[];
  readonly files: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Called every few seconds while the program runs (the activity heartbeats). */
  readonly onTick?: () => void;
}

export interface CommandOutcome {
  readonly exitCode: number;
  readonly stderrTail: string;
  readonly wallMs: number;
}

const TAIL_BYTES = 2048;

/** Replaces {placeholders} in every argument; an unknown placeholder is left as written. */
export function expandArgv(argv: readonly string[], files: Readonly<Record<string, string>>): string[] {
  return argv.map((a) => a.replace(/\{([a-z]+)\}/g, (m, name: string) => files[name] ?? m));
}

/** Runs the program; resolves on exit code 0, otherwise throws CommandFailed. */
export function runCommand(run: CommandRun, what: string): Promise<CommandOutcome> {
  const argv = expandArgv(run.argv, run.files);
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    const child = spawn(argv[0], argv.slice(1), { cwd: run.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      stderr = (stderr + s).slice(-TAIL_BYTES);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, run.timeoutMs);
    const tick = run.onTick ? setInterval(run.onTick, 2000) : undefined;
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    run.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      if (tick) clearInterval(tick);
      run.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e) => {
      done();
      reject(failure(ErrorTypes.commandFailed, `${what}: could not start ${JSON.stringify(argv[0])}: ${e.message}`, { nonRetryable: true, details: { exitCode: null, stderr: '' } }));
    });
    child.on('close', (code, sig) => {
      done();
      const tail = stderr.trim();
      if (aborted) return reject(run.signal?.reason ?? new Error('cancelled'));
      if (timedOut) {
        return reject(failure(ErrorTypes.commandFailed, `${what}: killed after the timeout of ${run.timeoutMs} ms${tail ? `; stderr: ${tail}` : ''}`, { details: { exitCode: null, signal: 'SIGKILL', stderr: tail } }));
      }
      if (code !== 0) {
        const how = code === null ? `was killed by ${sig}` : `exited with code ${code}`;
        return reject(failure(ErrorTypes.commandFailed, `${what}: ${argv.join(' ')} ${how}${tail ? `; stderr: ${tail}` : ' (no stderr)'}`, { nonRetryable: code !== null, details: { exitCode: code, signal: sig, stderr: tail } }));
      }
      resolvePromise({ exitCode: 0, stderrTail: tail, wallMs: Date.now() - started });
    });
  });
}

export interface CommandTrainerConfig {
  readonly train: readonly string[];
  readonly predict: readonly string[];
  readonly params: Readonly<Record<string, unknown>>;
  readonly cwd?: string;
  readonly timeout: number;
}

/** Trains with the user's program in `workDir`; returns the model file's bytes. */
export async function commandTrain(
  cfg: CommandTrainerConfig,
  input: { csv: string; weights: Float64Array; schema: unknown },
  opts: { workDir: string; signal?: AbortSignal; onTick?: () => void },
): Promise<{ model: Uint8Array; stderrTail: string }> {
  await mkdir(opts.workDir, { recursive: true });
  const files = {
    data: join(opts.workDir, 'train.csv'),
    weights: join(opts.workDir, 'weights.txt'),
    schema: join(opts.workDir, 'schema.json'),
    params: join(opts.workDir, 'params.json'),
    model: join(opts.workDir, 'model.out'),
  };
  await rm(files.model, { force: true });
  await writeFile(files.data, input.csv);
  await writeFile(files.weights, `${Array.from(input.weights).join('\n')}\n`);
  await writeFile(files.schema, JSON.stringify(input.schema, null, 2));
  await writeFile(files.params, JSON.stringify(cfg.params, null, 2));
  const out = await runCommand({ argv: cfg.train, files, cwd: cfg.cwd, timeoutMs: cfg.timeout, signal: opts.signal, onTick: opts.onTick }, 'command trainer (train)');
  const exists = await stat(files.model).then((s) => s.isFile(), () => false);
  if (!exists) {
    throw failure(ErrorTypes.commandFailed, `command trainer (train): exited with code 0 but wrote no model file at {model} (${files.model})${out.stderrTail ? `; stderr: ${out.stderrTail}` : ''}`, {
      nonRetryable: true,
      details: { exitCode: 0, stderr: out.stderrTail },
    });
  }
  return { model: await readFile(files.model), stderrTail: out.stderrTail };
}

/** Scores `rows` (a CSV) with the user's program; returns one probability per row. */
export async function commandPredict(
  cfg: Pick<CommandTrainerConfig, 'predict' | 'cwd' | 'timeout'>,
  input: { model: Uint8Array; csv: string; rows: number },
  opts: { workDir: string; signal?: AbortSignal; onTick?: () => void },
): Promise<Float64Array> {
  await mkdir(opts.workDir, { recursive: true });
  const files = { model: join(opts.workDir, 'model.in'), data: join(opts.workDir, 'rows.csv'), scores: join(opts.workDir, 'scores.txt') };
  await rm(files.scores, { force: true });
  await writeFile(files.model, input.model);
  await writeFile(files.data, input.csv);
  const out = await runCommand({ argv: cfg.predict, files, cwd: cfg.cwd, timeoutMs: cfg.timeout, signal: opts.signal, onTick: opts.onTick }, 'command trainer (predict)');
  let text: string;
  try {
    text = await readFile(files.scores, 'utf8');
  } catch {
    throw failure(ErrorTypes.commandFailed, `command trainer (predict): exited with code 0 but wrote no scores file at {scores} (${files.scores})${out.stderrTail ? `; stderr: ${out.stderrTail}` : ''}`, {
      nonRetryable: true,
      details: { exitCode: 0, stderr: out.stderrTail },
    });
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length !== input.rows) {
    throw failure(ErrorTypes.commandFailed, `command trainer (predict): expected ${input.rows} scores (one per row), got ${lines.length} lines in {scores}`, { nonRetryable: true, details: { exitCode: 0, stderr: out.stderrTail } });
  }
  const p = new Float64Array(lines.length);
  lines.forEach((l, i) => {
    const v = Number(l);
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) {
      throw failure(ErrorTypes.commandFailed, `command trainer (predict): line ${i + 1} of {scores} is ${JSON.stringify(l.slice(0, 40))}, expected a probability in [0, 1]`, { nonRetryable: true, details: { exitCode: 0, stderr: out.stderrTail } });
    }
    p[i] = v;
  });
  return p;
}
