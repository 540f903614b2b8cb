/**
 * Realistic reports for the report tests: a promoted run of an electricity-price model with the full evaluation
 * detail, a run that failed validation (no training, no evaluation), their validation documents, and a monitor
 * history with a drift, a retrain, a promotion and a rollback. The model description carries a `<script>` so the
 * tests can check that user text is escaped everywhere.
 */
import type { RunReport } from '../../activities/types';
import type { Check } from '../../ml/policy';
import type { EvaluationDetail, MonitorHistory, ValidationDetail } from '../../reports';
import { parseModelConfig } from '../../workflows/config';

export const HOSTILE_DESCRIPTION = 'Predicts price <script>alert("pwned")</script> & direction';

export const config = parseModelConfig({
  model: 'elec2',
  description: HOSTILE_DESCRIPTION,
  data: {
    source: { kind: 'csv-replay', path: 'data/elec2.csv', batchRows: 336, every: '7 days' },
    label: 'class',
    positive: 'UP',
    slices: ['day_type'],
    protectedGroups: ['region'],
    hardExamples: 'data/elec2-hard.csv',
  },
  trainer: { kind: 'gbdt', params: { maxIter: 120, maxDepth: 4, learningRate: 0.1 } },
  evaluation: {
    policy: {
      primary: { metric: 'roc_auc' },
      guardrails: [{ metric: 'accuracy', margin: 0.01 }, { metric: 'log_loss', margin: 0.02 }],
      fairness: { groupColumn: 'region', metrics: ['demographic_parity', 'equal_opportunity'], maxWidening: 0.05 },
      hardExamples: { allowNewFailures: 0 },
    },
  },
  promotion: { approvers: ['alice', 'bob'] },
});

