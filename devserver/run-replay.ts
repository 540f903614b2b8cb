/**
 * WorkflowRun's restart: each journalled event replayed into the run's state, then `resume` turns the replayed run into
 * a live one (timeouts, timers and activities re-armed, the pending workflow task rescheduled).
 */
import type { ClockTimer } from './clock';
import { EventType, timestampMs, durationMs, num, eventSize, type IHistoryEvent } from './proto';
import { CLOSE_STATUS, DELIVERED_EVENTS, type RestoredRunState, TimeoutType, type WorkflowTaskState } from './run-types';
import { RunCommands } from './run-commands';

export abstract class RunReplay extends RunCommands {
  // ---- restart ---------------------------------------------------------------------------------------------------

  /** The last workflow task's events while replaying: scheduled (and started) without an outcome yet. */
  protected replayWft: { scheduledEventId: number; attempt: number; scheduledTime: number; startedEventId: number } | null = null;
  /** Whether the last workflow-task outcome replayed was a failure or timeout, and its attempt. */
  protected replayFailedAttempt = 0;
  /** Whether an event that asks for a workflow task came after the last task's outcome. */
  protected replayNeedsWft = false;

  /**
   * Applies one journalled event to the run's state while the journal is replayed: the history, and what the live
   * path derives from the same event (status, timers, activities, search attributes, memo, the last workflow task).
   * Activities and timers are built by the same methods the live path uses (`trackActivity`, `armTimer` in `resume`).
   */
  replayEvent(ev: IHistoryEvent): void {
    this.history.push(ev);
    this.historyBytes += eventSize(ev);
    const type = num(ev.eventType as number);
    const time = timestampMs(ev.eventTime) ?? this.now;
    if (DELIVERED_EVENTS.has(type)) this.replayNeedsWft = true;
    switch (type) {
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: {
        const backoff = durationMs(ev.workflowExecutionStartedEventAttributes?.firstWorkflowTaskBackoff) ?? 0;
        this.startTime = time;
        this.executionTime = time + backoff;
        return;
      }
      case EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
        this.replayWft = { scheduledEventId: num(ev.eventId), attempt: ev.workflowTaskScheduledEventAttributes?.attempt || 1, scheduledTime: time, startedEventId: 0 };
        this.replayNeedsWft = false;
        return;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
        if (this.replayWft) this.replayWft.startedEventId = num(ev.eventId);
        return;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
        this.lastCompletedStartedId = num(ev.workflowTaskCompletedEventAttributes?.startedEventId);
        this.replayWft = null;
        this.replayFailedAttempt = 0;
        this.replayNeedsWft = false;
        return;
      case EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
      case EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
        this.replayFailedAttempt = this.replayWft?.attempt ?? 1;
        this.replayWft = null;
        this.replayNeedsWft = false;
        return;
      case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
        this.cancelRequested = true;
        return;
      case EventType.EVENT_TYPE_TIMER_STARTED: {
        const a = ev.timerStartedEventAttributes!;
        // Parked with a no-op handle; resume() arms it (the clock must not fire anything mid-replay).
        this.timers.set(a.timerId!, { startedEventId: num(ev.eventId), handle: { cancel() {} } as ClockTimer });
        return;
      }
      case EventType.EVENT_TYPE_TIMER_FIRED:
      case EventType.EVENT_TYPE_TIMER_CANCELED:
        this.timers.delete((ev.timerFiredEventAttributes ?? ev.timerCanceledEventAttributes)?.timerId ?? '');
        return;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        this.trackActivity(ev);
        return;
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: {
        const act = this.activities.get(num(ev.activityTaskCancelRequestedEventAttributes?.scheduledEventId));
        if (act) {
          act.cancelRequested = true;
          act.cancelRequestedEventId = num(ev.eventId);
        }
        return;
      }
      case EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
      case EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: {
        const a =
          ev.activityTaskCompletedEventAttributes ??
          ev.activityTaskFailedEventAttributes ??
          ev.activityTaskTimedOutEventAttributes ??
          ev.activityTaskCanceledEventAttributes;
        const act = this.activities.get(num(a?.scheduledEventId));
        if (act) {
          this.activities.delete(act.scheduledEventId);
          this.activityIds.delete(act.activityId);
        }
        return;
      }
      case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        this.upsertSearchAttributes(ev.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes ?? {});
        return;
      case EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED:
        this.upsertMemo(ev.workflowPropertiesModifiedEventAttributes?.upsertedMemo ?? {});
        return;
      default:
        if (CLOSE_STATUS[type] !== undefined) {
          this.status = CLOSE_STATUS[type];
          this.closeTime = time;
          this.closeEvent = ev;
          this.timers.clear();
          this.activities.clear();
          this.activityIds.clear();
          this.replayWft = null;
        }
    }
  }

