/**
 * The HTTP side of Retrain: the prediction endpoint and the drift webhook receiver, on node's own `http` (a
 * handful of JSON routes need no framework). Predictions route between the `production` and `canary` aliases of
 * the model registry by the canary's weight, sticky per request key (the same key always reaches the same model,
 * as a user expects of an A/B split), and every prediction goes to the prediction log, joined later with the
 * outcomes posted to `/feedback`, so the rollout's live metrics come from real traffic. Aliases are re-read from
 * the registry at most every `refreshMs`, so a promotion or rollback takes effect without a restart.
 *
 * Routes:
 *   POST /v1/models/:model/predict   { rows: [{feature: value}], ids?: [string], key?: string } → scores
 *   POST /v1/models/:model/feedback  { outcomes: [{ id, label }] }                              → { accepted }
 *   GET  /v1/models/:model                                                                    → aliases
 *   POST /v1/drift                   our alert JSON or Alertmanager's webhook                  → { signalled }
 *   GET  /healthz
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { TrainedModel } from '../ml/model';
import type { ArtifactStore, ModelRegistry, PredictionInput, PredictionLog } from '../storage';
import { driftDetectedSignal, monitorWorkflowId } from '../workflows/definitions';
import { parseDriftWebhook, WebhookInputError } from './webhooks';

export interface ServingOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly registry: ModelRegistry;
  readonly store: ArtifactStore;
  readonly predictionLog: PredictionLog;
  /** Needed for the drift webhooks (signals to the monitors); without it `/v1/drift` answers 503. */
  readonly client?: Client;
  /** When set, `/v1/drift` requires `Authorization: Bearer <token>` (or `X-Retrain-Token`). */
  readonly webhookToken?: string;
  /** How stale the alias view may get, in ms (default 1000). */
  readonly refreshMs?: number;
  /** Predictions are written to the log in batches, at most this long after they were made (default 500 ms). */
  readonly flushMs?: number;
  readonly maxBodyBytes?: number;
  readonly log?: (line: string) => void;
}

