/**
 * Workflow updates: admission, delivery to the worker as protocol messages on a workflow task, the worker's
 * acceptance, rejection and response, the ADMITTED / ACCEPTED / COMPLETED wait stages, polling, deduplication by
 * update id, and update-with-start. An update admitted with no task in flight goes out on a speculative task
 * (run-workflow-tasks.ts), so a rejected one writes no event at all. A run that closes by continuing as new aborts its updates that
 * were not accepted with the real server's retryable error; the client's retry reaches the new run.
 */
import type { CallContext, Engine } from './engine';
import { invalidArgument, notFound, requireField, ServerError, Status } from './errors';
import { enums, EventType, temporal, long, root } from './proto';
import type { WorkflowRun } from './run';

const Stage = enums.UpdateWorkflowExecutionLifecycleStage;
type IMessage = temporal.api.protocol.v1.IMessage;
type IOutcome = temporal.api.update.v1.IOutcome;

export interface UpdateState {
  id: string;
  request: temporal.api.update.v1.IRequest;
  state: 'admitted' | 'sent' | 'accepted' | 'completed';
  outcome?: IOutcome;
  acceptedEventId?: number;
  waiters: StageWait[];
}

const TYPE_PREFIX = 'type.googleapis.com/';
const RequestType = root.lookupType('temporal.api.update.v1.Request');

/** A run's updates (WorkflowRun.updates), created with its first. */
export interface RunUpdates {
  /** Every update the run was asked for, by update id. */
  readonly all: Map<string, UpdateState>;
  /** Those not completed yet, in admission order (completed ones leave lazily). */
  readonly open: Map<string, UpdateState>;
}

function runUpdates(run: WorkflowRun): RunUpdates {
  return (run.updates ??= { all: new Map(), open: new Map() });
}

/** Every update the run was asked for, by update id (a known id answers with what it reached). */
function updates(run: WorkflowRun): Map<string, UpdateState> {
  return runUpdates(run).all;
}

/**
 * The run's updates that are not completed yet, in admission order: every workflow task looks through these, not
 * through every update the run ever had (a long-lived workflow answers thousands). Completed ones leave lazily.
 */
function openUpdates(run: WorkflowRun): Map<string, UpdateState> {
  return runUpdates(run).open;
}

function notify(u: UpdateState): void {
  const ws = u.waiters.splice(0);
  for (const w of ws) w.wake();
}

/**
 * A caller waiting for an update to reach a lifecycle stage (or its run to close), for at most a timeout. A class, not
 * a set of closures: tsx's keepNames wraps each named closure in a defineProperty call, made on every update.
 */
class StageWait {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly run: WorkflowRun,
    private readonly u: UpdateState,
    private readonly stage: number,
    private readonly resolve: () => void,
  ) {}

  reached(): boolean {
    return stageOf(this.u) >= this.stage || !this.run.isOpen;
  }

  /** Starts waiting: on the update's waiters, until the stage, the timeout or the caller's cancellation. */
  start(ctx: CallContext, timeoutMs: number): void {
    this.timer = setTimeout(expireStageWait, timeoutMs, this);
    this.u.waiters.push(this);
    // A run that closes notifies every update's waiters (runClosed above), so wake() sees it.
    ctx.onCancel(() => this.end());
  }

  /** The update moved (or its run closed): the wait ends at the stage, else goes on. */
  wake(): void {
    if (this.reached()) {
      clearTimeout(this.timer);
      this.resolve();
    } else this.u.waiters.push(this);
  }

  /**
   * Ends the wait without the stage (timeout, or the caller went away), withdrawing it from the update: otherwise
   * every unanswered poll would leave one behind.
   */
  end(): void {
    clearTimeout(this.timer);
    const i = this.u.waiters.indexOf(this);
    if (i >= 0) this.u.waiters.splice(i, 1);
    this.resolve();
  }
}

function expireStageWait(w: StageWait): void {
  w.end();
}

