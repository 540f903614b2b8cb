/**
 * Shared fixtures of the activity tests: a temporary RETRAIN_HOME with real dependencies, synthetic drift
 * streams (ml/data's SEA generator) written out as CSV sources, and model configs over them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seaStream, type SeaOptions } from '../../ml/data';
import type { NumericColumn } from '../../ml/data';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDependencies, type ActivityDeps } from '../../activities/deps';
import { parseModelConfig, type ModelConfig, type ModelConfigInput } from '../../workflows/config';

export const quietLog = { info: () => {}, warn: () => {}, error: () => {} };

export interface Sandbox {
  readonly dir: string;
  readonly deps: ActivityDeps;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'retrain-activities-'));
  const deps = createDependencies({ home: join(dir, 'home'), env: {}, log: quietLog });
  return { dir, deps, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A SEA stream as CSV text: f1, f2, f3, label ("1" positive, "0" negative). */
export function seaCsv(options: SeaOptions): string {
  const { frame } = seaStream(options);
  const cols = frame.columns as NumericColumn[];
  const lines = ['f1,f2,f3,label'];
  for (let i = 0; i < frame.nRows; i++) lines.push(`${cols.map((c) => c.values[i].toFixed(4)).join(',')},${frame.labels[i]}`);
  return `${lines.join('\n')}\n`;
}

export function writeSea(dir: string, name: string, options: SeaOptions): string {
  const path = join(dir, name);
  writeFileSync(path, seaCsv(options));
  return path;
}

export function config(path: string, extra: Partial<ModelConfigInput> = {}, batchRows = 200): ModelConfig {
  return parseModelConfig({
    model: 'sea',
    data: { source: { kind: 'csv-replay', path, batchRows, every: '1 day' }, label: 'label', positive: '1' },
    trainer: { kind: 'gbdt', params: { maxIter: 20, earlyStopping: false } },
    ...extra,
  } as ModelConfigInput);
}

export function stage(cfg: ModelConfig, n: number) {
  return { runWorkflowId: `retrain/${cfg.model}/${n}`, model: cfg.model, n, config: cfg };
}

/** MockActivityEnvironment with a typed `call` (its `run` infers `unknown` for overloaded activity types). */
export class ActivityEnv extends MockActivityEnvironment {
  call<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> {
    return this.run(fn as (input: unknown) => Promise<O>, input) as Promise<O>;
  }
}
