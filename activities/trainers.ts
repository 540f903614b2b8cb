/**
 * The trainers layer between the activities and ml/: one `fitCandidate` for every trainer kind of the config
 * (`gbdt` and `logistic` train in a worker thread through ml/'s `fitInThread`, so the activity's event loop stays
 * free to heartbeat and notice cancellation; `command` runs the user's program) and one `loadScorer` that reads
 * any stored model artifact back as something that scores a table of rows. Model artifacts are JSON: a
 * TrainedModel's own JSON (format `retrain-model`), or for a command model a small document pointing at the
 * program's model file (format `retrain-command-model`).
 */
import { z } from 'zod';
import type { Frame } from '../ml/data';
import { type ModelFeature, TrainedModel, trainerFromConfig, type TrainingInput, trainingInput, wrapModel } from '../ml/model';
import { fitInThread, type ThreadProgress } from '../ml/trainers/thread';
import type { SerializedModel } from '../ml/trainers/types';
import type { ArtifactStore } from '../storage/artifact-store';
import type { ModelConfig } from '../workflows/config';
import { commandPredict, commandTrain } from './command-trainer';
import { labelSpec } from './schema';
import { rowObjects, tableToCsv, type Table } from './table';

export interface FitRequest {
  readonly config: ModelConfig;
  /** The training set as rows (what a command trainer reads) and as a frame (what ml/ trainers read). */
  readonly table: Table;
  readonly frame: Frame;
  readonly weights: Float64Array;
  readonly seed: number;
  /** A checkpoint from an earlier attempt (built-in trainers only). */
  readonly checkpoint?: SerializedModel;
  /** The production model to continue from (`trainer.warmStart`), as its registry version and stored artifact. */
  readonly warmStart?: { readonly version: number; readonly document: unknown };
  readonly checkpointEvery?: number;
  readonly onProgress?: (p: ThreadProgress) => void;
  /** Command trainers: called every few seconds while the program runs. */
  readonly onTick?: () => void;
  readonly signal?: AbortSignal;
  /** A scratch folder (command trainers' files). */
  readonly workDir: string;
  readonly store: ArtifactStore;
  /** Where a command model's bytes go. */
  readonly modelFileKey: string;
}

export interface FitResult {
  /** The model artifact (JSON) to store. */
  readonly document: unknown;
  readonly params: Readonly<Record<string, unknown>>;
  /** The production version the fit continued from. */
  readonly warmStartedFrom?: number;
  /** Why a requested warm start fell back to a fresh fit. */
  readonly warmStartSkipped?: string;
}

export const COMMAND_MODEL_FORMAT = 'retrain-command-model';

const CommandModelSchema = z.object({
  format: z.literal(COMMAND_MODEL_FORMAT),
  version: z.literal(1),
  features: z.array(z.object({ name: z.string(), type: z.enum(['numeric', 'categorical']) })),
  label: z.object({ name: z.string(), positive: z.string(), negative: z.array(z.string()).optional() }),
  modelFileUri: z.string(),
  predict: z.array(z.string()).min(1),
  cwd: z.string().optional(),
  timeout: z.number().positive(),
  params: z.record(z.string(), z.unknown()),
  trainedAt: z.string(),
});
type CommandModel = z.output<typeof CommandModelSchema>;

