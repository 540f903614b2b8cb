/**
 * Every signal, query and update of Retrain's two workflows, their payload types and zod schemas, the search
 * attributes, and the ids. Workflows and clients (CLI, webhooks, serving, tests) import these constants, so a
 * message name is written once. These names are a public contract: monitoring services and operators' tools
 * build on them, and the README documents them. Pure: it runs inside the workflow sandbox.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { z } from 'zod';
import type { Blessing } from '../ml/policy';
import { ModelConfigSchema, SeveritySchema, issueMessage, type ModelConfig, type ModelConfigInput, type Severity } from './config';
import type { Decision, Stage, TriggerKind } from './names';

// ---------------------------------------------------------------------------------------------------------------
// Search attributes (Keyword), kept current on both workflow types.

export const RetrainModel = defineSearchAttributeKey('RetrainModel', SearchAttributeType.KEYWORD);
export const RetrainStage = defineSearchAttributeKey('RetrainStage', SearchAttributeType.KEYWORD);
export const RetrainTrigger = defineSearchAttributeKey('RetrainTrigger', SearchAttributeType.KEYWORD);
export const RetrainDecision = defineSearchAttributeKey('RetrainDecision', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [RetrainModel, RetrainStage, RetrainTrigger, RetrainDecision] as const;

// ---------------------------------------------------------------------------------------------------------------
// Workflow ids and enumerations: in ./names, so the CLI's help can list them without loading the message definitions.

export * from './names';

// ---------------------------------------------------------------------------------------------------------------
// Monitor messages.

const text = z.string().trim().min(1);
const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 date-time');

export const DriftDetectedSchema = z
  .object({
    /** Unique per alert: a redelivered alert with the same id is counted once. */
    eventId: text,
    /** Who raised it (a monitoring service, `builtin:ddm`, `alertmanager`, …). */
    source: text,
    severity: SeveritySchema,
    score: z.number().finite().optional(),
    features: z.array(z.string()).optional(),
    detectedAt: isoDate.optional(),
  })
  .strict();
export type DriftDetected = z.infer<typeof DriftDetectedSchema>;

export const PerformanceReportedSchema = z
  .object({ metric: text, value: z.number().finite(), window: z.string().optional(), source: text })
  .strict();
export type PerformanceReported = z.infer<typeof PerformanceReportedSchema>;

export const RetrainNowSchema = z.object({ requestedBy: text, reason: text }).strict();
export type RetrainNow = z.infer<typeof RetrainNowSchema>;
export interface RetrainNowResult {
  /**
   * The run started; when the request was queued (behind the active run, or the cooldown), the id the queued run
   * will get (the monitor's next run number), not the active run's.
   */
  readonly runWorkflowId: string;
  readonly queued: boolean;
}

export const PauseResumeSchema = z.object({ by: text, reason: text }).strict();
export type PauseResume = z.infer<typeof PauseResumeSchema>;

export const ConfigureSchema = z.object({ config: ModelConfigSchema, by: text }).strict();
/** What a client sends: the config as written (defaults are filled in by the validator). */
export interface ConfigureInput {
  readonly config: ModelConfigInput;
  readonly by: string;
}

export const driftDetectedSignal = defineSignal<[DriftDetected]>('driftDetected');
export const performanceReportedSignal = defineSignal<[PerformanceReported]>('performanceReported');
export const retrainNowUpdate = defineUpdate<RetrainNowResult, [RetrainNow]>('retrainNow');
export const pauseUpdate = defineUpdate<MonitorStatus, [PauseResume]>('pause');
export const resumeUpdate = defineUpdate<MonitorStatus, [PauseResume]>('resume');
/**
 * Replaces the monitor's config; returns the config version in effect. A config identical to the current one (deep
 * equal after parsing, so defaults written out or left out make no difference) is a no-op that returns the current
 * version: update-with-start sends the start config again as this update, and a fresh monitor stays at version 1.
 */
export const configureUpdate = defineUpdate<{ version: number }, [ConfigureInput]>('configure');
export const monitorStatusQuery = defineQuery<MonitorStatus>('status');
/** Sent by a retraining run to its monitor when it ends (internal: it survives the monitor's continue-as-new). */
export const runFinishedSignal = defineSignal<[RunResult & { readonly workflowId: string }]>('runFinished');

