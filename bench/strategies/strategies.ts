/**
 * The retraining strategies under comparison, each one an ordinary model config (what `retrain monitor start`
 * takes), so the winner can be copied as is. They differ only in when a run starts (triggers) and what it trains
 * on (trainingSet); everything else (data, trainer, gate, one-step rollout, no approvers) is shared, so the
 * comparison is like for like. One replayed batch is one week of virtual time: "weekly" retrains on every batch.
 */
import type { ModelConfigInput } from '../../workflows/config';

export interface DataSpec {
  /** Path of the CSV as the config names it (the monitor reads it relative to its working directory). */
  readonly path: string;
  readonly label: string;
  readonly positive: string;
  readonly batchRows: number;
  /** Feature columns (leaky or meaningless columns left out); undefined: every column but the label. */
  readonly features?: readonly string[];
}

export type TrainerKind = 'gbdt' | 'logistic';

/** How a strategy decides to retrain. */
export const TriggerStyles = {
  never: 'never',
  schedule: 'schedule',
  featureDrift: 'feature_drift',
  adwin: 'adwin',
  ddm: 'ddm',
  pageHinkley: 'page_hinkley',
  performance: 'performance',
  continuous: 'continuous',
} as const;
export type TriggerStyle = (typeof TriggerStyles)[keyof typeof TriggerStyles];

export interface Strategy {
  /** Kebab-case name, part of the model name and of the config file's name. */
  readonly name: string;
  readonly style: TriggerStyle;
  /** Drift-triggered: counts for the "best drift-triggered strategy" target. */
  readonly driftTriggered: boolean;
  readonly description: string;
  readonly config: (data: DataSpec, trainer: TrainerKind) => ModelConfigInput;
}

/** The newest labelled batches every run trains on: four weeks, the window of the published Elec2 reference. */
export const WINDOW_BATCHES = 4;
/** A virtual week per batch, whatever the data set. */
export const BATCH_EVERY = '7 days';
/** Live accuracy below this (on one labelled batch) triggers the performance strategies. */
export const PERFORMANCE_THRESHOLD = 0.7;

/**
 * The gate every strategy's candidates go through: ROC AUC better than production's on the fresh holdout, and
 * accuracy not worse by more than two points. alpha 0.5 makes the primary test a point comparison (p < 0.5 exactly
 * when the estimated gain is positive): a champion/challenger gate that lets a better-looking candidate replace a
 * model going stale, where the default alpha of 0.05 would ask weekly retraining for significance on a few hundred
 * holdout rows it rarely has.
 */
const policy = () => ({
  primary: { metric: 'roc_auc' as const, alpha: 0.5 },
  guardrails: [{ metric: 'accuracy' as const, margin: 0.02 }],
});

const TRAINER_PARAMS: Record<TrainerKind, Record<string, unknown>> = {
  gbdt: { maxIter: 100, learningRate: 0.1, maxLeafNodes: 15, minSamplesLeaf: 20, earlyStopping: false },
  logistic: {},
};

/**
 * Trees a continuous update adds to production's GBDT: one batch (336 rows on Elec2, 269 after the holdout) is
 * little data, and the model grows by this many trees every week (1,340 over Elec2's 134 updates, where 100 per
 * update would make 13,400, each scored on every prediction).
 */
const WARM_START_TREES = 10;
/**
 * An L2 penalty on the leaf values of the continuous GBDT. A leaf's value is a Newton step, -G/(H + λ): where
 * production is confidently wrong on a new batch (p near 0 or 1), H is near 0 and with λ = 0 the step explodes,
 * so a few updates saturate the model (every prediction 0 or 1, ROC AUC 0.5) and the gate never promotes again.
 * λ = 10 bounds the step (offline replay of Elec2, always promoting: 52.8% with λ = 0, 75.1% with 1, 77.3% with 10).
 */
const WARM_START_L2 = 10;

interface Shape {
  readonly newFraction: number;
  readonly schedule?: string;
  readonly detectors?: readonly ('adwin' | 'ddm' | 'page_hinkley')[];
  readonly featureDrift?: boolean;
  readonly performance?: boolean;
  /**
   * Continuous: each update sees the newest batch only and continues from production (trainer.warmStart), adding
   * WARM_START_TREES trees to production's GBDT or starting logistic regression from its coefficients.
   */
  readonly incremental?: boolean;
}