  /** A request id replayed from the journal. */
  replayRequestId(kind: 'start' | 'signal', id: string): void {
    (kind === 'start' ? this.requestIds : this.signalRequestIds).add(id);
  }

  /**
   * Turns a replayed run into a live one: timeouts, timers and activities armed again at their original deadlines
   * (a deadline passed while the server was down fires at once), activities that were waiting put back on their
   * queues, and the workflow task that was pending rescheduled. A task started before the restart is gone with the
   * worker's connection to the old process: it is timed out now (as the real server would once its timeout passed)
   * and scheduled again at attempt 1, as after a sticky worker's loss. Events that waited behind it are written then.
   */
  resume(state: RestoredRunState): void {
    this.taskIdFloor();
    if (!this.isOpen) return;
    this.armRunTimeouts();
    // What waited behind the started task already left the live state: its activity finished, its timer fired.
    for (const d of state.buffered) {
      if (d.k === 'activity') {
        const act = this.activities.get(d.scheduledEventId);
        if (act) this.finishActivity(act);
      } else if (d.timerId) this.timers.delete(d.timerId);
    }
    for (const [timerId, t] of [...this.timers]) {
      const started = this.history[t.startedEventId - 1];
      const due = (timestampMs(started.eventTime) ?? this.now) + (durationMs(started.timerStartedEventAttributes?.startToFireTimeout) ?? 0);
      this.armTimer(timerId, t.startedEventId, due);
    }
    for (const act of [...this.activities.values()]) {
      const saved = state.activities.get(act.scheduledEventId);
      if (saved) {
        act.attempt = saved.attempt;
        act.lastFailure = saved.lastFailure;
        act.lastAttemptCompleteTime = saved.lastAttemptCompleteTime;
        act.heartbeatDetails = saved.heartbeatDetails;
        act.lastHeartbeatTime = saved.lastHeartbeatTime;
        act.lastWorkerIdentity = saved.identity;
      }
      this.armScheduleToClose(act);
      if (act.cancelRequested && saved?.state !== 'started') {
        // A cancel request for an activity that was not running closes it at once (requestCancelActivity); only a
        // journal cut between the two events leaves one behind, and a restart settles it the same way.
        this.finishActivity(act);
        this.append(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
          latestCancelRequestedEventId: act.cancelRequestedEventId,
          scheduledEventId: act.scheduledEventId,
          startedEventId: 0,
          identity: '',
        });
        this.replayNeedsWft = true;
        continue;
      }
      if (saved?.state === 'started') {
        // The worker may still be running it and may still report with its task token; if it died, the
        // start-to-close or heartbeat timeout retries it, as the real server does.
        act.state = 'started';
        act.startedTime = saved.startedTime;
        this.lockActivity(act, true);
        this.armStarted(act);
      } else if (saved?.state === 'backoff') {
        act.state = 'backoff';
        act.retryAt = saved.retryAt;
        this.armRetry(act);
      } else {
        this.offerActivity(act, saved?.attemptScheduledTime ?? act.firstScheduledTime);
      }
    }
    for (const d of state.buffered) {
      this.buffer.push({ kind: d.k === 'event' && d.timerId ? 'timerFired' : 'other', timerId: d.k === 'event' ? d.timerId : undefined, write: () => this.writeDeferred(d) });
    }
    const pending = this.replayWft;
    this.replayWft = null;
    if (pending && pending.startedEventId) {
      this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, {
        scheduledEventId: pending.scheduledEventId,
        startedEventId: pending.startedEventId,
        timeoutType: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
      });
      this.wftAttempt = 1;
      this.flushBuffer();
      this.scheduleWft();
    } else if (pending) {
      // Scheduled, not started: offered again as it was (its scheduled event is already in history).
      const wft: WorkflowTaskState = {
        scheduledEventId: pending.scheduledEventId,
        startedEventId: 0,
        attempt: pending.attempt,
        state: 'scheduled',
        transient: false,
        speculative: false,
        scheduledTime: pending.scheduledTime,
        startedTime: 0,
        messages: [],
        queueKey: '',
        sticky: null,
      };
      this.wft = wft;
      this.setWftLock(true);
      if (this.flushBuffer()) this.replayNeedsWft = false;
      this.offerWft(wft);
    } else {
      if (this.flushBuffer()) this.replayNeedsWft = true;
      if (this.replayFailedAttempt) {
        // The last task failed: its retry (a transient attempt) was in no history and is scheduled again.
        this.wftAttempt = this.replayNeedsWft ? 1 : this.replayFailedAttempt + 1;
        this.scheduleWft();
      } else if (this.replayNeedsWft || this.history.length === 1) {
        this.scheduleWft(Math.max(0, this.executionTime - this.now));
      }
    }
  }

  protected taskIdFloor(): void {
    const last = this.history[this.history.length - 1];
    if (last) this.host.noteTaskId?.(num(last.taskId));
  }
}
