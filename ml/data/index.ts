/**
 * The data layer of ml/: schemas, columnar frames, CSV loading, time windows, the training-set policy and
 * synthetic drift streams. Import from here rather than from the individual files.
 */
export { CsvError, InputError, type InputIssue } from './errors';
export {
  DataSchemaSchema,
  FeatureSpecSchema,
  FeatureTypes,
  parseDataSchema,
  sameColumns,
  type DataSchema,
  type FeatureSpec,
  type FeatureType,
} from './schema';
export {
  Frame,
  concat,
  frameFromArrays,
  toFeatureMatrix,
  type CategoricalColumn,
  type Column,
  type ColumnInput,
  type FrameParts,
  type NumericColumn,
} from './frame';
export {
  DEFAULT_MISSING,
  InferOptionsSchema,
  inferCsvSchema,
  inferCsvSchemaFromText,
  loadCsv,
  parseCsvText,
  type CsvOptions,
  type InferOptions,
} from './csv';
export {
  WindowUnits,
  isTimeSorted,
  lastN,
  lastSpan,
  sliding,
  tumbling,
  window,
  type Window,
  type WindowBounds,
  type WindowSpec,
  type WindowUnit,
} from './windows';
export {
  DownsampledSides,
  type Downsampled,
  TrainingSetPolicySchema,
  buildTrainingSet,
  mixCounts,
  parseTrainingSetPolicy,
  type SeasonSummary,
  type TrainingSet,
  type TrainingSetPolicy,
  type TrainingSetPolicyInput,
  type TrainingSetSummary,
} from './training-set';
export {
  DriftModes,
  DriftSchema,
  GradualShapes,
  HyperplaneOptionsSchema,
  SEA_THETAS,
  SeaOptionsSchema,
  hyperplaneStream,
  seaStream,
  type Drift,
  type DriftInput,
  type DriftMode,
  type GradualShape,
  type HyperplaneOptions,
  type HyperplaneStream,
  type SeaOptions,
  type SyntheticStream,
} from './synthetic';
