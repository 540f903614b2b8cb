/** `retrain status RUN`: a retraining run's status query (stage, gate, approval, timeline). */
import type { Command } from 'commander';
import { z } from 'zod';
import { runStatusQuery } from '../../../workflows/definitions';
import { ConnectionOptions, action, addConnectionOptions, runIdOf, withTemporal } from '../common';
import { formatRunStatus } from '../format';

export const ShowRunOptions = z.object({ ...ConnectionOptions }).strict();

export function register(program: Command): void {
  addConnectionOptions(program.command('status').description("show a run's stage, gate result, approval and timeline").argument('<run>', 'retrain/MODEL/N or MODEL/N')).action(
    action(ShowRunOptions, async ([ref], opts, out) => {
      const { workflowId } = runIdOf(ref);
      await withTemporal(opts, async ({ client }) => {
        const status = await client.workflow.getHandle(workflowId).query(runStatusQuery);
        out.result({ workflowId, ...status }, () => formatRunStatus(workflowId, status));
      });
    }),
  );
}
