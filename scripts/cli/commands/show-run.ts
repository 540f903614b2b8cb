/** `retrain status RUN`: a retraining run's status query (stage, gate, approval, timeline). */
import { z } from 'zod';
import { runStatusQuery } from '../../../workflows/definitions';
import { ConnectionOptions, action, runIdOf } from '../common';
import { withTemporal } from '../temporal';
import { formatRunStatus } from '../format';

export const ShowRunOptions = z.object({ ...ConnectionOptions }).strict();

export const run = action(ShowRunOptions, async ([ref], opts, out) => {
  const { workflowId } = runIdOf(ref);
  await withTemporal(opts, async ({ client }) => {
    const status = await client.workflow.getHandle(workflowId).query(runStatusQuery);
    out.result({ workflowId, ...status }, () => formatRunStatus(workflowId, status));
  });
});
