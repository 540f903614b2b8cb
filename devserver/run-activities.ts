/**
 * WorkflowRun's activities: scheduling (timeouts normalised as the real server does), dispatch to a poll or eagerly,
 * the four timeouts, retries with backoff, heartbeats, completion, failure and cancellation.
 */
import { notFound, failedPrecondition } from './errors';
import { enums, EventType, temporal, timestamp, timestampMs, duration, durationMs, num, type IHistoryEvent, type IFailure, type IPayloads } from './proto';
import { type ActivityState, type Deferred, type IRetryPolicy, type PollActRequest, type PollActResponse, RetryState, type TaskToken, TimeoutType, activityTimerOrder, capTimeout, encodeToken } from './run-types';
import { RunHistory } from './run-history';

export abstract class RunActivities extends RunHistory {
  // Defined in run-workflow-tasks.ts, used here.
  abstract taskQueueKey(queue?: string): string;

  // ---- activities ----------------------------------------------------------------------------------------------

  protected scheduleActivity(a: temporal.api.command.v1.IScheduleActivityTaskCommandAttributes, completedId: number): void {
    // Timeout normalisation as the real server (and the Java test server) do it.
    const runTimeout = this.runTimeoutMs;
    let s2c = durationMs(a.scheduleToCloseTimeout) ?? 0;
    let s2s = durationMs(a.scheduleToStartTimeout) ?? 0;
    let st2c = durationMs(a.startToCloseTimeout) ?? 0;
    let hb = durationMs(a.heartbeatTimeout) ?? 0;
    if (s2c > 0) {
      s2s = s2s > 0 ? Math.min(s2s, s2c) : s2c;
      st2c = st2c > 0 ? Math.min(st2c, s2c) : s2c;
    } else {
      s2c = runTimeout;
      if (s2s <= 0) s2s = runTimeout;
    }
    s2c = capTimeout(runTimeout, s2c);
    s2s = capTimeout(runTimeout, s2s);
    st2c = capTimeout(runTimeout, st2c);
    // The real server clamps the heartbeat timeout to start-to-close (always set by now).
    if (st2c > 0) hb = Math.min(hb, st2c);
    const rp = a.retryPolicy ?? {};
    const initialMs = durationMs(rp.initialInterval) || 1000;
    const retryPolicy: IRetryPolicy = {
      initialInterval: duration(initialMs),
      backoffCoefficient: rp.backoffCoefficient || 2,
      maximumInterval: duration(durationMs(rp.maximumInterval) || 100 * initialMs),
      maximumAttempts: rp.maximumAttempts ?? 0,
      nonRetryableErrorTypes: rp.nonRetryableErrorTypes ?? [],
    };
    const ev = this.append(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, {
      activityId: a.activityId,
      activityType: a.activityType,
      taskQueue: { name: a.taskQueue?.name || this.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      header: a.header,
      input: a.input,
      scheduleToCloseTimeout: duration(s2c),
      scheduleToStartTimeout: duration(s2s),
      startToCloseTimeout: duration(st2c),
      heartbeatTimeout: duration(hb),
      workflowTaskCompletedEventId: completedId,
      retryPolicy,
      useWorkflowBuildId: a.useWorkflowBuildId,
      priority: a.priority,
    });
    const act = this.trackActivity(ev);
    this.armScheduleToClose(act);
    // Eager dispatch (the real server's default, system.enableActivityEagerExecution): the task is handed out in the
    // response to this workflow task completion instead of through the task queue (see completeWft).
    if (a.requestEagerExecution && this.eagerActivities) this.eagerActivities.push(act);
    else this.offerActivity(act);
  }

  /** An activity's state from its scheduled event (the normalised timeouts are in it), when scheduled or replayed. */
  protected trackActivity(ev: IHistoryEvent): ActivityState {
    const a = ev.activityTaskScheduledEventAttributes!;
    const retryPolicy = a.retryPolicy ?? {};
    const scheduled = timestampMs(ev.eventTime) ?? this.now;
    const act: ActivityState = {
      scheduledEventId: num(ev.eventId),
      activityId: a.activityId!,
      activityType: a.activityType!.name!,
      taskQueue: a.taskQueue?.name || this.taskQueue,
      input: a.input,
      header: a.header,
      retry: {
        initialMs: durationMs(retryPolicy.initialInterval)!,
        maxMs: durationMs(retryPolicy.maximumInterval)!,
        backoffCoefficient: retryPolicy.backoffCoefficient!,
        maximumAttempts: retryPolicy.maximumAttempts!,
        nonRetryable: retryPolicy.nonRetryableErrorTypes ?? [],
      },
      retryPolicy,
      scheduleToCloseMs: durationMs(a.scheduleToCloseTimeout) ?? 0,
      scheduleToStartMs: durationMs(a.scheduleToStartTimeout) ?? 0,
      startToCloseMs: durationMs(a.startToCloseTimeout) ?? 0,
      heartbeatMs: durationMs(a.heartbeatTimeout) ?? 0,
      attempt: 1,
      state: 'scheduled',
      firstScheduledTime: scheduled,
      attemptScheduledTime: scheduled,
      cancelRequested: false,
      locked: false,
      timers: {},
    };
    this.activities.set(act.scheduledEventId, act);
    this.activityIds.set(act.activityId, act.scheduledEventId);
    return act;
  }

  protected armScheduleToClose(act: ActivityState): void {
    if (act.scheduleToCloseMs > 0) {
      act.timers.scheduleToClose = this.host.clock.at(act.firstScheduledTime + act.scheduleToCloseMs, () =>
        this.timeOutActivity(act, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE),
        activityTimerOrder(act, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE),
      );
    }
  }

  protected lockActivity(act: ActivityState, on: boolean): void {
    if (act.locked === on) return;
    act.locked = on;
    if (on) this.host.clock.lock();
    else this.host.clock.unlock();
  }

  /** Puts an attempt on its task queue; `scheduledAt` is given when a restart puts back one scheduled before it. */
  protected offerActivity(act: ActivityState, scheduledAt?: number): void {
    act.state = 'scheduled';
    // The first attempt counts from its scheduled event (the clock may have moved on since), so that a defaulted
    // schedule-to-start falls due exactly with schedule-to-close, as on the real server.
    // A retry is scheduled at the time its backoff was due (the real server's nextScheduledTime), even when the clock
    // reached the timer a little later.
    act.attemptScheduledTime = scheduledAt ?? (act.attempt === 1 ? act.firstScheduledTime : act.retryAt ?? this.now);
    act.retryAt = undefined;
    // The first attempt is implied by the scheduled event; later ones are in no event.
    if (act.attempt > 1 && scheduledAt === undefined) this.host.journal?.activity(this.self, act);
    this.lockActivity(act, true);
    if (act.scheduleToStartMs > 0) {
      act.timers.scheduleToStart = this.host.clock.at(act.attemptScheduledTime + act.scheduleToStartMs, () =>
        this.timeOutActivity(act, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START),
        activityTimerOrder(act, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START),
      );
    }
    const attempt = act.attempt;
    const run = this;
    this.host.activityTasks.offer(this.taskQueueKey(act.taskQueue), {
      dispatch(req) {
        return run.dispatchActivity(act, attempt, req);
      },
    });
  }

  protected dispatchActivity(act: ActivityState, attempt: number, req: PollActRequest): PollActResponse | null {
    if (!this.isOpen || this.activities.get(act.scheduledEventId) !== act || act.attempt !== attempt || act.state !== 'scheduled') {
      return null;
    }
    const now = this.now;
    act.state = 'started';
    act.startedTime = now;
    act.lastWorkerIdentity = req.identity ?? '';
    act.timers.scheduleToStart?.cancel();
    this.armStarted(act);
    this.host.journal?.activity(this.self, act);
    return {
      taskToken: encodeToken({ k: 'a', ns: this.namespace, r: this.runId, s: act.scheduledEventId, a: attempt }),
      workflowNamespace: this.namespace,
      workflowType: { name: this.workflowType },
      workflowExecution: this.execution,
      activityType: { name: act.activityType },
      activityId: act.activityId,
      header: act.header,
      input: act.input,
      heartbeatDetails: act.heartbeatDetails,
      scheduledTime: timestamp(act.firstScheduledTime),
      currentAttemptScheduledTime: timestamp(act.attemptScheduledTime),
      startedTime: timestamp(now),
      attempt,
      scheduleToCloseTimeout: duration(act.scheduleToCloseMs),
      startToCloseTimeout: duration(act.startToCloseMs),
      heartbeatTimeout: duration(act.heartbeatMs),
      retryPolicy: act.retryPolicy,
    };
  }

  /** A started attempt's start-to-close and heartbeat timeouts, counted from its start (and last heartbeat). */
  protected armStarted(act: ActivityState): void {
    if (act.startToCloseMs > 0) {
      act.timers.startToClose = this.host.clock.at(act.startedTime! + act.startToCloseMs, () =>
        this.timeOutActivity(act, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE),
        activityTimerOrder(act, TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE),
      );
    }
    this.armHeartbeat(act);
  }

  protected armHeartbeat(act: ActivityState): void {
    act.timers.heartbeat?.cancel();
    if (act.heartbeatMs > 0) {
      // From this attempt's last heartbeat, or its start (a heartbeat of an earlier attempt does not count).
      const from = Math.max(act.lastHeartbeatTime ?? 0, act.startedTime ?? this.now);
      act.timers.heartbeat = this.host.clock.at(from + act.heartbeatMs, () =>
        this.timeOutActivity(act, TimeoutType.TIMEOUT_TYPE_HEARTBEAT),
        activityTimerOrder(act, TimeoutType.TIMEOUT_TYPE_HEARTBEAT),
      );
    }
  }

  /** The started activity a token names; NOT_FOUND when it finished, retried or the run closed. */
  startedActivity(token: TaskToken): ActivityState {
    const act = this.activities.get(token.s as number);
    if (!this.isOpen || !act || act.state !== 'started' || act.attempt !== token.a) {
      throw notFound('invalid activityID or activity already timed out or invoking workflow is completed');
    }
    return act;
  }

  activityById(activityId: string): ActivityState {
    const id = this.activityIds.get(activityId);
    const act = id === undefined ? undefined : this.activities.get(id);
    if (!this.isOpen || !act) throw notFound(`activity "${activityId}" not found or already completed`);
    return act;
  }

  heartbeat(act: ActivityState, details: IPayloads | null | undefined): { cancelRequested: boolean } {
    if (act.state !== 'started') throw notFound('activity is not running');
    act.heartbeatDetails = details ?? act.heartbeatDetails;
    act.lastHeartbeatTime = this.now;
    this.armHeartbeat(act);
    // Heartbeat details are a checkpoint the next attempt resumes from: they must survive a restart.
    this.host.journal?.activity(this.self, act);
    return { cancelRequested: act.cancelRequested };
  }

  protected releaseActivity(act: ActivityState): void {
    for (const t of Object.values(act.timers)) t?.cancel();
    act.timers = {};
    this.lockActivity(act, false);
  }

  protected finishActivity(act: ActivityState): void {
    this.releaseActivity(act);
    this.activities.delete(act.scheduledEventId);
    this.activityIds.delete(act.activityId);
  }

  /** Writes the lazily recorded ActivityTaskStarted; returns its id. */
  protected writeActivityStarted(act: { scheduledEventId: number; attempt: number }, identity: string, lastFailure: IFailure | null | undefined): number {
    const ev = this.append(EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED, {
      scheduledEventId: act.scheduledEventId,
      identity,
      requestId: `${this.runId}-${act.scheduledEventId}-${act.attempt}`,
      attempt: act.attempt,
      lastFailure,
    });
    return num(ev.eventId);
  }

  completeActivity(act: ActivityState, result: IPayloads | null | undefined, identity: string): void {
    if (act.state !== 'started') throw notFound('activity is not running');
    this.finishActivity(act);
    this.deliver(this.activityClose(act, true, identity, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, { result, identity }));
  }

  failActivity(act: ActivityState, failure: IFailure | null | undefined, identity: string, lastHeartbeatDetails?: IPayloads | null): void {
    if (act.state !== 'started') throw notFound('activity is not running');
    if (lastHeartbeatDetails) act.heartbeatDetails = lastHeartbeatDetails;
    const decision = this.retryDecision(act, failure);
    if (decision.retryState === RetryState.RETRY_STATE_IN_PROGRESS) {
      this.retryActivity(act, failure, decision.delayMs);
      return;
    }
    this.finishActivity(act);
    this.deliver(
      this.activityClose(act, true, identity, EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED, { failure, identity, retryState: decision.retryState }),
    );
  }

  cancelActivityReported(act: ActivityState, details: IPayloads | null | undefined, identity: string): void {
    if (act.state !== 'started') throw notFound('activity is not running');
    if (!act.cancelRequested) throw failedPrecondition('activity cancellation was not requested');
    this.finishActivity(act);
    this.deliver(
      this.activityClose(act, true, identity, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
        details,
        latestCancelRequestedEventId: act.cancelRequestedEventId,
        identity,
      }),
    );
  }

