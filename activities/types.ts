/**
 * The activities' contract: the inputs and outputs of every stage, as the workflows see them. Workflows import
 * this file as types only; `createActivities(deps)` (activities/index.ts) implements it. Only URIs and small
 * summaries cross this boundary, so workflow histories stay small; data and models live in the artifact store.
 */
import type { Blessing } from '../ml/policy';
import type { Decision, RunResult, RunStatus, StageRecord, TriggerInfo, ValidationStatus } from '../workflows/definitions';
import type { ModelConfig } from '../workflows/config';

/** Error types of the ApplicationFailures activities throw (`ApplicationFailure.type`). */
export const ErrorTypes = {
  /** Bad input (config, data, params): never retried. */
  badInput: 'BadInput',
  /** The data batch failed validation. */
  validationFailed: 'ValidationFailed',
  /** The registry alias was not where the caller expected (someone else moved it). */
  aliasConflict: 'AliasConflict',
  /** A user's training or scoring command failed (exit code and stderr in the message). */
  commandFailed: 'CommandFailed',
  /** Not enough data to do the stage (fewer rows than needed). */
  notEnoughData: 'NotEnoughData',
} as const;
export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

// ----- monitor -----------------------------------------------------------------------------------------------

export interface ProbeSourceInput {
  readonly config: ModelConfig;
}
/** Asks the server how a retraining run stands (the monitor's check on a run started by an earlier execution). */
export interface RunOutcomeInput {
  readonly workflowId: string;
}
/**
 * `running`, or how the run ended: `completed` with its result; `failed`, `canceled`, `terminated` or `timed_out`
 * with the failure's message (a terminate's reason); `not_found` when the server has no such workflow.
 */
export type RunOutcome =
  | { readonly status: 'running' }
  | { readonly status: 'completed'; readonly result: RunResult }
  | { readonly status: 'failed' | 'canceled' | 'terminated' | 'timed_out' | 'not_found'; readonly detail: string };

export interface ProbeSourceResult {
  /** Batches that exist in the source now (csv-replay: the file's batch count; folder/s3: files found). */
  readonly batches: number;
  /** csv-replay: the source is finite and fully known up front. */
  readonly finite: boolean;
  readonly columns: readonly string[];
}

/** Streaming detectors' serialised state, kept in the monitor and carried across continue-as-new. */
export type DetectorStates = Readonly<Record<string, unknown>>;

export interface CheckBatchInput {
  readonly config: ModelConfig;
  /** The batch that just arrived (scored now) … */
  readonly batch: number;
  /** … and the batch whose labels arrive with it (its outcomes joined in the prediction log), if any. */
  readonly labelsForBatch: number | null;
  readonly production: { readonly version: number } | null;
  readonly canary: { readonly version: number; readonly weight: number } | null;
  readonly detectors: DetectorStates;
  /** The monitor's time (workflow time): predictions and outcomes are stamped with it, and live metrics windows use it. Default: the worker's clock. */
  readonly at?: string;
}
export interface CheckBatchResult {
  readonly scored: number;
  /** Outcomes joined this time, and the production model's accuracy on them. */
  readonly labelled: number;
  readonly accuracy?: number;
  readonly detectors: DetectorStates;
  /** Alerts raised by the built-in checks (the monitor treats them like driftDetected signals). */
  readonly alerts: readonly { readonly source: string; readonly severity: 'low' | 'medium' | 'high'; readonly score?: number; readonly features?: readonly string[] }[];
  /** Features whose drift the report flagged in the new batch. */
  readonly driftedFeatures: readonly string[];
  /** The registry's aliases as the check found them (an operator's rollback moves them outside the monitor). */
  readonly aliases: { readonly production: number | null; readonly canary: { readonly version: number; readonly weight: number } | null };
}

// ----- run -----------------------------------------------------------------------------------------------

export interface StageContext {
  readonly runWorkflowId: string;
  readonly model: string;
  readonly n: number;
  readonly config: ModelConfig;
}

export interface Snapshot {
  readonly uri: string;
  readonly sha256: string;
  readonly rows: number;
}

export interface CollectInput extends StageContext {
  readonly labelledBatches: number;
  readonly sinceBatch: number;
}
export interface CollectResult {
  /** The new labelled data minus the holdout, the history before it, the holdout, and (if configured) the hard examples. */
  readonly fresh: Snapshot;
  readonly historical: Snapshot | null;
  readonly holdout: Snapshot;
  readonly hardExamples: Snapshot | null;
  /** The rows the new data came from: batches [fromBatch, toBatch). */
  readonly fromBatch: number;
  readonly toBatch: number;
  /** Small per-column statistics of the new data (missing rate, mean or top categories). */
  readonly summary: Readonly<Record<string, unknown>>;
  /**
   * The registry's production version when the data was collected (null: none yet). The run evaluates against and
   * promotes over this one, not the monitor's copy, which is stale after an operator's rollback moved the alias.
   */
  readonly productionVersion: number | null;
}

export interface ValidateInput extends StageContext {
  readonly collect: CollectResult;
  readonly productionVersion: number | null;
}
/** A failed validation is a result, not an exception: the workflow ends the run as validation_failed. */
export type ValidateResult = ValidationStatus & { readonly reportUri: string };

export interface RequestLabelsInput extends StageContext {
  readonly collect: CollectResult;
  readonly approvers: readonly string[];
  readonly deadline: string;
}
export interface RequestLabelsResult {
  readonly requestUri: string;
}

