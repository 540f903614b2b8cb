/**
 * Scripted activities that honour the RetrainActivities contract, for orchestration tests: a small in-memory
 * registry (versions, `production` and `canary` aliases with compare-and-set), a log of every call, and a script per
 * model saying which outcomes to produce (a batch that fails validation, a candidate that is not blessed, a canary
 * that regresses, a training attempt that crashes after a checkpoint). The ML itself is tested elsewhere; here the
 * question is what the workflows do with each outcome.
 */
import { activityInfo, Context, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type {
  AliasMoveResult,
  CheckBatchInput,
  CheckBatchResult,
  CollectResult,
  EvaluateResult,
  GateResult,
  ObserveCanaryResult,
  RetrainActivities,
  RunReport,
} from '../../activities/types';
import type { Blessing } from '../../ml/policy';
import { runOutcome } from '../../activities/run-outcome';
import { parseRunWorkflowId } from '../../workflows/names';

export interface Script {
  /** Batches the source holds (probeSource). */
  batches?: number;
  /** probeSource fails with this message (a BadInput, as a missing file does) while it is set. */
  probeError?: string;
  /** Run numbers whose batch fails validation. */
  badRuns?: number[];
  /** Run numbers whose candidate is not blessed. */
  notBlessedRuns?: number[];
  /** The canary regresses at this weight. */
  regressAtWeight?: number;
  /** Training attempts that fail (after heartbeating a checkpoint) before one succeeds. */
  trainCrashes?: number;
  /** collect throws this non-retryable error. */
  collectError?: string;
  /** What checkBatch reports for a batch. */
  check?: (input: CheckBatchInput) => Partial<CheckBatchResult>;
}

export interface Call {
  readonly name: keyof RetrainActivities;
  readonly input: any;
}

export class FakeWorld {
  readonly calls: Call[] = [];
  readonly scripts = new Map<string, Script>();
  readonly production = new Map<string, number | null>();
  readonly canary = new Map<string, { version: number; weight: number } | null>();
  readonly reports = new Map<string, RunReport>();
  private versions = new Map<string, number>();
  /** Alias moves that actually happened (a retried, already-made move is not counted). */
  readonly moves: { model: string; alias: 'production' | 'canary'; version: number | null; weight?: number }[] = [];

  script(model: string): Script {
    return this.scripts.get(model) ?? {};
  }
  callsOf(model: string, name?: keyof RetrainActivities): Call[] {
    return this.calls.filter((c) => (c.input.model ?? c.input.config?.model ?? c.input.report?.model) === model && (!name || c.name === name));
  }

  activities(): RetrainActivities {
    const record = (name: keyof RetrainActivities, input: unknown) => this.calls.push({ name, input });
    const world = this;
    return {
      async probeSource(input) {
        record('probeSource', input);
        const probeError = world.script(input.config.model).probeError;
        if (probeError) throw ApplicationFailure.nonRetryable(probeError, 'BadInput');
        return { batches: world.script(input.config.model).batches ?? 1000, finite: true, columns: ['x', 'y'] };
      },
      async checkBatch(input) {
        record('checkBatch', input);
        const model = input.config.model;
        const base: CheckBatchResult = {
          scored: 100,
          labelled: input.labelsForBatch === null ? 0 : 100,
          detectors: { ...input.detectors, seen: ((input.detectors.seen as number) ?? 0) + 1 },
          alerts: [],
          driftedFeatures: [],
          aliases: { production: world.production.get(model) ?? null, canary: world.canary.get(model) ?? null },
        };
        return { ...base, ...world.script(model).check?.(input) };
      },
      // The real activity: it asks the test's server through the worker's client.
      async runOutcome(input) {
        record('runOutcome', { ...input, model: parseRunWorkflowId(input.workflowId)?.model });
        return runOutcome(Context.current().client, input);
      },
      async collect(input) {
        record('collect', input);
        const s = world.script(input.model);
        if (s.collectError) throw ApplicationFailure.nonRetryable(s.collectError, 'BadInput');
        const from = Math.min(input.sinceBatch, Math.max(0, input.labelledBatches - 1));
        const snap = (what: string, rows: number) => ({ uri: `mem://${input.model}/${input.n}/${what}`, sha256: `${what}-${input.n}`, rows });
        const result: CollectResult = {
          fresh: snap('fresh', 800),
          historical: input.sinceBatch > 0 ? snap('historical', 3200) : null,
          holdout: snap('holdout', 200),
          hardExamples: null,
          fromBatch: from,
          toBatch: Math.max(from + 1, input.labelledBatches),
          summary: { x: { missing: 0, mean: 0.5 } },
          productionVersion: world.production.get(input.model) ?? null,
        };
        return result;
      },
      async validate(input) {
        record('validate', input);
        const bad = world.script(input.model).badRuns?.includes(input.n) ?? false;
        return bad
          ? { passed: false, failures: [{ column: 'x', check: 'range', message: 'column x: 3 values out of range [0, 1] (rows 4, 9, 17)' }], reportUri: `mem://${input.model}/${input.n}/validation.json` }
          : { passed: true, failures: [], reportUri: `mem://${input.model}/${input.n}/validation.json` };
      },
      async requestLabels(input) {
        record('requestLabels', input);
        return { requestUri: `mem://${input.model}/${input.n}/labels-request.json` };
      },
      async train(input) {
        record('train', input);
        const info = activityInfo();
        const checkpoint = info.heartbeatDetails as { iteration: number } | undefined;
        if (info.attempt <= (world.script(input.model).trainCrashes ?? 0)) {
          heartbeat({ iteration: 10 * info.attempt });
          throw ApplicationFailure.retryable(`worker lost in attempt ${info.attempt}`, 'Crash');
        }
        const version = (world.versions.get(input.model) ?? 0) + 1;
        world.versions.set(input.model, version);
        return {
          candidateVersion: version,
          modelUri: `mem://${input.model}/models/${version}`,
          trainer: input.config.trainer.kind,
          params: {},
          trainingRows: 4000,
          wallSeconds: 1,
          cpuSeconds: 1,
          ...(checkpoint ? { resumedFrom: { iteration: checkpoint.iteration } } : {}),
          trainingSetUri: `mem://${input.model}/${input.n}/training-set`,
        };
      },
      async evaluate(input) {
        record('evaluate', input);
        const m = (value: number) => ({ value, lower: value - 0.02, upper: value + 0.02 });
        const result: EvaluateResult = {
          evaluationUri: `mem://${input.model}/${input.n}/evaluation.json`,
          baseline: input.productionVersion === null ? 'majority' : 'production',
          holdoutRows: 200,
          candidate: { roc_auc: m(0.8), accuracy: m(0.75) },
          production: { roc_auc: m(input.productionVersion === null ? 0.5 : 0.7), accuracy: m(0.7) },
        };
        return result;
      },
      async gate(input) {
        record('gate', input);
        const promote = !(world.script(input.model).notBlessedRuns?.includes(input.n) ?? false);
        const blessing = {
          promote,
          summary: promote ? 'roc_auc better by 0.1 (p = 0.001)' : 'roc_auc not better (p = 0.4)',
          checks: [{ name: 'primary:roc_auc', estimate: promote ? 0.1 : 0.01, lower: promote ? 0.05 : -0.03, upper: null, pValue: promote ? 0.001 : 0.4, pass: promote, why: 'scripted' }],
        } as unknown as Blessing;
        const result: GateResult = { blessing, blessingUri: `mem://${input.model}/${input.n}/blessing.json` };
        return result;
      },
      async notify(input) {
        record('notify', input);
      },
      async setCanary(input): Promise<AliasMoveResult> {
        record('setCanary', input);
        const current = world.canary.get(input.model) ?? null;
        if (current?.version === input.version && current.weight === input.weight) return { moved: false, at: new Date().toISOString() };
        if ((current?.version ?? null) !== input.expected) throw ApplicationFailure.nonRetryable(`canary is at ${current?.version ?? 'none'}, expected ${input.expected}`, 'AliasConflict');
        world.canary.set(input.model, { version: input.version, weight: input.weight });
        world.moves.push({ model: input.model, alias: 'canary', version: input.version, weight: input.weight });
        return { moved: true, at: new Date().toISOString() };
      },
      async observeCanary(input): Promise<ObserveCanaryResult> {
        record('observeCanary', input);
        const weight = world.canary.get(input.model)?.weight;
        const regression = weight !== undefined && weight === world.script(input.model).regressAtWeight;
        return {
          candidate: { rows: 150, accuracy: regression ? 0.6 : 0.76 },
          production: { rows: 150, accuracy: 0.72 },
          regression,
          enoughData: true,
          why: regression ? 'canary accuracy 0.60 < production 0.72 - margin 0.02' : 'canary accuracy 0.76 within margin of production 0.72',
        };
      },
      async clearCanary(input) {
        record('clearCanary', input);
        const had = world.canary.get(input.model) ?? null;
        world.canary.set(input.model, null);
        if (had) world.moves.push({ model: input.model, alias: 'canary', version: null });
        return { moved: had !== null, at: new Date().toISOString() };
      },
      async promote(input) {
        record('promote', input);
        const current = world.production.get(input.model) ?? null;
        if (current === input.version) return { moved: false, at: new Date().toISOString() };
        if (current !== input.expected) throw ApplicationFailure.nonRetryable(`production is at ${current}, expected ${input.expected}`, 'AliasConflict');
        world.production.set(input.model, input.version);
        world.moves.push({ model: input.model, alias: 'production', version: input.version });
        return { moved: true, at: new Date().toISOString() };
      },
      async writeReport(input) {
        record('writeReport', input);
        world.reports.set(input.report.runWorkflowId, input.report);
        return { reportUri: `mem://${input.report.runWorkflowId}/report.json` };
      },
    };
  }
}

/** The smallest config plus overrides, for a model named `model`. */
export function config(model: string, overrides: Record<string, unknown> = {}): any {
  return {
    model,
    data: { source: { kind: 'csv-replay', path: '/nonexistent/data.csv', batchRows: 100, every: '1 day', labelDelayBatches: 0 }, label: 'y', positive: '1' },
    ...overrides,
  };
}
