/**
 * Drift detection: batch comparisons of a current sample with a reference (PSI, chi-square, Jensen-Shannon,
 * Wasserstein-1, and the per-feature report that combines them with the KS test), and streaming detectors
 * (ADWIN, DDM, Page-Hinkley) for a monitor that sees one outcome at a time.
 */
export { psi, psiDetail, categoricalPsi, psiFromCounts, type PsiOptions, type PsiDetail } from './psi';
export { chiSquareTest, type ChiSquareOptions, type ChiSquareResult } from './chi-square';
export { jensenShannonDistance, jensenShannonFromCounts, DistributionKinds, type DistributionKind, type JensenShannonOptions } from './jensen-shannon';
export { wasserstein1 } from './wasserstein';
export { quantileEdges, binCounts, type CategoricalSample } from './histogram';
export { restoreDetector } from './restore';
export {
  DetectorKinds,
  type DetectorKind,
  type DetectorState,
  type DriftSignal,
  type StreamingDetector,
} from './detector';
export { Adwin, type AdwinOptions, type AdwinState } from './adwin';
export { Ddm, type DdmOptions, type DdmState } from './ddm';
export { PageHinkley, ChangeDirections, type ChangeDirection, type PageHinkleyOptions, type PageHinkleyState } from './page-hinkley';
export {
  driftReport,
  DriftReasons,
  DriftRegimes,
  DriftTests,
  type DriftData,
  type DriftReason,
  type DriftRegime,
  type DriftReport,
  type DriftReportOptions,
  type DriftRule,
  type DriftTest,
  type FeatureDrift,
  type FrameLike,
  type MissingDrift,
  type UnseenCategories,
} from './report';
