/**
 * The monitor's built-in check. `probeSource` counts the batches the source has now. `checkBatch` serves the
 * batch that just arrived as an endpoint would: each row goes to the canary with probability equal to its weight,
 * decided by a hash of the row's id (model, batch, row), so a retry routes every row the same way; the scores are
 * written to the prediction log. When the labels of an earlier batch arrive with it, their outcomes are joined in
 * the log, the production model's errors on that batch are fed to the configured streaming detectors (restored
 * from the state the monitor passed in; the new state is returned for it to keep), and the batch's features are
 * compared with production's training data (distribution drift and missing rates). Alerts come back to the
 * monitor, which treats them like driftDetected signals.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Adwin, Ddm, driftReport, PageHinkley, restoreDetector, type DetectorState, type StreamingDetector } from '../ml/drift';
import { ModelAlias } from '../storage/registry';
import type { ModelConfig } from '../workflows/config';
import type { ActivityDeps } from './deps';
import { nowIso, readSnapshot } from './common';
import { labelValues, schemaWith, toFrame } from './schema';
import { openSource } from './sources';
import type { Table } from './table';
import { loadScorer, type Scorer } from './trainers';
import type { CheckBatchInput, CheckBatchResult, DetectorStates, ProbeSourceInput, ProbeSourceResult } from './types';


export async function probeSource(_deps: ActivityDeps, input: ProbeSourceInput): Promise<ProbeSourceResult> {
  const source = openSource(input.config.data.source);
  const batches = await source.count();
  return { batches, finite: source.finite, columns: batches > 0 ? await source.columns() : [] };
}

/** Where row `row` of `batch` goes: to the canary when its hash falls below the weight. */
export function routesToCanary(model: string, batch: number, row: number, weight: number): boolean {
  if (weight <= 0) return false;
  if (weight >= 1) return true;
  const h = createHash('sha256').update(`${model}\u0000${batch}\u0000${row}`).digest();
  return h.readUInt32BE(0) / 2 ** 32 < weight;
}

export async function checkBatch(deps: ActivityDeps, input: CheckBatchInput): Promise<CheckBatchResult> {
  const { config } = input;
  const model = config.model;
  const at = input.at ?? nowIso(deps.clock);
  const source = openSource(config.data.source);
  const workDir = join(tmpdir(), 'retrain', model, 'monitor');
  const aliases = await currentAliases(deps, model);
  const alerts: CheckBatchResult['alerts'][number][] = [];
  let detectors: DetectorStates = input.detectors;
  let scored = 0;
  let labelled = 0;
  let accuracy: number | undefined;
  let driftedFeatures: string[] = [];

  const production = input.production ? await scorerOf(deps, model, input.production.version, workDir) : undefined;
  if (production && input.production) {
    const batch = await source.batch(input.batch);
    const canary = input.canary && input.canary.weight > 0 ? { ...input.canary, loaded: await scorerOf(deps, model, input.canary.version, workDir) } : undefined;
    const toCanary = batch.rows.map((_, i) => (canary ? routesToCanary(model, input.batch, i, canary.weight) : false));
    const p = new Array<number>(batch.rows.length);
    const versions = new Array<number>(batch.rows.length);
    const prodRows = subset(batch, toCanary.map((c) => !c));
    const prodP = await production.scorer.predict(prodRows.table);
    prodRows.index.forEach((i, k) => {
      p[i] = prodP[k];
      versions[i] = input.production!.version;
    });
    if (canary) {
      const canRows = subset(batch, toCanary);
      const canP = canRows.index.length ? await canary.loaded.scorer.predict(canRows.table) : new Float64Array(0);
      canRows.index.forEach((i, k) => {
        p[i] = canP[k];
        versions[i] = canary.version;
      });
    }
    await deps.predictionLog.recordPredictions(model, { batch: input.batch, at, versions, p, ...(canary ? { canaryVersion: canary.version } : {}) });
    scored = batch.rows.length;

    if (config.triggers.builtin.featureDrift && production.trainingSetUri) {
      driftedFeatures = await featureDrift(deps, config, production, batch);
      if (driftedFeatures.length >= config.triggers.builtin.minDriftedFeatures) {
        alerts.push({ source: 'builtin:feature_drift', severity: 'medium', score: driftedFeatures.length, features: driftedFeatures });
      }
    }
  }

  if (input.labelsForBatch !== null && input.labelsForBatch !== undefined) {
    const labelledBatch = await source.batch(input.labelsForBatch);
    const y = labelValues(config, labelledBatch, `batch ${input.labelsForBatch}`);
    labelled = await deps.predictionLog.recordOutcomes(model, { batch: input.labelsForBatch, at, y });
    if (production) {
      // The production model's error stream on the labelled batch, in row order, feeds the detectors.
      const pp = await production.scorer.predict(labelledBatch);
      const errors: number[] = [];
      y.forEach((v, i) => {
        if (v !== null) errors.push((pp[i] > 0.5 ? 1 : 0) === v ? 0 : 1);
      });
      if (errors.length) accuracy = 1 - errors.reduce((a, b) => a + b, 0) / errors.length;
      const fed = feedDetectors(config, detectors, errors);
      detectors = fed.states;
      for (const d of fed.fired) alerts.push({ source: `builtin:${d.kind}`, severity: 'high', score: d.at });
    }
  }
  return {
    scored,
    labelled,
    ...(accuracy !== undefined ? { accuracy } : {}),
    detectors,
    alerts,
    driftedFeatures,
    aliases,
  };
}

