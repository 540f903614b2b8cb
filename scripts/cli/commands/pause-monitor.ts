/**
 * `retrain monitor pause|resume MODEL --as NAME --reason …`: the monitor's pause and resume updates. A paused
 * monitor records triggers but starts no run; who paused it and why stay in its history.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { monitorWorkflowId, pauseUpdate, resumeUpdate } from '../../../workflows/definitions';
import { ConnectionOptions, PersonSchema, ReasonSchema, action, addConnectionOptions, modelOf, withTemporal } from '../common';
import { formatMonitorStatus } from '../format';

export const PauseMonitorOptions = z.object({ ...ConnectionOptions, as: PersonSchema, reason: ReasonSchema }).strict();

export function register(monitor: Command): void {
  for (const verb of ['pause', 'resume'] as const) {
    addConnectionOptions(
      monitor
        .command(verb)
        .description(verb === 'pause' ? 'pause the monitor: triggers are recorded, no run starts' : 'resume a paused monitor')
        .argument('<model>', 'model name')
        .requiredOption('--as <name>', `who ${verb}s it (recorded)`)
        .requiredOption('--reason <text>', 'why (recorded)'),
    ).action(
      action(PauseMonitorOptions, async ([model], opts, out) => {
        const workflowId = monitorWorkflowId(modelOf(model));
        await withTemporal(opts, async ({ client }) => {
          const status = await client.workflow.getHandle(workflowId).executeUpdate(verb === 'pause' ? pauseUpdate : resumeUpdate, { args: [{ by: opts.as, reason: opts.reason }] });
          out.result({ workflowId, ...status }, () => `${verb === 'pause' ? 'paused' : 'resumed'} ${workflowId}\n${formatMonitorStatus(workflowId, status)}`);
        });
      }),
    );
  }
}
