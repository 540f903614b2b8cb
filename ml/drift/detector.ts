/**
 * The one interface of the streaming drift detectors (ADWIN, DDM, Page-Hinkley): feed one observation at a time
 * (typically 1 when the model erred and 0 when it was right), get back whether drift (or a warning) fired.
 * A monitor outlives any process, so every detector's whole state is a plain JSON value: `toJSON()` it, store
 * it, and `restoreDetector()` (./restore) it later to continue exactly where it stopped.
 */
import { MlErrorCodes, MlRangeError, MlTypeError } from '../errors';
import type { AdwinState } from './adwin';
import type { DdmState } from './ddm';
import type { PageHinkleyState } from './page-hinkley';

export const DetectorKinds = { adwin: 'adwin', ddm: 'ddm', pageHinkley: 'page_hinkley' } as const;
export type DetectorKind = (typeof DetectorKinds)[keyof typeof DetectorKinds];

export interface DriftSignal {
  /** A change was detected at this observation; the detector has already adapted (shrunk or reset). */
  readonly drift: boolean;
  /** DDM only: the error rate is unusually high but not yet out of control. */
  readonly warning?: boolean;
}

export interface StreamingDetector<S extends DetectorState = DetectorState> {
  readonly kind: DetectorKind;
  update(x: number): DriftSignal;
  /** Forgets everything seen, keeping the options. */
  reset(): void;
  /** The complete state, JSON-safe (no Infinity, NaN or typed arrays). */
  toJSON(): S;
}

export type DetectorState = AdwinState | DdmState | PageHinkleyState;

export const NO_DRIFT: DriftSignal = Object.freeze({ drift: false });

export function checkObservation(x: number): void {
  if (!Number.isFinite(x)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `x: expected a finite number, got ${x}`);
}

/** Reads a numeric field of a persisted state, failing with the field's name when it is missing or not finite. */
export function stateNumber(state: object, field: string): number {
  const v = (state as Record<string, unknown>)[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `state.${field}: expected a finite number, got ${JSON.stringify(v)}`);
  return v;
}

export function positive(name: string, v: number): number {
  if (!(v > 0 && Number.isFinite(v))) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected a positive number, got ${v}`);
  return v;
}

export function integerAtLeast(name: string, v: number, min: number): number {
  if (!(Number.isInteger(v) && v >= min)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${name}: expected an integer >= ${min}, got ${v}`);
  return v;
}
