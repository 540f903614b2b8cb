/**
 * `retrain monitor status MODEL`: the monitor's status query (production and canary, active run, recent runs), and
 * the registry's aliases beside it. The monitor's copy of production is refreshed only by its batch checks, so after
 * an operator's `retrain rollback` (or once the stream has ended) it can be stale: the registry is the truth, and a
 * difference is flagged. A registry the CLI cannot reach is said so, and the monitor's view is shown alone.
 */
import { z } from 'zod';
import { ModelAlias, type AliasState } from '../../../storage/registry';
import { monitorStatusQuery, monitorWorkflowId, type MonitorStatus } from '../../../workflows/definitions';
import { ConnectionOptions, action, modelOf } from '../common';
import { withTemporal } from '../temporal';
import { formatMonitorStatus } from '../format';
import { StoreOption, openRegistry } from '../store';

export const ShowMonitorOptions = z.object({ ...ConnectionOptions, ...StoreOption }).strict();

/** The registry's side of `monitor status`: its aliases, or why they could not be read. */
export type RegistryView = { readonly store: string; readonly production: AliasState | null; readonly canary: AliasState | null } | { readonly store?: string; readonly error: string };

export async function readRegistryView(model: string, storeUri: string | undefined): Promise<RegistryView> {
  let where: string | undefined;
  try {
    const opened = openRegistry(storeUri);
    where = opened.where;
    const aliases = await opened.registry.getAliases(model);
    return { store: where, production: aliases[ModelAlias.production] ?? null, canary: aliases[ModelAlias.canary] ?? null };
  } catch (err) {
    return { ...(where ? { store: where } : {}), error: err instanceof Error ? err.message : String(err) };
  }
}

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 90 ? `${s} s ago` : s < 90 * 60 ? `${Math.round(s / 60)} min ago` : s < 36 * 3600 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86400)} days ago`;
}

/** The registry lines of `monitor status`, flagging where the monitor's last view differs from the registry. */
export function formatRegistryView(view: RegistryView, status: MonitorStatus, now = Date.now()): string {
  if ('error' in view) return `  registry: not reachable${view.store ? ` at ${view.store}` : ''} (${view.error}); showing the monitor's view only (set RETRAIN_HOME or RETRAIN_S3_*, or --store)`;
  const p = view.production;
  const seen = status.productionVersion;
  // The monitor refreshes its copy only on batch checks (never again once the stream has ended).
  const differs = (p?.version ?? null) !== seen ? `; the monitor last saw ${seen === null ? 'no production model' : `v${seen}`} (its copy refreshes only on batch checks)` : '';
  return `  registry: ${p ? `production v${p.version} (moved by ${p.by} ${ago(p.movedAt, now)}: ${p.reason})` : 'no production alias'}${view.canary ? `, canary v${view.canary.version} at ${Math.round(view.canary.weight * 100)}%` : ''}${differs}`;
}

export const run = action(ShowMonitorOptions, async ([model], opts, out) => {
  const workflowId = monitorWorkflowId(modelOf(model));
  await withTemporal(opts, async ({ client }) => {
    const status = await client.workflow.getHandle(workflowId).query(monitorStatusQuery);
    const registry = await readRegistryView(modelOf(model), opts.store);
    out.result({ workflowId, ...status, registry }, () => `${formatMonitorStatus(workflowId, status)}\n${formatRegistryView(registry, status)}`);
  });
});
