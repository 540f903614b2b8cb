/** `retrain reject RUN --as NAME --reason …`: the run's rejectPromotion update; the run ends as `rejected`. */
import type { Command } from 'commander';
import { z } from 'zod';
import { rejectPromotionUpdate } from '../../../workflows/definitions';
import { ConnectionOptions, PersonSchema, ReasonSchema, action, addConnectionOptions, runIdOf, updateRun, withTemporal } from '../common';
import { formatRunStatus } from '../format';

export const RejectRunOptions = z.object({ ...ConnectionOptions, as: PersonSchema, reason: ReasonSchema }).strict();

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('reject')
      .description("reject a candidate's promotion")
      .argument('<run>', 'retrain/MODEL/N or MODEL/N')
      .requiredOption('--as <name>', 'approver (must be one of the configured approvers)')
      .requiredOption('--reason <text>', 'why (recorded in the run and its report)'),
  ).action(
    action(RejectRunOptions, async ([ref], opts, out) => {
      const { workflowId } = runIdOf(ref);
      await withTemporal(opts, async ({ client }) => {
        const handle = client.workflow.getHandle(workflowId);
        const status = await updateRun(handle, () => handle.executeUpdate(rejectPromotionUpdate, { args: [{ approver: opts.as, reason: opts.reason }] }));
        out.result({ workflowId, rejected: true, ...status }, () => `rejected ${workflowId} as ${opts.as}\n${formatRunStatus(workflowId, status)}`);
      });
    }),
  );
}