const T0 = Date.parse('2024-05-06T09:00:00Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const snapshot = (name: string, rows: number) => ({ uri: `file:///var/retrain/snapshots/elec2/${name}.parquet`, sha256: `${name.length}f3a9c0e1b2d4c6a8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7`.slice(0, 64), rows });

const collect = {
  fresh: snapshot('fresh-12-14', 538),
  historical: snapshot('history-0-12', 4032),
  holdout: snapshot('holdout-12-14', 134),
  hardExamples: snapshot('hard-examples', 60),
  fromBatch: 12,
  toBatch: 14,
  summary: { nswprice: { missing: 0.01, mean: 0.058 } },
  productionVersion: 6,
};

const mwi = (value: number, half: number) => ({ value, lower: value - half, upper: value + half });

const checks: Check[] = [
  { name: 'primary:roc_auc', kind: 'primary', metric: 'roc_auc', candidate: 0.912, production: 0.861, estimate: 0.051, lower: 0.028, upper: null, confidence: 0.95, test: 'delong', pValue: 0.0004, threshold: 0, pass: true, why: 'ROC AUC better by 0.051 (95% lower bound 0.028 > 0)' },
  { name: 'guardrail:accuracy', kind: 'guardrail', metric: 'accuracy', candidate: 0.851, production: 0.803, estimate: 0.048, lower: 0.012, upper: null, confidence: 0.95, test: 'paired z', pValue: 0.001, threshold: 0.01, pass: true, why: 'accuracy not worse by more than 0.01' },
  { name: 'guardrail:log_loss', kind: 'guardrail', metric: 'log_loss', candidate: 0.341, production: 0.412, estimate: -0.071, lower: null, upper: -0.03, confidence: 0.95, test: 'paired z', pValue: 0.0001, threshold: 0.02, pass: true, why: 'log loss not worse by more than 0.02' },
  { name: 'fairness:demographic_parity', kind: 'fairness', metric: 'demographic_parity', candidate: 0.071, production: 0.064, estimate: 0.007, lower: -0.031, upper: null, confidence: 0.95, pValue: 0.02, threshold: 0.05, pass: true, why: 'gap not wider by more than 0.05' },
  { name: 'hard_examples', kind: 'hard_examples', candidate: 0.783, production: 0.75, estimate: 0, lower: null, upper: null, threshold: 0, pass: true, why: 'no new failures on 60 hard examples', newFailures: [] },
];

export function promotedRun(): RunReport {
  return {
    runWorkflowId: 'retrain/elec2/3',
    model: 'elec2',
    n: 3,
    trigger: { kind: 'drift', detail: 'drift: 2 alerts from grafana, builtin:ddm (high)', at: at(-30), eventIds: ['g-1', 'ddm-14'] },
    decision: 'promoted',
    decidedBy: 'alice',
    startedAt: at(0),
    endedAt: at(5400),
    timeline: [
      { stage: 'collect', startedAt: at(0), endedAt: at(4) },
      { stage: 'validate', startedAt: at(4), endedAt: at(6) },
      { stage: 'train', startedAt: at(6), endedAt: at(98), retries: 1, note: 'resumed from tree 60' },
      { stage: 'evaluate', startedAt: at(98), endedAt: at(110) },
      { stage: 'gate', startedAt: at(110), endedAt: at(112) },
      { stage: 'approve', startedAt: at(112), endedAt: at(1900), note: 'approved by alice' },
      { stage: 'rollout', startedAt: at(1900), endedAt: at(5390) },
      { stage: 'promote', startedAt: at(5390), endedAt: at(5400) },
      { stage: 'done', startedAt: at(5400), endedAt: at(5400) },
    ],
    config,
    collect,
    validation: { passed: true, failures: [], reportUri: 'file:///var/retrain/runs/elec2/3/validation.json' },
    train: {
      candidateVersion: 7,
      modelUri: 'file:///var/retrain/models/elec2/7/model.json',
      trainer: 'gbdt',
      params: { maxIter: 120, maxDepth: 4, learningRate: 0.1 },
      trainingRows: 4570,
      wallSeconds: 91.4,
      cpuSeconds: 88.2,
      resumedFrom: { iteration: 60 },
      trainingSetUri: 'file:///var/retrain/runs/elec2/3/training-set.parquet',
    },
    evaluation: {
      evaluationUri: 'file:///var/retrain/runs/elec2/3/evaluation.json',
      baseline: 'production',
      holdoutRows: 134,
      candidate: { roc_auc: mwi(0.912, 0.024), accuracy: mwi(0.851, 0.03), log_loss: mwi(0.341, 0.04) },
      production: { roc_auc: mwi(0.861, 0.031), accuracy: mwi(0.803, 0.034), log_loss: mwi(0.412, 0.05) },
    },
    gate: { blessing: { promote: true, checks, summary: 'promote: ROC AUC +0.051, every guardrail and fairness check passed' }, blessingUri: 'file:///var/retrain/runs/elec2/3/blessing.json' },
    rollout: [
      { weight: 0.1, observation: { candidate: { rows: 140, accuracy: 0.846 }, production: { rows: 1260, accuracy: 0.799 }, regression: false, enoughData: true, why: 'candidate 0.846 vs production 0.799' } },
      { weight: 0.5, observation: { candidate: { rows: 702, accuracy: 0.852 }, production: { rows: 698, accuracy: 0.801 }, regression: false, enoughData: true, why: 'candidate 0.852 vs production 0.801' } },
      { weight: 1 },
    ],
    productionVersion: 6,
    candidateVersion: 7,
    status: {
      model: 'elec2',
      n: 3,
      trigger: { kind: 'drift', detail: 'drift', at: at(-30) },
      stage: 'done',
      decision: 'promoted',
      timeline: [],
    },
  };
}

/** Calibration bins of a model whose predictions are `bias` too confident. */
function bins(bias: number, seed: number) {
  return Array.from({ length: 10 }, (_, k) => {
    const mean = (k + 0.5) / 10;
    const count = k === 9 ? 0 : 8 + ((k * 7 + seed) % 11);
    return { lower: k / 10, upper: (k + 1) / 10, meanPredicted: mean, observed: count === 0 ? null : Math.min(1, Math.max(0, mean - bias * (mean - 0.5))), count };
  });
}

export const DRIFT_FEATURES = ['nswprice', 'nswdemand', 'vicprice', 'vicdemand', 'transfer', 'day<b>of</b>week'];

export function promotedDetail(): EvaluationDetail {
  const slice = (value: string, rows: number, c: number, p: number) => ({
    column: 'day_type',
    value,
    rows,
    positives: Math.round(rows * 0.42),
    candidate: { roc_auc: mwi(c, 0.05), accuracy: mwi(c - 0.06, 0.06) },
    production: { roc_auc: mwi(p, 0.055), accuracy: mwi(p - 0.05, 0.065) },
  });
  const group = (name: string, rows: number, sel: number, tpr: number, fpr: number) => ({
    column: 'region',
    group: name,
    rows,
    candidate: { selection_rate: mwi(sel, 0.06), tpr: mwi(tpr, 0.07), fpr: mwi(fpr, 0.05), accuracy: mwi(0.85, 0.05) },
    production: { selection_rate: mwi(sel - 0.02, 0.06), tpr: mwi(tpr - 0.05, 0.08), fpr: mwi(fpr + 0.02, 0.05), accuracy: mwi(0.8, 0.06) },
  });
  return {
    holdoutRows: 134,
    baseline: 'production',
    confidence: 0.95,
    intervalMethod: 'percentile bootstrap, 2000 resamples',
    models: {
      candidate: { roc_auc: mwi(0.912, 0.024), accuracy: mwi(0.851, 0.03), log_loss: mwi(0.341, 0.04), brier: mwi(0.108, 0.012) },
      production: { roc_auc: mwi(0.861, 0.031), accuracy: mwi(0.803, 0.034), log_loss: mwi(0.412, 0.05), brier: mwi(0.139, 0.015) },
    },
    slices: [slice('weekday', 96, 0.921, 0.868), slice('weekend', 38, 0.889, 0.842)],
    groups: [group('NSW', 71, 0.44, 0.83, 0.12), group('VIC', 63, 0.39, 0.79, 0.1)],
    fairness: [
      { column: 'region', metric: 'demographic_parity', candidate: 0.071, production: 0.064, widening: { estimate: 0.007, lower: -0.031 }, maxWidening: 0.05, pass: true },
      { column: 'region', metric: 'equal_opportunity', candidate: 0.04, production: 0.058, widening: { estimate: -0.018, lower: -0.06 }, maxWidening: 0.05, pass: true },
    ],
    calibration: { candidate: bins(0.05, 1), production: bins(0.25, 4), ece: { candidate: 0.021, production: 0.068 } },
    drift: {
      reference: 'training reference (batches 0-11)',
      current: 'new data (batches 12-13)',
      psiThreshold: 0.2,
      features: DRIFT_FEATURES.map((feature, i) => ({
        feature,
        kind: i === 5 ? ('categorical' as const) : ('numeric' as const),
        psi: [0.41, 0.27, 0.08, 0.05, 0.02, 0.011][i],
        ks: i === 5 ? undefined : { statistic: [0.31, 0.22, 0.09, 0.06, 0.03][i], pValue: [1e-9, 2e-5, 0.08, 0.31, 0.9][i] },
        chiSquare: i === 5 ? { statistic: 3.1, pValue: 0.68 } : undefined,
        missingRate: { reference: i === 1 ? 0.002 : 0, current: i === 1 ? 0.031 : 0 },
        drift: i < 2,
      })),
    },
    hardExamples: { rows: 60, candidateCorrect: 47, productionCorrect: 45, newFailures: [], fixed: 2 },
  };
}

export function validationFailedRun(): RunReport {
  return {
    runWorkflowId: 'retrain/elec2/4',
    model: 'elec2',
    n: 4,
    trigger: { kind: 'manual', detail: 'manual: retrain after the price feed fix', requestedBy: 'carol', at: at(9000) },
    decision: 'validation_failed',
    startedAt: at(9000),
    endedAt: at(9007),
    timeline: [
      { stage: 'collect', startedAt: at(9000), endedAt: at(9003.5) },
      { stage: 'validate', startedAt: at(9003.5), endedAt: at(9007), retries: 0 },
      { stage: 'done', startedAt: at(9007), endedAt: at(9007) },
    ],
    config,
    collect: { ...collect, fromBatch: 14, toBatch: 15, productionVersion: 7 },
    validation: {
      passed: false,
      failures: [
        { column: 'nswprice', check: 'range', message: 'column nswprice: 3 values out of range [0, 1] (rows 4, 9, 17)' },
        { column: 'class', check: 'labels', message: 'column class: 2 values neither UP nor DOWN (rows 40, 41)' },
      ],
      reportUri: 'file:///var/retrain/runs/elec2/4/validation.json',
    },
    productionVersion: 7,
    status: { model: 'elec2', n: 4, trigger: { kind: 'manual', detail: 'manual', at: at(9000) }, stage: 'done', decision: 'validation_failed', timeline: [] },
  };
}

export function validationDocument(): ValidationDetail {
  return {
    rows: 336,
    columns: 9,
    failures: [
      { column: 'nswprice', check: 'range', message: 'column nswprice: 3 values out of range [0, 1]', rows: [4, 9, 17], count: 3 },
      { column: 'class', check: 'labels', message: 'column class: 2 values neither UP nor DOWN', rows: [40, 41], count: 2 },
    ],
    checks: [
      { column: 'nswdemand', check: 'missing', passed: true, message: 'missing rate 0.3% within 5%' },
      { check: 'schema', passed: true, message: 'columns match the training reference' },
    ],
  };
}

/** The promoted run's validation: every check passed. */
export function passingValidationDocument(): ValidationDetail {
  return {
    rows: 538,
    columns: 9,
    failures: [],
    checks: [
      { column: 'nswprice', check: 'range', passed: true, message: 'all values in [0, 1]' },
      { check: 'schema', passed: true, message: 'columns match the training reference' },
    ],
  };
}

export function monitorHistory(): MonitorHistory {
  const day = 86_400_000;
  const start = Date.parse('2024-03-01T00:00:00Z');
  const points = Array.from({ length: 30 }, (_, b) => {
    // Accuracy holds near 0.84, drops after the drift at batch 12, recovers after the promotion at batch 15,
    // dips with the bad candidate at 22 and recovers after the rollback.
    const base = b < 12 ? 0.84 : b < 15 ? 0.71 : b < 22 ? 0.85 : b < 24 ? 0.76 : 0.84;
    return { at: new Date(start + b * 7 * day).toISOString(), batch: b, accuracy: base + 0.01 * Math.sin(b * 1.7) };
  });
  const when = (b: number) => new Date(start + b * 7 * day + day).toISOString();
  return {
    model: 'elec2',
    description: HOSTILE_DESCRIPTION,
    points,
    events: [
      { at: when(13), kind: 'retrain', run: 'retrain/elec2/3', version: 7 },
      { at: when(14), kind: 'promotion', run: 'retrain/elec2/3', version: 7, note: 'approved by alice' },
      { at: when(21), kind: 'retrain', run: 'retrain/elec2/5', version: 8 },
      { at: when(21.5), kind: 'promotion', run: 'retrain/elec2/5', version: 8 },
      { at: when(23), kind: 'rollback', version: 7, note: 'operator <b>dave</b>: live accuracy regressed' },
    ],
  };
}
