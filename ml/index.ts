/**
 * The public entry of ml/: everything the rest of Retrain (activities, storage, serving, reports, scripts) may
 * use, and nothing internal. Helpers that only ml/'s own modules share (trainer parameter parsing and fit-input
 * checks, the resampling machinery behind the bootstrap, metric preparation) stay out, so they can change
 * without breaking callers. Import from here, not from the files.
 */

// Errors: stable codes for bad input, so callers can tell it from faults without reading messages.
export {
  MlErrorCodes,
  MlInputError,
  MlRangeError,
  MlTypeError,
  isMlInputError,
  mlErrorCode,
  type ErrorLocation,
  type MlErrorCode,
} from './errors';

// Data: schemas, frames, CSV and Parquet, windows, the training-set policy, synthetic streams.
export * from './data';
export { loadCsvFrom, inferCsvSchemaFrom, type CsvSource } from './data/csv';
export {
  PARQUET_METADATA_KEY,
  ParquetLabelEncodings,
  readParquet,
  writeParquet,
  type ParquetLabelEncoding,
  type WriteParquetOptions,
} from './data/parquet';
export * from './data/validation';

// Models: the name-aware wrapper most callers want, and the trainers under it.
export {
  Encodings,
  LIBRARY_VERSION,
  MODEL_FORMAT_VERSION,
  SerializedTrainedModelSchema,
  TrainedModel,
  TrainerConfigSchema,
  fitModel,
  trainerFromConfig,
  trainingInput,
  wrapModel,
  type AnyTrainer,
  type Encoding,
  type ModelFeature,
  type ModelLabel,
  type ModelMetadata,
  type Prediction,
  type SerializedTrainedModel,
  type TrainedModelParts,
  type TrainerConfig,
  type TrainerConfigInput,
  type TrainingInput,
} from './model';
export {
  EarlyStoppingModes,
  GbdtModel,
  GradientBoostingTrainer,
  LogisticModel,
  LogisticRegressionTrainer,
  LogisticSolvers,
  ModelKinds,
  deserializeModel,
  gbdtParamsSchema,
  gradientBoosting,
  logisticParamsSchema,
  logisticRegression,
  type EarlyStopping,
  type FitOptions,
  type FitProgress,
  type GbdtFitInfo,
  type GbdtParams,
  type GbdtParamsInput,
  type LogisticFitInfo,
  type LogisticParams,
  type LogisticParamsInput,
  type LogisticSolver,
  type Model,
  type ModelKind,
  type SerializedModel,
  type Trainer,
  type Tree,
} from './trainers';
export { FitAbortedError, fitInThread, type ThreadFitOptions, type ThreadProgress, type TrainerSpec } from './trainers/thread';
export { featureMatrix, takeRows, type FeatureMatrix, type Labels } from './types';
export { Rng } from './random';

// Evaluation: metrics, fairness and the promotion policy.
export {
  Metrics,
  MetricNames,
  accuracy,
  brierScore,
  computeMetric,
  computeMetrics,
  expectedCalibrationError,
  f1,
  isMetricName,
  logLoss,
  metricsBySlice,
  precision,
  recall,
  rocAuc,
  type MetricName,
  type MetricOptions,
  type SliceMetrics,
} from './metrics';
export * from './fairness';
export * from './policy';

// Statistics and drift.
export {
  BootstrapStrategies,
  KsAlternatives,
  KsMethods,
  McnemarAlternatives,
  benjaminiHochberg,
  binomialCdf,
  binomialSf,
  bootstrapMean,
  chiSquareSf,
  delongTest,
  holm,
  ksTwoSample,
  mcnemarExact,
  mcnemarFromCounts,
  nonInferiorityFromBootstrap,
  nonInferiorityTest,
  normalCdf,
  normalQuantile,
  normalSf,
  pairedBootstrap,
  pairedNonInferiorityTest,
  pairedSuperiorityTest,
  studentTQuantile,
  superiorityTest,
  type BootstrapOptions,
  type BootstrapResult,
  type BootstrapStrategy,
  type DelongOptions,
  type DelongResult,
  type KsAlternative,
  type KsMethod,
  type KsOptions,
  type KsResult,
  type McnemarAlternative,
  type McnemarOptions,
  type McnemarResult,
  type NonInferiorityResult,
  type OneSidedTestResult,
  type PairedBootstrapOptions,
  type PairedTestOptions,
  type SuperiorityResult,
} from './stats';
export * from './drift';
