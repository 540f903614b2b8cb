/**
 * The model config: one JSON or YAML document per model, validated by one zod schema that the monitor's
 * `configure` update validator, the worker, the CLI and the README's reference all share. Everything but the
 * model name, the data source, the label and the positive class has a default, so the smallest config is
 * `{ "model": "elec2", "data": { "source": { "kind": "csv-replay", "path": "…", "batchRows": 336, "every": "7 days" },
 * "label": "class", "positive": "UP" } }`. Pure and dependency-light: it runs inside the workflow sandbox.
 */
import { z } from 'zod';
import { PolicySchema } from '../ml/policy';
// The trainers' own param schemas, so a config is refused for what training would refuse. Their modules are pure (zod
// and arithmetic, no node built-ins), so the workflow sandbox can load them for the `configure` validator.
import { gbdtParamsSchema } from '../ml/trainers/gbdt';
import { logisticParamsSchema } from '../ml/trainers/logistic';
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
    kind: z.literal(SourceKinds.csvReplay).describe('A CSV file replayed as production traffic, one batch every `every`.'),
    path: name.describe('A CSV file with a header row, replayed as production traffic. A relative path is resolved against the config file\'s folder (by the CLI and `npm start`).'),
    batchRows: z.number().int().positive().default(1000).describe('Rows per batch.'),
    every: DurationSchema.prefault('1 day').describe('Batch k becomes available `every` after batch k-1, counted from the monitor\'s start (batch 0 at once).'),
    labelDelayBatches: z.number().int().min(0).default(1).describe('Labels (outcomes) of batch k arrive with batch k + labelDelayBatches.'),
    maxBatches: z.number().int().positive().optional().describe('Stop after this many batches (default: the whole file).'),
  })
  .strict();

const FolderSourceSchema = z
  .object({
    kind: z.literal(SourceKinds.folder).describe('Each CSV file dropped in a folder is one batch, in name order.'),
    path: name.describe('Each CSV file dropped in this folder is one batch, in name order. A relative path is resolved against the config file\'s folder (by the CLI and `npm start`).'),
    pollEvery: DurationSchema.prefault('1 minute').describe('How often the monitor looks for new files.'),
    labelDelayBatches: z.number().int().min(0).default(0).describe('Labels (outcomes) of batch k arrive with batch k + labelDelayBatches.'),
  })
  .strict();

const S3SourceSchema = z
  .object({
    kind: z.literal(SourceKinds.s3).describe('Objects under a bucket prefix, one batch each, in key order.'),
    bucket: name.describe('The bucket holding the batches.'),
    prefix: z.string().default('').describe('Each object under this prefix is one batch, in key order.'),
    endpoint: z.string().url().optional().describe('An S3-compatible endpoint (MinIO, Ceph); default AWS.'),
    region: z.string().default('us-east-1').describe('The bucket\'s region.'),
    forcePathStyle: z.boolean().default(false).describe('Path-style URLs (needed by most S3-compatible servers).'),
    pollEvery: DurationSchema.prefault('1 minute').describe('How often the monitor lists new objects.'),
    labelDelayBatches: z.number().int().min(0).default(0).describe('Labels (outcomes) of batch k arrive with batch k + labelDelayBatches.'),
  })
  .strict();

export const SourceSchema = z.discriminatedUnion('kind', [CsvReplaySourceSchema, FolderSourceSchema, S3SourceSchema]);

export const DataConfigSchema = z
  .object({
    source: SourceSchema.describe('Where new data comes from: `csv-replay`, `folder` or `s3`.'),
    label: name.describe('The label column.'),
    positive: name.describe('The label value of the positive class.'),
    negative: z.array(name).min(1).optional().describe('The other label values; any value outside positive and these fails validation.'),
    features: z.array(name).min(1).optional().describe('Feature columns (default: every column but the label, time, slice and group columns).'),
    categorical: z.array(name).default([]).describe('Columns to treat as categorical even when their values look numeric.'),
    time: name.optional().describe('A time column, if the data has one (rows are otherwise in arrival order).'),
    slices: z.array(name).default([]).describe('Columns whose values define slices reported (and evaluated) separately.'),
    protectedGroups: z.array(name).default([]).describe('Protected-group columns for the fairness checks (the first one is the policy\'s group column).'),
    hardExamples: name.optional().describe('A CSV of known-hard examples (same columns) every candidate must not newly fail. A relative path is resolved against the config file\'s folder (by the CLI and `npm start`).'),
  })
  .strict();