export interface TriggerInfo {
  readonly kind: TriggerKind;
  /** One line: "drift: 3 alerts from grafana, builtin:ddm (high)". */
  readonly detail: string;
  /** A person, for manual triggers (they may not approve the run's promotion). */
  readonly requestedBy?: string;
  readonly at: string;
  /** Drift event ids folded into this trigger. */
  readonly eventIds?: readonly string[];
}

export interface RunSummary {
  readonly workflowId: string;
  readonly trigger: TriggerKind;
  readonly decision: Decision | null;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly candidateVersion?: number;
}

export interface RejectedMessages {
  readonly count: number;
  /** The last few reasons, newest last: "driftDetected.severity: expected one of …". */
  readonly last: readonly string[];
}

export interface MonitorStatus {
  readonly model: string;
  readonly paused: boolean;
  readonly productionVersion: number | null;
  readonly canary?: { readonly version: number; readonly weight: number };
  readonly activeRun: string | null;
  readonly queuedTrigger?: TriggerInfo;
  /** The last 50 runs, oldest first. */
  readonly runs: readonly RunSummary[];
  readonly rejectedMessages: RejectedMessages;
  /** Batches seen by the built-in check, and the last check's figures. */
  readonly batches?: { readonly arrived: number; readonly checked: number; readonly lastAccuracy?: number };
  readonly configVersion: number;
  readonly nextRunNumber: number;
  /** Drift alerts (signals and built-in) received, redeliveries counted once, below minSeverity, folded into a storm's trigger. */
  readonly drift?: { readonly received: number; readonly duplicates: number; readonly belowSeverity: number; readonly folded: number };
  /** How many times this monitor has continued as new. */
  readonly continuedAsNew?: number;
  /**
   * The last probe of the data source: batches it had (null before any probe succeeded), when, and what was wrong
   * when the probe failed (a missing file, an unreadable bucket), so a broken source is not mistaken for no data.
   */
  readonly source?: { readonly batches: number | null; readonly at: string; readonly error?: string };
  /**
   * Present while no run has produced a production model yet and none is running: the monitor retries the initial
   * run once `nextAttemptAtLabelledBatches` labelled batches have arrived (`triggers.initialBatches` more than at
   * the last attempt), after the cooldown.
   */
  readonly waitingForFirstModel?: {
    readonly attempts: number;
    readonly lastDecision: Decision | null;
    readonly labelledBatches: number;
    readonly nextAttemptAtLabelledBatches: number;
  };
}

