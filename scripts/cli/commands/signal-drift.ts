/**
 * `retrain drift MODEL --severity … --source …`: sends a `driftDetected` signal to the monitor, as a monitoring
 * service would. The payload is checked here with the workflow's own schema first: a signal cannot be refused, so
 * a bad one would only be counted in the monitor's rejected messages.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DriftDetectedSchema, driftDetectedSignal, monitorWorkflowId, type DriftDetected } from '../../../workflows/definitions';
import { SeveritySchema } from '../../../workflows/config';
import { ConnectionOptions, action, modelOf } from '../common';
import { withTemporal } from '../temporal';

export const SignalDriftOptions = z
  .object({
    ...ConnectionOptions,
    severity: SeveritySchema,
    source: z.string().trim().min(1, 'expected the name of what detected the drift'),
    eventId: z.string().trim().min(1).optional(),
    score: z
      .string()
      .transform((s, ctx) => {
        const n = Number(s);
        if (s.trim() === '' || !Number.isFinite(n)) {
          ctx.addIssue({ code: 'custom', message: `expected a number, got ${JSON.stringify(s)}` });
          return z.NEVER;
        }
        return n;
      })
      .optional(),
    features: z
      .string()
      .transform((s) => s.split(',').map((f) => f.trim()).filter(Boolean))
      .optional(),
  })
  .strict();

export const run = action(SignalDriftOptions, async ([model], opts, out) => {
  const workflowId = monitorWorkflowId(modelOf(model));
  const event: DriftDetected = DriftDetectedSchema.parse({
    eventId: opts.eventId ?? `cli-${randomUUID()}`,
    source: opts.source,
    severity: opts.severity,
    ...(opts.score !== undefined ? { score: opts.score } : {}),
    ...(opts.features ? { features: opts.features } : {}),
    detectedAt: new Date().toISOString(),
  });
  await withTemporal(opts, async ({ client }) => {
    await client.workflow.getHandle(workflowId).signal(driftDetectedSignal, event);
    out.result({ workflowId, signalled: true, event }, () => `signalled drift to ${workflowId} (event ${event.eventId}, ${event.severity} from ${event.source})`);
  });
});
