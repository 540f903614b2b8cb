/**
 * The prediction log: what each model version scored, under which alias, joined with outcomes (labels) when they
 * arrive, and the live metrics computed from that join. It is append-only over the artifact store: every append
 * writes one new immutable segment object of JSON lines, so writers on any number of processes never interleave
 * partial lines and no write ever replaces another. An append with a batch key (the workflow and activity ids) is
 * idempotent: a retried activity finds its segment already written.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ArtifactStore } from './artifact-store';
import { BadInputError, CorruptRecordError } from './errors';

const isoTime = z.iso.datetime({ offset: true });

export const predictionInputSchema = z.object({
  version: z.number().int().positive(),
  alias: z.string().min(1),
  rowId: z.string().min(1),
  /** Probability of the positive class. */
  score: z.number().min(0).max(1),
  features: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])).optional(),
  at: isoTime,
});
export type PredictionInput = z.infer<typeof predictionInputSchema>;
export type PredictionRecord = PredictionInput & { model: string };

export const outcomeInputSchema = z.object({
  rowId: z.string().min(1),
  label: z.union([z.literal(0), z.literal(1), z.boolean()]),
  at: isoTime,
});
export type OutcomeInput = z.input<typeof outcomeInputSchema>;
export interface OutcomeRecord {
  model: string;
  rowId: string;
  label: 0 | 1;
  at: string;
}

export interface JoinedPrediction extends PredictionRecord {
  label: 0 | 1 | null;
  labelledAt: string | null;
}

export interface TimeRange {
  /** Inclusive, ISO time or Date. */
  from?: string | Date;
  /** Exclusive. */
  to?: string | Date;
}

export interface LiveMetrics {
  model: string;
  alias: string;
  version: number;
  count: number;
  labelledCount: number;
  /** Share of labelled predictions whose thresholded score equals the label; null with no labels. */
  accuracy: number | null;
  /** Mean binary cross-entropy over labelled predictions (scores clipped to [1e-15, 1 − 1e-15]); null with no labels. */
  logLoss: number | null;
  /** Share of all predictions scored at or above the threshold. */
  positiveRate: number;
  /** Share of labelled predictions whose label is positive; null with no labels. */
  labelPositiveRate: number | null;
  meanScore: number;
}

export interface AppendResult {
  uri: string;
  count: number;
  /** False when a segment with this batch key already existed (a retried append). */
  created: boolean;
}

export class PredictionLog {
  constructor(readonly store: ArtifactStore) {}

  async appendPredictions(model: string, predictions: readonly PredictionInput[], options: { batchKey?: string } = {}): Promise<AppendResult> {
    checkModel(model);
    const records = predictions.map((p, i) => ({ model, ...parse(predictionInputSchema, p, `predictions[${i}]`) }));
    return this.writeSegment(`predictions/${model}/`, records, options.batchKey);
  }

  async appendOutcomes(model: string, outcomes: readonly OutcomeInput[], options: { batchKey?: string } = {}): Promise<AppendResult> {
    checkModel(model);
    const records: OutcomeRecord[] = outcomes.map((o, i) => {
      const parsed = parse(outcomeInputSchema, o, `outcomes[${i}]`);
      return { model, rowId: parsed.rowId, label: parsed.label === true || parsed.label === 1 ? 1 : 0, at: parsed.at };
    });
    return this.writeSegment(`outcomes/${model}/`, records, options.batchKey);
  }

  /**
   * Predictions made in the range, oldest first. A row scored twice by the same version and alias (a retried
   * batch without a batch key) counts once: the earliest record wins.
   */
  async predictions(model: string, range: TimeRange = {}): Promise<PredictionRecord[]> {
    checkModel(model);
    const { from, to } = bounds(range);
    const seen = new Map<string, PredictionRecord>();
    for (const record of await this.readSegments<PredictionRecord>(`predictions/${model}/`)) {
      const t = Date.parse(record.at);
      if (t < from || t >= to) continue;
      const id = `${record.alias}\u0000${record.version}\u0000${record.rowId}`;
      const prior = seen.get(id);
      if (!prior || Date.parse(prior.at) > t) seen.set(id, record);
    }
    return [...seen.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || cmp(a.rowId, b.rowId));
  }

  /** The outcome of each row; when a label was reported more than once, the latest report wins (a correction). */
  async outcomes(model: string): Promise<Map<string, OutcomeRecord>> {
    checkModel(model);
    const latest = new Map<string, OutcomeRecord>();
    for (const record of await this.readSegments<OutcomeRecord>(`outcomes/${model}/`)) {
      const prior = latest.get(record.rowId);
      if (!prior || Date.parse(prior.at) <= Date.parse(record.at)) latest.set(record.rowId, record);
    }
    return latest;
  }