  /** An activity's close event as a delivery: its started event (when it ran) comes first, with the attempt's failure. */
  protected activityClose(act: ActivityState, started: boolean, identity: string, type: number, attrs: object): Deferred {
    return { k: 'activity', scheduledEventId: act.scheduledEventId, attempt: act.attempt, started, identity, lastFailure: act.lastFailure, type, attrs };
  }

  protected retryDecision(act: ActivityState, failure: IFailure | null | undefined): { retryState: number; delayMs: number } {
    // The order of the checks follows the real server's RetryActivity: a cancel request ends retries; schedule-to-start
    // and schedule-to-close are deadlines (TIMEOUT), not failures; then retryability, attempts and the deadline.
    if (act.cancelRequested) return { retryState: RetryState.RETRY_STATE_CANCEL_REQUESTED, delayMs: 0 };
    const timeoutType = failure?.timeoutFailureInfo?.timeoutType;
    if (timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START || timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE) {
      return { retryState: RetryState.RETRY_STATE_TIMEOUT, delayMs: 0 };
    }
    const app = failure?.applicationFailureInfo;
    if (app?.nonRetryable) return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
    // Timeouts can be listed as "TemporalTimeout:StartToClose" / "TemporalTimeout:Heartbeat".
    const errorType =
      app?.type ??
      (timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
        ? 'TemporalTimeout:StartToClose'
        : timeoutType === TimeoutType.TIMEOUT_TYPE_HEARTBEAT
          ? 'TemporalTimeout:Heartbeat'
          : undefined);
    if (errorType && act.retry.nonRetryable.includes(errorType)) {
      return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
    }
    if (failure?.canceledFailureInfo || failure?.terminatedFailureInfo || failure?.serverFailureInfo?.nonRetryable) {
      return { retryState: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE, delayMs: 0 };
    }
    if (act.retry.maximumAttempts > 0 && act.attempt >= act.retry.maximumAttempts) {
      return { retryState: RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED, delayMs: 0 };
    }
    const explicit = durationMs(app?.nextRetryDelay);
    const delayMs =
      explicit !== undefined && explicit > 0
        ? explicit
        : Math.min(act.retry.initialMs * act.retry.backoffCoefficient ** (act.attempt - 1), act.retry.maxMs);
    if (act.scheduleToCloseMs > 0 && this.now + delayMs > act.firstScheduledTime + act.scheduleToCloseMs) {
      return { retryState: RetryState.RETRY_STATE_TIMEOUT, delayMs: 0 };
    }
    return { retryState: RetryState.RETRY_STATE_IN_PROGRESS, delayMs };
  }