function build(name: string, shape: Shape): (data: DataSpec, trainer: TrainerKind) => ModelConfigInput {
  return (data, trainer) => ({
    model: name,
    description: `retraining strategy "${name}" (bench/strategies)`,
    data: {
      source: { kind: 'csv-replay', path: data.path, batchRows: data.batchRows, every: BATCH_EVERY, labelDelayBatches: 1 },
      label: data.label,
      positive: data.positive,
      ...(data.features ? { features: [...data.features] } : {}),
    },
    trainer: shape.incremental
      ? trainer === 'gbdt'
        ? { kind: trainer, params: { ...TRAINER_PARAMS[trainer], l2Regularization: WARM_START_L2 }, warmStart: true, warmStartIter: WARM_START_TREES }
        : { kind: trainer, params: TRAINER_PARAMS[trainer], warmStart: true }
      : { kind: trainer, params: TRAINER_PARAMS[trainer] },
    trainingSet: shape.incremental ? { newFraction: 1, newBatches: 1 } : { newFraction: shape.newFraction, newBatches: WINDOW_BATCHES },
    evaluation: { holdoutShare: 0.2, minHoldoutRows: 50, policy: policy() },
    triggers: {
      ...(shape.schedule ? { schedule: { every: shape.schedule } } : {}),
      // The built-in check runs for every strategy: it is what scores each batch into the prediction log.
      builtin: { enabled: true, detectors: [...(shape.detectors ?? [])], featureDrift: shape.featureDrift ?? false, minDriftedFeatures: 2 },
      drift: { minSeverity: 'medium', debounce: '1 hour', k: 1 },
      ...(shape.performance ? { performance: { metric: 'accuracy', threshold: PERFORMANCE_THRESHOLD } } : {}),
      cooldown: '1 hour',
      initialBatches: WINDOW_BATCHES,
    },
    labels: { mode: 'present' },
    promotion: { approvers: [] },
    rollout: { steps: [1] },
  });
}

const mixes = [
  { suffix: '', newFraction: 1, what: 'new data only' },
  { suffix: '-mix80', newFraction: 0.8, what: '80% new, 20% history' },
] as const;

function triggered(base: string, style: TriggerStyle, drift: boolean, what: string, shape: Omit<Shape, 'newFraction'>): Strategy[] {
  return mixes.map((m) => ({
    name: `${base}${m.suffix}`,
    style,
    driftTriggered: drift,
    description: `${what}; ${m.what}`,
    config: build(`${base}${m.suffix}`, { ...shape, newFraction: m.newFraction }),
  }));
}

export const STRATEGIES: readonly Strategy[] = [
  { name: 'never', style: 'never', driftTriggered: false, description: 'train once on the first 4 weeks, never retrain', config: build('never', { newFraction: 1 }) },
  ...triggered('weekly', 'schedule', false, 'retrain every week on the last 4 weeks', { schedule: '7 days' }),
  ...triggered('monthly', 'schedule', false, 'retrain every 4 weeks on the last 4 weeks', { schedule: '28 days' }),
  ...triggered('feature-drift', 'feature_drift', true, 'retrain when the drift report flags 2+ features of a new batch', { featureDrift: true }),
  ...triggered('adwin', 'adwin', true, 'retrain when ADWIN flags the error stream', { detectors: ['adwin'] }),
  ...triggered('ddm', 'ddm', true, 'retrain when DDM flags the error stream', { detectors: ['ddm'] }),
  ...triggered('page-hinkley', 'page_hinkley', true, 'retrain when Page-Hinkley flags the error stream', { detectors: ['page_hinkley'] }),
  ...triggered('performance', 'performance', false, `retrain when a labelled batch's accuracy falls below ${PERFORMANCE_THRESHOLD}`, { performance: true }),
  {
    name: 'continuous',
    style: 'continuous',
    driftTriggered: false,
    description: `a warm-started update per labelled batch: every week, the newest batch only, continuing from production (gbdt: ${WARM_START_TREES} more trees; logistic: from its coefficients)`,
    config: build('continuous', { newFraction: 0.25, schedule: '7 days', incremental: true }),
  },
];

/** The three strategies of `--quick`: the two ends and one drift trigger. */
export const QUICK_STRATEGIES = ['never', 'weekly', 'ddm'] as const;

export function strategyByName(name: string): Strategy | undefined {
  return STRATEGIES.find((s) => s.name === name);
}