export interface TrainInput extends StageContext {
  readonly collect: CollectResult;
  /** Labels from a labeling request, when the config asks for approval. */
  readonly labelsUri?: string;
}
export interface TrainResult {
  readonly candidateVersion: number;
  readonly modelUri: string;
  readonly trainer: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly trainingRows: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  /** Whether this attempt resumed from a heartbeated checkpoint. */
  readonly resumedFrom?: { readonly iteration: number };
  readonly trainingSetUri: string;
  /** The production version the candidate continued from (`trainer.warmStart`); absent for a fresh fit. */
  readonly warmStartedFrom?: number;
  /** Why a warm start the config asked for fell back to a fresh fit (features or categories changed, ...). */
  readonly warmStartSkipped?: string;
}

export interface EvaluateInput extends StageContext {
  readonly collect: CollectResult;
  readonly candidateVersion: number;
  /** null: compare with the no-skill (majority-class) baseline. */
  readonly productionVersion: number | null;
}
export interface MetricWithInterval {
  readonly value: number;
  readonly lower: number;
  readonly upper: number;
}
export interface EvaluateResult {
  /** The full evaluation (predictions, slices, groups, calibration, drift) as an artifact. */
  readonly evaluationUri: string;
  readonly baseline: 'production' | 'majority';
  readonly holdoutRows: number;
  readonly candidate: Readonly<Record<string, MetricWithInterval>>;
  readonly production: Readonly<Record<string, MetricWithInterval>>;
  /** Holdout labels and both models' predictions (the gate's input). Absent in older runs, whose evaluation artifact held them. */
  readonly predictionsUri?: string;
}

export interface GateInput extends StageContext {
  readonly evaluation: EvaluateResult;
}
export interface GateResult {
  readonly blessing: Blessing;
  readonly blessingUri: string;
}

export interface NotifyInput {
  readonly runWorkflowId: string;
  readonly model: string;
  readonly kind: 'approval_requested' | 'approval_escalated' | 'labels_requested' | 'decision' | 'rollback';
  readonly message: string;
  readonly to?: readonly string[];
}

export interface AliasMoveInput {
  readonly runWorkflowId: string;
  readonly model: string;
  readonly version: number;
  /** Where the alias must be for the move to happen (compare-and-set). */
  readonly expected: number | null;
  readonly by: string;
  readonly reason: string;
}
export interface SetCanaryInput extends AliasMoveInput {
  readonly weight: number;
}
export interface AliasMoveResult {
  /** false when this exact move had already been made (a retried activity). */
  readonly moved: boolean;
  readonly at: string;
}

export interface ClearCanaryInput {
  readonly runWorkflowId: string;
  readonly model: string;
  readonly by: string;
  readonly reason: string;
}

export interface ObserveCanaryInput {
  readonly runWorkflowId: string;
  readonly model: string;
  readonly candidateVersion: number;
  readonly productionVersion: number | null;
  readonly since: string;
  readonly until: string;
  readonly liveMargin: number;
  readonly minLiveRows: number;
}
export interface ObserveCanaryResult {
  readonly candidate: { readonly rows: number; readonly accuracy?: number };
  readonly production: { readonly rows: number; readonly accuracy?: number };
  readonly regression: boolean;
  readonly enoughData: boolean;
  readonly why: string;
}

/** Everything the HTML report needs; the run's JSON report artifact. */
export interface RunReport {
  readonly runWorkflowId: string;
  readonly model: string;
  readonly n: number;
  readonly trigger: TriggerInfo;
  readonly decision: Decision;
  readonly decidedBy?: string;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly timeline: readonly StageRecord[];
  readonly config: ModelConfig;
  readonly collect?: CollectResult;
  readonly validation?: ValidateResult;
  readonly train?: TrainResult;
  readonly evaluation?: EvaluateResult;
  readonly gate?: GateResult;
  readonly rollout?: readonly { readonly weight: number; readonly observation?: ObserveCanaryResult }[];
  readonly productionVersion: number | null;
  readonly candidateVersion?: number;
  readonly status: RunStatus;
  readonly error?: string;
}

export interface WriteReportInput {
  readonly report: RunReport;
}
export interface WriteReportResult {
  readonly reportUri: string;
  readonly htmlUri?: string;
}

/** The activities the workflows call, by name. */
export interface RetrainActivities {
  probeSource(input: ProbeSourceInput): Promise<ProbeSourceResult>;
  checkBatch(input: CheckBatchInput): Promise<CheckBatchResult>;
  runOutcome(input: RunOutcomeInput): Promise<RunOutcome>;
  collect(input: CollectInput): Promise<CollectResult>;
  validate(input: ValidateInput): Promise<ValidateResult>;
  requestLabels(input: RequestLabelsInput): Promise<RequestLabelsResult>;
  train(input: TrainInput): Promise<TrainResult>;
  evaluate(input: EvaluateInput): Promise<EvaluateResult>;
  gate(input: GateInput): Promise<GateResult>;
  notify(input: NotifyInput): Promise<void>;
  setCanary(input: SetCanaryInput): Promise<AliasMoveResult>;
  observeCanary(input: ObserveCanaryInput): Promise<ObserveCanaryResult>;
  clearCanary(input: ClearCanaryInput): Promise<AliasMoveResult>;
  promote(input: AliasMoveInput): Promise<AliasMoveResult>;
  writeReport(input: WriteReportInput): Promise<WriteReportResult>;
}

/** Activities that run on the `retrain-training` task queue (heavy CPU). */
export const TRAINING_ACTIVITIES = ['train', 'evaluate'] as const;