  protected retryActivity(act: ActivityState, failure: IFailure | null | undefined, delayMs: number): void {
    act.lastFailure = failure;
    const now = this.now;
    act.lastAttemptCompleteTime = now;
    for (const k of ['scheduleToStart', 'startToClose', 'heartbeat'] as const) {
      act.timers[k]?.cancel();
      delete act.timers[k];
    }
    act.state = 'backoff';
    act.retryAt = now + delayMs;
    this.host.journal?.activity(this.self, act);
    this.armRetry(act);
  }

  protected armRetry(act: ActivityState): void {
    // No lock during backoff: with time skipping the wait is skipped, as in the Java test server.
    this.lockActivity(act, false);
    act.timers.retry = this.host.clock.at(act.retryAt!, () => {
      if (this.activities.get(act.scheduledEventId) !== act || !this.isOpen) return;
      act.attempt++;
      this.offerActivity(act);
    });
  }

  protected timeOutActivity(act: ActivityState, timeoutType: number): void {
    if (this.activities.get(act.scheduledEventId) !== act || !this.isOpen) return;
    const names: Record<number, string> = {
      [TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE]: 'StartToClose',
      [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START]: 'ScheduleToStart',
      [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE]: 'ScheduleToClose',
      [TimeoutType.TIMEOUT_TYPE_HEARTBEAT]: 'Heartbeat',
    };
    const timeoutFailure: IFailure = {
      message: `activity ${names[timeoutType]} timeout`,
      source: 'Server',
      timeoutFailureInfo: { timeoutType, lastHeartbeatDetails: act.heartbeatDetails },
    };
    const wasStarted = act.state === 'started';
    let retryState: number;
    if (timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE) {
      retryState = RetryState.RETRY_STATE_TIMEOUT;
    } else {
      const decision = this.retryDecision(act, timeoutFailure);
      if (decision.retryState === RetryState.RETRY_STATE_IN_PROGRESS) {
        this.retryActivity(act, timeoutFailure, decision.delayMs);
        return;
      }
      retryState = decision.retryState;
    }
    this.finishActivity(act);
    // As the real server: a start-to-close or heartbeat timeout that leaves no time for another attempt before the
    // schedule-to-close deadline is reported as a SCHEDULE_TO_CLOSE timeout. The cause is the previous attempt's failure.
    const noTimeLeft =
      retryState === RetryState.RETRY_STATE_TIMEOUT &&
      (timeoutType === TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE || timeoutType === TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
    const failure: IFailure = noTimeLeft
      ? {
          message: 'Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying',
          source: 'Server',
          timeoutFailureInfo: { timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, lastHeartbeatDetails: act.heartbeatDetails },
          cause: act.lastFailure ?? undefined,
        }
      : { ...timeoutFailure, cause: act.lastFailure ?? undefined };
    this.deliver(
      this.activityClose(act, wasStarted, act.lastWorkerIdentity ?? '', EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, { failure, retryState }),
    );
  }

  protected requestCancelActivity(scheduledEventId: number, completedId: number): void {
    const ev = this.append(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED, {
      scheduledEventId,
      workflowTaskCompletedEventId: completedId,
    });
    const act = this.activities.get(scheduledEventId);
    if (!act) return; // Already finished (its result may be buffered): recorded, nothing more to do.
    act.cancelRequested = true;
    act.cancelRequestedEventId = num(ev.eventId);
    if (act.state !== 'started') {
      this.finishActivity(act);
      this.append(EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED, {
        latestCancelRequestedEventId: act.cancelRequestedEventId,
        scheduledEventId,
        startedEventId: 0,
        identity: '',
      });
      this.requestWft();
    }
  }
}
