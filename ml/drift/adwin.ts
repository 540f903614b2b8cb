/**
 * ADWIN (ADaptive WINdowing; Bifet and Gavaldà, "Learning from time-changing data with adaptive windowing",
 * SDM 2007), in its ADWIN2 form: the window is kept as an exponential histogram (at most `maxBuckets` buckets
 * of each size 1, 2, 4, …, each holding a sum and a variance), so memory and time per check are O(log W).
 * Every `clock` observations it tries each bucket boundary as a split into an older and a newer sub-window and
 * drops the oldest buckets while the two means differ by more than Bernstein's bound
 *   ε = sqrt(2 m σ² δ') + (2/3) m δ',  m = 1/(n₀ − L + 1) + 1/(n₁ − L + 1),  δ' = ln(2 ln W / δ),
 * with σ² the window's variance and L the minimum sub-window length (the bound used by the authors' MOA code).
 * It needs no warning level and adapts its window to the rate of change; it detects rises and falls alike.
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import { checkObservation, DetectorKinds, integerAtLeast, NO_DRIFT, stateNumber, type DriftSignal, type StreamingDetector } from './detector';

export interface AdwinOptions {
  /** Confidence: a smaller delta means fewer false alarms and later detection. Default 0.002. */
  readonly delta?: number;
  /** Check for a cut every `clock` observations. Default 32. */
  readonly clock?: number;
  /** Buckets of each size before two merge (M in the paper). Default 5. */
  readonly maxBuckets?: number;
  /** Smallest sub-window on either side of a cut. Default 5. */
  readonly minWindowLength?: number;
}

export interface AdwinState {
  readonly kind: typeof DetectorKinds.adwin;
  readonly options: Required<AdwinOptions>;
  /** rows[i] holds buckets of 2^i observations, oldest first, as [sum, sum of squared deviations] pairs. */
  readonly rows: number[][][];
  readonly width: number;
  readonly total: number;
  readonly variance: number;
  readonly ticks: number;
  readonly detections: number;
}

export class Adwin implements StreamingDetector<AdwinState> {
  readonly kind = DetectorKinds.adwin;
  private readonly options: Required<AdwinOptions>;
  // rows[i]: sums and variances (sums of squared deviations) of buckets of 2^i items, oldest first. Every bucket
  // in row i+1 is older than every bucket in row i.
  private sums: number[][] = [];
  private vars: number[][] = [];
  private widthValue = 0;
  private totalValue = 0;
  private varianceValue = 0;
  private ticks = 0;
  private detectionCount = 0;

