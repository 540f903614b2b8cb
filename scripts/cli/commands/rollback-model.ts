/**
 * `retrain rollback MODEL --to VERSION --as NAME --reason …`: moves the production alias back to an earlier
 * version in the registry by compare-and-set (expected: where production is now), so a promotion that lands in
 * between is not silently overwritten: the move is refused (exit 4) and can be retried after a look at
 * `retrain registry history`. Any canary is left to the monitor, which reads the aliases on its next check.
 */
import { z } from 'zod';
import { ModelAlias } from '../../../storage/registry';
import { CliError, ExitCodes, JsonOption, PersonSchema, ReasonSchema, action, modelOf } from '../common';
import { StoreOption, openRegistry, storageError } from '../store';

export const RollbackModelOptions = z
  .object({
    ...JsonOption,
    ...StoreOption,
    to: z.coerce.number({ error: 'expected a version number' }).int('expected a version number').positive('expected a version number'),
    as: PersonSchema,
    reason: ReasonSchema,
  })
  .strict();

export const run = action(RollbackModelOptions, async ([name], opts, out) => {
  const model = modelOf(name);
  const { registry: reg, where } = openRegistry(opts.store);
  try {
    const versions = await reg.listVersions(model);
    if (versions.length === 0) throw new CliError(`model ${model} has no versions in the registry at ${where}: check the name, RETRAIN_HOME or RETRAIN_S3_BUCKET`, ExitCodes.notFound);
    if (!versions.some((v) => v.version === opts.to)) throw new CliError(`model ${model} has no version ${opts.to} (versions ${versions.map((v) => v.version).join(', ')}): see \`retrain registry list ${model}\``, ExitCodes.notFound);
    const current = await reg.getAlias(model, ModelAlias.production);
    if (current?.version === opts.to) throw new CliError(`production of ${model} is already v${opts.to}`, ExitCodes.rejected);
    const move = await reg.moveAlias(model, ModelAlias.production, { to: opts.to, expected: current?.version ?? null, by: opts.as, reason: opts.reason });
    out.result({ model, store: where, move }, () => `production of ${model}: ${move.from === null ? 'none' : `v${move.from}`} → v${move.to} by ${move.by}: ${move.reason}`);
  } catch (err) {
    throw storageError(err);
  }
});
