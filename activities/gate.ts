/**
 * The gate stage: the promotion policy of ml/policy applied to both models' holdout predictions (the evaluate
 * stage's predictions artifact; runs evaluated before it existed kept them in the evaluation artifact), with the protected-group column and the hard examples when the policy asks for them.
 * Too small a holdout is refused before any test runs, with the reason. The blessing is stored as an artifact.
 */
import { evaluatePolicy, type Blessing } from '../ml/policy';
import type { ActivityDeps } from './deps';
import { putJson, runKey } from './common';
import { badInput } from './failures';
import type { EvaluationPredictions } from './evaluate';
import type { GateInput, GateResult } from './types';

export async function gate(deps: ActivityDeps, input: GateInput): Promise<GateResult> {
  const policy = input.config.evaluation.policy;
  const detail = await deps.store.getJson<EvaluationPredictions>(input.evaluation.predictionsUri ?? input.evaluation.evaluationUri);
  const min = input.config.evaluation.minHoldoutRows;
  let blessing: Blessing;
  if (detail.holdoutRows < min) {
    blessing = {
      promote: false,
      checks: [],
      summary: `do not promote: the holdout has ${detail.holdoutRows} labelled rows, fewer than evaluation.minHoldoutRows ${min}: too little evidence to compare the models`,
    };
  } else {
    let groups: string[] | undefined;
    if (policy.fairness) {
      groups = detail.groups[policy.fairness.groupColumn];
      if (!groups) {
        throw badInput(`evaluation.policy.fairness.groupColumn: ${JSON.stringify(policy.fairness.groupColumn)} is not a protected-group column; expected one of ${Object.keys(detail.groups).map((s) => JSON.stringify(s)).join(', ') || '(none: list it in data.protectedGroups)'}`);
      }
    }
    const h = detail.hardExamples;
    blessing = evaluatePolicy(policy, {
      y: Uint8Array.from(detail.y),
      candidate: Float64Array.from(detail.candidate),
      production: Float64Array.from(detail.production),
      ...(groups ? { groups } : {}),
      ...(h && policy.hardExamples ? { hardExamples: { y: Uint8Array.from(h.y), candidate: Float64Array.from(h.candidate), production: Float64Array.from(h.production) } } : {}),
    });
  }
  const blessingUri = await putJson(deps.store, runKey(input.model, input.n, 'blessing.json'), {
    runWorkflowId: input.runWorkflowId,
    baseline: detail.baseline,
    candidateVersion: detail.candidateVersion,
    productionVersion: detail.productionVersion,
    holdoutRows: detail.holdoutRows,
    policy,
    blessing,
  });
  return { blessing, blessingUri };
}
