/**
 * Reads a model config file (JSON, or YAML by its extension or when it is not JSON) and validates it with the same
 * `checkModelConfig` the monitor's `configure` validator uses, so the CLI refuses exactly what the workflow would.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { checkModelConfig, type ConfigIssue, type ModelConfig } from '../../workflows/config';
import { CliError, ExitCodes } from './common';

export type ConfigFileResult =
  | { readonly ok: true; readonly file: string; readonly document: unknown; readonly config: ModelConfig }
  | { readonly ok: false; readonly file: string; readonly issues: readonly ConfigIssue[] };

/** Parses and validates; throws CliError only when the file cannot be read or parsed at all. */
export async function readConfigFile(file: string): Promise<ConfigFileResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${file}: no such file: give the path of a model config (JSON or YAML)`, ExitCodes.notFound);
    throw new CliError(`${file}: cannot read it (${(err as Error).message})`, ExitCodes.usage);
  }
  const document = parseDocument(file, text);
  const r = checkModelConfig(document);
  return r.ok ? { ok: true, file, document, config: r.config } : { ok: false, file, issues: r.issues };
}

function parseDocument(file: string, text: string): unknown {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new CliError(`${file}: not valid JSON (${(err as Error).message})`, ExitCodes.usage);
    }
  }
  // YAML is a superset of JSON, so anything not named .json is read as YAML.
  try {
    return parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new CliError(`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`, ExitCodes.usage);
  }
}

/** "FILE: path: message" per issue, one per line. */
export function describeConfigIssues(file: string, issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${file}: ${i.path}: ${i.message}`).join('\n');
}

/** Valid config or a usage error naming every bad field. */
export async function loadConfigFile(file: string): Promise<{ document: unknown; config: ModelConfig }> {
  const r = await readConfigFile(file);
  if (!r.ok) throw new CliError(`invalid model config:\n${describeConfigIssues(file, r.issues)}`, ExitCodes.usage);
  return r;
}
