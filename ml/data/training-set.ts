/**
 * The training-set policy: how a retraining run mixes historical data with the new window. New data makes up
 * `newFraction` of the set (80% by default) so the model follows the current concept, while a share of history
 * keeps it from forgetting rarer patterns; whichever side has more rows than that ratio needs is downsampled
 * with a seeded generator, so a retried run builds the same set. Optionally rows are weighted by recency
 * (weight 0.5^(age / halfLife)) and the historical share is spread over the last full season, so that a
 * seasonal pattern seen once a year is not sampled away.
 */
import { MlErrorCodes, MlTypeError } from '../errors';
import { z } from 'zod';
import { Rng } from '../random';
import { parseWith } from './errors';
import { concat, type Frame } from './frame';
import { sameColumns } from './schema';

export const TrainingSetPolicySchema = z
  .object({
    /** Share of the training set drawn from the new data, in [0, 1]. */
    newFraction: z.number().min(0).max(1).default(0.8),
    /** Recency weighting: a row this old (in time-column units, or rows without one) weighs half as much as the newest. */
    halfLife: z.number().positive().optional(),
    /** Spread the historical share over the last `period` time units (or rows) of history. */
    coverLastSeason: z.object({ period: z.number().positive() }).strict().optional(),
    /** Cap on the total rows, keeping the fraction. */
    maxRows: z.number().int().positive().optional(),
    seed: z.number().int().default(0),
  })
  .strict();

export type TrainingSetPolicy = z.output<typeof TrainingSetPolicySchema>;
export type TrainingSetPolicyInput = z.input<typeof TrainingSetPolicySchema>;

export function parseTrainingSetPolicy(input: unknown): TrainingSetPolicy {
  return parseWith(TrainingSetPolicySchema, input, 'training-set policy');
}

export const DownsampledSides = { none: 'none', historical: 'historical', new: 'new', both: 'both' } as const;
export type Downsampled = (typeof DownsampledSides)[keyof typeof DownsampledSides];

export interface SeasonSummary {
  /** The season window (from, to] in time units (row positions in the historical frame without a time column). */
  readonly from: number;
  readonly to: number;
  /** Historical rows inside the window. */
  readonly available: number;
  /** Of those, rows in the training set. */
  readonly rows: number;
  /** False when the history is shorter than one period, so the whole history stood in for the season. */
  readonly complete: boolean;
}

export interface TrainingSetSummary {
  readonly historicalRows: number;
  readonly newRows: number;
  readonly historicalAvailable: number;
  readonly newAvailable: number;
  readonly targetNewFraction: number;
  /** The fraction achieved (it differs from the target when one side is empty or by rounding). */
  readonly newFraction: number;
  readonly downsampled: Downsampled;
  readonly season?: SeasonSummary;
  readonly halfLife?: number;
  /** Kish's effective sample size (sum w)^2 / sum w^2: the row count the weighted set is worth. */
  readonly effectiveRows: number;
}

export interface TrainingSet {
  /** Historical rows first, then new rows, each in their original order. */
  readonly frame: Frame;
  readonly weights: Float64Array;
  readonly summary: TrainingSetSummary;
}

/** How many rows to take from each side so that new rows make up `f` of the total, using all of the scarcer side. */
export function mixCounts(historical: number, fresh: number, f: number, maxRows?: number): { historical: number; fresh: number } {
  let h: number;
  let n: number;
  if (f >= 1 || historical === 0) {
    h = f >= 1 ? 0 : historical;
    n = fresh;
  } else if (f <= 0 || fresh === 0) {
    h = historical;
    n = f <= 0 ? 0 : fresh;
  } else {
    const wanted = Math.round((fresh * (1 - f)) / f);
    if (wanted <= historical) {
      h = wanted;
      n = fresh;
    } else {
      h = historical;
      n = Math.min(fresh, Math.round((historical * f) / (1 - f)));
    }
  }
  if (maxRows !== undefined && h + n > maxRows) {
    const share = h + n > 0 ? n / (h + n) : 0;
    n = Math.round(maxRows * share);
    h = maxRows - n;
  }
  return { historical: h, fresh: n };
}

/** k of 0..m-1 uniformly without replacement, in increasing order (Knuth's selection sampling, TAOCP 3.4.2 Algorithm S). */
function sampleSorted(m: number, k: number, rng: Rng, out: Int32Array, at: number, base: ArrayLike<number> | undefined): number {
  let need = k;
  for (let i = 0; i < m && need > 0; i++) {
    if (rng.next() * (m - i) < need) {
      out[at++] = base ? base[i] : i;
      need--;
    }
  }
  return at;
}

function timeOf(frame: Frame, i: number): number {
  return frame.time ? frame.time[i] : i;
}

/**
 * Historical row indices for the training set when the season must be covered: the last `period` of history
 * first (all of it if the budget allows, else one random row from each of `budget` equal strata in time
 * order, so the picks span the whole season), then random older rows with what budget remains.
 */
