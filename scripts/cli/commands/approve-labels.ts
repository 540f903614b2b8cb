/**
 * `retrain approve-labels RUN --as NAME [--labels URI]`: the run's labelsApproved signal. A signal cannot be
 * refused by the workflow, so the run's status is read first: a run that is not waiting for labels, or an approver
 * not on its list, is refused here (exit 4) instead of the signal being ignored silently.
 */
import { z } from 'zod';
import { labelsApprovedSignal, runStatusQuery } from '../../../workflows/definitions';
import { CliError, ConnectionOptions, ExitCodes, PersonSchema, action, runIdOf } from '../common';
import { withTemporal } from '../temporal';

export const ApproveLabelsOptions = z.object({ ...ConnectionOptions, as: PersonSchema, labels: z.string().min(1).optional(), note: z.string().optional() }).strict();

export const run = action(ApproveLabelsOptions, async ([ref], opts, out) => {
  const { workflowId } = runIdOf(ref);
  await withTemporal(opts, async ({ client }) => {
    const handle = client.workflow.getHandle(workflowId);
    const status = await handle.query(runStatusQuery);
    if (status.decision !== null || !status.labeling) {
      throw new CliError(`${workflowId} is not waiting for labels (stage ${status.stage}${status.decision ? `, decision ${status.decision}` : ''})`, ExitCodes.rejected);
    }
    if (status.labeling.approvers.length > 0 && !status.labeling.approvers.includes(opts.as)) {
      throw new CliError(`${opts.as} may not approve labels for ${workflowId}: approvers are ${status.labeling.approvers.join(', ')}`, ExitCodes.rejected);
    }
    const payload = { approver: opts.as, ...(opts.labels ? { labelsUri: opts.labels } : {}), ...(opts.note ? { note: opts.note } : {}) };
    await handle.signal(labelsApprovedSignal, payload);
    out.result({ workflowId, signalled: true, ...payload }, () => `approved labels for ${workflowId} as ${opts.as}`);
  });
});
