/**
 * `retrain monitor start --config FILE`: starts the model's monitor (`monitor/<model>`) with the config, or, when
 * it already runs, applies the config to it. One atomic update-with-start of the `configure` update does both:
 * the workflow id conflict policy USE_EXISTING attaches to a running monitor, so there is no window where two
 * CLIs race between "is it running?" and "start it", and a config the monitor's validator refuses is reported
 * (exit 4) instead of being lost in a signal.
 */
import { userInfo } from 'node:os';
import { z } from 'zod';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { MonitorStages, RetrainModel, RetrainStage, TASK_QUEUE, WorkflowTypes, configureUpdate, monitorWorkflowId, type MonitorInput } from '../../../workflows/definitions';
import { ConnectionOptions, PersonSchema, action } from '../common';
import { withTemporal } from '../temporal';
import { configWarnings, loadConfigFile } from '../config-file';

export const StartMonitorOptions = z
  .object({
    ...ConnectionOptions,
    config: z.string().min(1, 'expected a file'),
    as: PersonSchema.optional(),
    taskQueue: z.string().min(1).default(TASK_QUEUE),
  })
  .strict();

export const run = action(StartMonitorOptions, async (_args, opts, out) => {
  const { document, config } = await loadConfigFile(opts.config);
  // Valid but not usable on this machine (a data file that does not exist): started anyway, since the worker may
  // see other files than this machine, but said, as `retrain config validate` says it.
  const warnings = await configWarnings(config);
  if (!out.json) for (const w of warnings) process.stderr.write(`${opts.config}: warning: ${w}\n`);
  const by = opts.as ?? userInfo().username;
  const workflowId = monitorWorkflowId(config.model);
  return withTemporal(opts, async ({ client }) => {
    // Only for the message: the update-with-start below is what decides, atomically.
    const wasRunning = await client.workflow
      .getHandle(workflowId)
      .describe()
      .then((d) => d.status.name === 'RUNNING')
      .catch(() => false);
    const input: MonitorInput = { config: document as MonitorInput['config'] };
    const startOp = new WithStartWorkflowOperation(WorkflowTypes.modelMonitor, {
      workflowId,
      taskQueue: opts.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: new TypedSearchAttributes([
        { key: RetrainModel, value: config.model },
        { key: RetrainStage, value: MonitorStages.watching },
      ]),
    });
    const { version } = await client.workflow.executeUpdateWithStart(configureUpdate, {
      args: [{ config: document as MonitorInput['config'], by }],
      startWorkflowOperation: startOp,
    });
    const { runId } = await (await startOp.workflowHandle()).describe();
    const started = !wasRunning;
    out.result({ workflowId, model: config.model, runId, configVersion: version, started, by, warnings }, () =>
      started
        ? `started monitor ${workflowId} (config version ${version})\n  next: retrain monitor status ${config.model}`
        : `applied config version ${version} to the running monitor ${workflowId}`,
    );
  });
});
