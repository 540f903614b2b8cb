/**
 * The retraining run (`retrain/<model>/<n>`): one decision to retrain, carried through collect, validate, label,
 * train, evaluate, gate, approve, rollout and promote, each stage an activity. The workflow only orchestrates:
 * data and models stay in the artifact store, and what crosses into history is URIs and small summaries. Every run
 * ends with a decision, a report written by `writeReport`, and a `runFinished` signal to its model's monitor.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type {
  CollectResult,
  EvaluateResult,
  GateResult,
  ObserveCanaryResult,
  RetrainActivities,
  RunReport,
  TrainResult,
  ValidateResult,
} from '../activities/types';
import { LabelModes } from './config';
import {
  ApprovePromotionSchema,
  approvePromotionUpdate,
  Decisions,
  describeIssues,
  LabelsApprovedSchema,
  labelsApprovedSignal,
  monitorWorkflowId,
  RejectPromotionSchema,
  rejectPromotionUpdate,
  RetrainDecision,
  RetrainModel,
  RetrainStage,
  RetrainTrigger,
  runFinishedSignal,
  runStatusQuery,
  runWorkflowId,
  Stages,
  summarizeBlessing,
  TASK_QUEUE,
  TRAINING_TASK_QUEUE,
  type Decision,
  type RejectedMessages,
  type RunInput,
  type RunResult,
  type RunStatus,
  type Stage,
  type StageRecord,
} from './definitions';

// Error types of activities that a retry cannot fix (the catalogue of activities/types.ts, repeated as strings
// because workflow code may import only types from activities/).
const NON_RETRYABLE = ['BadInput', 'ValidationFailed', 'AliasConflict', 'CommandFailed', 'NotEnoughData'];

/** Quick bookkeeping: notifications, alias moves, the report, the labeling request. */
const quick = proxyActivities<RetrainActivities>({
  taskQueue: TASK_QUEUE,
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});
/** Data stages on the orchestration queue: snapshots, validation, the gate's statistics, live metrics. */
const dataStage = proxyActivities<RetrainActivities>({
  taskQueue: TASK_QUEUE,
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});
/**
 * Training and evaluation on their own queue (heavy CPU, possibly other machines). They heartbeat: a lost worker is
 * noticed within the heartbeat timeout instead of hours later, and a retry resumes from the heartbeated checkpoint.
 */
const heavy = proxyActivities<RetrainActivities>({
  taskQueue: TRAINING_TASK_QUEUE,
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE },
});

const MAX_REJECTED_REASONS = 5;

/** The run's mutable state: what the status query shows and the report records. */
class RunState {
  stage: Stage = Stages.collect;
  decision: Decision | null = null;
  decidedBy?: string;
  error?: string;
  readonly timeline: StageRecord[] = [];
  collect?: CollectResult;
  validation?: ValidateResult;
  train?: TrainResult;
  evaluation?: EvaluateResult;
  gate?: GateResult;
  rollout: { weight: number; observation?: ObserveCanaryResult }[] = [];
  canary?: { version: number; weight: number };
  approval?: { approvers: readonly string[]; deadline: string; escalated: boolean };
  labeling?: { requestUri: string; approvers: readonly string[]; deadline: string };
  labelsApproval?: { approver: string; labelsUri?: string };
  promotionAnswer?: { approved: boolean; by: string; comment?: string };
  reportUri?: string;
  rejected: RejectedMessages = { count: 0, last: [] };
  readonly startedAt = new Date().toISOString();
  /**
   * The incumbent: the monitor's view until collect reads the registry's production alias, then the registry's,
   * which is the one evaluated against and promoted over (an operator's rollback moves the alias without the monitor).
   */
  productionVersion: number | null;

  constructor(readonly input: RunInput) {
    this.productionVersion = input.productionVersion;
  }

  get workflowId(): string {
    return runWorkflowId(this.input.model, this.input.n);
  }

  reject(reason: string): void {
    log.warn('message rejected', { reason });
    this.rejected = { count: this.rejected.count + 1, last: [...this.rejected.last, reason].slice(-MAX_REJECTED_REASONS) };
  }

