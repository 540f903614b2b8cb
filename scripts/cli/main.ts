/**
 * The `retrain` command line: the commander program (every command's name, arguments, options and help), and
 * commander's own usage errors mapped to exit code 2, so every way of failing has a documented code (see
 * EXIT_CODES_HELP, printed under `--help`). `bin/retrain` runs `main`.
 *
 * Each command's implementation (its zod options schema and handler) is one module in scripts/cli/commands/,
 * loaded only when that command runs: their imports (the Temporal client, the S3 SDK, zod, ml/) take seconds to
 * load and compile, and a call of one command, or `--help`, or `--version`, should pay for none of the others.
 * So this file imports only commander, ./base and ../../workflows/names, which have no heavy imports.
 */
import { Command, CommanderError } from 'commander';
import { EXIT_CODES_HELP, STORE_OPTION_HELP, CliError, ExitCodes, addConnectionOptions, addJsonOption, reportError } from './base';
import { Decisions, Stages, TASK_QUEUE } from '../../workflows/names';

type Action = (...params: unknown[]) => Promise<void>;

/**
 * A command action that loads its module on first call. `require`, not `import()`: bin/retrain registers tsx's
 * CommonJS hook only, and a dynamic import() of a .ts file would go to Node's ESM loader, which cannot read it.
 */
function lazy<M>(load: () => M, pick: (m: M) => Action): Action {
  return async (...params) => pick(load())(...params);
}

