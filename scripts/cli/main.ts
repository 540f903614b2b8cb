/**
 * The `retrain` command line: builds the commander program from one module per command (scripts/cli/commands/),
 * and maps commander's own usage errors to exit code 2, so every way of failing has a documented code (see
 * EXIT_CODES_HELP, printed under `--help`). `bin/retrain` runs `main`.
 */
import { Command, CommanderError } from 'commander';
import { CliError, EXIT_CODES_HELP, ExitCodes, reportError } from './common';
import * as approveLabels from './commands/approve-labels';
import * as approveRun from './commands/approve-run';
import * as listRuns from './commands/list-runs';
import * as listVersions from './commands/list-versions';
import * as openReport from './commands/open-report';
import * as pauseMonitor from './commands/pause-monitor';
import * as rejectRun from './commands/reject-run';
import * as rollbackModel from './commands/rollback-model';
import * as serveModels from './commands/serve-models';
import * as showAliasHistory from './commands/show-alias-history';
import * as showMonitor from './commands/show-monitor';
import * as showRun from './commands/show-run';
import * as signalDrift from './commands/signal-drift';
import * as startMonitor from './commands/start-monitor';
import * as startRun from './commands/start-run';
import * as validateConfig from './commands/validate-config';

export function buildProgram(): Command {
  const program = new Command('retrain')
    .description('Retrain: ML model retraining as durable Temporal workflows. Operate monitors and runs, approve promotions, read the registry.')
    .version(readVersion(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);

  const monitor = program.command('monitor').description("a model's monitor workflow (monitor/<model>)").addHelpText('after', `\n${EXIT_CODES_HELP}`);
  startMonitor.register(monitor);
  showMonitor.register(monitor);
  pauseMonitor.register(monitor);

  const config = program.command('config').description('model config files');
  validateConfig.register(config);

  signalDrift.register(program);
  startRun.register(program);
  listRuns.register(program);
  showRun.register(program);
  approveRun.register(program);
  rejectRun.register(program);
  approveLabels.register(program);
  rollbackModel.register(program);
  openReport.register(program);
  serveModels.register(program);

  const registry = program.command('registry').description('the model registry: versions, aliases and their history (reads RETRAIN_HOME or RETRAIN_S3_*)');
  listVersions.register(registry);
  showAliasHistory.register(registry);

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
      const e = err instanceof CliError ? err : new CliError(err instanceof Error ? err.message : String(err), ExitCodes.failure);
      reportError(e, argv.includes('--json'));
      process.exitCode = e.exitCode;
    }
  }
  return Number(process.exitCode ?? 0);
}

if (require.main === module) void main();
