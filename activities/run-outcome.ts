/**
 * `runOutcome`: how a retraining run stands, asked of the server through the worker's own client. The monitor
 * uses it for a run that an earlier execution of it started: after continue-as-new it no longer holds the child's
 * handle, and a run that was terminated or timed out never sends the `runFinished` signal it waits for.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { RunResult } from '../workflows/definitions';
import { badInput } from './failures';
import type { RunOutcome, RunOutcomeInput } from './types';

const CLOSED: Readonly<Record<string, Exclude<RunOutcome['status'], 'running' | 'completed' | 'not_found'>>> = {
  FAILED: 'failed',
  CANCELLED: 'canceled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
};

export async function runOutcome(client: Client, input: RunOutcomeInput): Promise<RunOutcome> {
  if (!input || typeof input.workflowId !== 'string' || !input.workflowId) throw badInput('input.workflowId: expected a workflow id such as "retrain/churn/3"');
  const handle = client.workflow.getHandle(input.workflowId);
  let status: string;
  try {
    status = (await handle.describe()).status.name;
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return { status: 'not_found', detail: `no workflow ${input.workflowId}` };
    throw e;
  }
  if (status === 'RUNNING' || status === 'CONTINUED_AS_NEW') return { status: 'running' };
  try {
    return { status: 'completed', result: (await handle.result()) as RunResult };
  } catch (e) {
    return { status: CLOSED[status] ?? 'failed', detail: innermostMessage(e) };
  }
}

/** The deepest cause's message: a terminate's reason, a timeout, the run's own failure. */
function innermostMessage(e: unknown): string {
  let err: unknown = e;
  while (err instanceof Error && err.cause instanceof Error) err = err.cause;
  return err instanceof Error ? err.message || err.name : String(e);
}
