/**
 * Commands that reach other runs: child workflows (start, the started and closed events delivered to the parent,
 * WORKFLOW_ALREADY_EXISTS, parent close policies), and signals and cancellation requests sent to external workflows
 * (continue-as-new is in continue-as-new.ts). Deliveries to another run happen after the issuing task completes, as
 * the real server's transfer tasks do, holding a time-skipping lock meanwhile.
 */
import type { Engine } from './engine';
import { ServerError, Status } from './errors';
import { enums, EventType, temporal, durationMs, long, num } from './proto';
import { attributeField, ExecutionStatus, type WorkflowRun } from './run';

type ICommand = temporal.api.command.v1.ICommand;
const CommandType = enums.CommandType;
const ParentClosePolicy = enums.ParentClosePolicy;

/** A child a run started (or is starting), kept on the parent's links. */
export interface ChildLink {
  initiatedEventId: number;
  workflowId: string;
  workflowType: string;
  namespace: string;
  policy: number;
  /** Set once the start succeeded. */
  runId?: string;
  startedEventId?: number;
  closed: boolean;
}

/** The parent a child run reports to (every run of the child's chain: continue-as-new and retries carry it). */
export interface ParentLink {
  parent: WorkflowRun;
  initiatedEventId: number;
}

/** A run's links to the runs around it (WorkflowRun.links). */
export interface RunLinks {
  parent?: ParentLink;
  /** The children it initiated, by initiated event id; created with the first. */
  children?: Map<number, ChildLink>;
}

function children(run: WorkflowRun): Map<number, ChildLink> {
  return (run.links.children ??= new Map());
}

/** The run's children started and not closed, as DescribeWorkflowExecution lists them. */
export function pendingChildren(run: WorkflowRun): temporal.api.workflow.v1.IPendingChildExecutionInfo[] {
  return [...(run.links.children?.values() ?? [])]
    .filter((c) => !c.closed && c.runId)
    .map((c) => ({
      workflowId: c.workflowId,
      runId: c.runId,
      workflowTypeName: c.workflowType,
      initiatedId: long(c.initiatedEventId),
      parentClosePolicy: c.policy,
    }));
}

