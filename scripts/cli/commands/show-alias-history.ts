/**
 * `retrain registry history MODEL [--alias production]`: every alias move, oldest first: what was in production
 * when, who moved it (a run's promotion, an automatic rollback, an operator) and why.
 */
import { z } from 'zod';
import { CliError, ExitCodes, JsonOption, action, modelOf } from '../common';
import { StoreOption, openRegistry, storageError } from '../store';

export const ShowAliasHistoryOptions = z.object({ ...JsonOption, ...StoreOption, alias: z.string().min(1).optional() }).strict();

export const run = action(ShowAliasHistoryOptions, async ([name], opts, out) => {
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
});
