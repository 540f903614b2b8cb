/**
 * Schedules are not implemented by the embedded server. Their RPCs answer UNIMPLEMENTED with a message saying so
 * (rather than grpc's bare "method not implemented"), so a client or CLI user learns what to do instead.
 */
import { ServerError, Status } from './errors';

const SCHEDULE_RPCS = [
  'createSchedule',
  'describeSchedule',
  'listSchedules',
  'updateSchedule',
  'patchSchedule',
  'deleteSchedule',
  'listScheduleMatchingTimes',
] as const;

export const SCHEDULES_UNSUPPORTED =
  'Schedules are not implemented by the embedded Retrain devserver; start workflows directly (a workflow timer or sleep loop can repeat work)';

/** WorkflowService handlers for every Schedule RPC, each failing with UNIMPLEMENTED and the message above. */
export function scheduleHandlers(): Record<string, () => never> {
  const handlers: Record<string, () => never> = {};
  for (const name of SCHEDULE_RPCS) {
    const rpc = name[0].toUpperCase() + name.slice(1);
    handlers[name] = () => {
      throw new ServerError(Status.UNIMPLEMENTED, `${rpc}: ${SCHEDULES_UNSUPPORTED}`);
    };
  }
  return handlers;
}
