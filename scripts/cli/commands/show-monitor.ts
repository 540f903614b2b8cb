/** `retrain monitor status MODEL`: the monitor's status query (production and canary, active run, recent runs). */
import type { Command } from 'commander';
import { z } from 'zod';
import { monitorStatusQuery, monitorWorkflowId } from '../../../workflows/definitions';
import { ConnectionOptions, action, addConnectionOptions, modelOf, withTemporal } from '../common';
import { formatMonitorStatus } from '../format';

export const ShowMonitorOptions = z.object({ ...ConnectionOptions }).strict();

export function register(monitor: Command): void {
  addConnectionOptions(monitor.command('status').description("show the model's monitor: production, canary, active run, recent runs").argument('<model>', 'model name')).action(
    action(ShowMonitorOptions, async ([model], opts, out) => {
      const workflowId = monitorWorkflowId(modelOf(model));
      await withTemporal(opts, async ({ client }) => {
        const status = await client.workflow.getHandle(workflowId).query(monitorStatusQuery);
        out.result({ workflowId, ...status }, () => formatMonitorStatus(workflowId, status));
      });
    }),
  );
}
