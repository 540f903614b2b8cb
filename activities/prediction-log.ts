/**
 * The prediction log as the activities use it: the monitor's batch scoring records which model version scored
 * each row and with what probability, joins the row's outcome when its label arrives, and the canary watch
 * reads live accuracy per version from the joined rows. `PredictionLogPort` is the narrow interface the
 * activities depend on; `StorePredictionLog` implements it on the artifact store (one create-only object per
 * scored batch and one per labelled batch, so a retried activity writes nothing twice and two workers never
 * contend). When storage/'s own PredictionLog lands, an adapter to this port replaces it in createDependencies.
 */
import type { ArtifactStore } from '../storage/artifact-store';
import { NotFoundError } from '../storage/errors';

export interface PredictionBatch {
  /** The source batch the rows came from; row ids are `<batch>:<row index>`. */
  readonly batch: number;
  /** When the batch was scored (the monitor's time). */
  readonly at: string;
  /** Per row: the version that scored it, and the probability of the positive class. */
  readonly versions: readonly number[];
  readonly p: readonly number[];
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

const predictionsKey = (model: string, batch: number) => `predictions/${model}/scored/batch-${String(batch).padStart(8, '0')}.json`;
const outcomesKey = (model: string, batch: number) => `predictions/${model}/outcomes/batch-${String(batch).padStart(8, '0')}.json`;

export class StorePredictionLog implements PredictionLogPort {
  constructor(private readonly store: ArtifactStore) {}

  async recordPredictions(model: string, batch: PredictionBatch): Promise<boolean> {
    if (batch.versions.length !== batch.p.length) throw new RangeError(`p: expected ${batch.versions.length} probabilities to match versions, got ${batch.p.length}`);
    const r = await this.store.putIfAbsent(predictionsKey(model, batch.batch), JSON.stringify(batch), { contentType: 'application/json' });
    return r.created;
  }

  async recordOutcomes(model: string, outcomes: OutcomeBatch): Promise<number> {
    await this.store.putIfAbsent(outcomesKey(model, outcomes.batch), JSON.stringify(outcomes), { contentType: 'application/json' });
    const scored = await this.read<PredictionBatch>(predictionsKey(model, outcomes.batch));
    if (!scored) return 0;
    let joined = 0;
    for (let i = 0; i < Math.min(scored.p.length, outcomes.y.length); i++) if (outcomes.y[i] !== null) joined++;
    return joined;
  }

  async liveMetrics(model: string, window: { since: string; until: string; threshold?: number }): Promise<Map<number, LiveMetrics>> {
    const since = Date.parse(window.since);
    const until = Date.parse(window.until);
    const threshold = window.threshold ?? 0.5;
    const acc = new Map<number, { rows: number; correct: number }>();
    for (const key of await this.store.list(`predictions/${model}/outcomes/`)) {
      const outcomes = await this.read<OutcomeBatch>(key);
      if (!outcomes) continue;
      const t = Date.parse(outcomes.at);
      if (!(t >= since && t <= until)) continue;
      const scored = await this.read<PredictionBatch>(predictionsKey(model, outcomes.batch));
      if (!scored) continue;
      for (let i = 0; i < Math.min(scored.p.length, outcomes.y.length); i++) {
        const y = outcomes.y[i];
        if (y === null) continue;
        const v = scored.versions[i];
        const m = acc.get(v) ?? { rows: 0, correct: 0 };
        m.rows++;
        if ((scored.p[i] > threshold ? 1 : 0) === y) m.correct++;
        acc.set(v, m);
      }
    }
    return new Map([...acc].map(([v, m]) => [v, { ...m, ...(m.rows > 0 ? { accuracy: m.correct / m.rows } : {}) }]));
  }

  private async read<T>(key: string): Promise<T | null> {
    try {
      return await this.store.getJson<T>(key);
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }
}
