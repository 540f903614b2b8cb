/**
 * `retrain registry history MODEL [--alias production]`: every alias move, oldest first: what was in production
 * when, who moved it (a run's promotion, an automatic rollback, an operator) and why.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { CliError, ExitCodes, JsonOption, action, addJsonOption, modelOf } from '../common';
import { STORE_OPTION_HELP, StoreOption, openRegistry, storageError } from '../store';

export const ShowAliasHistoryOptions = z.object({ ...JsonOption, ...StoreOption, alias: z.string().min(1).optional() }).strict();

export function register(registry: Command): void {
  addJsonOption(
    registry
      .command('history')
      .description('what was in production (and canary) when, who moved it and why')
      .argument('<model>', 'model name')
      .option('--alias <name>', 'only this alias (production, canary)')
      .option('--store <uri>', STORE_OPTION_HELP),
  ).action(
    action(ShowAliasHistoryOptions, async ([name], opts, out) => {
      const model = modelOf(name);
      const { registry: reg, where } = openRegistry(opts.store);
      const [history, versions] = await Promise.all([reg.aliasHistory(model, opts.alias ? { alias: opts.alias } : {}), reg.listVersions(model)]).catch((e) => {
        throw storageError(e);
      });
      if (versions.length === 0) throw new CliError(`model ${model} has no versions in the registry at ${where}: check the name, RETRAIN_HOME or RETRAIN_S3_BUCKET`, ExitCodes.notFound);
      out.result({ model, store: where, history }, () =>
        history.length === 0
          ? `model ${model}: no alias has moved yet`
          : history
              .map((m) => {
                const move = `${m.alias}: ${m.from === null ? '-' : `v${m.from}`} → ${m.to === null ? '-' : `v${m.to}`}${m.weight !== null && m.weight < 1 ? ` (${Math.round(m.weight * 100)}%)` : ''}`;
                return `${m.at}  ${move.padEnd(26)} by ${m.by}${m.runWorkflowId ? ` (${m.runWorkflowId})` : ''}: ${m.reason}`;
              })
              .join('\n'),
      );
    }),
  );
}