interface LoadedVersion {
  readonly scorer: Scorer;
  readonly trainingSetUri?: string;
}

async function scorerOf(deps: ActivityDeps, model: string, version: number, workDir: string): Promise<LoadedVersion> {
  const v = await deps.registry.getVersion(model, version);
  const trainingSetUri = (v.lineage as { trainingSetUri?: string }).trainingSetUri;
  return { scorer: await loadScorer(deps.store, v.artifactUri, workDir), ...(trainingSetUri ? { trainingSetUri } : {}) };
}

async function currentAliases(deps: ActivityDeps, model: string): Promise<CheckBatchResult['aliases']> {
  const a = await deps.registry.getAliases(model);
  const p = a[ModelAlias.production];
  const c = a[ModelAlias.canary];
  return { production: p ? p.version : null, canary: c ? { version: c.version, weight: c.weight } : null };
}

function subset(t: Table, mask: readonly boolean[]): { table: Table; index: number[] } {
  const index = mask.map((m, i) => (m ? i : -1)).filter((i) => i >= 0);
  return { table: { header: t.header, rows: index.map((i) => t.rows[i]) }, index };
}

function newDetector(kind: string): StreamingDetector {
  switch (kind) {
    case 'adwin':
      return new Adwin();
    case 'ddm':
      return new Ddm();
    default:
      return new PageHinkley();
  }
}

/** Restores each configured detector (or starts it), feeds the errors, and returns the states and the detections. */
export function feedDetectors(config: ModelConfig, states: DetectorStates, errors: readonly number[]): { states: DetectorStates; fired: { kind: string; at: number }[] } {
  const out: Record<string, unknown> = {};
  const fired: { kind: string; at: number }[] = [];
  for (const kind of config.triggers.builtin.detectors) {
    const saved = states[kind] as DetectorState | undefined;
    const d = saved ? restoreDetector(saved) : newDetector(kind);
    let first = -1;
    errors.forEach((e, i) => {
      if (d.update(e).drift && first < 0) first = i;
    });
    if (first >= 0) fired.push({ kind, at: first });
    out[kind] = d.toJSON();
  }
  return { states: out, fired };
}

/** Features whose distribution or missing rate moved against production's training data. */
async function featureDrift(deps: ActivityDeps, config: ModelConfig, production: LoadedVersion, batch: Table): Promise<string[]> {
  const reference = await readSnapshot(deps.store, production.trainingSetUri!);
  const features = production.scorer.features.filter((f) => batch.header.includes(f.name) && reference.header.includes(f.name));
  if (!features.length) return [];
  // ml/drift judges the missing rate and unseen categories along with the distribution, each with its reason.
  const drifted = new Set<string>();
  try {
    // The label column may hold values this schema does not know (a new class): drift is about features only.
    const schema = { ...schemaWith(config, features), label: { name: config.data.label, positive: config.data.positive } };
    const unlabelled = (t: Table) => ({ header: t.header, rows: t.rows.map((r) => r.map((v, j) => (t.header[j] === config.data.label ? config.data.positive : v))) });
    const report = driftReport(toFrame(unlabelled(reference), schema), toFrame(unlabelled(batch), schema), { features: features.map((f) => f.name) });
    for (const name of report.drifted) drifted.add(name);
  } catch (e) {
    deps.log.warn(`checkBatch: feature drift report failed: ${(e as Error).message}`);
  }
  return [...drifted];
}
