/**
 * The bench's workers: the production ones (`startWorkers` in workers/worker.ts: `retrain` with the workflows and
 * the light activities, `retrain-training` with train and evaluate, two at a time), plus an activity interceptor
 * that notes when each activity execution began and ended on the worker. The devserver writes ActivityTaskStarted
 * lazily, at completion, stamped with the completion time, so the history alone cannot tell an activity's queue
 * wait from its execution; these notes can.
 */
import type { Context } from '@temporalio/activity';
import type { NativeConnection, ActivityInboundCallsInterceptor, ActivityExecuteInput, Next } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities';
import { startWorkers } from '../../workers/worker';

/** Worker-side start and end (epoch ms) of each activity execution, keyed `<workflowId>/<activityId>`. */
export type ExecutionNotes = Map<string, { startMs: number; endMs: number }>;

class NoteExecution implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly notes: ExecutionNotes,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const startMs = Date.now();
    try {
      return await next(input);
    } finally {
      const { workflowExecution, activityId } = this.ctx.info;
      this.notes.set(`${workflowExecution?.workflowId}/${activityId}`, { startMs, endMs: Date.now() });
    }
  }
}

/** Worker interceptors that note every activity execution in `notes`. */
export function noting(notes: ExecutionNotes) {
  return { activity: [(ctx: Context) => ({ inbound: new NoteExecution(ctx, notes) })] };
}

/** The production workers (`startWorkers`), with the noting interceptor on both queues. */
export async function startBenchWorkers(connection: NativeConnection, deps: ActivityDeps, notes: ExecutionNotes): Promise<{ shutdown(): Promise<void> }> {
  return startWorkers({ connection, namespace: 'default', deps, shutdownGraceTime: '1 second', interceptors: noting(notes) });
}
