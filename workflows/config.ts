/**
 * The model config: one JSON or YAML document per model, validated by one zod schema that the monitor's
 * `configure` update validator, the worker, the CLI and the README's reference all share. Everything but the
 * model name, the data source, the label and the positive class has a default, so the smallest config is
 * `{ "model": "elec2", "data": { "source": { "kind": "csv-replay", "path": "…", "batchRows": 336, "every": "7 days" },
 * "label": "class", "positive": "UP" } }`. Pure and dependency-light: it runs inside the workflow sandbox.
 */
import { z } from 'zod';
import { PolicySchema } from '../ml/policy';
import { DURATION_HELP, parseDuration } from './duration';

/** A duration string ("7 days") or milliseconds; the parsed value is milliseconds. */
export const DurationSchema = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${DURATION_HELP}, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    return ms;
  });

export const Severities = { low: 'low', medium: 'medium', high: 'high' } as const;
export type Severity = (typeof Severities)[keyof typeof Severities];
export const SeveritySchema = z.enum([Severities.low, Severities.medium, Severities.high]);
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2 };

export const SourceKinds = { csvReplay: 'csv-replay', folder: 'folder', s3: 's3' } as const;
export type SourceKind = (typeof SourceKinds)[keyof typeof SourceKinds];

export const TrainerKinds = { gbdt: 'gbdt', logistic: 'logistic', command: 'command' } as const;
export type TrainerKind = (typeof TrainerKinds)[keyof typeof TrainerKinds];

export const LabelModes = { present: 'present', approval: 'approval' } as const;
export type LabelMode = (typeof LabelModes)[keyof typeof LabelModes];

export const BuiltinDetectors = { adwin: 'adwin', ddm: 'ddm', pageHinkley: 'page_hinkley' } as const;
export type BuiltinDetector = (typeof BuiltinDetectors)[keyof typeof BuiltinDetectors];

const name = z.string().min(1);

const CsvReplaySourceSchema = z
  .object({
    kind: z.literal(SourceKinds.csvReplay),
    /** A CSV file with a header row, replayed as production traffic. */
    path: name,
    /** Rows per batch. */
    batchRows: z.number().int().positive().default(1000),
    /** Batch k becomes available `every` after batch k-1, counted from the monitor's start (batch 0 at once). */
    every: DurationSchema.default(86_400_000),
    /** Labels (outcomes) of batch k arrive with batch k + labelDelayBatches. */
    labelDelayBatches: z.number().int().min(0).default(1),
    /** Stop after this many batches (default: the whole file). */
    maxBatches: z.number().int().positive().optional(),
  })
  .strict();

const FolderSourceSchema = z
  .object({
    kind: z.literal(SourceKinds.folder),
    /** Each CSV file dropped in this folder is one batch, in name order. */
    path: name,
    /** How often the monitor looks for new files. */
    pollEvery: DurationSchema.default(60_000),
    labelDelayBatches: z.number().int().min(0).default(0),
  })
  .strict();

const S3SourceSchema = z
  .object({
    kind: z.literal(SourceKinds.s3),
    bucket: name,
    /** Each object under this prefix is one batch, in key order. */
    prefix: z.string().default(''),
    endpoint: z.string().url().optional(),
    region: z.string().default('us-east-1'),
    forcePathStyle: z.boolean().default(false),
    pollEvery: DurationSchema.default(60_000),
    labelDelayBatches: z.number().int().min(0).default(0),
  })
  .strict();

export const SourceSchema = z.discriminatedUnion('kind', [CsvReplaySourceSchema, FolderSourceSchema, S3SourceSchema]);

export const DataConfigSchema = z
  .object({
    source: SourceSchema,
    label: name,
    positive: name,
    /** The other label values; any value outside positive and these fails validation. */
    negative: z.array(name).min(1).optional(),
    /** Feature columns (default: every column but the label, time, slice and group columns). */
    features: z.array(name).min(1).optional(),
    /** Columns to treat as categorical even when their values look numeric. */
    categorical: z.array(name).default([]),
    /** A time column, if the data has one (rows are otherwise in arrival order). */
    time: name.optional(),
    /** Columns whose values define slices reported (and evaluated) separately. */
    slices: z.array(name).default([]),
    /** Protected-group columns for the fairness checks (the first one is the policy's group column). */
    protectedGroups: z.array(name).default([]),
    /** A CSV of known-hard examples (same columns) every candidate must not newly fail. */
    hardExamples: name.optional(),
  })
  .strict();

