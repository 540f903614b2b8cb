/**
 * `npm start`: the whole of Retrain on one machine, without Docker. One process runs the embedded Temporal-compatible
 * server (devserver/), the workers of both task queues, and the serving endpoint with the drift webhooks
 * (scripts/demo/system.ts), then the demo (scripts/demo/): a stream with a sudden drift that the monitor detects,
 * retrains on, asks approval for, canaries and promotes, shown as a live stage list. With `--config FILE` it monitors
 * that model instead; with `--no-demo` it only serves. It stays up for the `retrain` CLI until Ctrl-C, which shuts
 * everything down gracefully. package.json runs it with node's `--initial-old-space-size=256`, as
 * bin/temporal-devserver (whose header says why). Production uses a real Temporal cluster instead (docker-compose.yml).
 */
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { userInfo } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';
import { CliError } from './cli/common';
import { configWarnings, loadConfigFile } from './cli/config-file';
import { runDemo, DEFAULT_DEMO, type DemoOutcome } from './demo';
import { createDisplay } from './demo/progress';
import { DemoError, startMonitor } from './demo/story';
import { dbFilenameSupported, startSystem, type System } from './demo/system';

/** A port as typed on the command line; the message names the option and repeats what was given. */
const port = (flag: string) =>
  z.string().transform((s, ctx) => {
    const n = /^\d{1,5}$/.test(s.trim()) ? Number(s) : NaN;
    if (!(n >= 0 && n <= 65535)) {
      ctx.addIssue({ code: 'custom', message: `${flag}: expected a port number 0-65535, got ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    return n;
  });

export const StartOptionsSchema = z
  .object({
    host: z.string().min(1, '--host: expected an interface address such as 127.0.0.1'),
    port: port('--port'),
    httpPort: port('--http-port'),
    home: z.string().min(1, '--home: expected a folder'),
    demo: z.boolean(),
    config: z.string().min(1, '--config: expected a model config file').optional(),
    dbFilename: z.string().min(1, '--db-filename: expected a file name').optional(),
    approveAfter: z.string().transform((s, ctx) => {
      const n = s.trim() === '' ? NaN : Number(s);
      if (!(n >= 0 && Number.isFinite(n))) {
        ctx.addIssue({ code: 'custom', message: `--approve-after: expected 0 or more seconds, got ${JSON.stringify(s)}` });
        return z.NEVER;
      }
      return n;
    }),
    webhookToken: z.string().optional(),
  })
  .strict();
export type StartOptions = z.output<typeof StartOptionsSchema>;

export const ExitCodes = { ok: 0, failure: 1, usage: 2 } as const;

class UsageError extends Error {}

function program(env: NodeJS.ProcessEnv): Command {
  const cmd = new Command('npm start --')
    .description('Run Retrain on one machine: the embedded Temporal server, the workers, the serving endpoint and a demo model.')
    .option('--host <address>', 'interface the server and the HTTP endpoint bind', '127.0.0.1')
    .option('--port <port>', 'embedded Temporal server gRPC port (env RETRAIN_TEMPORAL_PORT)', env.RETRAIN_TEMPORAL_PORT ?? '7233')
    .option('--http-port <port>', 'prediction endpoint and drift webhooks HTTP port (env RETRAIN_HTTP_PORT)', env.RETRAIN_HTTP_PORT ?? '8080')
    .option('--home <dir>', 'RETRAIN_HOME: artifact store, registry, reports and logs (env RETRAIN_HOME)', env.RETRAIN_HOME || '.retrain')
    .option('--no-demo', 'start the system without the demo model')
    .option('--config <file>', 'monitor this model config (JSON or YAML) instead of the demo')
    .option('--approve-after <seconds>', "how long the demo waits for you to approve the drift run before approving as demo-operator", String(DEFAULT_DEMO.approvalPauseMs / 1000));
  if (dbFilenameSupported()) {
    cmd.addOption(new Option('--db-filename <file>', "the embedded server's database file, so workflows survive a restart (default: RETRAIN_HOME/temporal.db)"));
  }
  cmd.addHelpText(
    'after',
    [
      '',
      'Environment: RETRAIN_WEBHOOK_TOKEN (shared token the drift webhook requires), NO_COLOR.',
      'Then, in another terminal: npx retrain monitor status demo · npx retrain runs · npx retrain registry history demo',
    ].join('\n'),
  );
  return cmd.exitOverride().configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
}

/** Parses argv (without node and the script); throws UsageError naming the option, or CommanderError for --help. */
export function parseStartOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): StartOptions {
  const cmd = program(env);
  cmd.parse([...argv], { from: 'user' });
  const raw = cmd.opts<Record<string, unknown>>();
  const home = resolve(String(raw.home));
  const supported = dbFilenameSupported();
  const parsed = StartOptionsSchema.safeParse({
    host: raw.host,
    port: raw.port,
    httpPort: raw.httpPort,
    home,
    // A config of one's own replaces the demo.
    demo: raw.demo !== false && raw.config === undefined,
    ...(raw.config !== undefined ? { config: raw.config } : {}),
    ...(supported ? { dbFilename: raw.dbFilename ?? resolve(home, 'temporal.db') } : {}),
    approveAfter: raw.approveAfter,
    ...(env.RETRAIN_WEBHOOK_TOKEN ? { webhookToken: env.RETRAIN_WEBHOOK_TOKEN } : {}),
  });
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}

/**
 * `retrain` as the user would type it in another terminal against this system: with TEMPORAL_ADDRESS when the
 * server is not at the CLI's default address, and RETRAIN_HOME when the home is not the CLI's default (./.retrain
 * of the current folder), since the registry, rollback and report commands read it.
 */
export function cliPrefix(address: string, home: string, cwd: string = process.cwd()): string {
  const env: string[] = [];
  if (resolve(home) !== resolve(cwd, '.retrain')) env.push(`RETRAIN_HOME=${shellQuote(home)}`);
  if (address !== '127.0.0.1:7233') env.push(`TEMPORAL_ADDRESS=${shellQuote(address)}`);
  return [...env, 'npx retrain'].join(' ');
}

/** Quotes a value for a POSIX shell only when it needs it, so the common case stays readable. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Whether a TCP port can be bound, tried with a plain listen before the embedded server binds it: grpc-js logs a raw
 * "No address added out of total 1 resolved" line on a taken port before the error reaches us, so a taken port is
 * found here first and reported with a message that says what to do. Port 0 (any free one) is always free.
 */
export function portIsFree(host: string, port: number): Promise<boolean> {
  if (port === 0) return Promise.resolve(true);
  return new Promise((resolveFree) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolveFree(e.code !== 'EADDRINUSE' && e.code !== 'EACCES'));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolveFree(true)));
  });
}

/** The person at the keyboard, as an approver name. */
function you(): string {
  try {
    const name = userInfo().username.trim();
    return name && /^[\w.@-]+$/.test(name) ? name : 'you';
  } catch {
    return 'you';
  }
}

/** What `npm start` prints when the demo has finished: the outcome, and commands to try next, each runnable as printed. */
export function afterDemo(outcome: DemoOutcome, cli: string, servingUrl: string, uptimeSeconds: number): string {
  // A run of one's own waits for an approver who did not ask for it, and the demo approves nothing more after this.
  const otherApprover = outcome.approvers.find((a) => a !== outcome.you) ?? outcome.approvers[0];
  return [
    '',
    // A resumed demo's run was promoted in an earlier session: a time since this npm start would be meaningless.
    outcome.resumed
      ? `Demo finished in an earlier session: ${outcome.runWorkflowId} ${outcome.decision} at ${new Date(outcome.promotedAt).toISOString()}.`
      : `Demo finished: ${outcome.runWorkflowId} ${outcome.decision} ${uptimeSeconds.toFixed(1)} s after npm start.`,
    ...(outcome.reportHtml ? [`  HTML report: ${outcome.reportHtml}`] : []),
    'Retrain stays up for you to try it (Ctrl-C stops it):',
    `  ${cli} monitor status demo`,
    `  ${cli} runs --model demo`,
    `  ${cli} status ${outcome.runWorkflowId}`,
    `  ${cli} registry history demo`,
    `  ${cli} report ${outcome.runWorkflowId}`,
    `  ${cli} run demo --as ${outcome.you} --reason "try it" --wait`,
    `    a run waits for approval by one of ${outcome.approvers.join(', ')}, never by who asked for it: ${cli} approve RUN --as ${otherApprover}`,
    `  curl -s -X POST ${servingUrl}/v1/models/demo/predict -H 'content-type: application/json' -d '{"rows":[{"x1":0.1,"x2":0.9,"x3":0.5,"x4":0.3,"x5":0.7}]}'`,
    '',
  ].join('\n');
}

function portInUse(port: number, flag: string): string {
  return `port ${port} is already in use (another Temporal server or npm start?): stop it, or pick another with ${flag}`;
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let options: StartOptions;
  try {
    options = parseStartOptions(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCodes.ok : ExitCodes.usage;
    if (e instanceof UsageError) {
      console.error(`${e.message}\n(npm start -- --help lists the options)`);
      return ExitCodes.usage;
    }
    throw e;
  }

  // A config of one's own is read before anything starts, so a bad file costs no startup time.
  let monitored: Awaited<ReturnType<typeof loadConfigFile>> | undefined;
  if (options.config) {
    try {
      monitored = await loadConfigFile(options.config);
      // Valid but not usable on this machine (a data file that does not exist): said now, as `retrain config
      // validate` says it, rather than found later in the monitor's status.
      for (const w of await configWarnings(monitored.config)) console.error(`${options.config}: warning: ${w}`);
    } catch (e) {
      console.error(e instanceof Error ? e.message : String(e));
      return e instanceof CliError ? e.exitCode : ExitCodes.failure;
    }
  }

  const tty = Boolean(process.stdout.isTTY);
  const display = createDisplay({ tty, color: !process.env.NO_COLOR, write: (s) => process.stdout.write(s), clock: () => process.uptime() });
  const logFile = resolve(options.home, 'logs', 'retrain.log');
  for (const [p, flag] of [[options.port, '--port'], [options.httpPort, '--http-port']] as const) {
    if (!(await portIsFree(options.host, p))) {
      console.error(portInUse(p, flag));
      return ExitCodes.failure;
    }
  }
  const system = await startSystem({
    host: options.host,
    port: options.port,
    httpPort: options.httpPort,
    home: options.home,
    logFile,
    ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
    ...(options.webhookToken ? { webhookToken: options.webhookToken } : {}),
  }).catch((e: unknown) => {
    // The usual first-run problem: a Temporal server (or another npm start) already holds a port. The probe above
    // finds it first; this is for a port taken between the probe and the bind.
    const msg = e instanceof Error ? e.message : String(e);
    const m = /EADDRINUSE[^\d]*[\d.]+:(\d+)/.exec(msg);
    if (!m) throw e;
    console.error(portInUse(Number(m[1]), Number(m[1]) === options.httpPort ? '--http-port' : '--port'));
    return undefined;
  });
  if (!system) return ExitCodes.failure;
  const cli = cliPrefix(system.address, system.home);
  display.event(
    [
      `Retrain is running (started in ${process.uptime().toFixed(1)} s):`,
      `  Temporal server   ${system.address} (namespace "${system.namespace}")${options.dbFilename ? `, database ${options.dbFilename}` : ', in memory'}`,
      `  workers           task queues retrain, retrain-training`,
      `  serving           ${system.serving.url}/v1/models/:model/predict · drift webhook ${system.serving.url}/v1/drift${options.webhookToken ? ' (token required)' : ''}`,
      `  RETRAIN_HOME      ${system.home} (log: ${logFile})`,
    ].join('\n'),
  );

  const abort = new AbortController();
  let stopping: Promise<void> | undefined;
  const stop = (why: string) =>
    (stopping ??= (async () => {
      abort.abort(new Error(why));
      display.stop();
      process.stdout.write(`\n${why}: shutting down (workers, serving, server)…\n`);
      await system.close();
      process.stdout.write('Stopped.\n');
    })());
  const done = new Promise<void>((resolveDone) => {
    let signals = 0;
    const onSignal = (name: string) => {
      if (++signals > 1) process.exit(130);
      void stop(name).then(resolveDone);
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
  });

  try {
    if (monitored) {
      const { document, config } = monitored;
      await startMonitor(system.client, document as never, you());
      display.event(`Monitoring ${config.model} (monitor/${config.model}). Try: ${cli} monitor status ${config.model}`);
    } else if (options.demo) {
      const outcome = await runDemo({
        client: system.client,
        home: system.home,
        display,
        you: you(),
        cli,
        settings: { approvalPauseMs: options.approveAfter * 1000 },
        signal: abort.signal,
      });
      display.stop();
      // The run's own promotion moment, not now: the story may end a while later (the report, the workflow's close).
      process.stdout.write(afterDemo(outcome, cli, system.serving.url, process.uptime() - (Date.now() - outcome.promotedAt) / 1000));
    } else {
      display.event(`No demo (--no-demo). Start a monitor with: ${cli} monitor start --config FILE`);
    }
  } catch (e) {
    if (e instanceof DemoError) {
      // The system is fine; the demo's model is not. Stay up so the person can look into it with the CLI.
      display.stop();
      console.error(`Demo stopped: ${e.message}\nRetrain stays up (Ctrl-C stops it); try: ${cli} runs --model demo`);
    } else if (!abort.signal.aborted) {
      display.stop();
      console.error(`Retrain: ${e instanceof Error ? e.message : String(e)}`);
      await stop('error');
      return ExitCodes.failure;
    }
  }
  await done;
  return ExitCodes.ok;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(ExitCodes.failure);
    },
  );
}