  /** Closes the previous stage's record and opens this one, keeping search attributes and current details current. */
  enter(stage: Stage, waitingFor?: string): void {
    const now = new Date().toISOString();
    const open = this.timeline[this.timeline.length - 1];
    if (open && !open.endedAt) this.timeline[this.timeline.length - 1] = { ...open, endedAt: now };
    this.stage = stage;
    if (stage !== Stages.done) this.timeline.push({ stage, startedAt: now, ...(waitingFor ? { note: waitingFor } : {}) });
    upsertSearchAttributes([{ key: RetrainStage, value: stage }]);
    this.describe(waitingFor);
  }

  /** Notes something on the open stage record (resumed training, a rollout step). */
  note(text: string): void {
    const open = this.timeline[this.timeline.length - 1];
    if (open && !open.endedAt) this.timeline[this.timeline.length - 1] = { ...open, note: open.note ? `${open.note}; ${text}` : text };
  }

  retried(count: number): void {
    const open = this.timeline[this.timeline.length - 1];
    if (open && !open.endedAt && count > 0) this.timeline[this.timeline.length - 1] = { ...open, retries: (open.retries ?? 0) + count };
  }

  describe(waitingFor?: string): void {
    const parts = [`**${this.stage}**`];
    if (this.train) parts.push(`candidate v${this.train.candidateVersion}`);
    if (this.productionVersion !== null) parts.push(`production v${this.productionVersion}`);
    if (this.decision) parts.push(`decision \`${this.decision}\`${this.decidedBy ? ` by ${this.decidedBy}` : ''}`);
    if (waitingFor) parts.push(`waiting for ${waitingFor}`);
    setCurrentDetails(parts.join(' · '));
  }

  decide(decision: Decision, by?: string): void {
    this.decision = decision;
    if (by) this.decidedBy = by;
    upsertSearchAttributes([{ key: RetrainDecision, value: decision }]);
  }

  status(): RunStatus {
    return {
      model: this.input.model,
      n: this.input.n,
      trigger: this.input.trigger,
      stage: this.stage,
      decision: this.decision,
      candidateVersion: this.train?.candidateVersion,
      productionVersion: this.productionVersion,
      blessing: this.gate ? summarizeBlessing(this.gate.blessing) : undefined,
      validation: this.validation,
      reportUri: this.reportUri,
      decidedBy: this.decidedBy,
      canary: this.canary,
      approval: this.approval,
      labeling: this.labeling,
      timeline: [...this.timeline],
      error: this.error,
      rejectedMessages: this.rejected,
    };
  }

  report(): RunReport {
    return {
      runWorkflowId: this.workflowId,
      model: this.input.model,
      n: this.input.n,
      trigger: this.input.trigger,
      decision: this.decision ?? Decisions.failed,
      decidedBy: this.decidedBy,
      startedAt: this.startedAt,
      endedAt: new Date().toISOString(),
      timeline: [...this.timeline],
      config: this.input.config,
      collect: this.collect,
      validation: this.validation,
      train: this.train,
      evaluation: this.evaluation,
      gate: this.gate,
      rollout: this.rollout,
      productionVersion: this.productionVersion,
      candidateVersion: this.train?.candidateVersion,
      status: this.status(),
      error: this.error,
    };
  }

  result(): RunResult {
    const promoted = this.decision === Decisions.promoted;
    return {
      model: this.input.model,
      n: this.input.n,
      decision: this.decision ?? Decisions.failed,
      candidateVersion: this.train?.candidateVersion,
      productionVersion: promoted && this.train ? this.train.candidateVersion : this.productionVersion,
      reportUri: this.reportUri,
      decidedBy: this.decidedBy,
      // The data of a run that got as far as a decision on it is used up, whatever the decision (a bad batch would
      // otherwise fail every later run); a failed or canceled run leaves it for the next one.
      trainedThroughBatch:
        this.collect && this.decision !== Decisions.failed && this.decision !== Decisions.canceled && this.decision !== Decisions.labelsExpired
          ? this.collect.toBatch - 1
          : undefined,
    };
  }
}

/** Rejects an update by throwing from its validator: nothing reaches history. */
function refuse(message: string): never {
  throw ApplicationFailure.nonRetryable(message, 'InvalidUpdate');
}

