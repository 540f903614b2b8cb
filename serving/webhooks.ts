/**
 * Drift webhooks: `POST /v1/drift` turns an alert from a monitoring service into a `driftDetected` signal on the
 * model's monitor. Two body shapes are accepted, so a Grafana or Prometheus alert rule can trigger retraining
 * without code: our own JSON (`{ model, eventId, source, severity, … }`, one alert or `{ alerts: [...] }`), and
 * Prometheus Alertmanager's webhook payload (version 4), whose alert labels name the model and the severity.
 * A body is parsed whole before anything is signalled, so a malformed batch signals nothing.
 */
import { z } from 'zod';
import { DriftDetectedSchema, describeIssues, type DriftDetected } from '../workflows/definitions';
import type { Severity } from '../workflows/config';

/** One alert bound for one model's monitor. */
export interface DriftAlert {
  readonly model: string;
  readonly event: DriftDetected;
}

export class WebhookInputError extends Error {
  readonly status = 400;
  constructor(message: string) {
    super(message);
    this.name = 'WebhookInputError';
  }
}

const modelName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected a model name (letters, digits, ".", "_", "-")');

const OwnAlertSchema = DriftDetectedSchema.extend({ model: modelName });
const OwnBodySchema = z.union([OwnAlertSchema, z.object({ alerts: z.array(OwnAlertSchema).min(1) }).strict()]);

/** The parts of Alertmanager's webhook payload we read; other fields are allowed and ignored. */
const AlertmanagerAlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string().optional(),
  fingerprint: z.string().optional(),
});
const AlertmanagerBodySchema = z.object({
  version: z.string(),
  status: z.enum(['firing', 'resolved']),
  groupKey: z.string().optional(),
  receiver: z.string().optional(),
  commonLabels: z.record(z.string(), z.string()).default({}),
  alerts: z.array(AlertmanagerAlertSchema),
});

/** Alertmanager severities as people label them, onto ours. */
const SEVERITY_WORDS: Readonly<Record<string, Severity>> = {
  critical: 'high',
  page: 'high',
  high: 'high',
  error: 'high',
  warning: 'medium',
  warn: 'medium',
  medium: 'medium',
  info: 'low',
  low: 'low',
  none: 'low',
};

/** Label names that may carry the model's name, in order of preference. */
const MODEL_LABELS = ['retrain_model', 'model'];

function isAlertmanager(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'version' in body && 'alerts' in body && 'status' in body;
}

/**
 * Parses a webhook body into alerts, or throws a WebhookInputError naming the field and what was expected.
 * Alertmanager's resolved alerts carry no drift, so they are skipped (and reported as such by the caller).
 */
export function parseDriftWebhook(body: unknown): { alerts: DriftAlert[]; ignored: number; format: 'retrain' | 'alertmanager' } {
  if (isAlertmanager(body)) return parseAlertmanager(body);
  const r = OwnBodySchema.safeParse(body);
  if (!r.success) {
    // The union's issues are unhelpful; re-parse against the single-alert shape for a field-naming message.
    const single = typeof body === 'object' && body !== null && 'alerts' in body ? z.object({ alerts: z.array(OwnAlertSchema).min(1) }).strict() : OwnAlertSchema;
    const again = single.safeParse(body);
    throw new WebhookInputError(again.success ? 'body: expected a drift alert or { alerts: [...] }' : describeIssues('body', again.error));
  }
  const list = 'alerts' in r.data ? r.data.alerts : [r.data];
  return { alerts: list.map(({ model, ...event }) => ({ model, event })), ignored: 0, format: 'retrain' };
}

function parseAlertmanager(body: unknown): { alerts: DriftAlert[]; ignored: number; format: 'alertmanager' } {
  const r = AlertmanagerBodySchema.safeParse(body);
  if (!r.success) throw new WebhookInputError(describeIssues('alertmanager', r.error));
  const alerts: DriftAlert[] = [];
  let ignored = 0;
  r.data.alerts.forEach((a, i) => {
    if (a.status !== 'firing') {
      ignored++;
      return;
    }
    const labels = { ...r.data.commonLabels, ...a.labels };
    const where = `alertmanager.alerts[${i}].labels`;
    const modelLabel = MODEL_LABELS.find((l) => labels[l] !== undefined);
    if (!modelLabel) throw new WebhookInputError(`${where}: expected a "model" (or "retrain_model") label naming the model`);
    const model = modelName.safeParse(labels[modelLabel]);
    if (!model.success) throw new WebhookInputError(`${where}.${modelLabel}: ${model.error.issues[0].message}, got ${JSON.stringify(labels[modelLabel])}`);
    const word = (labels.severity ?? 'warning').toLowerCase();
    const severity = SEVERITY_WORDS[word];
    if (!severity) {
      throw new WebhookInputError(`${where}.severity: expected one of ${Object.keys(SEVERITY_WORDS).map((s) => JSON.stringify(s)).join(', ')}, got ${JSON.stringify(labels.severity)}`);
    }
    const scoreText = a.annotations.score ?? labels.score;
    const score = scoreText === undefined ? undefined : Number(scoreText);
    const featureText = a.annotations.features ?? labels.features ?? labels.feature;
    const event = {
      // Alertmanager re-sends a firing alert every repeat interval: the fingerprint and start time identify it, so
      // the monitor counts the repeats once.
      eventId: `${a.fingerprint ?? labels.alertname ?? 'alert'}@${a.startsAt ?? ''}`,
      source: `alertmanager:${labels.alertname ?? r.data.receiver ?? 'alert'}`,
      severity,
      ...(score !== undefined && Number.isFinite(score) ? { score } : {}),
      ...(featureText ? { features: featureText.split(',').map((f) => f.trim()).filter(Boolean) } : {}),
      ...(a.startsAt && !Number.isNaN(Date.parse(a.startsAt)) ? { detectedAt: new Date(a.startsAt).toISOString() } : {}),
    };
    const checked = DriftDetectedSchema.safeParse(event);
    if (!checked.success) throw new WebhookInputError(describeIssues(`alertmanager.alerts[${i}]`, checked.error));
    alerts.push({ model: model.data, event: checked.data });
  });
  return { alerts, ignored, format: 'alertmanager' };
}
