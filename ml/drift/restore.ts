/**
 * Rebuilds a streaming detector from its persisted JSON state. Kept apart from the interface module so that the
 * detectors, which import the interface, and this dispatcher, which imports the detectors, form no cycle.
 */
import { MlErrorCodes, MlTypeError } from '../errors';
import { Adwin, type AdwinState } from './adwin';
import { Ddm, type DdmState } from './ddm';
import { DetectorKinds, type DetectorState, type StreamingDetector } from './detector';
import { PageHinkley, type PageHinkleyState } from './page-hinkley';

/** A detector continuing from a state produced by `toJSON()` (after a JSON round trip, say). */
export function restoreDetector(state: DetectorState): StreamingDetector {
  const kind = (state as { kind?: unknown } | null)?.kind;
  switch (kind) {
    case DetectorKinds.adwin:
      return Adwin.fromJSON(state as AdwinState);
    case DetectorKinds.ddm:
      return Ddm.fromJSON(state as DdmState);
    case DetectorKinds.pageHinkley:
      return PageHinkley.fromJSON(state as PageHinkleyState);
    default:
      throw new MlTypeError(MlErrorCodes.INPUT_INVALID, `state.kind: expected one of "adwin" | "ddm" | "page_hinkley", got ${JSON.stringify(kind)}`);
  }
}