/** The monitor's input, also what it carries across continue-as-new. */
export interface MonitorInput {
  readonly config: ModelConfigInput | ModelConfig;
  /** Set by the monitor itself when it continues as new. */
  readonly carried?: unknown;
  /**
   * Continue-as-new once the history has more events than this, besides whenever the server suggests it (tests set
   * it low to exercise continue-as-new; production leaves it unset).
   */
  readonly historyLimit?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Run messages.

export const LabelsApprovedSchema = z.object({ approver: text, labelsUri: z.string().min(1).optional(), note: z.string().optional() }).strict();
export type LabelsApproved = z.infer<typeof LabelsApprovedSchema>;
export const ApprovePromotionSchema = z.object({ approver: text, comment: z.string().optional() }).strict();
export type ApprovePromotion = z.infer<typeof ApprovePromotionSchema>;
export const RejectPromotionSchema = z.object({ approver: text, reason: text }).strict();
export type RejectPromotion = z.infer<typeof RejectPromotionSchema>;

export const labelsApprovedSignal = defineSignal<[LabelsApproved]>('labelsApproved');
export const approvePromotionUpdate = defineUpdate<RunStatus, [ApprovePromotion]>('approvePromotion');
export const rejectPromotionUpdate = defineUpdate<RunStatus, [RejectPromotion]>('rejectPromotion');
export const runStatusQuery = defineQuery<RunStatus>('status');

/** One check of the blessing as the status query and reports show it. */
export interface CheckSummary {
  readonly name: string;
  readonly estimate: number;
  readonly lower: number | null;
  readonly upper: number | null;
  readonly pValue?: number;
  readonly pass: boolean;
  readonly why: string;
}

export interface ValidationStatus {
  readonly passed: boolean;
  /** The failing checks, at most 20: "column x: 3 values out of range [0, 1] (rows 4, 9, 17)". */
  readonly failures: readonly { readonly column?: string; readonly check: string; readonly message: string }[];
  /**
   * Warnings, at most 10, range drift first: "column x: 1344 values outside the allowed range ...: the column
   * drifted beyond its old range". A passed batch can carry them; they say production's reference is stale.
   */
  readonly warnings?: readonly { readonly column?: string; readonly check: string; readonly message: string }[];
  readonly reportUri?: string;
}

export interface RunStatus {
  readonly model: string;
  readonly n: number;
  readonly trigger: TriggerInfo;
  readonly stage: Stage;
  readonly decision: Decision | null;
  readonly candidateVersion?: number;
  /** The incumbent: the registry's production version as of collect (before collect ends, the monitor's view). */
  readonly productionVersion?: number | null;
  readonly blessing?: { readonly promote: boolean; readonly summary: string; readonly checks: readonly CheckSummary[] };
  readonly validation?: ValidationStatus;
  readonly reportUri?: string;
  /** Who approved or rejected, when a person did. */
  readonly decidedBy?: string;
  readonly canary?: { readonly version: number; readonly weight: number };
  /** Approval: who may approve, and when the request expires. */
  readonly approval?: { readonly approvers: readonly string[]; readonly deadline: string; readonly escalated: boolean };
  /** Labels: the labeling request waiting for `labelsApproved`. */
  readonly labeling?: { readonly requestUri: string; readonly approvers: readonly string[]; readonly deadline: string };
  readonly timeline: readonly StageRecord[];
  readonly error?: string;
  /** labelsApproved signals that were ignored (malformed, not an approver, not waiting for labels). */
  readonly rejectedMessages?: RejectedMessages;
}

export interface StageRecord {
  readonly stage: Stage;
  readonly startedAt: string;
  readonly endedAt?: string;
  /** Activity attempts beyond the first, summed over the stage's activities. */
  readonly retries?: number;
  readonly note?: string;
}

/** The run's input, from the monitor (or a test, or `retrain run`). */
export interface RunInput {
  readonly model: string;
  readonly n: number;
  readonly config: ModelConfig;
  readonly trigger: TriggerInfo;
  /** Batches [0, labelledBatches) have labels and may be used; `sinceBatch` is where the new data begins. */
  readonly labelledBatches: number;
  readonly sinceBatch: number;
  /**
   * The monitor's view of production, shown until collect reads the registry's production alias; the run evaluates
   * against and promotes over the registry's, which an operator's rollback may have moved since the monitor looked.
   */
  readonly productionVersion: number | null;
}

export interface RunResult {
  readonly model: string;
  readonly n: number;
  readonly decision: Decision;
  readonly candidateVersion?: number;
  /** The production version after the run: the candidate when promoted, otherwise the registry's as of collect (the input's if collect never ended). */
  readonly productionVersion: number | null;
  readonly reportUri?: string;
  readonly decidedBy?: string;
  /** The last batch whose data went into training (the monitor's next `sinceBatch`). */
  readonly trainedThroughBatch?: number;
}

export function summarizeBlessing(b: Blessing): NonNullable<RunStatus['blessing']> {
  return {
    promote: b.promote,
    summary: b.summary,
    checks: b.checks.map((c) => ({ name: c.name, estimate: c.estimate, lower: c.lower, upper: c.upper, pValue: c.pValue, pass: c.pass, why: c.why })),
  };
}

/** "driftDetected.severity: expected one of …" for each zod issue, for rejections counted in status. */
export function describeIssues(message: string, error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      // The config's wording, so a rejected message reads like a refused config ("required (a string)").
      return `${message}${path}: ${issueMessage(i)}`;
    })
    .join('; ');
}

export type { ModelConfig, ModelConfigInput, Severity };