const GbdtTrainerSchema = z
  .object({ kind: z.literal(TrainerKinds.gbdt), params: z.record(z.string(), z.unknown()).default({}) })
  .strict();
const LogisticTrainerSchema = z
  .object({ kind: z.literal(TrainerKinds.logistic), params: z.record(z.string(), z.unknown()).default({}) })
  .strict();
const CommandTrainerSchema = z
  .object({
    kind: z.literal(TrainerKinds.command),
    /** argv of the training program; placeholders {data} {model} {params} {schema} are replaced by file paths. */
    train: z.array(name).min(1),
    /** argv of the scoring program; placeholders {model} {data} {scores}. */
    predict: z.array(name).min(1),
    params: z.record(z.string(), z.unknown()).default({}),
    /** Working directory (default: the config file's folder). */
    cwd: z.string().optional(),
    timeout: DurationSchema.default(3_600_000),
  })
  .strict();

export const TrainerConfigSchema = z.discriminatedUnion('kind', [GbdtTrainerSchema, LogisticTrainerSchema, CommandTrainerSchema]);

export const TrainingSetConfigSchema = z
  .object({
    /** Share of the training set drawn from the new data (the rest from history), in [0, 1]. 1 = new data only. */
    newFraction: z.number().min(0).max(1).default(0.8),
    /** How many of the latest labelled batches count as new data (default: those since the last run, at least 1). */
    newBatches: z.number().int().positive().optional(),
    /** Keep at most this many batches of history before the new data (default: all). */
    historyBatches: z.number().int().positive().optional(),
    /** Recency weighting: a row this many rows older than the newest weighs half as much. */
    halfLife: z.number().positive().optional(),
    /** Spread the historical share over the last `period` rows of history. */
    coverLastSeason: z.object({ period: z.number().positive() }).strict().optional(),
    maxRows: z.number().int().positive().optional(),
    seed: z.number().int().default(0),
  })
  .strict();

export const EvaluationConfigSchema = z
  .object({
    /** Share of the new data held out for evaluation (the most recent rows), never used in training. */
    holdoutShare: z.number().gt(0).lt(1).default(0.2),
    /** Fewer holdout rows than this and the gate refuses (too little evidence). */
    minHoldoutRows: z.number().int().positive().default(100),
    /** The promotion policy of ml/policy. */
    policy: PolicySchema.prefault({ primary: { metric: 'roc_auc' }, guardrails: [{ metric: 'accuracy', margin: 0.01 }] }),
  })
  .strict();

const DriftTriggerSchema = z
  .object({
    /** Alerts below this severity are recorded and ignored. */
    minSeverity: SeveritySchema.default(Severities.medium),
    /** Alerts within this window of the first one are one storm: one run. */
    debounce: DurationSchema.default(600_000),
    /** Require k alerts from distinct sources (or detectors) within the debounce window. */
    k: z.number().int().positive().default(1),
  })
  .strict();

const BuiltinCheckSchema = z
  .object({
    /** Score each new batch with production and check it for drift. */
    enabled: z.boolean().default(true),
    /** Streaming detectors fed with the production model's error stream as labels arrive. */
    detectors: z.array(z.enum([BuiltinDetectors.adwin, BuiltinDetectors.ddm, BuiltinDetectors.pageHinkley])).default([BuiltinDetectors.ddm]),
    /** Compare each new batch's features with the training reference (PSI, KS, missing rates). */
    featureDrift: z.boolean().default(true),
    /** Feature drift counts as an alert when at least this many features drift. */
    minDriftedFeatures: z.number().int().positive().default(2),
  })
  .strict();

const PerformanceTriggerSchema = z
  .object({
    metric: z.enum(['accuracy', 'roc_auc', 'log_loss']).default('accuracy'),
    /** Retrain when the reported (or live) metric is worse than this. */
    threshold: z.number(),
  })
  .strict();

