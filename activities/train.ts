/**
 * The train stage (task queue retrain-training): builds the training set by the config's policy (history and new
 * data mixed by newFraction, recency half-life, season cover, seeded so that a retry builds the same set),
 * trains the candidate, and registers it in the registry under the run's workflow id, so a retried activity
 * registers once. Built-in trainers run in a worker thread; every progress report is heartbeated, and every
 * checkpoint is written to the store and heartbeated as `{ iteration, total, checkpoint: { iteration, uri } }`.
 * A retry (after a crash, a lost worker, a heartbeat timeout) reads the last heartbeat's checkpoint and resumes
 * from it; with the same data, params and seed the resumed fit equals the uninterrupted one.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildTrainingSet, FeatureTypes, type Frame } from '../ml/data';
import { CancelledFailure } from '@temporalio/common';
import type { SerializedModel } from '../ml/trainers/types';
import type { ActivityDeps } from './deps';
import { activityContext, putJson, readSnapshot, runKey, writeFrameSnapshot } from './common';
import { badInput } from './failures';
import { inferSchema, toFrame } from './schema';
import { concatTables, parseTable, type Table } from './table';
import { fitCandidate } from './trainers';
import type { TrainInput, TrainResult } from './types';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** What train heartbeats. */
export interface TrainHeartbeat {
  readonly iteration: number;
  readonly total?: number;
  readonly checkpoint?: { readonly iteration: number; readonly uri: string };
}

export interface TrainOptions {
  /** Iterations between checkpoints (default 10). */
  readonly checkpointEvery?: number;
}

