/**
 * The prediction log as the activities use it: the monitor's batch scoring records which model version scored
 * each row and with what probability, joins the row's outcome when its label arrives, and the canary watch
 * reads live accuracy per version from the joined rows. `PredictionLogPort` is the narrow interface the
 * activities depend on; `StorePredictionLog` adapts storage/'s PredictionLog (append-only segments) to it.
 */
import type { ArtifactStore } from '../storage/artifact-store';
import { PredictionLog } from '../storage/prediction-log';

export interface PredictionBatch {
  /** The source batch the rows came from; row ids are `<batch>:<row index>`. */
  readonly batch: number;
  /** When the batch was scored (the monitor's time). */
  readonly at: string;
  /** Per row: the version that scored it, and the probability of the positive class. */
  readonly versions: readonly number[];
  readonly p: readonly number[];
  /** The canary's version, so its rows are logged under the `canary` alias. */
  readonly canaryVersion?: number;
}

export interface OutcomeBatch {
  readonly batch: number;
  /** When the labels arrived. */
  readonly at: string;
  /** Per row of the batch: 0/1, or null when the label is missing. */
  readonly y: readonly (0 | 1 | null)[];
}

export interface LiveMetrics {
  /** Labelled rows scored by the version, whose outcome arrived within the window. */
  readonly rows: number;
  readonly correct: number;
  readonly accuracy?: number;
}

export interface PredictionLogPort {
  /** Records a scored batch; false when it had been recorded already (a retry). */
  recordPredictions(model: string, batch: PredictionBatch): Promise<boolean>;
  /** Joins a batch's outcomes; returns how many rows had a recorded prediction to join. */
  recordOutcomes(model: string, outcomes: OutcomeBatch): Promise<number>;
  /** Accuracy per version over rows whose outcome arrived in [since, until]. */
  liveMetrics(model: string, window: { since: string; until: string; threshold?: number }): Promise<Map<number, LiveMetrics>>;
}

/**
 * The port on storage/'s PredictionLog (shared with the serving endpoint and the CLI): rows are `<batch>:<row>`,
 * appends carry a batch key so a retried check writes nothing twice, and live metrics count the rows whose
 * outcome arrived in the window (the canary watch judges what was learnt during its observation period).
 */
export class StorePredictionLog implements PredictionLogPort {
  readonly log: PredictionLog;
  constructor(store: ArtifactStore) {
    this.log = new PredictionLog(store);
  }

  async recordPredictions(model: string, batch: PredictionBatch): Promise<boolean> {
    if (batch.versions.length !== batch.p.length) throw new RangeError(`p: expected ${batch.versions.length} probabilities to match versions, got ${batch.p.length}`);
    if (batch.versions.length === 0) return false;
    const rows = batch.versions.map((version, i) => ({
      version,
      alias: batch.canaryVersion !== undefined && version === batch.canaryVersion ? 'canary' : 'production',
      rowId: `${batch.batch}:${i}`,
      score: Math.min(1, Math.max(0, batch.p[i])),
      at: batch.at,
    }));
    const r = await this.log.appendPredictions(model, rows, { batchKey: `${model}/scored/${batch.batch}` });
    return r.created;
  }

  async recordOutcomes(model: string, outcomes: OutcomeBatch): Promise<number> {
    const rows = outcomes.y.flatMap((label, i) => (label === null ? [] : [{ rowId: `${outcomes.batch}:${i}`, label, at: outcomes.at }]));
    if (rows.length === 0) return 0;
    await this.log.appendOutcomes(model, rows, { batchKey: `${model}/outcomes/${outcomes.batch}` });
    return rows.length;
  }

  async liveMetrics(model: string, window: { since: string; until: string; threshold?: number }): Promise<Map<number, LiveMetrics>> {
    const since = Date.parse(window.since);
    const until = Date.parse(window.until);
    const threshold = window.threshold ?? 0.5;
    const acc = new Map<number, { rows: number; correct: number }>();
    for (const row of await this.log.joined(model)) {
      if (row.label === null || row.labelledAt === null) continue;
      const t = Date.parse(row.labelledAt);
      if (!(t >= since && t <= until)) continue;
      const m = acc.get(row.version) ?? { rows: 0, correct: 0 };
      m.rows++;
      if ((row.score > threshold ? 1 : 0) === row.label) m.correct++;
      acc.set(row.version, m);
    }
    return new Map([...acc].map(([v, m]) => [v, { ...m, ...(m.rows > 0 ? { accuracy: m.correct / m.rows } : {}) }]));
  }
}
