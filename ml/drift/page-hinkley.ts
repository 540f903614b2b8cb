/**
 * The Page-Hinkley test (Page, "Continuous inspection schemes", Biometrika 1954; in the form used for stream
 * mining by Gama et al.), a sequential test for a change in the mean. For a rise it accumulates
 *   m_T = α · m_{T−1} + (x_T − x̄_T − δ)
 * (x̄_T the running mean, δ the magnitude of change that is tolerated, α ≤ 1 a forgetting factor that lets old
 * deviations fade) and signals drift when m_T − min_t m_t > λ. Falls use the mirror image. After a drift the
 * test starts afresh. On an error stream only rises matter, hence the default `direction: 'up'`.
 */
import { MlErrorCodes, MlRangeError } from '../errors';
import { checkObservation, DetectorKinds, integerAtLeast, NO_DRIFT, positive, stateNumber, type DriftSignal, type StreamingDetector } from './detector';

export const ChangeDirections = { up: 'up', down: 'down', both: 'both' } as const;
export type ChangeDirection = (typeof ChangeDirections)[keyof typeof ChangeDirections];

export interface PageHinkleyOptions {
  /** Tolerated change in the mean (δ). Default 0.005. */
  readonly delta?: number;
  /** Detection threshold (λ). Default 50. */
  readonly lambda?: number;
  /** Forgetting factor (α) in (0, 1]. Default 0.9999. */
  readonly alpha?: number;
  /** Observations before any signal. Default 30. */
  readonly minInstances?: number;
  /** Which changes to detect. Default 'up'. */
  readonly direction?: ChangeDirection;
}

export interface PageHinkleyState {
  readonly kind: typeof DetectorKinds.pageHinkley;
  readonly options: Required<PageHinkleyOptions>;
  readonly n: number;
  readonly mean: number;
  readonly sumUp: number;
  readonly minUp: number;
  readonly sumDown: number;
  readonly minDown: number;
  readonly detections: number;
}

export class PageHinkley implements StreamingDetector<PageHinkleyState> {
  readonly kind = DetectorKinds.pageHinkley;
  private readonly options: Required<PageHinkleyOptions>;
  private n = 0;
  private meanValue = 0;
  private sumUp = 0;
  private minUp = 0;
  private sumDown = 0;
  private minDown = 0;
  private detectionCount = 0;

  constructor(options: PageHinkleyOptions = {}) {
    const delta = options.delta ?? 0.005;
    if (!(delta >= 0 && Number.isFinite(delta))) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `options.delta: expected a non-negative number, got ${delta}`);
    const alpha = options.alpha ?? 0.9999;
    if (!(alpha > 0 && alpha <= 1)) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `options.alpha: expected a number in (0, 1], got ${alpha}`);
    const direction = options.direction ?? ChangeDirections.up;
    if (!Object.values(ChangeDirections).includes(direction)) {
      throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `options.direction: expected "up" | "down" | "both", got ${JSON.stringify(direction)}`);
    }
    this.options = {
      delta,
      lambda: positive('options.lambda', options.lambda ?? 50),
      alpha,
      minInstances: integerAtLeast('options.minInstances', options.minInstances ?? 30, 1),
      direction,
    };
  }

  get mean(): number {
    return this.n > 0 ? this.meanValue : NaN;
  }

  get detections(): number {
    return this.detectionCount;
  }

  update(x: number): DriftSignal {
    checkObservation(x);
    const { alpha, delta, lambda, direction } = this.options;
    this.n++;
    this.meanValue += (x - this.meanValue) / this.n;
    this.sumUp = alpha * this.sumUp + (x - this.meanValue - delta);
    if (this.sumUp < this.minUp) this.minUp = this.sumUp;
    this.sumDown = alpha * this.sumDown + (this.meanValue - x - delta);
    if (this.sumDown < this.minDown) this.minDown = this.sumDown;
    if (this.n < this.options.minInstances) return NO_DRIFT;
    const up = direction !== ChangeDirections.down && this.sumUp - this.minUp > lambda;
    const down = direction !== ChangeDirections.up && this.sumDown - this.minDown > lambda;
    if (!up && !down) return NO_DRIFT;
    const detections = this.detectionCount + 1;
    this.reset();
    this.detectionCount = detections;
    return { drift: true };
  }

  reset(): void {
    this.n = 0;
    this.meanValue = 0;
    this.sumUp = 0;
    this.minUp = 0;
    this.sumDown = 0;
    this.minDown = 0;
    this.detectionCount = 0;
  }

  toJSON(): PageHinkleyState {
    return {
      kind: this.kind,
      options: { ...this.options },
      n: this.n,
      mean: this.meanValue,
      sumUp: this.sumUp,
      minUp: this.minUp,
      sumDown: this.sumDown,
      minDown: this.minDown,
      detections: this.detectionCount,
    };
  }

  static fromJSON(state: PageHinkleyState): PageHinkley {
    const d = new PageHinkley(state.options);
    d.n = stateNumber(state, 'n');
    d.meanValue = stateNumber(state, 'mean');
    d.sumUp = stateNumber(state, 'sumUp');
    d.minUp = stateNumber(state, 'minUp');
    d.sumDown = stateNumber(state, 'sumDown');
    d.minDown = stateNumber(state, 'minDown');
    d.detectionCount = stateNumber(state, 'detections');
    return d;
  }
}
