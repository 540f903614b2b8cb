/**
 * Continue-as-new: the run closes with WorkflowExecutionContinuedAsNew naming the new run, which starts at once in
 * the same chain (same workflow id and first run id; timeouts, retry policy, cron schedule, memo and search
 * attributes carried over unless the command sets them; the execution deadline kept) and reports to the same parent.
 */
import { randomUUID } from 'node:crypto';
import type { Engine, StartParams } from './engine';
import { enums, EventType, temporal, durationMs, num } from './proto';
import { ExecutionStatus, type WorkflowRun } from './run';
import { chainCarryOver } from './workflow-retry';

const CommandType = enums.CommandType;

export function installContinueAsNew(engine: Engine): void {
  engine.register({
    applyCommand(run, c, completedId) {
      if (num(c.commandType as number) !== CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION) return false;
      continueAsNew(engine, run, c.continueAsNewWorkflowExecutionCommandAttributes ?? {}, completedId);
      return true;
    },
  });
}

function continueAsNew(
  engine: Engine,
  run: WorkflowRun,
  a: temporal.api.command.v1.IContinueAsNewWorkflowExecutionCommandAttributes,
  completedId: number,
): void {
  const ns = engine.namespace(run.namespace);
  const newRunId = randomUUID();
  const workflowType = a.workflowType?.name || run.workflowType;
  const taskQueue = a.taskQueue?.name || run.taskQueue;
  const runTimeoutMs = durationMs(a.workflowRunTimeout) || durationMs(run.started.workflowRunTimeout) || 0;
  const taskTimeoutMs = durationMs(a.workflowTaskTimeout) || durationMs(run.started.workflowTaskTimeout) || 10_000;
  const memo = a.memo ?? run.memo;
  const searchAttributes = a.searchAttributes ?? run.searchAttributes;
  const ev = run.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, {
    newExecutionRunId: newRunId,
    workflowType: { name: workflowType },
    taskQueue: { name: taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    input: a.input,
    workflowRunTimeout: a.workflowRunTimeout ?? run.started.workflowRunTimeout,
    workflowTaskTimeout: a.workflowTaskTimeout ?? run.started.workflowTaskTimeout,
    workflowTaskCompletedEventId: completedId,
    backoffStartInterval: a.backoffStartInterval,
    initiator: a.initiator,
    failure: a.failure,
    lastCompletionResult: a.lastCompletionResult,
    header: a.header,
    memo,
    searchAttributes,
  });
  const parentLink = run.links.parent;
  run.nextRunId = newRunId;
  run.close(ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, ev);
  const s = run.started;
  const params: StartParams = {
    namespace: ns.name,
    runId: newRunId,
    workflowId: run.workflowId,
    workflowType,
    taskQueue,
    input: a.input,
    header: a.header,
    memo,
    searchAttributes,
    runTimeoutMs,
    taskTimeoutMs,
    retryPolicy: a.retryPolicy ?? s.retryPolicy,
    cronSchedule: a.cronSchedule ?? s.cronSchedule ?? undefined,
    initiator: a.initiator ?? enums.ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW,
    attempt: 1,
    firstWorkflowTaskBackoffMs: durationMs(a.backoffStartInterval),
    lastCompletionResult: a.lastCompletionResult,
    continuedFailure: a.failure,
    ...chainCarryOver(run, ns.name),
  };
  const next = engine.createRun(ns, params);
  // The parent waits for the chain, not for one run: the new run reports to it (children.ts reads this link).
  if (parentLink) next.links.parent = parentLink;
}