export async function fitCandidate(req: FitRequest): Promise<FitResult> {
  const t = req.config.trainer;
  if (t.kind === 'command') {
    const features = req.frame.schema.features.map((f) => ({ name: f.name, type: f.type }));
    const label = labelSpec(req.config);
    const columns = [...features.map((f) => f.name), label.name];
    const idx = columns.map((c) => req.table.header.indexOf(c));
    const projected: Table = { header: columns, rows: req.table.rows.map((r) => idx.map((j) => r[j])) };
    const out = await commandTrain(
      { train: t.train, predict: t.predict, params: t.params, cwd: t.cwd, timeout: t.timeout },
      { csv: tableToCsv(projected), weights: req.weights, schema: { features, label: label.name, positive: label.positive, ...(label.negative ? { negative: label.negative } : {}) } },
      { workDir: req.workDir, signal: req.signal, onTick: req.onTick },
    );
    const modelFileUri = await req.store.put(req.modelFileKey, out.model, { contentType: 'application/octet-stream' });
    const document: CommandModel = {
      format: COMMAND_MODEL_FORMAT,
      version: 1,
      features,
      label,
      modelFileUri,
      predict: [...t.predict],
      ...(t.cwd ? { cwd: t.cwd } : {}),
      timeout: t.timeout,
      params: t.params,
      trainedAt: new Date().toISOString(),
    };
    return { document, params: t.params };
  }
  // Validates the params with the trainer's own schema (a coded PARAM_INVALID error names the field).
  const trainer = trainerFromConfig({ kind: t.kind, params: t.params });
  const input = trainingInput(req.frame, t.kind);
  const warm = req.warmStart ? warmStartModel(req.warmStart.document, input) : undefined;
  // A GBDT update adds warmStartIter trees, not a fresh fit's maxIter (see the config's warmStartIter).
  const fitParams = typeof warm === 'object' && t.kind === 'gbdt' ? trainerFromConfig({ kind: t.kind, params: { ...t.params, maxIter: t.warmStartIter } }).params : trainer.params;
  const started = performance.now();
  const inner = await fitInThread({ kind: t.kind, params: fitParams }, input.x, input.y, {
    seed: req.seed,
    sampleWeight: req.weights,
    ...(req.checkpoint ? { checkpoint: req.checkpoint } : {}),
    ...(typeof warm === 'object' ? { warmStart: warm.inner.toJSON() } : {}),
    ...(req.checkpointEvery ? { checkpointEvery: req.checkpointEvery } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
    ...(req.onProgress ? { onProgress: req.onProgress } : {}),
  });
  const model = wrapModel(input, inner, { params: trainer.params as Record<string, unknown>, trainingMs: performance.now() - started, seed: req.seed });
  return {
    document: model.toJSON(),
    params: trainer.params as Record<string, unknown>,
    ...(req.warmStart && typeof warm === 'object' ? { warmStartedFrom: req.warmStart.version } : {}),
    ...(req.warmStart && typeof warm === 'string' ? { warmStartSkipped: `v${req.warmStart.version}: ${warm}` } : {}),
  };
}

/**
 * The production model a warm start continues from, or why it cannot: the inner model reads columns by position
 * (GBDT categories as codes, logistic one-hot columns by category), so it continues only on the same features,
 * types, categories, encoding and label; anything else would silently give old trees or coefficients new meanings.
 */
function warmStartModel(document: unknown, input: TrainingInput): TrainedModel | string {
  const doc = document as { format?: unknown };
  if (doc?.format === COMMAND_MODEL_FORMAT) return 'production is a command model, which cannot be continued';
  let production: TrainedModel;
  try {
    production = TrainedModel.fromJSON(document);
  } catch (e) {
    return `production's model is unreadable (${(e as Error).message})`;
  }
  if (production.kind !== input.kind) return `production is a ${production.kind} model, the config trains ${input.kind}`;
  const spec = (fs: readonly ModelFeature[]): string => JSON.stringify(fs.map((f) => [f.name, f.type, f.categories ?? null]));
  if (spec(production.features) !== spec(input.features)) {
    const diff = describeFeatureDiff(production.features, input.features);
    return `the features or categories differ from production's (${diff})`;
  }
  if (production.encoding !== input.encoding) return `production encodes categories as ${production.encoding}, this fit as ${input.encoding}`;
  if (JSON.stringify(production.label) !== JSON.stringify(input.label)) return 'the label differs from production\'s';
  return production;
}

function describeFeatureDiff(before: readonly ModelFeature[], now: readonly ModelFeature[]): string {
  const names = (fs: readonly ModelFeature[]) => fs.map((f) => f.name).join(', ');
  if (names(before) !== names(now)) return `production [${names(before)}], now [${names(now)}]`;
  const parts: string[] = [];
  before.forEach((f, j) => {
    const g = now[j];
    if (f.type !== g.type) parts.push(`${f.name}: ${f.type}, now ${g.type}`);
    else if (JSON.stringify(f.categories ?? []) !== JSON.stringify(g.categories ?? [])) parts.push(`${f.name}: categories [${(f.categories ?? []).join(', ')}], now [${(g.categories ?? []).join(', ')}]`);
  });
  return parts.join('; ');
}

/** Scores tables of rows (extra columns ignored; the label need not be present). */
export interface Scorer {
  readonly kind: string;
  readonly features: readonly { readonly name: string; readonly type: 'numeric' | 'categorical' }[];
  predict(table: Table, opts?: { signal?: AbortSignal; workDir?: string }): Promise<Float64Array>;
}

const scorerCache = new Map<string, Scorer>();

export async function loadScorer(store: ArtifactStore, uri: string, workDir: string): Promise<Scorer> {
  const hit = scorerCache.get(uri);
  if (hit) return hit;
  const doc = await store.getJson<Record<string, unknown>>(uri);
  let scorer: Scorer;
  if (doc.format === COMMAND_MODEL_FORMAT) {
    const m = CommandModelSchema.parse(doc);
    const bytes = await store.get(m.modelFileUri);
    scorer = {
      kind: 'command',
      features: m.features,
      predict: (table, opts) =>
        commandPredict({ predict: m.predict, cwd: m.cwd, timeout: m.timeout }, { model: bytes, csv: tableToCsv(table), rows: table.rows.length }, { workDir: opts?.workDir ?? workDir, signal: opts?.signal }),
    };
  } else {
    const model = TrainedModel.fromJSON(doc);
    const names = model.featureNames;
    scorer = {
      kind: model.kind,
      features: model.features.map((f) => ({ name: f.name, type: f.type })),
      predict: async (table) => model.predictRows(rowObjects(table, names)).p,
    };
  }
  scorerCache.set(uri, scorer);
  return scorer;
}

/** The no-skill baseline: the training data's positive rate for every row (so it predicts the majority class). */
export function majorityScorer(positiveRate: number): Scorer {
  return { kind: 'majority', features: [], predict: async (table) => new Float64Array(table.rows.length).fill(positiveRate) };
}