export async function train(deps: ActivityDeps, input: TrainInput, options: TrainOptions = {}): Promise<TrainResult> {
  const { config, collect } = input;
  // Registered already (the activity completed its work but the completion was lost): answer the same.
  const existing = (await deps.registry.listVersions(input.model)).find((v) => v.idempotencyKey === input.runWorkflowId);
  if (existing) {
    const l = existing.lineage as Record<string, unknown>;
    return {
      candidateVersion: existing.version,
      modelUri: existing.artifactUri,
      trainer: String(l.trainer ?? config.trainer.kind),
      params: (l.params as Record<string, unknown>) ?? {},
      trainingRows: Number(l.trainingRows ?? 0),
      wallSeconds: 0,
      cpuSeconds: 0,
      trainingSetUri: String(l.trainingSetUri ?? ''),
      ...(typeof l.warmStartedFrom === 'number' ? { warmStartedFrom: l.warmStartedFrom } : {}),
      ...(typeof l.warmStartSkipped === 'string' ? { warmStartSkipped: l.warmStartSkipped } : {}),
    };
  }
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  // The context is captured once: callbacks from a reused training thread run in the async context of whichever
  // activity first started that thread, so Context.current() inside them could name another activity.
  const ctx = activityContext();
  const heartbeat = (d: TrainHeartbeat): void => ctx?.heartbeat(d);
  const previous = ctx?.info.heartbeatDetails as TrainHeartbeat | undefined;
  heartbeat({ iteration: previous?.checkpoint?.iteration ?? 0, ...(previous?.checkpoint ? { checkpoint: previous.checkpoint } : {}) } satisfies TrainHeartbeat);

  // The data: new rows (labels from an approved labeling request when there is one) and history.
  let fresh = await readSnapshot(deps.store, collect.fresh.uri);
  if (input.labelsUri) fresh = await withApprovedLabels(deps, fresh, input.labelsUri, config.data.label);
  const history = collect.historical ? await readSnapshot(deps.store, collect.historical.uri) : null;
  const all = history ? concatTables([history, fresh], 'training data') : fresh;
  const schema = inferSchema(config, all, 'training data');
  const freshFrame = toFrame(fresh, schema);
  const historyFrame = history ? toFrame(history, schema) : freshFrame.slice(0, 0);
  const ts = config.trainingSet;
  const set = buildTrainingSet(historyFrame, freshFrame, {
    newFraction: ts.newFraction,
    seed: ts.seed,
    ...(ts.halfLife !== undefined ? { halfLife: ts.halfLife } : {}),
    ...(ts.coverLastSeason ? { coverLastSeason: ts.coverLastSeason } : {}),
    ...(ts.maxRows !== undefined ? { maxRows: ts.maxRows } : {}),
  });
  if (set.frame.nRows < 2) throw badInput(`train: the training set has ${set.frame.nRows} rows; at least 2 are needed`);
  const negative = negativeName(all, config.data.label, config.data.positive, config.data.negative);
  const trainingTable = frameToTable(set.frame, negative);
  const trainingSnap = await writeFrameSnapshot(deps.store, set.frame, negative, { model: input.model, runWorkflowId: input.runWorkflowId, role: 'training_set', summary: set.summary });

  // Resume from the last heartbeated checkpoint, if the store still has it.
  let checkpoint: SerializedModel | undefined;
  let resumedFrom: { iteration: number } | undefined;
  if (previous?.checkpoint && config.trainer.kind !== 'command') {
    try {
      checkpoint = await deps.store.getJson<SerializedModel>(previous.checkpoint.uri);
      resumedFrom = { iteration: previous.checkpoint.iteration };
      deps.log.info('train: resuming from a checkpoint', { runWorkflowId: input.runWorkflowId, iteration: previous.checkpoint.iteration });
    } catch (e) {
      deps.log.warn(`train: checkpoint ${previous.checkpoint.uri} unreadable, starting over: ${(e as Error).message}`);
    }
  }
  const warmStart = await productionToContinue(deps, input);
  let lastCheckpoint = previous?.checkpoint;
  let writes: Promise<void> = Promise.resolve();
  const attempt = ctx?.info.attempt ?? 1;
  const signal = ctx?.cancellationSignal;
  const result = await fitCandidate({
    config,
    table: trainingTable,
    frame: set.frame,
    weights: set.weights,
    seed: ts.seed,
    ...(checkpoint ? { checkpoint } : {}),
    ...(warmStart ? { warmStart } : {}),
    checkpointEvery: options.checkpointEvery ?? 10,
    signal,
    workDir: join(tmpdir(), 'retrain', input.model, String(input.n), `attempt-${attempt}`),
    store: deps.store,
    modelFileKey: runKey(input.model, input.n, 'model.bin'),
    onTick: () => heartbeat({ iteration: 0, ...(lastCheckpoint ? { checkpoint: lastCheckpoint } : {}) } satisfies TrainHeartbeat),
    onProgress: (p) => {
      const cp = p.checkpoint;
      if (cp) {
        // Checkpoints are written in order; the heartbeat names one only once it is stored.
        writes = writes.then(async () => {
          // A cancelled attempt stops writing: its last heartbeat is what the retry resumes from.
          if (signal?.aborted) return;
          const uri = await putJson(deps.store, runKey(input.model, input.n, `train/checkpoint-${String(p.iteration).padStart(6, '0')}.json`), cp);
          lastCheckpoint = { iteration: p.iteration, uri };
          heartbeat({ iteration: p.iteration, total: p.total, checkpoint: lastCheckpoint } satisfies TrainHeartbeat);
        });
      } else {
        heartbeat({ iteration: p.iteration, total: p.total, ...(lastCheckpoint ? { checkpoint: lastCheckpoint } : {}) } satisfies TrainHeartbeat);
      }
    },
  });
  await writes;
  if (result.warmStartSkipped) deps.log.warn(`train: warm start skipped, fitting from scratch: ${result.warmStartSkipped}`, { runWorkflowId: input.runWorkflowId });
  // Cancelled while the last checkpoints were being written: the fit may have finished, but a cancelled attempt
  // registers nothing (the retry resumes from the last heartbeated checkpoint and registers once).
  if (signal?.aborted) throw new CancelledFailure('train was cancelled');
  const modelUri = await putJson(deps.store, runKey(input.model, input.n, 'model.json'), result.document);
  const registered = await deps.registry.registerVersion(input.model, {
    artifactUri: modelUri,
    idempotencyKey: input.runWorkflowId,
    lineage: {
      runWorkflowId: input.runWorkflowId,
      dataSnapshots: [collect.fresh.uri, ...(collect.historical ? [collect.historical.uri] : []), collect.holdout.uri],
      config,
      trainer: config.trainer.kind,
      params: result.params as Record<string, unknown>,
      trainingSetUri: trainingSnap.uri,
      trainingRows: set.frame.nRows,
      trainingSummary: set.summary,
      holdoutUri: collect.holdout.uri,
      features: schema.features,
      ...(result.warmStartedFrom !== undefined ? { warmStartedFrom: result.warmStartedFrom } : {}),
      ...(result.warmStartSkipped !== undefined ? { warmStartSkipped: result.warmStartSkipped } : {}),
    },
  });
  // The checkpoints served their purpose once the version is registered.
  for (const key of await deps.store.list(runKey(input.model, input.n, 'train/'))) await deps.store.delete(key);
  const cpu = process.cpuUsage(cpuStart);
  return {
    candidateVersion: registered.version,
    modelUri,
    trainer: config.trainer.kind,
    params: result.params,
    trainingRows: set.frame.nRows,
    wallSeconds: (performance.now() - wallStart) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    ...(resumedFrom ? { resumedFrom } : {}),
    trainingSetUri: trainingSnap.uri,
    ...(result.warmStartedFrom !== undefined ? { warmStartedFrom: result.warmStartedFrom } : {}),
    ...(result.warmStartSkipped !== undefined ? { warmStartSkipped: result.warmStartSkipped } : {}),
  };
}