export interface ServingHandle {
  readonly url: string;
  readonly port: number;
  /** Writes out buffered predictions now. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Loaded {
  readonly version: number;
  readonly model: TrainedModel;
}

interface ModelView {
  readonly checkedAt: number;
  readonly production: Loaded | null;
  readonly canary: (Loaded & { readonly weight: number }) | null;
}

/** FNV-1a of the key, as a number in [0, 1): the sticky routing draw. */
export function routingDraw(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 4294967296;
}

export async function startServing(options: ServingOptions): Promise<ServingHandle> {
  const refreshMs = options.refreshMs ?? 1000;
  const maxBody = options.maxBodyBytes ?? 5_000_000;
  const log = options.log ?? (() => undefined);
  const views = new Map<string, Promise<ModelView>>();
  const versions = new Map<string, Promise<TrainedModel>>();
  const pending = new Map<string, PredictionInput[]>();
  let flushing: Promise<void> = Promise.resolve();

  const loadVersion = (model: string, version: number): Promise<TrainedModel> => {
    const key = `${model}@${version}`;
    let p = versions.get(key);
    if (!p) {
      p = (async () => {
        const v = await options.registry.getVersion(model, version);
        return TrainedModel.fromJSON(await options.store.getJson(v.artifactUri));
      })();
      p.catch(() => versions.delete(key));
      versions.set(key, p);
    }
    return p;
  };

  const view = async (model: string): Promise<ModelView> => {
    const cached = views.get(model);
    if (cached) {
      const v = await cached.catch(() => undefined);
      if (v && Date.now() - v.checkedAt < refreshMs) return v;
    }
    const next = (async (): Promise<ModelView> => {
      const aliases = await options.registry.getAliases(model);
      const prod = aliases.production;
      const can = aliases.canary;
      return {
        checkedAt: Date.now(),
        production: prod ? { version: prod.version, model: await loadVersion(model, prod.version) } : null,
        canary: can && can.weight > 0 ? { version: can.version, weight: can.weight, model: await loadVersion(model, can.version) } : null,
      };
    })();
    views.set(model, next);
    next.catch(() => views.delete(model));
    return next;
  };

  const flush = (): Promise<void> => {
    flushing = flushing.then(async () => {
      const batches = [...pending.entries()];
      pending.clear();
      for (const [model, predictions] of batches) {
        if (!predictions.length) continue;
        try {
          await options.predictionLog.appendPredictions(model, predictions, { batchKey: `serving-${randomUUID()}` });
        } catch (e) {
          log(`serving: could not write ${predictions.length} predictions of ${model} to the log: ${(e as Error).message}`);
        }
      }
    });
    return flushing;
  };
  const timer = setInterval(() => void flush(), options.flushMs ?? 500);
  timer.unref();

  async function predict(model: string, body: unknown): Promise<unknown> {
    const b = objectBody(body);
    const rows = b.rows;
    if (!Array.isArray(rows) || rows.length === 0) throw new HttpError(400, 'rows: expected a non-empty array of objects (feature name → value)');
    if (rows.length > 10_000) throw new HttpError(400, `rows: expected at most 10000 rows per request, got ${rows.length}`);
    rows.forEach((r, i) => {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new HttpError(400, `rows[${i}]: expected an object of feature values`);
    });
    const ids = b.ids;
    if (ids !== undefined && !(Array.isArray(ids) && ids.length === rows.length && ids.every((s) => typeof s === 'string' && s.length > 0))) {
      throw new HttpError(400, `ids: expected ${rows.length} non-empty strings, one per row`);
    }
    if (b.key !== undefined && (typeof b.key !== 'string' || !b.key)) throw new HttpError(400, 'key: expected a non-empty string (the sticky routing key)');
    const v = await view(model);
    if (!v.production && !v.canary) throw new HttpError(404, `model ${JSON.stringify(model)} has no production version yet: wait for its first promotion (retrain monitor status ${model})`);
    const rowIds: string[] = (ids as string[] | undefined) ?? rows.map(() => randomUUID());
    // Routing per row by its routing key: the request key when given (the whole request sticks together),
    // otherwise the row id.
    const toCanary = rowIds.map((id) => !!v.canary && (v.production === null || routingDraw(String(b.key ?? id)) < v.canary.weight));
    const scores = new Float64Array(rows.length);
    const unseen: Record<string, number> = {};
    for (const [target, pick] of [[v.production, false], [v.canary, true]] as const) {
      if (!target) continue;
      const index = toCanary.flatMap((c, i) => (c === pick ? [i] : []));
      if (!index.length) continue;
      // A feature left out of a row is almost always a typo or a client on an old schema, not a missing value
      // (send null for that): name it rather than let the model fail on a NaN deep inside.
      for (const i of index) {
        const row = rows[i] as Record<string, unknown>;
        const absent = target.model.features.find((f) => !(f.name in row));
        if (absent) {
          throw new HttpError(400, `rows[${i}].${absent.name}: missing (send null for a missing value); the model's features are ${target.model.features.map((f) => f.name).join(', ')}`);
        }
      }
      let pred;
      try {
        pred = target.model.predictRows(index.map((i) => rows[i] as Record<string, unknown>));
      } catch (e) {
        throw new HttpError(400, (e as Error).message);
      }
      index.forEach((i, k) => (scores[i] = pred.p[k]));
      for (const [f, c] of Object.entries(pred.unseen)) unseen[f] = (unseen[f] ?? 0) + c;
    }
    const at = new Date().toISOString();
    const out = rowIds.map((id, i) => {
      const target = toCanary[i] ? v.canary! : v.production!;
      return { id, score: scores[i], version: target.version, alias: toCanary[i] ? 'canary' : 'production' };
    });
    const list = pending.get(model) ?? [];
    out.forEach((o) => list.push({ version: o.version, alias: o.alias, rowId: o.id, score: o.score, at }));
    pending.set(model, list);
    return { model, predictions: out, unseen };
  }

  async function feedback(model: string, body: unknown): Promise<unknown> {
    const b = objectBody(body);
    const outcomes = b.outcomes;
    if (!Array.isArray(outcomes) || outcomes.length === 0) throw new HttpError(400, 'outcomes: expected a non-empty array of { id, label }');
    const v = await view(model).catch(() => undefined);
    const label = (v?.production ?? v?.canary)?.model.label;
    const at = new Date().toISOString();
    const parsed = outcomes.map((o, i) => {
      if (o === null || typeof o !== 'object') throw new HttpError(400, `outcomes[${i}]: expected an object { id, label }`);
      const { id, label: value } = o as { id?: unknown; label?: unknown };
      if (typeof id !== 'string' || !id) throw new HttpError(400, `outcomes[${i}].id: expected the prediction id (a non-empty string)`);
      let y: 0 | 1;
      if (value === 0 || value === 1) y = value;
      else if (typeof value === 'boolean') y = value ? 1 : 0;
      else if (typeof value === 'string' && label && value === label.positive) y = 1;
      else if (typeof value === 'string' && label?.negative?.includes(value)) y = 0;
      else {
        // Without declared negatives the model cannot tell a negative label from a typo, so only numbers,
        // booleans and the positive value are taken by name (a silent 0 is the defect ml/ was fixed for).
        const accepted = ['0', '1', 'true', 'false', ...(label ? [JSON.stringify(label.positive), ...(label.negative ?? []).map((s) => JSON.stringify(s))] : [])];
        const hint = label && !label.negative ? ' (declare data.negative in the model config to send negative labels by name)' : '';
        throw new HttpError(400, `outcomes[${i}].label: expected one of ${accepted.join(', ')}, got ${JSON.stringify(value)}${hint}`);
      }
      return { rowId: id, label: y, at };
    });
    await options.predictionLog.appendOutcomes(model, parsed, { batchKey: `feedback-${randomUUID()}` });
    return { model, accepted: parsed.length };
  }

  async function drift(req: IncomingMessage, body: unknown): Promise<unknown> {
    if (options.webhookToken) {
      const auth = req.headers.authorization;
      const given = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : req.headers['x-retrain-token'];
      if (typeof given !== 'string' || !sameSecret(given, options.webhookToken)) {
        throw new HttpError(401, 'missing or wrong token: send "Authorization: Bearer <RETRAIN_WEBHOOK_TOKEN>"');
      }
    }
    let parsed;
    try {
      parsed = parseDriftWebhook(body);
    } catch (e) {
      if (e instanceof WebhookInputError) throw new HttpError(400, e.message);
      throw e;
    }
    if (!options.client) throw new HttpError(503, 'this server was started without a Temporal client: drift webhooks are off');
    const signalled: { model: string; eventId: string }[] = [];
    const failed: { model: string; eventId: string; error: string }[] = [];
    for (const a of parsed.alerts) {
      try {
        await options.client.workflow.getHandle(monitorWorkflowId(a.model)).signal(driftDetectedSignal, a.event);
        signalled.push({ model: a.model, eventId: a.event.eventId });
      } catch (e) {
        const err = e as Error;
        const notFound = err.name === 'WorkflowNotFoundError' || /not found/i.test(err.message);
        failed.push({
          model: a.model,
          eventId: a.event.eventId,
          error: notFound ? `no monitor runs for model ${JSON.stringify(a.model)}: start one with \`retrain monitor start --config FILE\`` : err.message,
        });
      }
    }
    if (signalled.length === 0 && failed.length > 0) throw new HttpError(failed.every((f) => f.error.startsWith('no monitor')) ? 404 : 502, failed.map((f) => f.error).join('; '));
    return { format: parsed.format, signalled, failed, ignored: parsed.ignored };
  }

  async function route(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (req.method === 'GET' && path === '/healthz') return { status: 200, body: { ok: true } };
    if (path === '/v1/drift') {
      if (req.method !== 'POST') throw new HttpError(405, 'use POST');
      return { status: 202, body: await drift(req, await readJson(req, maxBody)) };
    }
    const m = /^\/v1\/models\/([^/]+)(?:\/(predict|feedback))?$/.exec(path);
    if (m) {
      const model = decodeURIComponent(m[1]);
      if (!m[2] && req.method === 'GET') {
        const aliases = await options.registry.getAliases(model);
        const v = await view(model).catch(() => undefined);
        const served = v?.production ?? v?.canary;
        // What a client needs to build a request: the features (with categories) and the label of the served model.
        const schema = served ? { features: served.model.features, label: served.model.label } : null;
        return { status: 200, body: { model, aliases, ...(schema ? schema : {}) } };
      }
      if (req.method !== 'POST') throw new HttpError(405, 'use POST');
      if (m[2] === 'predict') return { status: 200, body: await predict(model, await readJson(req, maxBody)) };
      if (m[2] === 'feedback') return { status: 202, body: await feedback(model, await readJson(req, maxBody)) };
    }
    throw new HttpError(404, `no route ${req.method} ${path}: see POST /v1/models/:model/predict, POST /v1/models/:model/feedback, POST /v1/drift`);
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    route(req)
      .then(({ status, body }) => send(res, status, body))
      .catch((e: unknown) => {
        if (e instanceof HttpError) send(res, e.status, { error: e.message });
        else {
          log(`serving: ${req.method} ${req.url}: ${(e as Error).stack ?? e}`);
          send(res, 500, { error: (e as Error).message });
        }
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    flush,
    async close() {
      clearInterval(timer);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      await flush();
    },
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'body: expected a JSON object');
  return body as Record<string, unknown>;
}

function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(new HttpError(413, `body: expected at most ${maxBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text.trim()) return reject(new HttpError(400, 'body: expected JSON, got an empty body'));
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(new HttpError(400, `body: expected valid JSON (${(e as Error).message})`));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
