/**
 * DDM, the Drift Detection Method (Gama, Medas, Castillo and Rodrigues, "Learning with drift detection",
 * SBIA 2004), on a stream of 0/1 errors. It tracks the running error rate p and its binomial standard error
 * s = sqrt(p(1 − p)/n), remembers the point where p + s was lowest (p_min, s_min), and signals a warning when
 * p + s ≥ p_min + 2·s_min and drift when p + s ≥ p_min + 3·s_min, after which it starts afresh.
 *
 * One deliberate departure from the paper: the minimum is recorded only while 0 < p < 1. At p = 0 (say, 30
 * error-free predictions from a good model) s is 0 too, the drift level collapses to 0, and the next single
 * error would be called drift; a degenerate standard error is not evidence of a stable minimum.
 */
import { MlErrorCodes, MlRangeError } from '../errors';
import { checkObservation, DetectorKinds, integerAtLeast, NO_DRIFT, positive, stateNumber, type DriftSignal, type StreamingDetector } from './detector';

export interface DdmOptions {
  /** Observations before any signal (the normal approximation needs a few). Default 30. */
  readonly minInstances?: number;
  /** Warning at p_min + warningLevel · s_min. Default 2. */
  readonly warningLevel?: number;
  /** Drift at p_min + driftLevel · s_min. Default 3. */
  readonly driftLevel?: number;
}

export interface DdmState {
  readonly kind: typeof DetectorKinds.ddm;
  readonly options: Required<DdmOptions>;
  readonly n: number;
  readonly p: number;
  /** null until a minimum has been recorded. */
  readonly pMin: number | null;
  readonly sMin: number | null;
  readonly detections: number;
}

export class Ddm implements StreamingDetector<DdmState> {
  readonly kind = DetectorKinds.ddm;
  private readonly options: Required<DdmOptions>;
  private n = 0;
  private p = 0;
  private pMin = Infinity;
  private sMin = Infinity;
  private detectionCount = 0;

  constructor(options: DdmOptions = {}) {
    const warningLevel = positive('options.warningLevel', options.warningLevel ?? 2);
    const driftLevel = positive('options.driftLevel', options.driftLevel ?? 3);
    if (driftLevel < warningLevel) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `options.driftLevel: expected a number >= warningLevel (${warningLevel}), got ${driftLevel}`);
    this.options = { minInstances: integerAtLeast('options.minInstances', options.minInstances ?? 30, 1), warningLevel, driftLevel };
  }

  /** Running error rate since the last drift or reset. */
  get errorRate(): number {
    return this.n > 0 ? this.p : NaN;
  }

  get detections(): number {
    return this.detectionCount;
  }

  /** `x` is 1 for an error and 0 for a correct prediction. */
  update(x: number): DriftSignal {
    checkObservation(x);
    if (x !== 0 && x !== 1) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `x: expected 0 (correct) or 1 (error), got ${x}`);
    this.n++;
    this.p += (x - this.p) / this.n;
    if (this.n < this.options.minInstances) return NO_DRIFT;
    const s = Math.sqrt((this.p * (1 - this.p)) / this.n);
    const level = this.p + s;
    if (this.p > 0 && this.p < 1 && level <= this.pMin + this.sMin) {
      this.pMin = this.p;
      this.sMin = s;
    }
    if (level >= this.pMin + this.options.driftLevel * this.sMin) {
      const detections = this.detectionCount + 1;
      this.reset();
      this.detectionCount = detections;
      return { drift: true, warning: false };
    }
    return { drift: false, warning: level >= this.pMin + this.options.warningLevel * this.sMin };
  }

  reset(): void {
    this.n = 0;
    this.p = 0;
    this.pMin = Infinity;
    this.sMin = Infinity;
    this.detectionCount = 0;
  }

  toJSON(): DdmState {
    const known = Number.isFinite(this.pMin);
    return {
      kind: this.kind,
      options: { ...this.options },
      n: this.n,
      p: this.p,
      pMin: known ? this.pMin : null,
      sMin: known ? this.sMin : null,
      detections: this.detectionCount,
    };
  }

  static fromJSON(state: DdmState): Ddm {
    const d = new Ddm(state.options);
    d.n = stateNumber(state, 'n');
    d.p = stateNumber(state, 'p');
    if (state.pMin !== null) {
      d.pMin = stateNumber(state, 'pMin');
      d.sMin = stateNumber(state, 'sMin');
    }
    d.detectionCount = stateNumber(state, 'detections');
    return d;
  }
}