export const TriggersConfigSchema = z
  .object({
    /** Periodic retraining. */
    schedule: z.object({ every: DurationSchema }).strict().optional(),
    drift: DriftTriggerSchema.prefault({}),
    builtin: BuiltinCheckSchema.prefault({}),
    performance: PerformanceTriggerSchema.optional(),
    /** No new run within this long after the previous run started. */
    cooldown: DurationSchema.default(3_600_000),
    /** The first run starts once this many labelled batches have arrived. */
    initialBatches: z.number().int().positive().default(1),
  })
  .strict();

export const LabelsConfigSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal(LabelModes.present) }).strict(),
  z
    .object({
      mode: z.literal(LabelModes.approval),
      approvers: z.array(name).min(1),
      deadline: DurationSchema.default(2 * 86_400_000),
    })
    .strict(),
]);

export const PromotionConfigSchema = z
  .object({
    /** Who may approve a blessed candidate; empty: the policy decides alone. */
    approvers: z.array(name).default([]),
    /** Unanswered this long, the run ends as approval_expired (an escalation goes out at half of it). */
    deadline: DurationSchema.default(3 * 86_400_000),
  })
  .strict();

export const RolloutConfigSchema = z
  .object({
    /** Canary traffic weights, in increasing order; the last must be 1 (full promotion). */
    steps: z.array(z.number().gt(0).max(1)).min(1).default([0.1, 0.5, 1]),
    /** How long each canary step is watched on live metrics. */
    observe: DurationSchema.default(3_600_000),
    /** A canary live accuracy worse than production's by more than this rolls back. */
    liveMargin: z.number().min(0).default(0.02),
    /** Labelled live rows needed before a step is judged; fewer and the step is judged on what there is. */
    minLiveRows: z.number().int().min(0).default(100),
  })
  .strict()
  .superRefine((r, ctx) => {
    r.steps.forEach((s, i) => {
      if (i > 0 && s <= r.steps[i - 1]) ctx.addIssue({ code: 'custom', path: ['steps', i], message: `expected steps in increasing order, got ${s} after ${r.steps[i - 1]}` });
    });
    if (r.steps[r.steps.length - 1] !== 1) {
      ctx.addIssue({ code: 'custom', path: ['steps', r.steps.length - 1], message: `expected the last step to be 1 (full traffic), got ${r.steps[r.steps.length - 1]}` });
    }
  });

export const ModelConfigSchema = z
  .object({
    /** The model's name: letters, digits, '.', '_' and '-' (it is part of workflow ids and paths). */
    model: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit'),
    description: z.string().optional(),
    data: DataConfigSchema,
    trainer: TrainerConfigSchema.prefault({ kind: TrainerKinds.gbdt }),
    trainingSet: TrainingSetConfigSchema.prefault({}),
    evaluation: EvaluationConfigSchema.prefault({}),
    triggers: TriggersConfigSchema.prefault({}),
    labels: LabelsConfigSchema.prefault({ mode: LabelModes.present }),
    promotion: PromotionConfigSchema.prefault({}),
    rollout: RolloutConfigSchema.prefault({}),
  })
  .strict();

export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
export type ModelConfig = z.output<typeof ModelConfigSchema>;
export type SourceConfig = z.output<typeof SourceSchema>;
export type TrainerConfig = z.output<typeof TrainerConfigSchema>;

/** One problem with a config: the path of the field (`triggers.drift.minSeverity`) and what was expected. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

export type ConfigResult = { ok: true; config: ModelConfig } | { ok: false; issues: ConfigIssue[] };

/** Validates a parsed config document; never throws. */
export function checkModelConfig(input: unknown): ConfigResult {
  const r = ModelConfigSchema.safeParse(input);
  if (r.success) return { ok: true, config: r.data };
  return { ok: false, issues: r.error.issues.map((i) => ({ path: issuePath(i.path), message: issueMessage(i) })) };
}

/** Validates a parsed config document, or throws a TypeError listing every issue with its path. */
export function parseModelConfig(input: unknown): ModelConfig {
  const r = checkModelConfig(input);
  if (r.ok) return r.config;
  throw new TypeError(`model config: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
}

function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) return issue.message;
      return issue.message;
    default:
      return issue.message;
  }
}
