/**
 * The names and enumerations of Retrain's workflows (task queues, workflow types and ids, trigger kinds, stages,
 * decisions), with no imports: `definitions.ts` re-exports them, and the `retrain` CLI reads them here to write
 * its help without loading the Temporal SDK and the message schemas.
 */

export const TASK_QUEUE = 'retrain';
export const TRAINING_TASK_QUEUE = 'retrain-training';

export const WorkflowTypes = { modelMonitor: 'modelMonitor', retrainingRun: 'retrainingRun' } as const;

export function monitorWorkflowId(model: string): string {
  return `monitor/${model}`;
}
export function runWorkflowId(model: string, n: number): string {
  return `retrain/${model}/${n}`;
}
/** `retrain/<model>/<n>` → { model, n }; undefined for anything else. */
export function parseRunWorkflowId(id: string): { model: string; n: number } | undefined {
  const m = /^retrain\/(.+)\/(\d+)$/.exec(id);
  return m ? { model: m[1], n: Number(m[2]) } : undefined;
}

export const TriggerKinds = {
  initial: 'initial',
  drift: 'drift',
  schedule: 'schedule',
  performance: 'performance',
  manual: 'manual',
} as const;
export type TriggerKind = (typeof TriggerKinds)[keyof typeof TriggerKinds];

/** The run's stages in order; `done` once it has a decision. */
export const Stages = {
  collect: 'collect',
  validate: 'validate',
  label: 'label',
  train: 'train',
  evaluate: 'evaluate',
  gate: 'gate',
  approve: 'approve',
  rollout: 'rollout',
  promote: 'promote',
  done: 'done',
} as const;
export type Stage = (typeof Stages)[keyof typeof Stages];

/** The monitor's own stage values for RetrainStage. */
export const MonitorStages = { watching: 'watching', running: 'running', paused: 'paused' } as const;
export type MonitorStage = (typeof MonitorStages)[keyof typeof MonitorStages];

export const Decisions = {
  promoted: 'promoted',
  notBlessed: 'not_blessed',
  rejected: 'rejected',
  rolledBack: 'rolled_back',
  validationFailed: 'validation_failed',
  labelsExpired: 'labels_expired',
  approvalExpired: 'approval_expired',
  canceled: 'canceled',
  failed: 'failed',
} as const;
export type Decision = (typeof Decisions)[keyof typeof Decisions];
