/**
 * Time windows over a frame: one window by bounds, the most recent rows or time span, and sliding or
 * tumbling iterators, each measured in rows or in the time column's units. A frame without a time column
 * uses the row index as its time, so "by time" and "by rows" agree there. Windows over a frame whose time
 * is nondecreasing are zero-copy slices found by binary search.
 */
import { MlErrorCodes, MlRangeError } from '../errors';
import type { Frame } from './frame';

export const WindowUnits = { rows: 'rows', time: 'time' } as const;
export type WindowUnit = (typeof WindowUnits)[keyof typeof WindowUnits];

export interface WindowBounds {
  /** Inclusive lower bound; the start of the data when absent. */
  readonly from?: number;
  /** Exclusive upper bound; the end of the data when absent. */
  readonly to?: number;
  /** `time` (the default) uses the time column, or the row index when there is none. */
  readonly by?: WindowUnit;
}

export interface WindowSpec {
  /** Window length, in rows or time units. */
  readonly size: number;
  /** Distance between window starts (sliding only); `size` makes the windows tumble. */
  readonly step?: number;
  /** `time` (the default) uses the time column, or the row index when there is none. */
  readonly by?: WindowUnit;
  /** Where the first window starts (time windows only): the first row's time by default. Align weekly windows to a Monday with it. */
  readonly origin?: number;
  /** Whether to yield a window that reaches past the end of the data. */
  readonly includePartial?: boolean;
}

export interface Window {
  /** 0, 1, 2, … in iteration order. */
  readonly index: number;
  /** Bounds [from, to) in the spec's unit. */
  readonly from: number;
  readonly to: number;
  /** The window reaches past the end of the data, so it holds less than a full window's span. */
  readonly partial: boolean;
  readonly frame: Frame;
}

const sortedCache = new WeakMap<Float64Array, boolean>();

/** Whether the time column is nondecreasing (and has no NaN), computed once per column. */
export function isTimeSorted(frame: Frame): boolean {
  const t = frame.time;
  if (!t) return true;
  let sorted = sortedCache.get(t);
  if (sorted === undefined) {
    sorted = true;
    if (t.length > 0 && t[0] !== t[0]) sorted = false;
    for (let i = 1; i < t.length && sorted; i++) if (!(t[i] >= t[i - 1])) sorted = false;
    sortedCache.set(t, sorted);
  }
  return sorted;
}

