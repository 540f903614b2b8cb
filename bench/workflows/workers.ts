/**
 * The bench's workers: the same two as `startWorkers` (workers/worker.ts) builds, `retrain` with the workflows and
 * the light activities and `retrain-training` with train and evaluate (two at a time), plus an activity interceptor
 * that notes when each activity execution began and ended on the worker. The devserver writes ActivityTaskStarted
 * lazily, at completion, stamped with the completion time, so the history alone cannot tell an activity's queue
 * wait from its execution; these notes can. `startWorkers` takes no interceptors, hence this mirror of it.
 */
import type { Context } from '@temporalio/activity';
import { NativeConnection, Worker, type ActivityInboundCallsInterceptor, type ActivityExecuteInput, type Next } from '@temporalio/worker';
import { createActivities, lightActivities, trainingActivities, type ActivityDeps } from '../../activities';
import { TASK_QUEUE, TRAINING_TASK_QUEUE } from '../../workflows/definitions';
import { DEFAULT_WORKFLOWS_PATH } from '../../workers/worker';

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

export async function startBenchWorkers(connection: NativeConnection, deps: ActivityDeps, notes: ExecutionNotes): Promise<{ shutdown(): Promise<void> }> {
  const all = createActivities(deps);
  const interceptors = noting(notes);
  const common = { connection, namespace: 'default', shutdownGraceTime: '1 second', interceptors } as const;
  const workers = [
    await Worker.create({ ...common, taskQueue: TASK_QUEUE, workflowsPath: DEFAULT_WORKFLOWS_PATH, activities: lightActivities(all) }),
    await Worker.create({ ...common, taskQueue: TRAINING_TASK_QUEUE, activities: trainingActivities(all), maxConcurrentActivityTaskExecutions: 2 }),
  ];
  const done = Promise.all(workers.map((w) => w.run()));
  return {
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}
