/** `retrain monitor status MODEL`: the monitor's status query (production and canary, active run, recent runs). */
import { z } from 'zod';
import { monitorStatusQuery, monitorWorkflowId } from '../../../workflows/definitions';
import { ConnectionOptions, action, modelOf } from '../common';
import { withTemporal } from '../temporal';
import { formatMonitorStatus } from '../format';

export const ShowMonitorOptions = z.object({ ...ConnectionOptions }).strict();

export const run = action(ShowMonitorOptions, async ([model], opts, out) => {
  const workflowId = monitorWorkflowId(modelOf(model));
  await withTemporal(opts, async ({ client }) => {
    const status = await client.workflow.getHandle(workflowId).query(monitorStatusQuery);
    out.result({ workflowId, ...status }, () => formatMonitorStatus(workflowId, status));
  });
});
