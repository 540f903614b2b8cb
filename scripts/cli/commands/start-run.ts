/**
 * `retrain run MODEL --as NAME --reason … [--wait]`: asks the monitor for a run now (the retrainNow update, so
 * the monitor still enforces one run at a time; a request behind an active run is queued). `--wait` follows the
 * run by polling its status query and prints each stage as it changes, ending with the decision; the exit code
 * then says whether it was promoted (0), ended another way (4), or failed (1).
 */
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { Decisions, monitorStatusQuery, monitorWorkflowId, retrainNowUpdate, runStatusQuery, type RunStatus } from '../../../workflows/definitions';
import { parseDuration } from '../../../workflows/duration';
import { ConnectionOptions, ExitCodes, PersonSchema, ReasonSchema, action, addConnectionOptions, modelOf, withTemporal, type ExitCode, type Output } from '../common';

export const StartRunOptions = z
  .object({
    ...ConnectionOptions,
    as: PersonSchema,
    reason: ReasonSchema,
    wait: z.boolean().default(false),
    poll: z
      .string()
      .transform((s, ctx) => {
        const ms = parseDuration(s);
        if (ms === undefined || ms <= 0) {
          ctx.addIssue({ code: 'custom', message: `expected a duration such as "1s" or "500ms", got ${JSON.stringify(s)}` });
          return z.NEVER;
        }
        return ms;
      })
      .default(1000),
  })
  .strict();

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('run')
      .description('start a retraining run now (retrainNow); queued when a run is active')
      .argument('<model>', 'model name')
      .requiredOption('--as <name>', 'who asks (may not approve this run later)')
      .requiredOption('--reason <text>', 'why (recorded as the trigger)')
      .option('--wait', 'follow the run stage by stage until it has a decision')
      .option('--poll <duration>', 'how often --wait reads the run status', '1s'),
  ).action(
    action(StartRunOptions, async ([model], opts, out) => {
      const monitorId = monitorWorkflowId(modelOf(model));
      return withTemporal(opts, async ({ client }): Promise<ExitCode> => {
        const r = await client.workflow.getHandle(monitorId).executeUpdate(retrainNowUpdate, { args: [{ requestedBy: opts.as, reason: opts.reason }] });
        if (!opts.wait) {
          out.result({ monitor: monitorId, ...r }, () =>
            r.queued ? `queued behind the active run ${r.runWorkflowId}: it starts when that one ends` : `started ${r.runWorkflowId}\n  follow it: retrain status ${r.runWorkflowId}`,
          );
          return ExitCodes.ok;
        }
        let runId = r.runWorkflowId;
        if (r.queued) {
          out.progress(`queued behind ${runId}; following it, then the queued run`, { queuedBehind: runId });
          await follow(client, runId, opts.poll, out);
          const next = await nextRun(client, monitorId, runId, opts.poll);
          if (!next) throw new Error(`the queued request did not start a run after ${runId} (see \`retrain monitor status ${model}\`)`);
          runId = next;
        }
        const final = await follow(client, runId, opts.poll, out);
        out.result({ workflowId: runId, ...final }, () => `${runId}: ${final.decision}${final.decidedBy ? ` (by ${final.decidedBy})` : ''}${final.reportUri ? `\n  report: ${final.reportUri}` : ''}`);
        if (final.decision === Decisions.promoted) return ExitCodes.ok;
        return final.decision === Decisions.failed ? ExitCodes.failure : ExitCodes.rejected;
      });
    }),
  );
}

/** Polls the run's status until it has a decision, printing each new stage. */
async function follow(client: Client, workflowId: string, pollMs: number, out: Output): Promise<RunStatus> {
  const handle = client.workflow.getHandle(workflowId);
  let last = '';
  for (;;) {
    const s = await handle.query(runStatusQuery);
    const key = `${s.stage}|${s.decision}|${s.approval ? 'approval' : ''}|${s.labeling ? 'labels' : ''}`;
    if (key !== last) {
      last = key;
      const waiting = s.decision ? '' : s.labeling ? ` (waiting for labels: retrain approve-labels ${workflowId} --as NAME)` : s.approval && s.stage === 'approve' ? ` (waiting for approval: retrain approve ${workflowId} --as NAME)` : '';
      out.progress(`${workflowId}  ${s.stage}${waiting}`, { workflowId, stage: s.stage, decision: s.decision });
    }
    if (s.decision !== null) return s;
    await sleep(pollMs);
  }
}

/** After `previous` ends, the monitor starts the queued run: its id once it is active, undefined if none comes. */
async function nextRun(client: Client, monitorId: string, previous: string, pollMs: number): Promise<string | undefined> {
  const handle = client.workflow.getHandle(monitorId);
  for (;;) {
    const s = await handle.query(monitorStatusQuery);
    if (s.activeRun && s.activeRun !== previous) return s.activeRun;
    if (!s.activeRun && !s.queuedTrigger) {
      const later = s.runs.find((x) => x.workflowId !== previous && x.startedAt > (s.runs.find((y) => y.workflowId === previous)?.startedAt ?? ''));
      return later?.workflowId;
    }
    await sleep(pollMs);
  }
}
