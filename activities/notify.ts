/**
 * The notify stage: one JSON line per notification appended to RETRAIN_HOME/notifications.jsonl, logged, and
 * POSTed to RETRAIN_NOTIFY_URL when set. Each line carries the activity's idempotency key (workflow id and
 * activity id), so a retried notification is not appended twice. A failing webhook is logged, not retried: the
 * local record is the source of truth.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ActivityDeps } from './deps';
import { activityContext, nowIso } from './common';
import type { NotifyInput } from './types';

export async function notify(deps: ActivityDeps, input: NotifyInput): Promise<void> {
  const info = activityContext()?.info;
  const key = info?.workflowExecution ? `${info.workflowExecution.workflowId}/${info.activityId}` : undefined;
  const path = join(deps.home, 'notifications.jsonl');
  await mkdir(deps.home, { recursive: true });
  if (key) {
    const existing = await readFile(path, 'utf8').catch(() => '');
    if (existing.includes(`"key":${JSON.stringify(key)}`)) return;
  }
  const line = { at: nowIso(deps.clock), ...(key ? { key } : {}), ...input };
  await appendFile(path, `${JSON.stringify(line)}\n`);
  deps.log.info(`notification (${input.kind}): ${input.message}`, { runWorkflowId: input.runWorkflowId, model: input.model, to: input.to });
  if (deps.notifyUrl) {
    try {
      const res = await fetch(deps.notifyUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(line) });
      if (!res.ok) deps.log.warn(`RETRAIN_NOTIFY_URL answered ${res.status}`, { url: deps.notifyUrl });
    } catch (e) {
      deps.log.warn(`RETRAIN_NOTIFY_URL could not be reached: ${(e as Error).message}`, { url: deps.notifyUrl });
    }
  }
}
