/**
 * Features layered on the core engine as components (EngineComponent, engine.ts): continue-as-new
 * (continue-as-new.ts), child workflows, external signals and cancellation (children.ts), visibility
 * (visibility-service.ts), schedules (schedules.ts) and updates (updates.ts). Returns the server's RPC tables (rpcs.ts): the engine's handlers and those of these modules.
 */
import { installChildren } from './children';
import { installContinueAsNew } from './continue-as-new';
import type { Engine } from './engine';
import { rpcTables, type ServiceTables } from './rpcs';
import { installUpdates } from './updates';
import { installSchedules } from './schedules';
import { installVisibility } from './visibility-service';

export function installExtensions(engine: Engine, opts: { searchAttributes: Record<string, string> }): ServiceTables {
  // They register in this order, which is the order the engine calls them in (e.g. visibility indexes a closing run
  // before updates answer its waiters); retention.ts registers after them (server.ts).
  installContinueAsNew(engine);
  installChildren(engine);
  const visibility = installVisibility(engine, opts.searchAttributes);
  // Describe and List show the schedules' search attributes typed (visibility-service.ts).
  const schedules = visibility.typedSchedules(installSchedules(engine));
  const updates = installUpdates(engine);
  return rpcTables(engine, { updates, visibility, schedules });
}