/**
 * The real server's answer (consts.ErrWorkflowClosing) to an update its run never accepted when the run continued as
 * a new one (continue-as-new, retry, cron): RESOURCE_EXHAUSTED, which clients retry, landing on the new run.
 */
function workflowClosing(): ServerError {
  return new ServerError(Status.RESOURCE_EXHAUSTED, 'workflow operation can not be applied because workflow is closing', {
    typeName: 'temporal.api.errordetails.v1.ResourceExhaustedFailure',
    value: {
      cause: enums.ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_BUSY_WORKFLOW,
      scope: enums.ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
    },
  });
}

/** What a caller waiting on an update that its closed run never completed gets. */
function abortedByClose(run: WorkflowRun): ServerError {
  const continued = run.nextRunId !== undefined || run.status === enums.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW;
  return continued ? workflowClosing() : notFound('workflow execution already completed');
}

/** The real server's rejection of an update a worker completed its task without answering (registry.RejectUnprocessed). */
function unprocessedUpdate(): temporal.api.failure.v1.IFailure {
  return {
    message: "Workflow Update is rejected because it wasn't processed by worker. Probably, Workflow Update is not supported by the worker.",
    source: 'Server',
    applicationFailureInfo: { type: 'UnprocessedUpdate', nonRetryable: true },
  };
}

/** The outcome the real server gives an accepted update whose workflow closed before the update completed. */
function acceptedUpdateCompletedWorkflow(): temporal.api.failure.v1.IFailure {
  return {
    message: 'Workflow Update failed because the Workflow completed before the Update completed.',
    source: 'Server',
    applicationFailureInfo: { type: 'AcceptedUpdateCompletedWorkflow', nonRetryable: true },
  };
}

function stageOf(u: UpdateState): number {
  if (u.state === 'completed') return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
  if (u.state === 'accepted') return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
  return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED;
}

/** Callbacks waiting on the run's updates (for tests: waits that ended must leave none behind). */
export function updateWaiterCount(run: WorkflowRun): number {
  let n = 0;
  for (const u of run.updates?.all.values() ?? []) n += u.waiters.length;
  return n;
}

