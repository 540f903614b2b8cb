/** `retrain registry list MODEL`: the model's registered versions with their lineage, and where each alias points. */
import { z } from 'zod';
import { CliError, ExitCodes, JsonOption, action, modelOf } from '../common';
import { StoreOption, openRegistry, storageError } from '../store';

export const ListVersionsOptions = z.object({ ...JsonOption, ...StoreOption }).strict();

export const run = action(ListVersionsOptions, async ([name], opts, out) => {
  const model = modelOf(name);
  const { registry: reg, where } = openRegistry(opts.store);
  const [versions, aliases] = await Promise.all([reg.listVersions(model), reg.getAliases(model)]).catch((e) => {
    throw storageError(e);
  });
  if (versions.length === 0) throw new CliError(`model ${model} has no versions in the registry at ${where}: check the name, RETRAIN_HOME or RETRAIN_S3_BUCKET`, ExitCodes.notFound);
  const byVersion = new Map<number, string[]>();
  for (const [alias, state] of Object.entries(aliases)) byVersion.set(state.version, [...(byVersion.get(state.version) ?? []), state.weight < 1 ? `${alias} ${Math.round(state.weight * 100)}%` : alias]);
  out.result({ model, store: where, aliases, versions }, () =>
    [
      `model ${model} (${where})`,
      ...versions.map((v) => {
        const metrics = Object.entries(v.lineage.metrics ?? {}).map(([k, x]) => `${k}=${x.toFixed(3)}`).join(' ');
        const tags = byVersion.get(v.version);
        return `  v${v.version}  ${v.createdAt}  ${v.lineage.runWorkflowId}${metrics ? `  ${metrics}` : ''}${tags ? `  [${tags.join(', ')}]` : ''}`;
      }),
    ].join('\n'),
  );
});