  async joined(model: string, range: TimeRange = {}): Promise<JoinedPrediction[]> {
    const [predictions, outcomes] = await Promise.all([this.predictions(model, range), this.outcomes(model)]);
    return predictions.map((p) => {
      const o = outcomes.get(p.rowId);
      return { ...p, label: o?.label ?? null, labelledAt: o?.at ?? null };
    });
  }

  /** Live metrics per alias and version over the predictions made in the range, sorted by alias then version. */
  async liveMetrics(model: string, options: TimeRange & { threshold?: number } = {}): Promise<LiveMetrics[]> {
    const threshold = options.threshold ?? 0.5;
    if (!(threshold > 0 && threshold < 1)) throw new BadInputError(`liveMetrics: threshold must be in (0, 1), got ${threshold}`);
    const groups = new Map<string, JoinedPrediction[]>();
    for (const row of await this.joined(model, options)) {
      const id = `${row.alias}\u0000${row.version}`;
      const group = groups.get(id) ?? [];
      group.push(row);
      groups.set(id, group);
    }
    const out = [...groups.values()].map((rows) => summarise(model, rows, threshold));
    return out.sort((a, b) => cmp(a.alias, b.alias) || a.version - b.version);
  }

  private async writeSegment(folder: string, records: readonly object[], batchKey?: string): Promise<AppendResult> {
    if (records.length === 0) throw new BadInputError('append: at least one record is required');
    // A batch key names the segment, making a retry a no-op; otherwise the pid and random bytes keep names unique.
    const id = batchKey
      ? `k-${createHash('sha256').update(batchKey).digest('hex').slice(0, 40)}`
      : `w-${Date.now().toString(36)}-${process.pid}-${randomBytes(8).toString('hex')}`;
    const body = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const { uri, created } = await this.store.putIfAbsent(`${folder}${id}.jsonl`, body, { contentType: 'application/x-ndjson' });
    return { uri, count: records.length, created };
  }

  private async readSegments<T>(folder: string): Promise<T[]> {
    const keys = (await this.store.list(folder)).filter((k) => k.endsWith('.jsonl'));
    const out: T[] = [];
    for (const key of keys) {
      const lines = (await this.store.getText(key)).split('\n');
      lines.forEach((line, i) => {
        if (line === '') return;
        try {
          out.push(JSON.parse(line) as T);
        } catch {
          throw new CorruptRecordError(`${this.store.uriFor(key)} line ${i + 1}`, 'not a JSON object');
        }
      });
    }
    return out;
  }
}

function summarise(model: string, rows: JoinedPrediction[], threshold: number): LiveMetrics {
  const eps = 1e-15;
  let positives = 0;
  let scoreSum = 0;
  let labelled = 0;
  let correct = 0;
  let loss = 0;
  let labelPositives = 0;
  for (const row of rows) {
    const predicted = row.score >= threshold ? 1 : 0;
    positives += predicted;
    scoreSum += row.score;
    if (row.label === null) continue;
    labelled++;
    labelPositives += row.label;
    if (predicted === row.label) correct++;
    const p = Math.min(1 - eps, Math.max(eps, row.score));
    loss -= row.label === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return {
    model,
    alias: rows[0].alias,
    version: rows[0].version,
    count: rows.length,
    labelledCount: labelled,
    accuracy: labelled ? correct / labelled : null,
    logLoss: labelled ? loss / labelled : null,
    positiveRate: positives / rows.length,
    labelPositiveRate: labelled ? labelPositives / labelled : null,
    meanScore: scoreSum / rows.length,
  };
}

function bounds(range: TimeRange): { from: number; to: number } {
  const time = (v: string | Date | undefined, fallback: number, name: string): number => {
    if (v === undefined) return fallback;
    const t = v instanceof Date ? v.getTime() : Date.parse(v);
    if (Number.isNaN(t)) throw new BadInputError(`time range: ${name} must be an ISO time or a Date, got ${String(v)}`);
    return t;
  };
  return { from: time(range.from, -Infinity, 'from'), to: time(range.to, Infinity, 'to') };
}

function checkModel(model: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(model)) {
    throw new BadInputError(`model ${JSON.stringify(model)}: expected letters, digits and ._- (up to 128)`);
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new BadInputError(parsed.error.issues.map((i) => `${[what, ...i.path].join('.')}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