function unitOf(by: WindowUnit | undefined, what: string): WindowUnit {
  const unit = by ?? WindowUnits.time;
  if (unit !== WindowUnits.rows && unit !== WindowUnits.time) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${what}.by: expected "rows" | "time", got ${JSON.stringify(unit)}`);
  }
  return unit;
}

/** First row index whose time is >= x, in a nondecreasing time column. */
function lowerBound(t: Float64Array, x: number): number {
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkNumber(value: number | undefined, what: string): void {
  if (value !== undefined && (typeof value !== 'number' || Number.isNaN(value))) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `${what}: expected a number, got ${String(value)}`);
  }
}

/** Rows with from <= time < to (or row index in [from, to) with `by: 'rows'`), in row order. */
export function window(frame: Frame, bounds: WindowBounds): Frame {
  checkNumber(bounds.from, 'bounds.from');
  checkNumber(bounds.to, 'bounds.to');
  const from = bounds.from ?? -Infinity;
  const to = bounds.to ?? Infinity;
  const unit = unitOf(bounds.by, 'bounds');
  const t = frame.time;
  if (unit === WindowUnits.rows || !t) {
    const start = Math.min(frame.nRows, Math.max(0, Math.ceil(from)));
    const end = Math.max(start, Math.min(frame.nRows, Math.ceil(to)));
    return frame.slice(start, end);
  }
  if (isTimeSorted(frame)) {
    const start = lowerBound(t, from);
    return frame.slice(start, Math.max(start, lowerBound(t, to)));
  }
  const picked: number[] = [];
  for (let i = 0; i < t.length; i++) if (t[i] >= from && t[i] < to) picked.push(i);
  return frame.take(picked);
}

/** The last n rows (all of them when the frame is shorter). */
export function lastN(frame: Frame, n: number): Frame {
  if (!(Number.isInteger(n) && n >= 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `n: expected a non-negative integer, got ${n}`);
  return frame.slice(Math.max(0, frame.nRows - n));
}

/** Rows whose time lies within `span` of the latest time: latest - span < time <= latest. */
export function lastSpan(frame: Frame, span: number): Frame {
  if (!(span >= 0)) throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `span: expected a non-negative number, got ${span}`);
  if (frame.nRows === 0) return frame;
  const t = frame.time;
  if (!t) return lastN(frame, Math.min(frame.nRows, Math.ceil(span)));
  let latest = -Infinity;
  for (let i = 0; i < t.length; i++) if (t[i] > latest) latest = t[i];
  const cut = latest - span;
  if (isTimeSorted(frame)) {
    // First index with t > cut.
    let lo = 0;
    let hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t[mid] <= cut) lo = mid + 1;
      else hi = mid;
    }
    return frame.slice(lo);
  }
  const picked: number[] = [];
  for (let i = 0; i < t.length; i++) if (t[i] > cut) picked.push(i);
  return frame.take(picked);
}

function checkSpec(spec: WindowSpec): { size: number; step: number; unit: WindowUnit } {
  const { size } = spec;
  const step = spec.step ?? size;
  if (!(typeof size === 'number' && size > 0 && Number.isFinite(size))) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `spec.size: expected a positive number, got ${String(size)}`);
  if (!(typeof step === 'number' && step > 0 && Number.isFinite(step))) throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `spec.step: expected a positive number, got ${String(step)}`);
  const unit = unitOf(spec.by, 'spec');
  if (unit === WindowUnits.rows && (!Number.isInteger(size) || !Number.isInteger(step))) {
    throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `spec: row windows need integer size and step, got size ${size}, step ${step}`);
  }
  checkNumber(spec.origin, 'spec.origin');
  return { size, step, unit };
}

function* iterate(
  frame: Frame,
  spec: WindowSpec,
  { size, step, unit }: { size: number; step: number; unit: WindowUnit },
  includePartial: boolean,
  kind: 'sliding' | 'tumbling',
): Generator<Window> {
  const n = frame.nRows;
  if (n === 0) return;
  const t = frame.time;
  if (unit === WindowUnits.rows || !t) {
    // The row index is the time: windows start at the origin (0 by default).
    const origin = spec.origin === undefined ? 0 : Math.ceil(spec.origin);
    let index = 0;
    for (let from = origin; from < n; from += step) {
      const to = from + size;
      const partial = to > n;
      if (partial && !includePartial) break;
      yield { index: index++, from, to, partial, frame: frame.slice(Math.max(0, from), Math.min(n, Math.max(0, to))) };
    }
    return;
  }
  if (!isTimeSorted(frame)) {
    throw new MlRangeError(MlErrorCodes.INPUT_INVALID, `frame.time: ${kind} time windows need a nondecreasing time column without missing values; use window() for an unordered frame`);
  }
  const first = t[0];
  const last = t[n - 1];
  let index = 0;
  const origin = spec.origin ?? first;
  // Skip straight to the first window that can reach the data, in case the origin lies far before it.
  let k = Math.max(0, Math.floor((first - origin - size) / step));
  for (;;) {
    // Multiplying from the origin rather than adding step repeatedly keeps fractional steps from accumulating error.
    const from = origin + k * step;
    if (from > last) break;
    const to = from + size;
    k++;
    if (to <= first) continue;
    // The last row's time itself still falls inside [from, to) when to > last, but more rows may yet arrive there.
    const partial = to > last;
    if (partial && !includePartial) break;
    const start = lowerBound(t, from);
    const end = lowerBound(t, to);
    yield { index: index++, from, to, partial, frame: frame.slice(start, end) };
  }
}

/**
 * Overlapping windows of `size`, starting every `step` (size by default). Windows that reach past the end of
 * the data are skipped unless `includePartial`, so that every sliding window covers the same span.
 * Empty time windows (a gap in the data) are yielded, since "no data" is itself a signal.
 */
export function sliding(frame: Frame, spec: WindowSpec): Generator<Window> {
  // Checked here, not inside the generator, so bad input fails at the call rather than at the first iteration.
  return iterate(frame, spec, checkSpec(spec), spec.includePartial ?? false, 'sliding');
}

/**
 * Consecutive non-overlapping windows of `size`. The last, partial window is yielded unless
 * `includePartial: false`, because tumbling windows partition the data and the newest rows matter most.
 */
export function tumbling(frame: Frame, spec: Omit<WindowSpec, 'step'>): Generator<Window> {
  const step = (spec as WindowSpec).step;
  if (step !== undefined && step !== spec.size) {
    throw new MlRangeError(MlErrorCodes.PARAM_INVALID, `spec.step: tumbling windows step by their size (${spec.size}), got ${step}; use sliding for overlapping windows`);
  }
  const tumble = { ...spec, step: spec.size };
  return iterate(frame, tumble, checkSpec(tumble), spec.includePartial ?? true, 'tumbling');
}
