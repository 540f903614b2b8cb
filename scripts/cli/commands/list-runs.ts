/**
 * `retrain runs [--model] [--stage] [--decision] [--since]`: lists retraining runs from Temporal's visibility
 * store with a list query on Retrain's search attributes and StartTime, newest first, so it works without any
 * monitor running and across models.
 */
import { z } from 'zod';
import { Decisions, RetrainDecision, RetrainModel, RetrainStage, RetrainTrigger, Stages, WorkflowTypes, parseRunWorkflowId } from '../../../workflows/definitions';
import { parseDuration } from '../../../workflows/duration';
import { ConnectionOptions, ModelNameSchema, action } from '../common';
import { withTemporal } from '../temporal';

const SinceSchema = z.string().transform((s, ctx) => {
  const ms = parseDuration(s);
  if (ms !== undefined) return new Date(Date.now() - ms);
  const t = Date.parse(s);
  if (!Number.isNaN(t)) return new Date(t);
  ctx.addIssue({ code: 'custom', message: `expected an ISO date-time (2025-01-31T00:00:00Z) or a duration back from now ("7 days"), got ${JSON.stringify(s)}` });
  return z.NEVER;
});

export const ListRunsOptions = z
  .object({
    ...ConnectionOptions,
    model: ModelNameSchema.optional(),
    stage: z.enum(Object.values(Stages) as [string, ...string[]]).optional(),
    decision: z.enum(Object.values(Decisions) as [string, ...string[]]).optional(),
    since: SinceSchema.optional(),
    limit: z.coerce.number().int().positive().default(50),
  })
  .strict();

/** The text table of `retrain runs`: a header row, then one run per line, columns as wide as their widest value. */
export function formatRunListing(runs: readonly RunListing[]): string {
  const rows = [['RUN', 'STAGE', 'DECISION', 'TRIGGER', 'STARTED'], ...runs.map((r) => [r.workflowId, r.stage ?? '-', r.decision ?? '-', r.trigger ?? '-', r.startTime])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}

export interface RunListing {
  readonly workflowId: string;
  readonly model?: string;
  readonly n?: number;
  readonly stage?: string;
  readonly trigger?: string;
  readonly decision?: string;
  readonly status: string;
  readonly startTime: string;
  readonly closeTime?: string;
}

/** The visibility query for the filters; values come from validated enums and names, quoted anyway. */
export function runsQuery(f: { model?: string; stage?: string; decision?: string; since?: Date }): string {
  const q = (v: string) => `'${v.replace(/'/g, "\\'")}'`;
  const parts = [`WorkflowType = ${q(WorkflowTypes.retrainingRun)}`];
  if (f.model) parts.push(`${RetrainModel.name} = ${q(f.model)}`);
  if (f.stage) parts.push(`${RetrainStage.name} = ${q(f.stage)}`);
  if (f.decision) parts.push(`${RetrainDecision.name} = ${q(f.decision)}`);
  if (f.since) parts.push(`StartTime >= ${q(f.since.toISOString())}`);
  return parts.join(' AND ');
}

export const run = action(ListRunsOptions, async (_args, opts, out) => {
  const query = runsQuery(opts);
  await withTemporal(opts, async ({ client }) => {
    const runs: RunListing[] = [];
    for await (const w of client.workflow.list({ query })) {
      const id = parseRunWorkflowId(w.workflowId);
      const sa = w.typedSearchAttributes;
      runs.push({
        workflowId: w.workflowId,
        model: sa.get(RetrainModel) ?? id?.model,
        n: id?.n,
        stage: sa.get(RetrainStage),
        trigger: sa.get(RetrainTrigger),
        decision: sa.get(RetrainDecision),
        status: w.status.name,
        startTime: w.startTime.toISOString(),
        closeTime: w.closeTime?.toISOString(),
      });
      if (runs.length >= opts.limit) break;
    }
    runs.sort((a, b) => b.startTime.localeCompare(a.startTime));
    out.result({ query, runs }, () =>
      runs.length === 0
        ? `no runs match (${query})`
        : formatRunListing(runs),
    );
  });
});
