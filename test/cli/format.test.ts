import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatRunStatus } from '../../scripts/cli/format';
import { formatRunListing } from '../../scripts/cli/commands/list-runs';
import type { RunStatus } from '../../workflows/definitions';

const base: RunStatus = {
  model: 'sea',
  n: 3,
  trigger: { kind: 'manual', detail: 'manual: durability test', requestedBy: 'root', at: '2026-12-06T16:00:00.000Z' },
  stage: 'approve',
  decision: null,
  candidateVersion: 3,
  productionVersion: 2,
  approval: { approvers: ['demo-operator'], deadline: '2026-12-07T16:00:00.000Z', escalated: false },
  timeline: [],
};

test('a run waiting for approval names who may give it', () => {
  const text = formatRunStatus('retrain/sea/3', base);
  assert.match(text, /waiting for approval by demo-operator until 2026-12-07T16:00:00\.000Z: retrain approve retrain\/sea\/3 --as NAME/);
  assert.match(text, /candidate v3, compared with production v2/);
});

test('with no eligible approver left (the only one asked for the run), it says so instead of "anyone"', () => {
  const text = formatRunStatus('retrain/sea/3', { ...base, approval: { ...base.approval!, approvers: [] } });
  assert.match(text, /waiting for approval until 2026-12-07T16:00:00\.000Z, but no approver may give it/);
  assert.doesNotMatch(text, /anyone/);
});

test('once the run rolls out, the approval request is no longer shown as waiting', () => {
  const text = formatRunStatus('retrain/sea/3', { ...base, stage: 'rollout', decidedBy: 'demo-operator', canary: { version: 3, weight: 0.25 } });
  assert.doesNotMatch(text, /waiting for approval/);
  assert.match(text, /canary v3 at 25%/);
});

test('retrain runs prints a header row and aligns its columns to the widest value', () => {
  const text = formatRunListing([
    { workflowId: 'retrain/demo/2', stage: 'done', decision: 'promoted', trigger: 'drift', status: 'COMPLETED', startTime: '2026-12-06T16:01:00.000Z' },
    { workflowId: 'retrain/a-longer-model-name/12', status: 'RUNNING', startTime: '2026-12-06T16:02:00.000Z' },
  ]);
  const lines = text.split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^RUN +STAGE +DECISION +TRIGGER +STARTED$/);
  assert.equal(lines[1].indexOf('done'), lines[0].indexOf('STAGE'));
  assert.ok(lines[2].slice(lines[0].indexOf('STAGE')).startsWith('- '), 'a missing value shows as "-" in its column');
  assert.ok(lines[2].endsWith('2026-12-06T16:02:00.000Z'));
});