/**
 * Production's model artifact when the config asks for a warm start and there is a production model. The version
 * is the one collect saw, so the run continues from the model it is evaluated against, and a retry continues
 * from the same one even if the alias moved in between.
 */
async function productionToContinue(deps: ActivityDeps, input: TrainInput): Promise<{ version: number; document: unknown } | undefined> {
  const t = input.config.trainer;
  const version = input.collect.productionVersion;
  // Runs collected before collect reported the version have none (undefined): nothing to continue from.
  if (t.kind === 'command' || !t.warmStart || version === null || version === undefined) return undefined;
  const v = await deps.registry.getVersion(input.model, version);
  return { version, document: await deps.store.getJson<unknown>(v.artifactUri) };
}

/** The training set back as rows (categories by name, labels by their values), for snapshots and command trainers. */
export function frameToTable(frame: Frame, negative: string): Table {
  const header = [...frame.columns.map((c) => c.name), frame.schema.label.name, ...(frame.schema.time && frame.time ? [frame.schema.time.name] : [])];
  const rows: string[][] = [];
  for (let i = 0; i < frame.nRows; i++) {
    const r: string[] = frame.columns.map((c) => {
      if (c.type === FeatureTypes.numeric) return Number.isNaN(c.values[i]) ? '' : String(c.values[i]);
      return c.codes[i] < 0 ? '' : c.categories[c.codes[i]];
    });
    r.push(frame.labels[i] === 1 ? frame.schema.label.positive : negative);
    if (frame.schema.time && frame.time) r.push(String(frame.time[i]));
    rows.push(r);
  }
  return { header, rows };
}

function negativeName(t: Table, label: string, positive: string, declared?: readonly string[]): string {
  if (declared?.length) return declared[0];
  const j = t.header.indexOf(label);
  for (const r of t.rows) {
    const v = r[j]?.trim();
    if (v && v !== positive) return v;
  }
  return `not ${positive}`;
}

/** The new rows with their label column taken from the approved labeling CSV (same rows, same order). */
async function withApprovedLabels(deps: ActivityDeps, fresh: Table, uri: string, label: string): Promise<Table> {
  const text = uri.startsWith('file://') ? await readFile(fileURLToPath(uri), 'utf8') : await deps.store.getText(uri);
  const approved = parseTable(text, `labelsUri ${uri}`);
  const j = approved.header.indexOf(label);
  if (j < 0) throw badInput(`labelsUri ${uri}: has no label column ${JSON.stringify(label)}`);
  if (approved.rows.length !== fresh.rows.length) throw badInput(`labelsUri ${uri}: has ${approved.rows.length} rows, expected the request's ${fresh.rows.length}`);
  const k = fresh.header.indexOf(label);
  return { header: fresh.header, rows: fresh.rows.map((r, i) => r.map((v, c) => (c === k ? approved.rows[i][j] : v))) };
}

