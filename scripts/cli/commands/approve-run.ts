/**
 * `retrain approve RUN --as NAME [--comment …]`: the run's approvePromotion update. The run's validator decides
 * who may approve (the configured approvers, never the person who started the run); a refusal exits 4 with its
 * reason. The update answers with the run's status after the approval took effect (rolling out), which is printed.
 */
import { z } from 'zod';
import { approvePromotionUpdate } from '../../../workflows/definitions';
import { ConnectionOptions, PersonSchema, action, runIdOf } from '../common';
import { updateRun, withTemporal } from '../temporal';
import { formatRunStatus } from '../format';

export const ApproveRunOptions = z.object({ ...ConnectionOptions, as: PersonSchema, comment: z.string().optional() }).strict();

export const run = action(ApproveRunOptions, async ([ref], opts, out) => {
  const { workflowId } = runIdOf(ref);
  await withTemporal(opts, async ({ client }) => {
    const handle = client.workflow.getHandle(workflowId);
    const status = await updateRun(handle, () => handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: opts.as, ...(opts.comment ? { comment: opts.comment } : {}) }] }));
    out.result({ workflowId, approved: true, ...status }, () => `approved ${workflowId} as ${opts.as}\n${formatRunStatus(workflowId, status)}`);
  });
});
