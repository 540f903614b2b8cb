/**
 * `createActivities(deps)`: every activity of the retraining system, bound to its dependencies, each body run
 * through `guarded` so what it throws crosses the boundary as an ApplicationFailure typed from ErrorTypes.
 * Inputs are checked at the edge (the model config with the workflows' own zod schema), so a malformed input
 * is a non-retryable BadInput that names the field. `createTrainingActivities`/`createLightActivities` split
 * them by task queue.
 */
import { ModelConfigSchema } from '../workflows/config';
import type { ActivityDeps } from './deps';
import { describeZod, guarded, badInput } from './failures';
import { Context } from '@temporalio/activity';
import { checkBatch, probeSource } from './monitor';
import { runOutcome } from './run-outcome';
import { collect } from './collect';
import { validate } from './validate';
import { requestLabels } from './label';
import { train, type TrainOptions } from './train';
import { evaluate } from './evaluate';
import { gate } from './gate';
import { notify } from './notify';
import { clearCanary, promote, setCanary } from './promote';
import { observeCanary } from './rollout';
import { writeReport } from './report';
import { TRAINING_ACTIVITIES, type RetrainActivities } from './types';

export { createDependencies, type ActivityDeps, type DependenciesOptions } from './deps';
export { ErrorTypes, TRAINING_ACTIVITIES, type RetrainActivities } from './types';

export interface ActivitiesOptions {
  readonly train?: TrainOptions;
}

/** Re-parses the config an input carries (defaults are idempotent), so a hand-made input is checked too. */
function withConfig<T extends { config: unknown }>(input: T): T {
  if (input === null || typeof input !== 'object') throw badInput('input: expected an object');
  const r = ModelConfigSchema.safeParse(input.config);
  if (!r.success) throw badInput(describeZod(r.error, 'input.config'));
  return { ...input, config: r.data };
}

export function createActivities(deps: ActivityDeps, options: ActivitiesOptions = {}): RetrainActivities {
  return {
    probeSource: (i) => guarded(() => probeSource(deps, withConfig(i))),
    checkBatch: (i) => guarded(() => checkBatch(deps, withConfig(i))),
    runOutcome: (i) => guarded(() => runOutcome(Context.current().client, i)),
    collect: (i) => guarded(() => collect(deps, withConfig(i))),
    validate: (i) => guarded(() => validate(deps, withConfig(i))),
    requestLabels: (i) => guarded(() => requestLabels(deps, withConfig(i))),
    train: (i) => guarded(() => train(deps, withConfig(i), options.train)),
    evaluate: (i) => guarded(() => evaluate(deps, withConfig(i))),
    gate: (i) => guarded(() => gate(deps, withConfig(i))),
    notify: (i) => guarded(() => notify(deps, i)),
    setCanary: (i) => guarded(() => setCanary(deps, i)),
    observeCanary: (i) => guarded(() => observeCanary(deps, i)),
    clearCanary: (i) => guarded(() => clearCanary(deps, i)),
    promote: (i) => guarded(() => promote(deps, i)),
    writeReport: (i) => guarded(() => writeReport(deps, i)),
  };
}

type Name = keyof RetrainActivities;
const TRAINING = new Set<Name>(TRAINING_ACTIVITIES);

/** The activities of the `retrain-training` queue (train, evaluate). */
export function trainingActivities(all: RetrainActivities): Partial<RetrainActivities> {
  return Object.fromEntries(Object.entries(all).filter(([k]) => TRAINING.has(k as Name)));
}

/** The light activities of the `retrain` queue (everything else). */
export function lightActivities(all: RetrainActivities): Partial<RetrainActivities> {
  return Object.fromEntries(Object.entries(all).filter(([k]) => !TRAINING.has(k as Name)));
}
