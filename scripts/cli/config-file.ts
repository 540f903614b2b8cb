/**
 * Reads a model config file (JSON, or YAML by its extension or when it is not JSON) and validates it with the same
 * `checkModelConfig` the monitor's `configure` validator uses, so the CLI refuses exactly what the workflow would.
 * Relative paths in the file are made absolute against the file's folder first: users write them relative to the
 * config, and the worker that reads them runs elsewhere. `retrain monitor start`, `retrain config validate` and
 * `npm start --config` all read configs here, so they agree on what a path means.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
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
  const document = resolveConfigPaths(parseDocument(file, text), dirname(resolve(file)));
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

/**
 * A copy of the document with its relative local paths (csv-replay and folder `data.source.path`,
 * `data.hardExamples`, `trainer.cwd`) resolved against `base`; absolute paths, other fields and anything malformed
 * are left as they are, for the schema to judge.
 */
export function resolveConfigPaths(document: unknown, base: string): unknown {
  if (!isRecord(document)) return document;
  const abs = (p: unknown) => (typeof p === 'string' && p !== '' && !isAbsolute(p) ? resolve(base, p) : p);
  const out: Record<string, unknown> = { ...document };
  if (isRecord(document.data)) {
    const data: Record<string, unknown> = { ...document.data };
    if (isRecord(data.source) && (data.source.kind === 'csv-replay' || data.source.kind === 'folder') && 'path' in data.source) {
      data.source = { ...data.source, path: abs(data.source.path) };
    }
    if ('hardExamples' in data) data.hardExamples = abs(data.hardExamples);
    out.data = data;
  }
  if (isRecord(document.trainer) && 'cwd' in document.trainer) out.trainer = { ...document.trainer, cwd: abs(document.trainer.cwd) };
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * What is valid but will not work on this machine: a local data source (or hard-examples file) that does not exist.
 * Warnings, not errors: the worker may run elsewhere, or the data may arrive later (a folder made by another job).
 */
export async function configWarnings(config: ModelConfig): Promise<string[]> {
  const warnings: string[] = [];
  const check = async (field: string, path: string, want: 'file' | 'folder', consequence: string) => {
    const st = await stat(path).catch(() => undefined);
    if (!st) warnings.push(`${field}: no ${want} at ${path} (${consequence})`);
    else if (want === 'file' && st.isDirectory()) warnings.push(`${field}: ${path} is a folder; expected a ${expected(field)}`);
    else if (want === 'file' ? !st.isFile() : !st.isDirectory()) warnings.push(`${field}: ${path} is not a ${want}; expected a ${expected(field)}`);
  };
  const expected = (field: string) =>
    field === 'data.source.path' ? (config.data.source.kind === 'folder' ? 'folder of CSV files' : 'CSV file (for a folder of CSV files use kind "folder")') : 'CSV file';
  const src = config.data.source;
  const noBatches = 'the monitor sees no batches until it exists';
  if (src.kind === 'csv-replay') await check('data.source.path', src.path, 'file', noBatches);
  if (src.kind === 'folder') await check('data.source.path', src.path, 'folder', noBatches);
  if (config.data.hardExamples) await check('data.hardExamples', config.data.hardExamples, 'file', 'collecting fails without it');
  return warnings;
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