export async function retrainingRun(input: RunInput): Promise<RunResult> {
  const state = new RunState(input);
  const ctx = { runWorkflowId: state.workflowId, model: input.model, n: input.n, config: input.config };
  const approvers = input.config.promotion.approvers;

  setHandler(runStatusQuery, () => state.status());

  setHandler(labelsApprovedSignal, (raw) => {
    const parsed = LabelsApprovedSchema.safeParse(raw);
    if (!parsed.success) return state.reject(describeIssues('labelsApproved', parsed.error));
    const labels = input.config.labels;
    if (state.stage !== Stages.label || !state.labeling || state.labelsApproval) {
      return state.reject(`labelsApproved: the run is in stage ${state.stage}, not waiting for labels`);
    }
    if (labels.mode !== LabelModes.approval || !labels.approvers.includes(parsed.data.approver)) {
      return state.reject(`labelsApproved.approver: ${JSON.stringify(parsed.data.approver)} is not a labels approver`);
    }
    state.labelsApproval = { approver: parsed.data.approver, labelsUri: parsed.data.labelsUri };
  });

  // Validators are synchronous on purpose: SDK 1.24 does not await an async one.
  const checkApprover = (message: string, approver: string): void => {
    if (state.promotionAnswer) {
      refuse(`${message}: the promotion was already ${state.promotionAnswer.approved ? 'approved' : 'rejected'} by ${state.promotionAnswer.by}`);
    }
    if (state.stage !== Stages.approve) refuse(`${message}: the run is in stage ${state.stage}, not approve`);
    if (!approvers.includes(approver)) {
      refuse(`${message}.approver: ${JSON.stringify(approver)} is not a promotion approver (expected one of ${approvers.map((a) => JSON.stringify(a)).join(', ')})`);
    }
    if (input.trigger.requestedBy !== undefined && approver === input.trigger.requestedBy) {
      refuse(`${message}.approver: ${JSON.stringify(approver)} requested this run and may not approve it`);
    }
  };
  // The approve and reject updates answer with the status after the run has acted on the answer (rolling out, or
  // decided), not the one from just before: an operator reading it right after "approved" should not see "stage
  // approve". The run acts in the same workflow task, so this waits for no timer or activity.
  const answerTaken = () => condition(() => state.stage !== Stages.approve || state.decision !== null);
  setHandler(
    approvePromotionUpdate,
    async (u) => {
      state.promotionAnswer = { approved: true, by: u.approver, comment: u.comment };
      await answerTaken();
      return state.status();
    },
    {
      validator: (u) => {
        const parsed = ApprovePromotionSchema.safeParse(u);
        if (!parsed.success) refuse(describeIssues('approvePromotion', parsed.error));
        checkApprover('approvePromotion', parsed.data.approver);
      },
    },
  );
  setHandler(
    rejectPromotionUpdate,
    async (u) => {
      state.promotionAnswer = { approved: false, by: u.approver, comment: u.reason };
      await answerTaken();
      return state.status();
    },
    {
      validator: (u) => {
        const parsed = RejectPromotionSchema.safeParse(u);
        if (!parsed.success) refuse(describeIssues('rejectPromotion', parsed.error));
        checkApprover('rejectPromotion', parsed.data.approver);
      },
    },
  );

  upsertSearchAttributes([
    { key: RetrainModel, value: input.model },
    { key: RetrainTrigger, value: input.trigger.kind },
  ]);

  let failure: unknown;
  try {
    await stages(state, ctx);
  } catch (err) {
    failure = err;
    if (isCancellation(err)) {
      state.decide(Decisions.canceled);
    } else {
      state.decide(Decisions.failed);
      state.error = errorMessage(err);
    }
  }

  // Wrap-up runs even when the run was canceled: compensation and the report must not be cancelled themselves.
  await CancellationScope.nonCancellable(async () => {
    if (state.canary && state.decision !== Decisions.promoted) {
      try {
        await quick.clearCanary({ runWorkflowId: state.workflowId, model: input.model, by: 'retrain', reason: `run ended: ${state.decision}` });
        state.canary = undefined;
      } catch (err) {
        log.error('clearing the canary failed', { error: errorMessage(err) });
      }
    }
    state.enter(Stages.done);
    try {
      state.reportUri = (await quick.writeReport({ report: state.report() })).reportUri;
    } catch (err) {
      log.error('writing the report failed', { error: errorMessage(err) });
    }
    state.describe();
    try {
      await getExternalWorkflowHandle(monitorWorkflowId(input.model)).signal(runFinishedSignal, { ...state.result(), workflowId: state.workflowId });
    } catch (err) {
      // A run started on its own (tests, `retrain run`) has no monitor; that is fine.
      log.info('monitor not signalled', { error: errorMessage(err) });
    }
  });

  if (failure !== undefined) {
    if (isCancellation(failure)) throw failure;
    throw ApplicationFailure.nonRetryable(`retraining run ${state.workflowId} failed in stage ${lastWorkingStage(state)}: ${state.error}`, 'RunFailed');
  }
  return state.result();
}