/**
 * Warm start: a candidate continues from the production model instead of starting over, so a frequent update on a
 * small window of new data keeps what production learnt from the data before it (the "continuous" strategy).
 */
const warmStart = z
  .boolean()
  .default(false)
  .describe(
    'When a production model exists, continue from it instead of starting over (gbdt: add trees fitted to the new training set on top of production\'s; logistic: start the solver from production\'s coefficients). Falls back to a fresh fit, and says so in the train result, when the features or categories differ from production\'s.',
  );
/**
 * A trainer's params, checked with the trainer's own param schema but kept as written: the trainer fills in its
 * defaults when it trains, so a config does not freeze today's defaults into running monitors. Each issue is
 * reported at `params.<name>` and names the accepted names or values.
 */
function trainerParams(trainer: string, schema: z.ZodObject) {
  const accepted = Object.keys(schema.shape);
  return z.record(z.string(), z.unknown()).superRefine((params, ctx) => {
    const r = schema.safeParse(params);
    if (r.success) return;
    for (const issue of r.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          ctx.addIssue({ code: 'custom', path: [...issue.path, key], message: `unknown ${trainer} param; expected one of ${accepted.join(', ')}` });
        }
        continue;
      }
      let value: unknown = params;
      for (const k of issue.path) value = value == null ? undefined : (value as Record<PropertyKey, unknown>)[k];
      // The value itself says more than its type ("fast", not "a string").
      ctx.addIssue({ code: 'custom', path: [...issue.path], message: `${issueMessage(issue).replace(/, got .*$/, '')}, got ${JSON.stringify(value)}` });
    }
  });
}

const GbdtTrainerSchema = z
  .object({
    kind: z.literal(TrainerKinds.gbdt),
    params: trainerParams(TrainerKinds.gbdt, gbdtParamsSchema).default({}).describe('Gradient-boosted trees: learningRate, maxIter, maxLeafNodes, maxDepth, minSamplesLeaf, maxBins, earlyStopping, validationFraction, nIterNoChange, tol (the names of scikit-learn HistGradientBoostingClassifier; unknown names are refused).'),
    warmStart,
    // Not maxIter: a warm update usually sees a small window, and a full fit's worth of trees on it would overfit
    // that window and grow the model by maxIter trees per update.
    warmStartIter: z.number().int().min(1).default(10).describe('With `warmStart`: trees each warm-started update adds to production\'s (a fresh fit grows `params.maxIter`). Kept small because an update fits a small window and the model grows by this much every update.'),
  })
  .strict();
const LogisticTrainerSchema = z
  .object({
    kind: z.literal(TrainerKinds.logistic),
    params: trainerParams(TrainerKinds.logistic, logisticParamsSchema).default({}).describe('Logistic regression: C, tol, maxIter, solver (auto, newton, lbfgs), fitIntercept, lbfgsMemory (unknown names are refused).'),
    warmStart,
  })
  .strict();
const CommandTrainerSchema = z
  .object({
    kind: z.literal(TrainerKinds.command).describe('Your own training program (Python, anything): see "Bring your own trainer".'),
    train: z.array(name).min(1).describe('argv of the training program; placeholders {data} {weights} {model} {params} {schema} are replaced by file paths.'),
    predict: z.array(name).min(1).describe('argv of the scoring program; placeholders {model} {data} {scores}.'),
    params: z.record(z.string(), z.unknown()).default({}).describe('Written to the {params} file as JSON.'),
    cwd: z.string().optional().describe('Working directory of the program (default: the worker\'s). A relative path is resolved against the config file\'s folder (by the CLI and `npm start`).'),
    timeout: DurationSchema.prefault('1 hour').describe('The program is killed after this long.'),
  })
  .strict();

export const TrainerConfigSchema = z.discriminatedUnion('kind', [GbdtTrainerSchema, LogisticTrainerSchema, CommandTrainerSchema]);

export const TrainingSetConfigSchema = z
  .object({
    newFraction: z.number().min(0).max(1).default(0.8).describe('Share of the training set drawn from the new data (the rest from history), in [0, 1]. 1 = new data only.'),
    newBatches: z.number().int().positive().optional().describe('How many of the latest labelled batches count as new data (default: those since the last run, at least 1).'),
    historyBatches: z.number().int().positive().optional().describe('Keep at most this many batches of history before the new data (default: all).'),
    halfLife: z.number().positive().optional().describe('Recency weighting: a row this many rows older than the newest weighs half as much.'),
    coverLastSeason: z.object({ period: z.number().positive().describe('The season length, in rows.') }).strict().optional().describe('Spread the historical share over the last `period` rows of history.'),
    maxRows: z.number().int().positive().optional().describe('Cap on the training rows, keeping the mix.'),
    seed: z.number().int().default(0).describe('Seeds the sampling of the training set and the trainer.'),
  })
  .strict();

