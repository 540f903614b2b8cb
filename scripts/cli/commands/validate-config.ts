/**
 * `retrain config validate FILE`: checks a model config offline (no Temporal needed) and prints every problem with
 * the path of its field, or the model name and the config with defaults filled in.
 */
import { z } from 'zod';
import { ExitCodes, JsonOption, action } from '../common';
import { configWarnings, describeConfigIssues, readConfigFile } from '../config-file';

export const ValidateConfigOptions = z.object({ ...JsonOption }).strict();

export const run = action(ValidateConfigOptions, async ([file], _opts, out) => {
  const r = await readConfigFile(file);
  if (!r.ok) {
    out.result({ valid: false, file, issues: r.issues }, () => `invalid model config:\n${describeConfigIssues(file, r.issues)}`);
    if (!out.json) process.stderr.write(`fix the fields above; \`retrain config validate ${file}\` again\n`);
    return ExitCodes.usage;
  }
  // Valid but not usable here (a missing data file): still exit 0, the worker may see other files than this machine.
  const warnings = await configWarnings(r.config);
  out.result({ valid: true, file, model: r.config.model, config: r.config, warnings }, () =>
    [`${file}: valid config for model ${r.config.model}`, ...warnings.map((w) => `${file}: warning: ${w}`)].join('\n'),
  );
});