export function installChildren(engine: Engine): void {
  /** Runs `fn` soon, holding a time-skipping lock until it has run (the Java test server locks the same way). */
  const later = (fn: () => void) => {
    engine.clock.lock();
    setImmediate(() => {
      try {
        fn();
      } catch (e) {
        engine.log(`cross-run delivery failed: ${(e as Error).stack ?? e}`);
      } finally {
        engine.clock.unlock();
      }
    });
  };

  engine.register({
    applyCommand(run, c, completedId) {
      switch (num(c.commandType as number)) {
        case CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION:
          startChild(run, c.startChildWorkflowExecutionCommandAttributes ?? {}, completedId, c.userMetadata);
          return true;
        case CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION:
          signalExternal(run, c.signalExternalWorkflowExecutionCommandAttributes ?? {}, completedId);
          return true;
        case CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION:
          cancelExternal(run, c.requestCancelExternalWorkflowExecutionCommandAttributes ?? {}, completedId);
          return true;
        default:
          return false;
      }
    },

    onRunClosed(run) {
      applyParentClosePolicy(run);
      notifyParent(run);
    },

    // An evicted parent is forgotten by its children still around (abandoned, or closed later), which would otherwise
    // keep the whole evicted run reachable through their link.
    onRunEvicted(run) {
      const m = run.links.children;
      if (!m) return;
      for (const link of m.values()) {
        for (const child of engine.namespaces.get(link.namespace)?.chains.get(link.workflowId) ?? []) {
          if (child.links.parent?.parent === run) delete child.links.parent;
        }
      }
    },

    onRestored: restoreLinks,
  });

  function startChild(
    parent: WorkflowRun,
    a: temporal.api.command.v1.IStartChildWorkflowExecutionCommandAttributes,
    completedId: number,
    userMetadata: temporal.api.sdk.v1.IUserMetadata | null | undefined,
  ): void {
    const namespace = a.namespace || parent.namespace;
    const taskQueue = a.taskQueue?.name || parent.taskQueue;
    const workflowType = a.workflowType?.name ?? '';
    const policy = a.parentClosePolicy || ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE;
    const initiated = parent.append(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, {
      namespace,
      namespaceId: engine.namespaces.get(namespace)?.id,
      workflowId: a.workflowId,
      workflowType: a.workflowType,
      taskQueue: { name: taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      input: a.input,
      workflowExecutionTimeout: a.workflowExecutionTimeout,
      workflowRunTimeout: a.workflowRunTimeout,
      workflowTaskTimeout: a.workflowTaskTimeout,
      parentClosePolicy: policy,
      control: a.control,
      workflowTaskCompletedEventId: completedId,
      workflowIdReusePolicy: a.workflowIdReusePolicy,
      retryPolicy: a.retryPolicy,
      cronSchedule: a.cronSchedule,
      header: a.header,
      memo: a.memo,
      searchAttributes: a.searchAttributes,
      priority: a.priority,
    }, undefined, userMetadata);
    const initiatedEventId = num(initiated.eventId);
    const link: ChildLink = { initiatedEventId, workflowId: a.workflowId ?? '', workflowType, namespace, policy, closed: false };
    children(parent).set(initiatedEventId, link);
    later(() => launchChild(parent, a, link, completedId, userMetadata));
  }

  /**
   * Starts the child an initiated event asked for and tells the parent how it went: after the workflow task that
   * initiated it, and after a restart that lost the start (the initiated event was durable, the start was not yet).
   */
  function launchChild(
    parent: WorkflowRun,
    a: temporal.api.command.v1.IStartChildWorkflowExecutionCommandAttributes,
    link: ChildLink,
    completedId: number,
    userMetadata: temporal.api.sdk.v1.IUserMetadata | null | undefined,
  ): void {
    const { namespace, workflowType, initiatedEventId } = link;
    const taskQueue = a.taskQueue?.name || parent.taskQueue;
    if (!parent.isOpen) return;
    let child: WorkflowRun;
    try {
      const root = parent.started.rootWorkflowExecution ?? parent.execution;
      ({ run: child } = engine.startRun(
        {
          namespace,
          workflowId: a.workflowId ?? '',
          workflowType,
          taskQueue,
          input: a.input,
          header: a.header,
          memo: a.memo,
          searchAttributes: a.searchAttributes,
          executionTimeoutMs: durationMs(a.workflowExecutionTimeout),
          runTimeoutMs: durationMs(a.workflowRunTimeout),
          taskTimeoutMs: durationMs(a.workflowTaskTimeout),
          retryPolicy: a.retryPolicy,
          userMetadata,
          parent: { namespace: parent.namespace, execution: parent.execution, initiatedEventId },
          root,
        },
        { reuse: a.workflowIdReusePolicy ?? undefined, conflict: enums.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL },
      ));
    } catch (e) {
      if (!(e instanceof ServerError) || (e.code !== Status.ALREADY_EXISTS && e.code !== Status.NOT_FOUND)) throw e;
      link.closed = true;
      parent.deliver({
        k: 'event',
        type: EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
        attrs: {
          namespace,
          workflowId: a.workflowId,
          workflowType: a.workflowType,
          cause:
            e.code === Status.ALREADY_EXISTS
              ? enums.StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS
              : enums.StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND,
          control: a.control,
          initiatedEventId,
          workflowTaskCompletedEventId: completedId,
        },
      });
      return;
    }
    child.links.parent = { parent, initiatedEventId };
    childStarted(parent, link, child, a.header);
  }

  /** Tells the parent its child started (after the start, and after a restart that lost the delivery). */
  function childStarted(parent: WorkflowRun, link: ChildLink, child: WorkflowRun, header: temporal.api.common.v1.IHeader | null | undefined): void {
    link.runId = child.runId;
    parent.deliver(() => {
      const ev = parent.append(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED, {
        namespace: link.namespace,
        initiatedEventId: link.initiatedEventId,
        workflowExecution: child.execution,
        workflowType: { name: link.workflowType },
        header,
      });
      link.startedEventId = num(ev.eventId);
    });
  }

  // After a restart: the links between parents and children are rebuilt from both sides' histories, and the started
  // and closed notifications a child had not yet delivered to its parent (they were buffered, or the process died
  // before the delivery ran) are delivered now.
  function restoreLinks(runs: WorkflowRun[]): void {
    const CHILD_CLOSED = new Set<number>([
      EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
      EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
      EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
      EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
      EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
      EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    ]);
    for (const run of runs) {
      for (const ev of run.history) {
        const type = ev.eventType as number;
        if (type === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) {
          const a = ev.startChildWorkflowExecutionInitiatedEventAttributes!;
          const id = num(ev.eventId);
          children(run).set(id, {
            initiatedEventId: id,
            workflowId: a.workflowId ?? '',
            workflowType: a.workflowType?.name ?? '',
            namespace: a.namespace || run.namespace,
            policy: a.parentClosePolicy || ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE,
            closed: false,
          });
        } else if (type === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) {
          const a = ev.childWorkflowExecutionStartedEventAttributes!;
          const link = children(run).get(num(a.initiatedEventId));
          if (link) {
            link.runId = a.workflowExecution?.runId ?? undefined;
            link.startedEventId = num(ev.eventId);
          }
        } else if (CHILD_CLOSED.has(type)) {
          const a = (ev as Record<string, unknown>)[attributeField(type)] as { initiatedEventId?: unknown };
          const link = children(run).get(num(a?.initiatedEventId as number));
          if (link) link.closed = true;
        }
      }
    }
    for (const run of runs) {
      const s = run.started;
      const pe = s.parentWorkflowExecution;
      if (!pe?.runId) continue;
      const parent = engine.namespaces.get(s.parentWorkflowNamespace || run.namespace)?.runs.get(pe.runId);
      if (parent) run.links.parent = { parent, initiatedEventId: num(s.parentInitiatedEventId) };
    }
    for (const run of runs) {
      const link = run.links.parent;
      if (!link || !link.parent.isOpen) continue;
      const child = children(link.parent).get(link.initiatedEventId);
      if (!child || child.closed) continue;
      if (!child.runId && run.runId === run.firstRunId) {
        const initiated = link.parent.history[link.initiatedEventId - 1];
        childStarted(link.parent, child, run, initiated?.startChildWorkflowExecutionInitiatedEventAttributes?.header);
      }
      if (!run.isOpen) notifyParent(run);
    }
    // Children initiated whose start never happened (the process died in between): started now, as then.
    for (const parent of runs) {
      const m = parent.links.children;
      if (!m || !parent.isOpen) continue;
      for (const link of m.values()) {
        if (link.closed || link.runId) continue;
        if (runs.some((r) => r.links.parent?.parent === parent && r.links.parent.initiatedEventId === link.initiatedEventId)) continue;
        const initiated = parent.history[link.initiatedEventId - 1];
        const attrs = initiated.startChildWorkflowExecutionInitiatedEventAttributes!;
        later(() =>
          launchChild(parent, attrs as temporal.api.command.v1.IStartChildWorkflowExecutionCommandAttributes, link, num(attrs.workflowTaskCompletedEventId), initiated.userMetadata),
        );
      }
    }
  }

  function notifyParent(run: WorkflowRun): void {
    // A run continued as new or retried leaves the chain open: the parent hears from the run that closes it.
    if (run.status === ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW || run.nextRunId) return;
    const link = run.links.parent;
    if (!link) return;
    const { parent, initiatedEventId } = link;
    const child = children(parent).get(initiatedEventId);
    if (!child || child.closed) return;
    child.closed = true;
    if (!parent.isOpen) return;
    const close = run.closeEvent!;
    const base = {
      namespace: run.namespace,
      workflowExecution: run.execution,
      workflowType: { name: run.workflowType },
      initiatedEventId,
    };
    parent.deliver(() => {
      const startedEventId = child.startedEventId ?? 0;
      switch (run.status) {
        case ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED:
          parent.append(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED, {
            ...base,
            startedEventId,
            result: close.workflowExecutionCompletedEventAttributes?.result,
          });
          break;
        case ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED:
          parent.append(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED, {
            ...base,
            startedEventId,
            failure: close.workflowExecutionFailedEventAttributes?.failure,
            retryState: close.workflowExecutionFailedEventAttributes?.retryState,
          });
          break;
        case ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED:
          parent.append(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED, {
            ...base,
            startedEventId,
            details: close.workflowExecutionCanceledEventAttributes?.details,
          });
          break;
        case ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
          parent.append(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT, {
            ...base,
            startedEventId,
            retryState: close.workflowExecutionTimedOutEventAttributes?.retryState,
          });
          break;
        case ExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED:
          parent.append(EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED, { ...base, startedEventId });
          break;
      }
    });
  }

  function applyParentClosePolicy(parent: WorkflowRun): void {
    const m = parent.links.children;
    if (!m) return;
    for (const link of m.values()) {
      if (link.closed || !link.runId) continue;
      if (link.policy === ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON) continue;
      const ns = engine.namespaces.get(link.namespace);
      const child = ns?.current(link.workflowId);
      if (!child || !child.isOpen || child.firstRunId !== ns?.runs.get(link.runId)?.firstRunId) continue;
      later(() => {
        if (!child.isOpen) return;
        if (link.policy === ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL) {
          child.requestCancel('by parent close policy', 'parent-close-policy', {
            externalWorkflowExecution: parent.execution,
          });
        } else {
          child.terminate('by parent close policy', null, 'parent-close-policy');
        }
      });
    }
  }

  function findTarget(namespace: string, execution: temporal.api.common.v1.IWorkflowExecution | null | undefined) {
    const ns = engine.namespaces.get(namespace);
    if (!ns || !execution?.workflowId) return undefined;
    const run = execution.runId ? ns.runs.get(execution.runId) : ns.current(execution.workflowId);
    return run && run.workflowId === execution.workflowId && run.isOpen ? run : undefined;
  }

  function signalExternal(
    run: WorkflowRun,
    a: temporal.api.command.v1.ISignalExternalWorkflowExecutionCommandAttributes,
    completedId: number,
  ): void {
    const namespace = a.namespace || run.namespace;
    const initiated = run.append(EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, {
      namespace,
      workflowExecution: a.execution,
      signalName: a.signalName,
      input: a.input,
      control: a.control,
      childWorkflowOnly: a.childWorkflowOnly,
      header: a.header,
      workflowTaskCompletedEventId: completedId,
    });
    const initiatedEventId = num(initiated.eventId);
    later(() => {
      if (!run.isOpen) return;
      const target = findTarget(namespace, a.execution);
      if (target) {
        target.signal(a.signalName ?? '', a.input, '', a.header, { externalWorkflowExecution: run.execution });
        run.deliver({
          k: 'event',
          type: EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
          attrs: {
            initiatedEventId,
            namespace,
            workflowExecution: { workflowId: target.workflowId, runId: a.execution?.runId ?? '' },
            control: a.control,
          },
        });
      } else {
        run.deliver({
          k: 'event',
          type: EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
          attrs: {
            cause: enums.SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
            workflowTaskCompletedEventId: completedId,
            namespace,
            workflowExecution: a.execution,
            initiatedEventId,
            control: a.control,
          },
        });
      }
    });
  }

  function cancelExternal(
    run: WorkflowRun,
    a: temporal.api.command.v1.IRequestCancelExternalWorkflowExecutionCommandAttributes,
    completedId: number,
  ): void {
    const namespace = a.namespace || run.namespace;
    const execution = { workflowId: a.workflowId, runId: a.runId };
    const initiated = run.append(EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, {
      namespace,
      workflowExecution: execution,
      control: a.control,
      childWorkflowOnly: a.childWorkflowOnly,
      reason: a.reason,
      workflowTaskCompletedEventId: completedId,
    });
    const initiatedEventId = num(initiated.eventId);
    later(() => {
      if (!run.isOpen) return;
      const target = findTarget(namespace, execution);
      if (target) {
        target.requestCancel(a.reason ?? '', '', {
          externalInitiatedEventId: initiatedEventId,
          externalWorkflowExecution: run.execution,
        });
        run.deliver({
          k: 'event',
          type: EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
          attrs: {
            initiatedEventId,
            namespace,
            workflowExecution: execution,
          },
        });
      } else {
        run.deliver({
          k: 'event',
          type: EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
          attrs: {
            cause: enums.CancelExternalWorkflowExecutionFailedCause.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
            workflowTaskCompletedEventId: completedId,
            namespace,
            workflowExecution: execution,
            initiatedEventId,
            control: a.control,
          },
        });
      }
    });
  }
}

export type { ICommand };
