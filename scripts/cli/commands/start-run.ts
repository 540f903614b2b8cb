/**
 * `retrain run MODEL --as NAME --reason … [--wait]`: asks the monitor for a run now (the retrainNow update, so
 * the monitor still enforces one run at a time; a request behind an active run is queued). `--wait` follows the
 * run by polling its status query and prints each stage as it changes, ending with the decision; the exit code
 * then says whether it was promoted (0), ended another way (4), or failed (1).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { Decisions, monitorStatusQuery, monitorWorkflowId, retrainNowUpdate, runStatusQuery, type RunStatus } from '../../../workflows/definitions';
import { parseDuration } from '../../../workflows/duration';
import { ConnectionOptions, ExitCodes, PersonSchema, ReasonSchema, action, modelOf, type ExitCode, type Output } from '../common';
import { withTemporal } from '../temporal';
import { stagesPassed } from '../timeline';

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

export const run = action(StartRunOptions, async ([model], opts, out) => {
  const monitorId = monitorWorkflowId(modelOf(model));
  return withTemporal(opts, async ({ client }): Promise<ExitCode> => {
    const monitor = client.workflow.getHandle(monitorId);
    const r = await monitor.executeUpdate(retrainNowUpdate, { args: [{ requestedBy: opts.as, reason: opts.reason }] });
    let runId = r.runWorkflowId;
    if (r.queued) {
      // A queued request has no run yet (the monitor answers with the id the next run would take, not the active
      // run's), so the monitor's status says what it waits for: an active run, or the cooldown.
      const s = await monitor.query(monitorStatusQuery);
      if (!s.queuedTrigger && s.activeRun && !opts.wait) {
        // Released between the update and the query: the queued request is the active run now.
        out.result({ monitor: monitorId, runWorkflowId: s.activeRun, queued: false }, () => `started ${s.activeRun}\n  follow it: retrain status ${s.activeRun}`);
        return ExitCodes.ok;
      }
      const behind = s.activeRun ? `the active run ${s.activeRun}` : 'the cooldown after the last run';
      if (!opts.wait) {
        out.result({ monitor: monitorId, ...r, activeRun: s.activeRun }, () => `queued behind ${behind}: a run starts when it ends (see \`retrain monitor status ${model}\`)`);
        return ExitCodes.ok;
      }
      out.progress(`queued behind ${behind}; following it, then the queued run`, { queuedBehind: s.activeRun });
      const known = new Set(s.runs.map((x) => x.workflowId));
      if (!s.queuedTrigger && s.activeRun) known.delete(s.activeRun);
      else if (s.activeRun) await follow(client, s.activeRun, opts.poll, out, monitorId);
      const next = await nextRun(client, monitorId, known, opts.poll);
      if (!next) throw new Error(`the queued request did not start a run (see \`retrain monitor status ${model}\`)`);
      runId = next;
    } else if (!opts.wait) {
      out.result({ monitor: monitorId, ...r }, () => `started ${runId}\n  follow it: retrain status ${runId}`);
      return ExitCodes.ok;
    }
    const final = await follow(client, runId, opts.poll, out, monitorId);
    out.result({ workflowId: runId, ...final }, () => `${runId}: ${final.decision}${final.decidedBy ? ` (by ${final.decidedBy})` : ''}${final.reportUri ? `\n  report: ${final.reportUri}` : ''}`);
    if (final.decision === Decisions.promoted) return ExitCodes.ok;
    return final.decision === Decisions.failed ? ExitCodes.failure : ExitCodes.rejected;
  });
});

/** Polls the run's status until it has a decision, printing each stage it enters, once (and again when it starts waiting for someone). */
async function follow(client: Client, workflowId: string, pollMs: number, out: Output, monitorId: string): Promise<RunStatus> {
  const handle = client.workflow.getHandle(workflowId);
  let last = '';
  /** Timeline records already printed. */
  let printed = 0;
  for (;;) {
    const s = await handle.query(runStatusQuery).catch(async (err: unknown) => {
      // retrainNow reserves the run and the monitor starts it on its next pass: until then the run does not exist.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      const m = await client.workflow.getHandle(monitorId).query(monitorStatusQuery);
      if (m.activeRun !== workflowId) throw err;
      return undefined;
    });
    if (!s) {
      await sleep(pollMs);
      continue;
    }
    // A stage can start and end between two polls (training a small model takes less than one), so the stages the
    // run passed through since the last poll come from its timeline first; the open one is printed below.
    const { passed, next } = stagesPassed(s, printed);
    for (const stage of passed) out.progress(`${workflowId}  ${stage}`, { workflowId, stage, decision: null });
    printed = next;
    const key = `${s.stage}|${s.decision}|${s.approval ? 'approval' : ''}|${s.labeling ? 'labels' : ''}`;
    if (key !== last) {
      last = key;
      printed = s.timeline.length;
      const waiting = s.decision ? '' : s.labeling ? ` (waiting for labels from ${s.labeling.approvers.join(' or ')}: retrain approve-labels ${workflowId} --as NAME)` : s.approval && s.stage === 'approve' ? ` (waiting for approval by ${s.approval.approvers.join(' or ') || 'nobody: the only approver asked for the run'}: retrain approve ${workflowId} --as NAME)` : '';
      out.progress(`${workflowId}  ${s.stage}${waiting}`, { workflowId, stage: s.stage, decision: s.decision });
    }
    if (s.decision !== null) return s;
    await sleep(pollMs);
  }
}

/** The run the monitor starts for a queued request: the first run not among `known`; undefined if none comes. */
async function nextRun(client: Client, monitorId: string, known: ReadonlySet<string>, pollMs: number): Promise<string | undefined> {
  const handle = client.workflow.getHandle(monitorId);
  for (;;) {
    const s = await handle.query(monitorStatusQuery);
    const fresh = s.runs.find((x) => !known.has(x.workflowId));
    if (fresh) return fresh.workflowId;
    if (!s.activeRun && !s.queuedTrigger) return undefined;
    await sleep(pollMs);
  }
}
