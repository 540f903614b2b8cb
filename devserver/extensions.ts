/**
 * Features layered on the core engine through its hooks: child workflows, continue-as-new, external signals and
 * cancellation (children.ts), updates (updates.ts), and visibility (visibility-service.ts). Returns the extra RPC
 * handlers by service; server.ts prefers them over the engine's own methods.
 */
import { installChildren } from './children';
import type { Engine } from './engine';
import { installUpdates } from './updates';
import { installSchedules } from './schedules';
import { installVisibility } from './visibility-service';

export type ServiceHandlers = Partial<Record<'workflow' | 'operator' | 'test' | 'health', Record<string, unknown>>>;

export function installExtensions(engine: Engine, opts: { searchAttributes: Record<string, string> }): ServiceHandlers {
  installChildren(engine);
  const visibility = installVisibility(engine, opts.searchAttributes);
  const schedules = visibility.typedSchedules(installSchedules(engine));
  return { workflow: { ...installUpdates(engine), ...visibility.workflow, ...schedules }, operator: visibility.operator };
}