  constructor(options: AdwinOptions = {}) {
    const delta = options.delta ?? 0.002;
    if (!(delta > 0 && delta < 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `options.delta: expected a number in (0, 1), got ${delta}`);
    this.options = {
      delta,
      clock: integerAtLeast('options.clock', options.clock ?? 32, 1),
      maxBuckets: integerAtLeast('options.maxBuckets', options.maxBuckets ?? 5, 2),
      minWindowLength: integerAtLeast('options.minWindowLength', options.minWindowLength ?? 5, 1),
    };
  }

  /** Observations in the current window. */
  get width(): number {
    return this.widthValue;
  }

  /** Mean of the current window (NaN when empty). */
  get mean(): number {
    return this.widthValue > 0 ? this.totalValue / this.widthValue : NaN;
  }

  /** Drifts detected since construction or the last reset. */
  get detections(): number {
    return this.detectionCount;
  }

  update(x: number): DriftSignal {
    checkObservation(x);
    this.insert(x);
    this.ticks++;
    if (this.ticks % this.options.clock !== 0 || this.widthValue <= this.options.minWindowLength) return NO_DRIFT;
    const drift = this.shrink();
    if (drift) this.detectionCount++;
    return drift ? { drift: true } : NO_DRIFT;
  }

  reset(): void {
    this.sums = [];
    this.vars = [];
    this.widthValue = 0;
    this.totalValue = 0;
    this.varianceValue = 0;
    this.ticks = 0;
    this.detectionCount = 0;
  }

  toJSON(): AdwinState {
    return {
      kind: this.kind,
      options: { ...this.options },
      rows: this.sums.map((row, i) => row.map((s, k) => [s, this.vars[i][k]])),
      width: this.widthValue,
      total: this.totalValue,
      variance: this.varianceValue,
      ticks: this.ticks,
      detections: this.detectionCount,
    };
  }

  static fromJSON(state: AdwinState): Adwin {
    const a = new Adwin(state.options);
    if (!Array.isArray(state.rows)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, 'state.rows: expected an array of bucket rows');
    a.sums = state.rows.map((row, i) => {
      if (!Array.isArray(row)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `state.rows[${i}]: expected an array of [sum, variance] pairs`);
      return row.map((b) => b[0]);
    });
    a.vars = state.rows.map((row) => row.map((b) => b[1]));
    a.widthValue = stateNumber(state, 'width');
    a.totalValue = stateNumber(state, 'total');
    a.varianceValue = stateNumber(state, 'variance');
    a.ticks = stateNumber(state, 'ticks');
    a.detectionCount = stateNumber(state, 'detections');
    return a;
  }

  private insert(x: number): void {
    const w = ++this.widthValue;
    if (w > 1) {
      // Welford's update of the window's sum of squared deviations.
      const d = x - this.totalValue / (w - 1);
      this.varianceValue += ((w - 1) * d * d) / w;
    }
    this.totalValue += x;
    if (this.sums.length === 0) {
      this.sums.push([]);
      this.vars.push([]);
    }
    this.sums[0].push(x);
    this.vars[0].push(0);
    this.compress();
  }

  /** Merges the two oldest buckets of any row that has grown past maxBuckets into one bucket of the next size. */
  private compress(): void {
    const max = this.options.maxBuckets;
    for (let i = 0; i < this.sums.length; i++) {
      const sums = this.sums[i];
      if (sums.length <= max) break;
      const vars = this.vars[i];
      const n = 2 ** i;
      const s1 = sums.shift()!;
      const s2 = sums.shift()!;
      const v1 = vars.shift()!;
      const v2 = vars.shift()!;
      const d = s1 / n - s2 / n;
      if (i + 1 === this.sums.length) {
        this.sums.push([]);
        this.vars.push([]);
      }
      this.sums[i + 1].push(s1 + s2);
      this.vars[i + 1].push(v1 + v2 + (n * n * d * d) / (2 * n));
    }
  }

  /** Drops the oldest bucket. */
  private dropOldest(): void {
    const i = this.sums.length - 1;
    const n1 = 2 ** i;
    const s = this.sums[i].shift()!;
    const v = this.vars[i].shift()!;
    this.widthValue -= n1;
    this.totalValue -= s;
    const w = this.widthValue;
    if (w > 0) {
      const d = s / n1 - this.totalValue / w;
      this.varianceValue -= v + (n1 * w * d * d) / (n1 + w);
      if (this.varianceValue < 0) this.varianceValue = 0;
    } else {
      this.totalValue = 0;
      this.varianceValue = 0;
    }
    if (this.sums[i].length === 0) {
      this.sums.pop();
      this.vars.pop();
    }
  }

  /** Drops old buckets while some split of the window shows two different means; true if anything was dropped. */
  private shrink(): boolean {
    const { delta, minWindowLength: minLen } = this.options;
    let changed = false;
    let cut = true;
    while (cut && this.widthValue > minLen) {
      cut = false;
      const w = this.widthValue;
      const dd = Math.log((2 * Math.log(w)) / delta);
      const v = this.varianceValue / w;
      let n0 = 0;
      let n1 = w;
      let u0 = 0;
      let u1 = this.totalValue;
      scan: for (let i = this.sums.length - 1; i >= 0; i--) {
        const row = this.sums[i];
        const size = 2 ** i;
        for (let k = 0; k < row.length; k++) {
          n0 += size;
          n1 -= size;
          u0 += row[k];
          u1 -= row[k];
          if (n1 <= 0) break scan;
          if (n0 < minLen || n1 < minLen) continue;
          const m = 1 / (n0 - minLen + 1) + 1 / (n1 - minLen + 1);
          const eps = Math.sqrt(2 * m * v * dd) + (2 / 3) * dd * m;
          if (Math.abs(u0 / n0 - u1 / n1) > eps) {
            cut = true;
            break scan;
          }
        }
      }
      if (cut) {
        this.dropOldest();
        changed = true;
      }
    }
    return changed;
  }
}