type Ctx = { runWorkflowId: string; model: string; n: number; config: RunInput['config'] };

/** The stages in order; returns once the run has a decision, throws on failure or cancellation. */
async function stages(state: RunState, ctx: Ctx): Promise<void> {
  const { input } = state;
  const config = input.config;

  state.enter(Stages.collect);
  const collect = await dataStage.collect({ ...ctx, labelledBatches: input.labelledBatches, sinceBatch: input.sinceBatch });
  state.collect = collect;
  state.note(`batches ${collect.fromBatch}–${collect.toBatch - 1}, ${collect.fresh.rows} new rows`);
  if (collect.productionVersion !== state.productionVersion) {
    const v = (x: number | null) => (x === null ? 'none' : `v${x}`);
    state.note(`production is ${v(collect.productionVersion)} in the registry (the monitor had ${v(state.productionVersion)})`);
  }
  state.productionVersion = collect.productionVersion;

  state.enter(Stages.validate);
  state.validation = await dataStage.validate({ ...ctx, collect, productionVersion: state.productionVersion });
  if (!state.validation.passed) {
    state.note(`${state.validation.failures.length} failing checks`);
    return state.decide(Decisions.validationFailed);
  }

  let labelsUri: string | undefined;
  if (config.labels.mode === LabelModes.approval) {
    const labels = config.labels;
    const deadline = new Date(Date.now() + labels.deadline).toISOString();
    state.enter(Stages.label);
    const { requestUri } = await quick.requestLabels({ ...ctx, collect, approvers: labels.approvers, deadline });
    state.labeling = { requestUri, approvers: labels.approvers, deadline };
    state.describe(`labels from ${labels.approvers.join(', ')} until ${deadline}`);
    await quick.notify({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, kind: 'labels_requested', to: labels.approvers, message: `Labels requested for ${ctx.runWorkflowId}: ${requestUri} (deadline ${deadline})` });
    if (!(await condition(() => state.labelsApproval !== undefined, labels.deadline))) return state.decide(Decisions.labelsExpired);
    labelsUri = state.labelsApproval!.labelsUri;
    state.note(`labels approved by ${state.labelsApproval!.approver}`);
  }

  state.enter(Stages.train);
  state.train = await heavy.train({ ...ctx, collect, labelsUri });
  if (state.train.resumedFrom) {
    state.retried(1);
    state.note(`resumed from iteration ${state.train.resumedFrom.iteration}`);
  }
  const candidate = state.train.candidateVersion;

  state.enter(Stages.evaluate);
  state.evaluation = await heavy.evaluate({ ...ctx, collect, candidateVersion: candidate, productionVersion: state.productionVersion });

  state.enter(Stages.gate);
  state.gate = await dataStage.gate({ ...ctx, evaluation: state.evaluation });
  if (!state.gate.blessing.promote) {
    state.note(state.gate.blessing.summary);
    await quick.notify({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, kind: 'decision', message: `${ctx.runWorkflowId}: candidate v${candidate} not blessed: ${state.gate.blessing.summary}` });
    return state.decide(Decisions.notBlessed);
  }

  const approvers = config.promotion.approvers;
  if (approvers.length > 0) {
    const total = config.promotion.deadline;
    const half = Math.floor(total / 2);
    const deadline = new Date(Date.now() + total).toISOString();
    // Who can still approve: the person who asked for the run may not (checkApprover refuses them).
    const eligible = approvers.filter((a) => a !== input.trigger.requestedBy);
    state.approval = { approvers: eligible, deadline, escalated: false };
    state.enter(Stages.approve, `approval by ${eligible.join(', ') || `nobody (${input.trigger.requestedBy} asked for the run and is the only approver)`} until ${deadline}`);
    await quick.notify({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, kind: 'approval_requested', to: approvers, message: `${ctx.runWorkflowId}: candidate v${candidate} is blessed (${state.gate.blessing.summary}); approve or reject by ${deadline}` });
    let answered = await condition(() => state.promotionAnswer !== undefined, half);
    if (!answered) {
      state.approval = { ...state.approval, escalated: true };
      state.note('escalated at half the deadline');
      await quick.notify({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, kind: 'approval_escalated', to: approvers, message: `${ctx.runWorkflowId}: approval still pending; it expires at ${deadline}` });
      answered = await condition(() => state.promotionAnswer !== undefined, total - half);
    }
    if (!answered) {
      await quick.notify({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, kind: 'decision', message: `${ctx.runWorkflowId}: approval expired` });
      return state.decide(Decisions.approvalExpired);
    }
    const answer = state.promotionAnswer!;
    state.note(`${answer.approved ? 'approved' : 'rejected'} by ${answer.by}${answer.comment ? `: ${answer.comment}` : ''}`);
    if (!answer.approved) return state.decide(Decisions.rejected, answer.by);
    state.decidedBy = answer.by;
  }

  state.enter(Stages.rollout);
  const rollout = config.rollout;
  for (const weight of rollout.steps) {
    if (weight >= 1) break;
    await quick.setCanary({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, version: candidate, weight, expected: state.canary?.version ?? null, by: state.decidedBy ?? 'policy', reason: `canary ${Math.round(weight * 100)}%` });
    state.canary = { version: candidate, weight };
    const step: { weight: number; observation?: ObserveCanaryResult } = { weight };
    state.rollout.push(step);
    state.describe(`canary at ${Math.round(weight * 100)}% observed until ${new Date(Date.now() + rollout.observe).toISOString()}`);
    const since = new Date().toISOString();
    await sleep(rollout.observe);
    step.observation = await dataStage.observeCanary({
      runWorkflowId: ctx.runWorkflowId,
      model: ctx.model,
      candidateVersion: candidate,
      productionVersion: state.productionVersion,
      since,
      until: new Date().toISOString(),
      liveMargin: rollout.liveMargin,
      minLiveRows: rollout.minLiveRows,
    });
    state.note(`${Math.round(weight * 100)}%: ${step.observation.why}`);
    if (step.observation.regression) {
      await quick.clearCanary({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, by: 'retrain', reason: `live regression at ${Math.round(weight * 100)}%: ${step.observation.why}` });
      state.canary = undefined;
      await quick.notify({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, kind: 'rollback', message: `${ctx.runWorkflowId}: candidate v${candidate} rolled back at ${Math.round(weight * 100)}%: ${step.observation.why}` });
      return state.decide(Decisions.rolledBack);
    }
  }

  state.enter(Stages.promote);
  await quick.promote({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, version: candidate, expected: state.productionVersion, by: state.decidedBy ?? 'policy', reason: `run ${ctx.runWorkflowId} (${input.trigger.kind})` });
  state.rollout.push({ weight: 1 });
  if (state.canary) {
    await quick.clearCanary({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, by: 'retrain', reason: 'promoted' });
    state.canary = undefined;
  }
  state.decide(Decisions.promoted, state.decidedBy);
  await quick.notify({ runWorkflowId: ctx.runWorkflowId, model: ctx.model, kind: 'decision', message: `${ctx.runWorkflowId}: candidate v${candidate} promoted to production` });
}

function lastWorkingStage(state: RunState): Stage {
  for (let i = state.timeline.length - 1; i >= 0; i--) if (state.timeline[i].stage !== Stages.done) return state.timeline[i].stage;
  return state.stage;
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== err.message ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