export function buildProgram(): Command {
  const program = new Command('retrain')
    .description('Retrain: ML model retraining as durable Temporal workflows. Operate monitors and runs, approve promotions, read the registry.')
    .version(readVersion(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);

  // ---- monitor
  const monitor = program.command('monitor').description("a model's monitor workflow (monitor/<model>)").addHelpText('after', `\n${EXIT_CODES_HELP}`);
  addConnectionOptions(
    monitor
      .command('start')
      .description("start the model's monitor with a config, or apply the config to the running monitor (configure update)")
      .requiredOption('--config <file>', 'model config (JSON or YAML)')
      .option('--as <name>', 'who applies the config (default: your user name)')
      .option('--task-queue <name>', 'task queue of the Retrain worker', TASK_QUEUE),
  ).action(lazy((): typeof import('./commands/start-monitor') => require('./commands/start-monitor'), (m) => m.run));
  addConnectionOptions(
    monitor
      .command('status')
      .description("show the model's monitor: production, canary, active run, recent runs, and the registry's aliases beside them")
      .argument('<model>', 'model name')
      .option('--store <uri>', STORE_OPTION_HELP),
  ).action(
    lazy((): typeof import('./commands/show-monitor') => require('./commands/show-monitor'), (m) => m.run),
  );
  for (const verb of ['pause', 'resume'] as const) {
    addConnectionOptions(
      monitor
        .command(verb)
        .description(verb === 'pause' ? 'pause the monitor: triggers are recorded, no run starts' : 'resume a paused monitor')
        .argument('<model>', 'model name')
        .requiredOption('--as <name>', `who ${verb}s it (recorded)`)
        .requiredOption('--reason <text>', 'why (recorded)'),
    ).action(lazy((): typeof import('./commands/pause-monitor') => require('./commands/pause-monitor'), (m) => m[verb]));
  }

  // ---- config
  const config = program.command('config').description('model config files');
  addJsonOption(
    config
      .command('validate')
      .description('check a model config file (JSON or YAML) against the schema; exit 2 naming each bad field')
      .argument('<file>', 'model config file'),
  ).action(lazy((): typeof import('./commands/validate-config') => require('./commands/validate-config'), (m) => m.run));

  // ---- runs and their messages
  addConnectionOptions(
    program
      .command('drift')
      .description("signal drift to the model's monitor (driftDetected), as a monitoring service would")
      .argument('<model>', 'model name')
      .requiredOption('--severity <level>', 'low, medium or high')
      .requiredOption('--source <name>', 'what detected it (a monitoring service, a detector)')
      .option('--event-id <id>', 'unique alert id: a redelivered alert with the same id counts once (default: a new UUID)')
      .option('--score <number>', 'the detector score')
      .option('--features <a,b,…>', 'comma-separated drifted features'),
  ).action(lazy((): typeof import('./commands/signal-drift') => require('./commands/signal-drift'), (m) => m.run));
  addConnectionOptions(
    program
      .command('run')
      .description('start a retraining run now (retrainNow); queued when a run is active')
      .argument('<model>', 'model name')
      .requiredOption('--as <name>', 'who asks (may not approve this run later)')
      .requiredOption('--reason <text>', 'why (recorded as the trigger)')
      .option('--wait', 'follow the run stage by stage until it has a decision')
      .option('--poll <duration>', 'how often --wait reads the run status', '1s'),
  ).action(lazy((): typeof import('./commands/start-run') => require('./commands/start-run'), (m) => m.run));
  addConnectionOptions(
    program
      .command('runs')
      .description('list retraining runs (visibility query on the Retrain search attributes), newest first')
      .option('--model <name>', 'only this model')
      .option('--stage <stage>', `only runs at this stage: ${Object.values(Stages).join(', ')}`)
      .option('--decision <decision>', `only runs that ended so: ${Object.values(Decisions).join(', ')}`)
      .option('--since <when>', 'started at or after: an ISO date-time or a duration back from now ("7 days")')
      .option('--limit <n>', 'at most this many', '50'),
  ).action(lazy((): typeof import('./commands/list-runs') => require('./commands/list-runs'), (m) => m.run));
  addConnectionOptions(program.command('status').description("show a run's stage, gate result, approval and timeline").argument('<run>', 'retrain/MODEL/N or MODEL/N')).action(
    lazy((): typeof import('./commands/show-run') => require('./commands/show-run'), (m) => m.run),
  );
  addConnectionOptions(
    program
      .command('approve')
      .description("approve a blessed candidate's promotion")
      .argument('<run>', 'retrain/MODEL/N or MODEL/N')
      .requiredOption('--as <name>', 'approver (must be one of the configured approvers)')
      .option('--comment <text>', 'recorded with the approval'),
  ).action(lazy((): typeof import('./commands/approve-run') => require('./commands/approve-run'), (m) => m.run));
  addConnectionOptions(
    program
      .command('reject')
      .description("reject a candidate's promotion")
      .argument('<run>', 'retrain/MODEL/N or MODEL/N')
      .requiredOption('--as <name>', 'approver (must be one of the configured approvers)')
      .requiredOption('--reason <text>', 'why (recorded in the run and its report)'),
  ).action(lazy((): typeof import('./commands/reject-run') => require('./commands/reject-run'), (m) => m.run));
  addConnectionOptions(
    program
      .command('approve-labels')
      .description('approve the labels a run is waiting for (labelsApproved)')
      .argument('<run>', 'retrain/MODEL/N or MODEL/N')
      .requiredOption('--as <name>', "approver (one of the config's labels.approvers)")
      .option('--labels <uri>', 'where the labelled data is, when it is not where the labeling request said')
      .option('--note <text>', 'recorded with the approval'),
  ).action(lazy((): typeof import('./commands/approve-labels') => require('./commands/approve-labels'), (m) => m.run));
  addJsonOption(
    program
      .command('rollback')
      .description('move the production alias to an earlier version (compare-and-set, recorded in the alias history)')
      .argument('<model>', 'model name')
      .requiredOption('--to <version>', 'the version to serve in production')
      .requiredOption('--as <name>', 'who rolls back (recorded)')
      .requiredOption('--reason <text>', 'why (recorded)')
      .option('--store <uri>', STORE_OPTION_HELP),
  ).action(lazy((): typeof import('./commands/rollback-model') => require('./commands/rollback-model'), (m) => m.run));
  addConnectionOptions(
    program.command('report').description("print the path of a run's report (HTML and JSON)").argument('<run>', 'retrain/MODEL/N or MODEL/N').option('--open', 'open the HTML report with xdg-open (Linux) or open (macOS)'),
  ).action(lazy((): typeof import('./commands/open-report') => require('./commands/open-report'), (m) => m.run));
  addConnectionOptions(
    program
      .command('serve')
      .description('serve predictions (POST /v1/models/:model/predict, /feedback) and drift webhooks (POST /v1/drift) until Ctrl-C')
      .option('--port <port>', 'HTTP port', '8080')
      .option('--host <address>', 'interface to bind', '127.0.0.1'),
  ).action(lazy((): typeof import('./commands/serve-models') => require('./commands/serve-models'), (m) => m.run));

  // ---- registry
  const registry = program.command('registry').description('the model registry: versions, aliases and their history (reads RETRAIN_HOME or RETRAIN_S3_*)');
  addJsonOption(registry.command('list').description("list a model's versions and its aliases (production, canary)").argument('<model>', 'model name').option('--store <uri>', STORE_OPTION_HELP)).action(
    lazy((): typeof import('./commands/list-versions') => require('./commands/list-versions'), (m) => m.run),
  );
  addJsonOption(
    registry
      .command('history')
      .description('what was in production (and canary) when, who moved it and why')
      .argument('<model>', 'model name')
      .option('--alias <name>', 'only this alias (production, canary)')
      .option('--store <uri>', STORE_OPTION_HELP),
  ).action(lazy((): typeof import('./commands/show-alias-history') => require('./commands/show-alias-history'), (m) => m.run));

  for (const group of [config, registry]) group.addHelpText('after', `\n${EXIT_CODES_HELP}`);
  return program;
}

function readVersion(): string {
  // package.json sits two folders up; read at run time so the CLI reports the installed version.
  return (require('../../package.json') as { version: string }).version;
}

/** Runs the command line; resolves with the exit code (also set on process.exitCode). */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; every other commander error (unknown option, missing argument, no command) is usage.
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || (err.code === 'commander.help' && err.exitCode === 0);
      process.exitCode = ok ? ExitCodes.ok : ExitCodes.usage;
      if (!ok && argv.includes('--json')) {
        process.stdout.write(`${JSON.stringify({ error: { kind: 'usage', exitCode: ExitCodes.usage, message: err.message.replace(/^error: /, '') } }, null, 2)}\n`);
      }
    } else {
      // Errors the command's action did not turn into an exit code itself: a module that fails to load, for one.
      const e = err instanceof CliError ? err : new CliError(err instanceof Error ? err.message : String(err), ExitCodes.failure);
      reportError(e, argv.includes('--json'));
      process.exitCode = e.exitCode;
    }
  }
  return Number(process.exitCode ?? 0);
}

if (require.main === module) void main();
