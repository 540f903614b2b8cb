/**
 * The worker's `workflowsPath`: every workflow type Retrain registers, by its public name (`modelMonitor`,
 * `retrainingRun`). Only workflow functions are exported here, since the worker registers every export.
 */
export { modelMonitor } from './model-monitor';
export { retrainingRun } from './retraining-run';
