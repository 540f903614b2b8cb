/**
 * The inputs of the reports beyond the run's JSON report: the evaluate stage's full detail (the artifact behind
 * `EvaluateResult.evaluationUri`), the validation detail (behind `ValidateResult.reportUri`) as far as the report
 * reads it, and a model's monitoring history. The evaluate activity writes `EvaluationDetail` exactly as typed
 * here, so this file is the contract between that activity and the renderer. Types only.
 */
import type { MetricWithInterval } from '../activities/types';
import type { FairnessMetric } from '../ml/fairness';

export type { MetricWithInterval };

/** Metric values keyed by the policy's metric names (`roc_auc`, `accuracy`, `log_loss`, `brier`, `ece`, …). */
export type MetricTable = Readonly<Record<string, MetricWithInterval>>;

/** Both models' metrics on one part of the holdout. */
export interface ModelPair {
  readonly candidate: MetricTable;
  readonly production: MetricTable;
}

/** One slice: the holdout rows where `column` equals `value`. */
export interface SliceDetail extends ModelPair {
  readonly column: string;
  readonly value: string;
  readonly rows: number;
  /** Rows of the positive class in the slice. */
  readonly positives?: number;
}

/**
 * One protected group's rates, keyed `selection_rate`, `tpr`, `fpr`, `accuracy`. A rate that is undefined for the
 * group (TPR with no positives, FPR with no negatives) is left out rather than reported as 0.
 */
export interface GroupDetail extends ModelPair {
  readonly column: string;
  readonly group: string;
  readonly rows: number;
  readonly positives?: number;
}

/** One fairness gap (largest minus smallest group rate) of both models, and the gate's widening test when it ran. */
export interface FairnessGapDetail {
  readonly column: string;
  readonly metric: FairnessMetric;
  readonly candidate: number;
  readonly production: number;
  /** candidate − production, with the lower confidence bound the gate compared with `maxWidening`. */
  readonly widening?: { readonly estimate: number; readonly lower: number | null };
  readonly maxWidening?: number;
  readonly pass?: boolean;
}

/** One bin of a reliability diagram: the predictions in [lower, upper), their mean and the observed positive rate. */
export interface CalibrationBin {
  readonly lower: number;
  readonly upper: number;
  readonly meanPredicted: number;
  /** Share of positives among the bin's rows; null when the bin is empty. */
  readonly observed: number | null;
  readonly count: number;
}

export interface CalibrationDetail {
  readonly candidate: readonly CalibrationBin[];
  readonly production: readonly CalibrationBin[];
  /** Expected calibration error of each model over the same bins. */
  readonly ece?: { readonly candidate: number; readonly production: number };
}

/** Drift of one feature between the training reference and the new data. */
export interface FeatureDriftDetail {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  readonly psi: number;
  /** Two-sample Kolmogorov-Smirnov test (numeric features only). */
  readonly ks?: { readonly statistic: number; readonly pValue: number };
  /** Chi-square test (categorical features). */
  readonly chiSquare?: { readonly statistic: number; readonly pValue: number };
  readonly missingRate: { readonly reference: number; readonly current: number };
  /** The drift report's verdict (ml/drift's rule). */
  readonly drift: boolean;
}

export interface DriftDetail {
  /** What was compared, in words: "training reference (batches 0-11) vs new data (batches 12-13)". */
  readonly reference?: string;
  readonly current?: string;
  /** The PSI at or above which a shift counts as large (0.2 by default). */
  readonly psiThreshold?: number;
  readonly features: readonly FeatureDriftDetail[];
}

/** The known-hard examples suite: how each model did, and the examples only production got right. */
export interface HardExamplesDetail {
  readonly rows: number;
  readonly candidateCorrect: number;
  readonly productionCorrect: number;
  /** Row indices in the suite that production gets right and the candidate gets wrong. */
  readonly newFailures: readonly number[];
  /** How many production failures the candidate gets right. */
  readonly fixed: number;
}

/** The evaluate stage's full detail: the artifact at `EvaluateResult.evaluationUri`. */
export interface EvaluationDetail {
  readonly holdoutRows: number;
  readonly baseline: 'production' | 'majority';
  /** Confidence level of every interval in this document (0.95). */
  readonly confidence: number;
  /** How the intervals were computed ("percentile bootstrap, 2000 resamples"). */
  readonly intervalMethod?: string;
  readonly models: ModelPair;
  readonly slices: readonly SliceDetail[];
  readonly groups: readonly GroupDetail[];
  readonly fairness: readonly FairnessGapDetail[];
  readonly calibration?: CalibrationDetail;
  readonly drift?: DriftDetail;
  readonly hardExamples?: HardExamplesDetail;
}

/**
 * The validation report (at `ValidateResult.reportUri`) as far as the run report reads it; the renderer takes it
 * as `unknown` and reads these fields defensively, so a richer document renders too.
 */
export interface ValidationDetail {
  readonly rows?: number;
  readonly columns?: number;
  readonly checks?: readonly { readonly column?: string; readonly check: string; readonly passed: boolean; readonly message?: string }[];
  readonly failures?: readonly {
    readonly column?: string;
    readonly check: string;
    readonly message: string;
    /** Offending row numbers (the first few) and how many rows failed in all. */
    readonly rows?: readonly number[];
    readonly count?: number;
  }[];
  /** Findings that did not fail the batch (a distribution shift, values beyond the reference's range), same shape. */
  readonly warnings?: readonly {
    readonly column?: string;
    readonly check: string;
    readonly message: string;
    readonly rows?: readonly number[];
    readonly count?: number;
  }[];
}

/** One of the monitor's batch checks: the production model's accuracy on the outcomes that arrived. */
export interface MonitorPoint {
  readonly at: string;
  readonly batch: number;
  readonly accuracy: number;
}

export const MonitorEventKinds = { retrain: 'retrain', promotion: 'promotion', rollback: 'rollback' } as const;
export type MonitorEventKind = (typeof MonitorEventKinds)[keyof typeof MonitorEventKinds];

export interface MonitorEvent {
  readonly at: string;
  readonly kind: MonitorEventKind;
  /** The run's workflow id (`retrain/<model>/<n>`), when a run caused the event. */
  readonly run?: string;
  /** The model version promoted, rolled back to, or trained. */
  readonly version?: number;
  readonly note?: string;
}

/** A model's history as the monitor report draws it. */
export interface MonitorHistory {
  readonly model: string;
  readonly description?: string;
  readonly points: readonly MonitorPoint[];
  readonly events: readonly MonitorEvent[];
}

/** A rendered report: one self-contained HTML file and a Markdown summary. */
export interface RenderedReport {
  readonly html: string;
  readonly markdown: string;
}
