/**
 * Alias moves: the canary set (with its traffic weight), cleared, and the production alias promoted. Each is a
 * compare-and-set in the registry with an idempotency key of the run and the step (`<run>/canary@0.5`), so a
 * retried activity reports the move it already made (`moved: false`) instead of moving twice, and an alias found
 * anywhere but where the run expected is an AliasConflict (non-retryable: someone else moved it, and a person
 * must look). Promoting also clears a canary that pointed at the promoted version: it has all the traffic now.
 */
import { ModelAlias } from '../storage/registry';
import type { ActivityDeps } from './deps';
import type { AliasMoveInput, AliasMoveResult, ClearCanaryInput, SetCanaryInput } from './types';

export async function setCanary(deps: ActivityDeps, input: SetCanaryInput): Promise<AliasMoveResult> {
  const m = await deps.registry.moveAlias(input.model, ModelAlias.canary, {
    to: input.version,
    expected: input.expected,
    weight: input.weight,
    by: input.by,
    reason: input.reason,
    runWorkflowId: input.runWorkflowId,
    idempotencyKey: `${input.runWorkflowId}/canary@${input.weight}`,
  });
  return { moved: m.applied, at: m.at };
}

export async function clearCanary(deps: ActivityDeps, input: ClearCanaryInput): Promise<AliasMoveResult> {
  const key = `${input.runWorkflowId}/clear-canary`;
  const done = (await deps.registry.aliasHistory(input.model, { alias: ModelAlias.canary })).find((m) => m.idempotencyKey === key);
  if (done) return { moved: false, at: done.at };
  const current = await deps.registry.getAlias(input.model, ModelAlias.canary);
  // Only this run's canary is this run's to clear; another run's canary is left alone.
  if (!current || (current.runWorkflowId !== null && current.runWorkflowId !== input.runWorkflowId)) return { moved: false, at: new Date().toISOString() };
  const m = await deps.registry.moveAlias(input.model, ModelAlias.canary, {
    to: null,
    expected: current.version,
    by: input.by,
    reason: input.reason,
    runWorkflowId: input.runWorkflowId,
    idempotencyKey: key,
  });
  return { moved: m.applied, at: m.at };
}

export async function promote(deps: ActivityDeps, input: AliasMoveInput): Promise<AliasMoveResult> {
  const m = await deps.registry.moveAlias(input.model, ModelAlias.production, {
    to: input.version,
    expected: input.expected,
    by: input.by,
    reason: input.reason,
    runWorkflowId: input.runWorkflowId,
    idempotencyKey: `${input.runWorkflowId}/promote`,
  });
  const canary = await deps.registry.getAlias(input.model, ModelAlias.canary);
  if (canary && canary.version === input.version) {
    await deps.registry.moveAlias(input.model, ModelAlias.canary, {
      to: null,
      expected: canary.version,
      by: input.by,
      reason: `promoted to production: ${input.reason}`,
      runWorkflowId: input.runWorkflowId,
      idempotencyKey: `${input.runWorkflowId}/promote/clear-canary`,
    });
  }
  return { moved: m.applied, at: m.at };
}
