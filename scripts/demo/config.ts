/**
 * The demo model's config: an ordinary model config (workflows/config.ts) tuned so the whole story fits in about a
 * minute: batches every couple of seconds, a cooldown of seconds instead of an hour, a short canary, and promotion
 * approvers so the approval stage is visible. Built as a document (the input form), exactly what a user would
 * write in a file, and checked with the same schema the monitor's `configure` validator uses.
 */
import { parseModelConfig, type ModelConfigInput } from '../../workflows/config';
import { DEMO_LABEL } from './data';

export const DEMO_MODEL = 'demo';
export const DEMO_OPERATOR = 'demo-operator';

export interface DemoConfigOptions {
  readonly csvPath: string;
  readonly batchRows: number;
  /** Milliseconds between batches. */
  readonly everyMs: number;
  readonly batches: number;
  /** How long each canary step is watched, in ms. */
  readonly observeMs: number;
  /** Who else may approve (the person running the demo, so the printed command works). */
  readonly approvers: readonly string[];
}

export function demoConfig(o: DemoConfigOptions): ModelConfigInput {
  const doc: ModelConfigInput = {
    model: DEMO_MODEL,
    description: 'Retrain demo: a rotating-hyperplane stream with a sudden concept drift (npm start)',
    data: {
      source: { kind: 'csv-replay', path: o.csvPath, batchRows: o.batchRows, every: o.everyMs, labelDelayBatches: 1, maxBatches: o.batches },
      label: DEMO_LABEL,
      positive: '1',
      negative: ['0'],
    },
    // Logistic regression is the right model for a hyperplane, and trains in milliseconds on a small machine.
    trainer: { kind: 'logistic' },
    // Train on the latest labelled batch (80% of the training set, the rest history): after a sudden drift the
    // latest batch is the first of the new concept, and its most recent fifth is the holdout both models face.
    trainingSet: { newBatches: 1, newFraction: 0.8 },
    triggers: {
      drift: { minSeverity: 'medium', debounce: '30 seconds', k: 1 },
      // Page-Hinkley on production's error stream: it sees the jump in the error rate at the drift. DDM is left out
      // because on a model this good (about 3% errors) its reference level settles so low after its first 30 rows
      // that ordinary noise crosses it, a false alarm before the drift. Feature drift is off because this drift
      // changes labels only: comparing feature distributions cannot see it, and a multi-feature test on every
      // batch would only add the occasional false alarm.
      builtin: { enabled: true, detectors: ['page_hinkley'], featureDrift: false },
      cooldown: '5 seconds',
      initialBatches: 1,
    },
    promotion: { approvers: [DEMO_OPERATOR, ...o.approvers.filter((a) => a !== DEMO_OPERATOR)], deadline: '30 minutes' },
    rollout: { steps: [0.25, 1], observe: o.observeMs, liveMargin: 0.05, minLiveRows: 100 },
  };
  parseModelConfig(doc);
  return doc;
}