export const EvaluationConfigSchema = z
  .object({
    holdoutShare: z.number().gt(0).lt(1).default(0.2).describe('Share of the new data held out for evaluation (the most recent rows), never used in training.'),
    minHoldoutRows: z.number().int().positive().default(100).describe('Fewer holdout rows than this and the gate refuses (too little evidence).'),
    policy: PolicySchema.prefault({ primary: { metric: 'roc_auc' }, guardrails: [{ metric: 'accuracy', margin: 0.01 }] }).describe('The promotion policy of ml/policy.'),
  })
  .strict();

const DriftTriggerSchema = z
  .object({
    minSeverity: SeveritySchema.default(Severities.medium).describe('Alerts below this severity are recorded and ignored.'),
    debounce: DurationSchema.prefault('10 minutes').describe('Alerts within this window of the first one are one storm: one run.'),
    k: z.number().int().positive().default(1).describe('Require k alerts from distinct sources (or detectors) within the debounce window.'),
  })
  .strict();

const BuiltinCheckSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Score each new batch with production and check it for drift.'),
    detectors: z.array(z.enum([BuiltinDetectors.adwin, BuiltinDetectors.ddm, BuiltinDetectors.pageHinkley])).default([BuiltinDetectors.ddm]).describe('Streaming detectors fed with the production model\'s error stream as labels arrive.'),
    featureDrift: z.boolean().default(true).describe('Compare each new batch\'s features with the training reference (PSI, KS, missing rates).'),
    minDriftedFeatures: z.number().int().positive().default(2).describe('Feature drift counts as an alert when at least this many features drift.'),
  })
  .strict();

const PerformanceTriggerSchema = z
  .object({
    metric: z.enum(['accuracy', 'roc_auc', 'log_loss']).default('accuracy').describe('The metric reported by `performanceReported` (and the built-in check, for accuracy).'),
    threshold: z.number().describe('Retrain when the reported (or live) metric is worse than this.'),
  })
  .strict();

export const TriggersConfigSchema = z
  .object({
    schedule: z.object({ every: DurationSchema.describe('A run every this long, counted from the monitor\'s start.') }).strict().optional().describe('Periodic retraining.'),
    drift: DriftTriggerSchema.prefault({}).describe('How drift alerts (signals, webhooks, the built-in check) become runs.'),
    builtin: BuiltinCheckSchema.prefault({}).describe('The monitor\'s own check of every new batch.'),
    performance: PerformanceTriggerSchema.optional().describe('Retrain when a performance metric crosses a threshold.'),
    cooldown: DurationSchema.prefault('1 hour').describe('No new run within this long after the previous run started.'),
    initialBatches: z.number().int().positive().default(1).describe('The first run starts once this many labelled batches have arrived.'),
  })
  .strict();

/**
 * How the validate stage judges values outside a column's reference range. The default, `auto`, fails what data
 * errors look like and only warns on drift, because on drifting data production's training range is what goes
 * stale: failing every new value would block retraining exactly when it is needed (ml/data/validation.ts).
 */
export const ValidationConfigSchema = z
  .object({
    outOfRange: z
      .enum(['auto', 'fail', 'warn'])
      .default('auto')
      .describe(
        '`auto`: values beyond the reference range fail when absurdly far, mostly one repeated value (a sentinel) or too few to be a shift; a broad shift is drift, a warning. `fail`: any fails. `warn`: never fail.',
      ),
    maxOutOfRangeShare: z.number().min(0).max(1).default(0).describe('Share of a column\'s values that may be out of range with only a warning, whatever they look like, in [0, 1].'),
    minDriftShare: z.number().min(0).max(1).default(0.01).describe('`auto`: out-of-range values are drift only when at least this share of the column\'s values (and 5 values); fewer fail as isolated errors.'),
    maxDriftWidths: z.number().positive().default(10).describe('`auto`: a value more than this many reference ranges (max - min) beyond the reference range fails as a sentinel or unit error.'),
    ranges: z
      .record(z.string(), z.object({ min: z.number().optional().describe('Smallest allowed value.'), max: z.number().optional().describe('Largest allowed value.') }).strict())
      .default({})
      .describe('Known bounds per column (a probability in [0, 1]): values outside fail under every policy.'),
  })
  .strict();

