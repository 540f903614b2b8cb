/** `retrain reject RUN --as NAME --reason …`: the run's rejectPromotion update; the run ends as `rejected`. */
import { z } from 'zod';
import { rejectPromotionUpdate } from '../../../workflows/definitions';
import { ConnectionOptions, PersonSchema, ReasonSchema, action, runIdOf } from '../common';
import { updateRun, withTemporal } from '../temporal';
import { formatRunStatus } from '../format';

export const RejectRunOptions = z.object({ ...ConnectionOptions, as: PersonSchema, reason: ReasonSchema }).strict();

export const run = action(RejectRunOptions, async ([ref], opts, out) => {
  const { workflowId } = runIdOf(ref);
  await withTemporal(opts, async ({ client }) => {
    const handle = client.workflow.getHandle(workflowId);
    const status = await updateRun(handle, () => handle.executeUpdate(rejectPromotionUpdate, { args: [{ approver: opts.as, reason: opts.reason }] }));
    out.result({ workflowId, rejected: true, ...status }, () => `rejected ${workflowId} as ${opts.as}\n${formatRunStatus(workflowId, status)}`);
  });
});