export function installUpdates(engine: Engine) {
  engine.register({
    pendingMessages(run) {
      const m = run.updates?.open;
      if (!m || !m.size || !run.wft) return [];
      const sequencingId = run.wft.startedEventId - 1;
      const out: IMessage[] = [];
      for (const u of m.values()) {
        if (u.state === 'completed') m.delete(u.id);
        if (u.state !== 'admitted') continue;
        u.state = 'sent';
        out.push({
          id: `${u.id}/request`,
          protocolInstanceId: u.id,
          eventId: long(sequencingId),
          body: { type_url: `${TYPE_PREFIX}temporal.api.update.v1.Request`, value: RequestType.encode(u.request).finish() },
        });
      }
      return out;
    },

    // A task that delivered updates ended. Failed or timed out: the unanswered ones go back, and the task's retry
    // carries them. Completed without answering them while the run goes on: rejected, as the real server does (a worker
    // that ignores them would otherwise get them again and again). When the run closed, runClosed answered them.
    onUpdateTaskEnded(run, completed) {
      const m = run.updates?.open;
      if (!m) return;
      for (const u of m.values()) {
        if (u.state === 'completed') m.delete(u.id);
        if (u.state !== 'sent') continue;
        if (completed && run.isOpen) {
          u.state = 'completed';
          u.outcome = { failure: unprocessedUpdate() };
          m.delete(u.id);
          notify(u);
        } else u.state = 'admitted';
      }
    },

    onProtocolMessage: (run, msg) => applyMessage(run, msg),

    // When a run closes, updates it accepted but never completed fail the way the real server fails them, so that
    // callers waiting on them (and later requests with the same id) get an outcome instead of waiting forever.
    onRunClosed(run) {
      const m = run.updates?.all;
      if (!m) return;
      for (const u of m.values()) {
        if (u.state === 'accepted') {
          u.state = 'completed';
          u.outcome = { failure: acceptedUpdateCompletedWorkflow() };
        }
        notify(u);
      }
    },

    // After a restart: updates accepted into history are rebuilt from it (accepted, or completed with their outcome), so
    // their callers' retries and polls find them. Updates admitted but not yet accepted were in no history and are gone,
    // as on the real server; their callers' UpdateWorkflowExecution fails with the connection and the client retries it.
    onRestored(runs) {
      for (const run of runs) {
        for (const ev of run.history) {
          if (ev.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) {
            const a = ev.workflowExecutionUpdateAcceptedEventAttributes!;
            const id = a.protocolInstanceId ?? '';
            const u: UpdateState = { id, request: a.acceptedRequest ?? {}, state: 'accepted', acceptedEventId: Number(ev.eventId), waiters: [] };
            updates(run).set(id, u);
            openUpdates(run).set(id, u);
          } else if (ev.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) {
            const a = ev.workflowExecutionUpdateCompletedEventAttributes!;
            const u = updates(run).get(a.meta?.updateId ?? '');
            if (u) {
              u.state = 'completed';
              u.outcome = a.outcome ?? undefined;
            }
          }
        }
        const m = run.updates?.all;
        if (!run.isOpen && m) {
          for (const u of m.values()) {
            if (u.state === 'accepted') {
              u.state = 'completed';
              u.outcome = { failure: acceptedUpdateCompletedWorkflow() };
            }
          }
        }
      }
    },

    onMessages(run, messages) {
      // Rejections write nothing to history; handle them before the commands.
      for (const msg of messages) {
        const type = (msg.body?.type_url ?? '').replace(TYPE_PREFIX, '');
        if (type !== 'temporal.api.update.v1.Rejection') continue;
        const u = updates(run).get(msg.protocolInstanceId ?? '');
        if (!u) continue;
        const rej = temporal.api.update.v1.Rejection.decode(msg.body!.value!);
        u.state = 'completed';
        u.outcome = { failure: rej.failure };
        notify(u);
      }
    },
  });

  function applyMessage(run: WorkflowRun, msg: IMessage): void {
    const type = (msg.body?.type_url ?? '').replace(TYPE_PREFIX, '');
    const u = updates(run).get(msg.protocolInstanceId ?? '');
    if (type === 'temporal.api.update.v1.Acceptance') {
      const acc = temporal.api.update.v1.Acceptance.decode(msg.body!.value!);
      const ev = run.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, {
        protocolInstanceId: msg.protocolInstanceId,
        acceptedRequestMessageId: acc.acceptedRequestMessageId,
        acceptedRequestSequencingEventId: acc.acceptedRequestSequencingEventId,
        acceptedRequest: acc.acceptedRequest ?? u?.request,
      });
      if (u) {
        u.state = 'accepted';
        u.acceptedEventId = Number(ev.eventId);
        notify(u);
      }
    } else if (type === 'temporal.api.update.v1.Response') {
      const res = temporal.api.update.v1.Response.decode(msg.body!.value!);
      run.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, {
        meta: res.meta,
        acceptedEventId: long(u?.acceptedEventId ?? 0),
        outcome: res.outcome,
      });
      if (u) {
        u.state = 'completed';
        u.outcome = res.outcome ?? undefined;
        notify(u);
      }
    }
  }

  function waitStage(run: WorkflowRun, u: UpdateState, stage: number, ctx: CallContext, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const w = new StageWait(run, u, stage, resolve);
      if (!w.reached()) w.start(ctx, timeoutMs);
      else resolve();
    });
  }

  function response(run: WorkflowRun, u: UpdateState) {
    return {
      updateRef: { workflowExecution: run.execution, updateId: u.id },
      outcome: u.state === 'completed' ? u.outcome : undefined,
      stage: stageOf(u),
    };
  }

  async function admit(
    run: WorkflowRun,
    req: temporal.api.workflowservice.v1.IUpdateWorkflowExecutionRequest,
    ctx: CallContext,
  ) {
    const updateId = requireField(req.request?.meta?.updateId, 'Request.Meta.UpdateId');
    requireField(req.request?.input?.name, 'Request.Input.Name');
    const m = updates(run);
    let u = m.get(updateId);
    // A known update id answers with what that update reached, even once the run has closed.
    if (!run.isOpen && u?.state !== 'completed') throw notFound('workflow execution already completed');
    if (!u) {
      u = { id: updateId, request: req.request!, state: 'admitted', waiters: [] };
      m.set(updateId, u);
      openUpdates(run).set(updateId, u);
      run.requestUpdateWft();
    }
    let stage = req.waitPolicy?.lifecycleStage ?? Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED;
    if (stage === Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED) stage = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
    if (stage > Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED) {
      await waitStage(run, u, stage, ctx, engine.options.historyPollTimeoutMs);
    }
    // Accepted updates were completed with a failure when the run closed (see runClosed above); others are aborted.
    if (!run.isOpen && u.state !== 'completed') throw abortedByClose(run);
    return response(run, u);
  }

  return {
    updateWorkflowExecution(req: temporal.api.workflowservice.v1.IUpdateWorkflowExecutionRequest, ctx: CallContext) {
      const ns = engine.namespace(req.namespace);
      const run = engine.findRun(ns, req.workflowExecution);
      if (req.firstExecutionRunId && run.firstRunId !== req.firstExecutionRunId) {
        throw notFound('workflow execution not found for the given first execution run id');
      }
      return admit(run, req, ctx);
    },

    async pollWorkflowExecutionUpdate(req: temporal.api.workflowservice.v1.IPollWorkflowExecutionUpdateRequest, ctx: CallContext) {
      const ns = engine.namespace(req.namespace);
      const updateId = requireField(req.updateRef?.updateId, 'UpdateRef.UpdateId');
      const run = engine.findRun(ns, req.updateRef?.workflowExecution);
      const u = run.updates?.all.get(updateId);
      // An update its closed run never accepted was aborted with the run: it is gone, as from the real server's registry.
      if (!u || (!run.isOpen && u.state !== 'completed')) throw notFound(`update "${updateId}" not found`);
      let stage = req.waitPolicy?.lifecycleStage ?? Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED;
      if (stage === Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_UNSPECIFIED) stage = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
      await waitStage(run, u, stage, ctx, engine.options.historyPollTimeoutMs);
      if (!run.isOpen && u.state !== 'completed') throw abortedByClose(run);
      return { outcome: u.state === 'completed' ? u.outcome : undefined, stage: stageOf(u), updateRef: { workflowExecution: run.execution, updateId } };
    },

    /** Update-with-start: a start (with conflict policy) and an update, executed together. */
    async executeMultiOperation(req: temporal.api.workflowservice.v1.IExecuteMultiOperationRequest, ctx: CallContext) {
      const ops = req.operations ?? [];
      const start = ops[0]?.startWorkflow;
      const update = ops[1]?.updateWorkflow;
      if (ops.length !== 2 || !start || !update) {
        throw invalidArgument('Operations: expected exactly [startWorkflow, updateWorkflow].');
      }
      // As the real frontend: update-with-start never starts eagerly (its update needs the task).
      if (start.requestEagerExecution) throw invalidArgument('RequestEagerExecution is not supported with update-with-start.');
      const startResult = engine.startWorkflowExecution({ ...start, namespace: start.namespace || req.namespace }) as {
        runId: string;
        started: boolean;
      };
      const ns = engine.namespace(req.namespace);
      const run = ns.runs.get(startResult.runId)!;
      try {
        const updateResponse = await admit(run, { ...update, namespace: req.namespace }, ctx);
        return { responses: [{ startWorkflow: startResult }, { updateWorkflow: updateResponse }] };
      } catch (e) {
        if (e instanceof ServerError) throw e;
        throw new ServerError(Status.INTERNAL, (e as Error).message);
      }
    },
  };
}
