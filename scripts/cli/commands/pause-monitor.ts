/**
 * `retrain monitor pause|resume MODEL --as NAME --reason …`: the monitor's pause and resume updates. A paused
 * monitor records triggers but starts no run; who paused it and why stay in its history.
 */
import { z } from 'zod';
import { monitorWorkflowId, pauseUpdate, resumeUpdate } from '../../../workflows/definitions';
import { ConnectionOptions, PersonSchema, ReasonSchema, action, modelOf } from '../common';
import { withTemporal } from '../temporal';
import { formatMonitorStatus } from '../format';

export const PauseMonitorOptions = z.object({ ...ConnectionOptions, as: PersonSchema, reason: ReasonSchema }).strict();

/** Pause and resume differ only in the update they send; main.ts runs `pause` or `resume`. */
function verbAction(verb: 'pause' | 'resume') {
  return action(PauseMonitorOptions, async ([model], opts, out) => {
    const workflowId = monitorWorkflowId(modelOf(model));
    await withTemporal(opts, async ({ client }) => {
      const status = await client.workflow.getHandle(workflowId).executeUpdate(verb === 'pause' ? pauseUpdate : resumeUpdate, { args: [{ by: opts.as, reason: opts.reason }] });
      out.result({ workflowId, ...status }, () => `${verb === 'pause' ? 'paused' : 'resumed'} ${workflowId}\n${formatMonitorStatus(workflowId, status)}`);
    });
  });
}

export const pause = verbAction('pause');
export const resume = verbAction('resume');
