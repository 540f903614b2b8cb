/**
 * Text renderings of the monitor and run statuses for people; `--json` prints the objects as the workflows return
 * them instead, so scripts never parse these lines.
 */
import type { MonitorStatus, RunStatus } from '../../workflows/definitions';

export function formatMonitorStatus(workflowId: string, s: MonitorStatus): string {
  const lines = [
    `monitor ${workflowId}${s.paused ? ' (paused)' : ''}`,
    `  production: ${s.productionVersion === null ? 'none yet' : `v${s.productionVersion}`}${s.canary ? `, canary v${s.canary.version} at ${pct(s.canary.weight)}` : ''}`,
    `  active run: ${s.activeRun ?? 'none'}${s.queuedTrigger ? ` (queued: ${s.queuedTrigger.detail})` : ''}`,
    `  config version ${s.configVersion}, next run #${s.nextRunNumber}`,
  ];
  if (s.batches) lines.push(`  batches: ${s.batches.arrived} arrived, ${s.batches.checked} checked${s.batches.lastAccuracy !== undefined ? `, last accuracy ${s.batches.lastAccuracy.toFixed(3)}` : ''}`);
  // A source the monitor cannot read would otherwise look like one with no data yet.
  if (s.source?.error) lines.push(`  data source: ${s.source.error} (last probe ${s.source.at})`);
  if (s.rejectedMessages.count > 0) {
    lines.push(`  rejected messages: ${s.rejectedMessages.count}`);
    for (const m of s.rejectedMessages.last) lines.push(`    ${m}`);
  }
  if (s.runs.length) {
    lines.push('  runs:');
    for (const r of s.runs.slice(-10)) lines.push(`    ${r.workflowId}  ${r.trigger}  ${r.decision ?? 'running'}  ${r.startedAt}${r.candidateVersion !== undefined ? `  candidate v${r.candidateVersion}` : ''}`);
  }
  return lines.join('\n');
}

export function formatRunStatus(workflowId: string, s: RunStatus): string {
  const lines = [`run ${workflowId}: ${s.decision ? `done, ${s.decision}${s.decidedBy ? ` by ${s.decidedBy}` : ''}` : `stage ${s.stage}`}`, `  trigger: ${s.trigger.detail.startsWith(`${s.trigger.kind}:`) ? s.trigger.detail : `${s.trigger.kind}: ${s.trigger.detail}`}${s.trigger.requestedBy ? ` (asked by ${s.trigger.requestedBy})` : ''}`];
  if (s.candidateVersion !== undefined) lines.push(`  candidate v${s.candidateVersion}, compared with production ${s.productionVersion == null ? 'none' : `v${s.productionVersion}`}`);
  if (s.blessing) lines.push(`  gate: ${s.blessing.promote ? 'blessed' : 'not blessed'}: ${s.blessing.summary}`);
  if (s.validation && !s.validation.passed) for (const f of s.validation.failures) lines.push(`  validation: ${f.column ? `${f.column}: ` : ''}${f.message}`);
  if (s.approval && !s.decision && s.stage === 'approve') {
    lines.push(
      s.approval.approvers.length
        ? `  waiting for approval by ${s.approval.approvers.join(', ')} until ${s.approval.deadline}: retrain approve ${workflowId} --as NAME`
        : `  waiting for approval until ${s.approval.deadline}, but no approver may give it: the only one asked for the run (reject it, or change promotion.approvers)`,
    );
  }
  if (s.labeling && !s.decision) lines.push(`  waiting for labels (${s.labeling.requestUri}) until ${s.labeling.deadline}: retrain approve-labels ${workflowId} --as NAME`);
  if (s.canary) lines.push(`  canary v${s.canary.version} at ${pct(s.canary.weight)}`);
  if (s.error) lines.push(`  error: ${s.error}`);
  if (s.reportUri) lines.push(`  report: ${s.reportUri}`);
  if (s.timeline.length) {
    lines.push('  timeline:');
    for (const t of s.timeline) lines.push(`    ${t.stage.padEnd(9)} ${t.startedAt}${t.endedAt ? ` → ${t.endedAt}` : ' …'}${t.retries ? ` (${t.retries} retries)` : ''}${t.note ? `  ${t.note}` : ''}`);
  }
  return lines.join('\n');
}

function pct(w: number): string {
  return `${Math.round(w * 100)}%`;
}
