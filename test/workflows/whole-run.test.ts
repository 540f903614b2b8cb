/**
 * A whole retraining run with the real activities (`createActivities`) on a synthetic drift stream: ml/data's SEA
 * generator written to a CSV replayed as production traffic, RETRAIN_HOME in a temporary folder, real snapshots,
 * real gradient-boosted training and evaluation, the real promotion policy and registry. The monitor starts the
 * first run once two labelled batches exist; it goes from collect to promoted, and the registry's production alias
 * ends on the candidate. Histories are replayed.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivities, createDependencies } from '../../activities';
import { monitorStatusQuery, monitorWorkflowId, runStatusQuery, TASK_QUEUE } from '../../workflows/definitions';
import type { modelMonitor } from '../../workflows/model-monitor';
import { writeSea } from '../activities/helpers';
import { eventually, replays, useWorkflowHarness } from './harness';

const dir = mkdtempSync(join(tmpdir(), 'retrain-workflows-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const quietLog = { info: () => {}, warn: () => {}, error: () => {} };
const deps = createDependencies({ home: join(dir, 'home'), env: {}, log: quietLog });
const harness = useWorkflowHarness(createActivities(deps));

describe('a whole run with the real activities', () => {
  test('on a SEA drift stream goes from collect to promoted, and production points at the new version', async () => {
    const path = writeSea(dir, 'sea.csv', { rows: 4000, seed: 7, noise: 0.05, drift: { mode: 'sudden', at: [2500] } });
    const model = 'sea-whole';
    const handle = await harness().env.client.workflow.start<typeof modelMonitor>('modelMonitor', {
      taskQueue: TASK_QUEUE,
      workflowId: monitorWorkflowId(model),
      staticSummary: `monitor of ${model}`,
      args: [
        {
          config: {
            model,
            data: { source: { kind: 'csv-replay', path, batchRows: 500, every: '1 day', labelDelayBatches: 0 }, label: 'label', positive: '1' },
            trainer: { kind: 'gbdt', params: { maxIter: 20, earlyStopping: false } },
            triggers: { initialBatches: 2, builtin: { enabled: false } },
            rollout: { steps: [1] },
          },
        },
      ],
    });
    // Batch 0 arrives at once; batch 1 a day later makes two labelled batches and the initial run starts.
    await harness().env.sleep('1 day');
    const s = await eventually(() => handle.query(monitorStatusQuery), (x) => x.runs.length === 1 && x.runs[0].decision !== null, 'the initial run', 1200);
    const run = harness().env.client.workflow.getHandle(s.runs[0].workflowId);
    const status = await run.query(runStatusQuery);
    assert.equal(s.runs[0].decision, 'promoted', JSON.stringify({ error: status.error, blessing: status.blessing?.summary, validation: status.validation }));
    assert.deepEqual(
      status.timeline.map((r) => r.stage),
      ['collect', 'validate', 'train', 'evaluate', 'gate', 'rollout', 'promote'],
    );
    assert.equal(status.blessing?.promote, true);
    assert.ok(status.reportUri, 'the run wrote its report');
    assert.equal(s.productionVersion, status.candidateVersion);
    const production = await deps.registry.getAlias(model, 'production');
    assert.equal(production?.version, status.candidateVersion);
    await replays(run);
    await replays(handle);
  });
});