function seasonSample(historical: Frame, budget: number, period: number, rng: Rng): { index: Int32Array; season: SeasonSummary } {
  const n = historical.nRows;
  let last = -Infinity;
  let first = Infinity;
  for (let i = 0; i < n; i++) {
    const t = timeOf(historical, i);
    if (t > last) last = t;
    if (t < first) first = t;
  }
  // Without a time column each row is one unit, so H rows cover H units: (last - period, last] holds `period` rows.
  const from = last - period;
  const inSeason: number[] = [];
  const older: number[] = [];
  for (let i = 0; i < n; i++) (timeOf(historical, i) > from ? inSeason : older).push(i);
  const ht = historical.time;
  if (ht) inSeason.sort((a, b) => ht[a] - ht[b] || a - b);
  // Each row stands for one sampling interval (the mean spacing), so n regular rows span n intervals: 7 daily rows
  // cover a 7-day period, and without a time column n rows cover n units.
  const spacing = n > 1 ? (last - first) / (n - 1) : 1;
  const complete = last - first + spacing >= period * (1 - 1e-12);
  const s = inSeason.length;
  const picked = new Int32Array(budget);
  let at = 0;
  if (budget >= s) {
    for (const i of inSeason) picked[at++] = i;
    at = sampleSorted(older.length, budget - s, rng, picked, at, older);
  } else {
    for (let q = 0; q < budget; q++) {
      const lo = Math.floor((q * s) / budget);
      const hi = Math.floor(((q + 1) * s) / budget);
      picked[at++] = inSeason[lo + rng.nextInt(hi - lo)];
    }
  }
  picked.sort();
  return { index: picked, season: { from, to: last, available: s, rows: Math.min(budget, s), complete } };
}

/**
 * Builds the training set from historical and new frames (same columns) by the policy. Ages for recency
 * weights are measured from the newest row of either frame; without a time column the new rows are taken to
 * follow the historical ones, so a row's time is its position in historical-then-new order.
 */
export function buildTrainingSet(historical: Frame, fresh: Frame, policy: TrainingSetPolicyInput = {}): TrainingSet {
  const p = parseTrainingSetPolicy(policy);
  const diff = sameColumns(historical.schema, fresh.schema);
  if (diff) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `fresh: expected the same columns as historical, but ${diff}`);
  const H = historical.nRows;
  const N = fresh.nRows;
  const counts = mixCounts(H, N, p.newFraction, p.maxRows);
  const rng = new Rng(p.seed);
  const histRng = rng.fork();
  const newRng = rng.fork();

  // Indices into each frame, or undefined for "every row" (then the frame is used as is, without a copy).
  let histIndex: Int32Array | undefined;
  let season: SeasonSummary | undefined;
  if (p.coverLastSeason && H > 0) {
    const sampled = seasonSample(historical, counts.historical, p.coverLastSeason.period, histRng);
    season = sampled.season;
    if (counts.historical < H) histIndex = sampled.index;
  } else if (counts.historical < H) {
    histIndex = new Int32Array(counts.historical);
    sampleSorted(H, counts.historical, histRng, histIndex, 0, undefined);
  }
  let newIndex: Int32Array | undefined;
  if (counts.fresh < N) {
    newIndex = new Int32Array(counts.fresh);
    sampleSorted(N, counts.fresh, newRng, newIndex, 0, undefined);
  }
  const histPart = histIndex ? historical.take(histIndex) : historical;
  const newPart = newIndex ? fresh.take(newIndex) : fresh;
  const frame = concat([histPart, newPart]);
  const total = frame.nRows;
  const weights = new Float64Array(total).fill(1);
  if (p.halfLife !== undefined && total > 0) {
    // A row's time: its time value, or without a time column its position in historical-then-new order.
    const hn = histPart.nRows;
    const time = new Float64Array(total);
    for (let i = 0; i < hn; i++) {
      const k = histIndex ? histIndex[i] : i;
      time[i] = historical.time ? historical.time[k] : k;
    }
    for (let i = 0; i < newPart.nRows; i++) {
      const k = newIndex ? newIndex[i] : i;
      time[hn + i] = fresh.time ? fresh.time[k] : H + k;
    }
    // Ages run from the newest row available, not the newest sampled, so they do not depend on the draw.
    let latest = H + N - 1;
    if (historical.time && fresh.time) {
      latest = -Infinity;
      for (let i = 0; i < H; i++) if (historical.time[i] > latest) latest = historical.time[i];
      for (let i = 0; i < N; i++) if (fresh.time[i] > latest) latest = fresh.time[i];
    }
    const h = p.halfLife;
    for (let i = 0; i < total; i++) weights[i] = Math.pow(0.5, (latest - time[i]) / h);
  }
  let sw = 0;
  let sw2 = 0;
  for (let i = 0; i < total; i++) {
    sw += weights[i];
    sw2 += weights[i] * weights[i];
  }
  const histDown = counts.historical < H;
  const newDown = counts.fresh < N;
  return {
    frame,
    weights,
    summary: {
      historicalRows: histPart.nRows,
      newRows: newPart.nRows,
      historicalAvailable: H,
      newAvailable: N,
      targetNewFraction: p.newFraction,
      newFraction: total > 0 ? newPart.nRows / total : 0,
      downsampled: histDown && newDown ? DownsampledSides.both : histDown ? DownsampledSides.historical : newDown ? DownsampledSides.new : DownsampledSides.none,
      ...(season ? { season } : {}),
      ...(p.halfLife !== undefined ? { halfLife: p.halfLife } : {}),
      effectiveRows: sw2 > 0 ? (sw * sw) / sw2 : 0,
    },
  };
}