export const LabelsConfigSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal(LabelModes.present).describe('Labels arrive with the data.') }).strict(),
  z
    .object({
      mode: z.literal(LabelModes.approval).describe('A person approves the labels (signal `labelsApproved`) before training.'),
      approvers: z.array(name).min(1).describe('Who may approve labels.'),
      deadline: DurationSchema.prefault('2 days').describe('Unapproved this long, the run ends as labels_expired.'),
    })
    .strict(),
]);

export const PromotionConfigSchema = z
  .object({
    approvers: z.array(name).default([]).describe('Who may approve a blessed candidate; empty: the policy decides alone.'),
    deadline: DurationSchema.prefault('3 days').describe('Unanswered this long, the run ends as approval_expired (an escalation goes out at half of it).'),
  })
  .strict();

export const RolloutConfigSchema = z
  .object({
    steps: z.array(z.number().gt(0).max(1)).min(1).default([0.1, 0.5, 1]).describe('Canary traffic weights, in increasing order; the last must be 1 (full promotion).'),
    observe: DurationSchema.prefault('1 hour').describe('How long each canary step is watched on live metrics.'),
    liveMargin: z.number().min(0).default(0.02).describe('A canary live accuracy worse than production\'s by more than this rolls back.'),
    minLiveRows: z.number().int().min(0).default(100).describe('Labelled live rows needed before a step is judged; fewer and the step is judged on what there is.'),
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
    model: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit').describe('The model\'s name: letters, digits, \'.\', \'_\' and \'-\' (it is part of workflow ids and paths).'),
    description: z.string().optional().describe('Free text shown in reports.'),
    data: DataConfigSchema.describe('The data: source, label, features, slices, protected groups.'),
    trainer: TrainerConfigSchema.prefault({ kind: TrainerKinds.gbdt }).describe('`gbdt` (default), `logistic` or `command`, with its params.'),
    trainingSet: TrainingSetConfigSchema.prefault({}).describe('How the training set mixes history and new data.'),
    evaluation: EvaluationConfigSchema.prefault({}).describe('The holdout and the promotion policy.'),
    triggers: TriggersConfigSchema.prefault({}).describe('When to retrain.'),
    validation: ValidationConfigSchema.prefault({}).describe('How new data is judged against the training reference: sentinels fail, drift warns.'),
    labels: LabelsConfigSchema.prefault({ mode: LabelModes.present }).describe('`present` (labels arrive with the data) or `approval` (a person approves them).'),
    promotion: PromotionConfigSchema.prefault({}).describe('Operator approval of blessed candidates.'),
    rollout: RolloutConfigSchema.prefault({}).describe('Canary steps and automatic rollback.'),
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

/**
 * Whether two parsed configs say the same thing: deep equality of their values, whatever the key order, a key
 * holding undefined being the same as no key. Parsed configs, so defaults written out and left out compare equal.
 */
export function sameModelConfig(a: ModelConfig, b: ModelConfig): boolean {
  return deepEqual(a, b);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  for (const k of keys) if (!deepEqual(ra[k], rb[k])) return false;
  return true;
}

function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || '(root)';
}

/**
 * What a zod issue means, in the project's wording: a missing field is "required (a string)", a bad discriminator
 * lists the accepted values as `expected one of "a", "b"`, and zod's own phrasing ("Invalid input: …") never shows.
 * Shared with the message validators (workflows/definitions.ts `describeIssues`).
 */
export function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_type': {
      // zod 4 leaves the input out of issues unless asked; its message still ends with what it received.
      const received = /received (\w+)\s*$/.exec(issue.message)?.[1];
      if (received === 'undefined') return `required (${withArticle(issue.expected)})`;
      return `expected ${withArticle(issue.expected)}${received ? `, got ${withArticle(received)}` : ''}`;
    }
    case 'too_small':
    case 'too_big': {
      const op = issue.code === 'too_small' ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<';
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') return `expected a number ${op} ${bound}`;
      const unit = issue.origin === 'string' ? 'character' : 'item';
      return `expected ${issue.code === 'too_small' ? 'at least' : 'at most'} ${bound} ${unit}${Number(bound) === 1 ? '' : 's'}`;
    }
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator && 'options' in issue && Array.isArray(issue.options)) {
        return `expected one of ${issue.options.map((v) => JSON.stringify(v)).join(', ')}`;
      }
      return issue.message;
    default:
      return issue.message;
  }
}

function withArticle(type: string): string {
  if (type === 'undefined' || type === 'null') return type;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}
