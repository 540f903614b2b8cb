/**
 * Reads where a workflow's time went from its history's event timestamps (the server's clock, so the client's
 * own round trips do not count): every activity's queue wait (scheduled → started) and execution (started →
 * ended, on the worker), and the run cut into stages. A stage runs from the scheduling of its first activity to the
 * scheduling of the next stage's first activity, so it holds its activities and the workflow tasks that follow
 * them; what is not activity execution is the stage's orchestration overhead.
 */
import { temporal } from '@temporalio/proto';

const T = temporal.api.enums.v1.EventType;
type Event = temporal.api.history.v1.IHistoryEvent;

export interface ActivitySpan {
  readonly activityId: string;
  readonly type: string;
  readonly queue: string;
  readonly scheduledMs: number;
  readonly startedMs: number;
  readonly completedMs: number;
  readonly execMs: number;
}

export interface StageSpan {
  readonly stage: string;
  readonly ms: number;
  /** Sum of the stage's activities' execution (started → completed). */
  readonly execMs: number;
  /** The rest: queue waits, workflow tasks, the server's bookkeeping. */
  readonly overheadMs: number;
  readonly activities: readonly string[];
}

export interface Timeline {
  readonly totalMs: number;
  readonly activities: readonly ActivitySpan[];
  readonly stages: readonly StageSpan[];
  readonly workflowTasks: number;
  readonly events: number;
}

/**
 * Which stage an activity belongs to. The alias moves and the decision notice happen in the promote stage; the
 * report is written after the decision. `start` (before the first activity) and `finish` (after the report:
 * signalling the monitor, completing) are the stages without an activity.
 */
const STAGE_OF: Readonly<Record<string, string>> = {
  collect: 'collect',
  validate: 'validate',
  requestLabels: 'label',
  train: 'train',
  evaluate: 'evaluate',
  gate: 'gate',
  setCanary: 'rollout',
  observeCanary: 'rollout',
  promote: 'promote',
  clearCanary: 'promote',
  notify: 'promote',
  writeReport: 'report',
};

function ms(e: Event): number {
  const t = e.eventTime;
  if (!t) throw new Error(`history event ${String(e.eventId)} has no time`);
  return Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6;
}

/**
 * `execution` gives the worker-side start and end (epoch ms) of an activity by its id, when known; without it an
 * activity's start is the ActivityTaskStarted event's time, which the devserver stamps at completion.
 */
export function timeline(
  events: readonly Event[],
  execution: (activityId: string) => { startMs: number; endMs: number } | undefined = () => undefined,
  stageOf: (activityType: string) => string = (a) => STAGE_OF[a] ?? a,
): Timeline {
  if (!events.length) throw new Error('empty history');
  const begin = ms(events[0]);
  const last = events[events.length - 1];
  const closed = [T.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, T.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED].includes(last.eventType as number);
  if (!closed) throw new Error(`history ends with ${T[last.eventType as number]}, not a completion`);
  const end = ms(last);
  const scheduled = new Map<string, { activityId: string; type: string; queue: string; at: number; startedAt?: number }>();
  const activities: ActivitySpan[] = [];
  let workflowTasks = 0;
  for (const e of events) {
    const id = String(e.eventId);
    switch (e.eventType) {
      case T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: {
        const a = e.activityTaskScheduledEventAttributes!;
        scheduled.set(id, { activityId: a.activityId ?? '', type: a.activityType?.name ?? '?', queue: a.taskQueue?.name ?? '?', at: ms(e) });
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_STARTED: {
        const s = scheduled.get(String(e.activityTaskStartedEventAttributes!.scheduledEventId));
        if (s) s.startedAt = ms(e);
        break;
      }
      case T.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: {
        const s = scheduled.get(String(e.activityTaskCompletedEventAttributes!.scheduledEventId));
        if (!s) break;
        const noted = execution(s.activityId);
        activities.push({
          activityId: s.activityId,
          type: s.type,
          queue: s.queue,
          scheduledMs: s.at - begin,
          startedMs: (noted?.startMs ?? s.startedAt ?? s.at) - begin,
          // Execution is measured on the worker; the completion's report to the server counts as overhead.
          completedMs: ms(e) - begin,
          execMs: noted ? noted.endMs - noted.startMs : ms(e) - (s.startedAt ?? s.at),
        });
        break;
      }
      case T.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        workflowTasks++;
        break;
    }
  }
  // Activities run one after another in both workflows measured here, so completion order is scheduling order.
  activities.sort((a, b) => a.scheduledMs - b.scheduledMs);
  const stages: StageSpan[] = [];
  const push = (stage: string, from: number, to: number, acts: ActivitySpan[]) => {
    const execMs = acts.reduce((s, a) => s + a.execMs, 0);
    const prev = stages[stages.length - 1];
    if (prev && prev.stage === stage) {
      stages[stages.length - 1] = { stage, ms: prev.ms + (to - from), execMs: prev.execMs + execMs, overheadMs: prev.overheadMs + (to - from - execMs), activities: [...prev.activities, ...acts.map((a) => a.type)] };
    } else {
      stages.push({ stage, ms: to - from, execMs, overheadMs: to - from - execMs, activities: acts.map((a) => a.type) });
    }
  };
  push('start', 0, activities.length ? activities[0].scheduledMs : end - begin, []);
  activities.forEach((a, i) => {
    const next = i + 1 < activities.length ? activities[i + 1].scheduledMs : a.completedMs;
    push(stageOf(a.type), a.scheduledMs, next, [a]);
  });
  if (activities.length) push('finish', activities[activities.length - 1].completedMs, end - begin, []);
  return { totalMs: end - begin, activities, stages, workflowTasks, events: events.length };
}
