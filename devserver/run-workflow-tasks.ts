/**
 * WorkflowRun's workflow tasks: scheduling (normal, sticky, transient and speculative), dispatch with full or partial
 * history, eager start, failure and timeout with their retries, and query tasks.
 */
import { notFound } from './errors';
import { queueKey, stickyQueueKey } from './matching';
import { enums, EventType, temporal, timestamp, duration, long, num, type IHistoryEvent, type IFailure } from './proto';
import { ATTRIBUTE_FIELD, type PollWftRequest, type PollWftResponse, type QueryTask, STICKY_POLLER_WINDOW_MS, type StickyQueue, type TaskToken, TimeoutType, WftFailedCause, type WorkflowTaskState, encodeToken } from './run-types';
import { RunActivities } from './run-activities';

export abstract class RunWorkflowTasks extends RunActivities {
  // ---- workflow tasks ------------------------------------------------------------------------------------------

  protected setWftLock(on: boolean): void {
    if (on === this.wftLocked) return;
    this.wftLocked = on;
    if (on) this.host.clock.lock();
    else this.host.clock.unlock();
  }

  /**
   * Schedules the next workflow task, after `delayMs`. `offer: false` keeps it from the queues: a completion that
   * hands it back itself (`returnNewWorkflowTask`) starts it at once, and no held poll may take it first.
   * `speculative`: the task only delivers updates (see WorkflowTaskState.speculative); a retry is never one.
   */
  scheduleWft(delayMs = 0, offer = true, speculative = false): void {
    if (!this.isOpen || this.wft) return;
    // A sticky run's task is scheduled on its worker's sticky queue (the scheduled event names it, and its
    // schedule-to-start timeout runs) whether or not that worker still polls: offerWft decides where it is offered.
    // Retries (transient attempts) follow a failure, which clears stickiness.
    const sticky = this.wftAttempt === 1 ? this.sticky : null;
    const attempt = this.wftAttempt;
    const transient = attempt > 1;
    const scheduledTime = this.now + delayMs;
    const wft: WorkflowTaskState = {
      scheduledEventId: transient ? this.lastEventId + 1 : 0,
      startedEventId: 0,
      attempt,
      state: 'scheduled',
      transient,
      speculative: speculative && !transient,
      scheduledTime,
      startedTime: 0,
      messages: [],
      queueKey: '',
      sticky,
    };
    this.wft = wft;
    if (delayMs > 0) {
      // A delayed task (start delay, workflow retry backoff) holds no time-skipping lock while it waits, as in the
      // Java test server: time skipping jumps over the wait.
      this.host.clock.after(delayMs, () => {
        if (this.wft === wft) this.setWftLock(true);
        this.enqueueWft(wft, offer);
      });
    } else {
      this.setWftLock(true);
      this.enqueueWft(wft, offer);
    }
  }

  /** Writes a scheduled task's event (unless transient) and offers it. */
  protected enqueueWft(wft: WorkflowTaskState, offer: boolean): void {
    if (this.wft !== wft) return;
    const { attempt, sticky } = wft;
    if (!wft.transient && !wft.speculative) {
      const ev = this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, this.scheduledAttrs(sticky, attempt));
      wft.scheduledEventId = num(ev.eventId);
    } else {
      wft.scheduledEventId = this.lastEventId + 1;
    }
    if (offer) this.offerWft(wft);
  }

  protected scheduledAttrs(sticky: StickyQueue | null, attempt: number): temporal.api.history.v1.IWorkflowTaskScheduledEventAttributes {
    return {
      taskQueue: sticky
        ? { name: sticky.name, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: this.taskQueue }
        : { name: this.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      startToCloseTimeout: duration(this.workflowTaskTimeoutMs),
      attempt,
    };
  }

  taskQueueKey(queue = this.taskQueue): string {
    return queueKey(this.namespace, queue);
  }

  stickyKey(sticky: StickyQueue): string {
    return stickyQueueKey(this.namespace, sticky.name);
  }

  /**
   * Offers a scheduled task on its queue: the sticky one (with its schedule-to-start timeout) or the normal one. As on
   * the real server, a sticky queue nobody has polled for 10 s (or whose worker announced its shutdown) gets no task:
   * matching answers StickyWorkerUnavailable and history offers it on the normal queue instead, with the whole history,
   * the sticky schedule-to-start timeout still running (if no worker takes it by then, it times out there too).
   */
  protected offerWft(wft: WorkflowTaskState): void {
    const sticky = wft.sticky;
    const key = sticky && this.host.workflowTasks.hasPoller(this.stickyKey(sticky), STICKY_POLLER_WINDOW_MS) ? this.stickyKey(sticky) : this.taskQueueKey();
    wft.queueKey = key;
    if (sticky) wft.stickyTimeout = this.host.clock.after(sticky.scheduleToStartMs, () => this.stickyTaskTimedOut(wft));
    // Method shorthand, not an arrow property (which tsx's keepNames wraps in a defineProperty call per task).
    const run = this;
    this.host.workflowTasks.offer(key, {
      dispatch(req) {
        return wft.queueKey === key ? run.dispatchWft(wft, req) : null;
      },
    });
  }

  /**
   * The sticky worker did not take the task in time (it died without saying so): as the real server, the task times
   * out (SCHEDULE_TO_START), stickiness is cleared, and a new task at the same attempt goes to the normal queue.
   */
  protected stickyTaskTimedOut(wft: WorkflowTaskState): void {
    if (this.wft !== wft || wft.state !== 'scheduled' || !this.isOpen) return;
    // A speculative task's timeout is history's business: as on the real server, its scheduled event is written first.
    this.persistTransient(wft);
    this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: 0,
      timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    });
    this.sticky = null;
    this.dropWft();
    this.scheduleWft();
  }

  /**
   * Forgets the sticky queue (`name`, or any): the worker shut down or the caller reset it. A task waiting there
   * moves to the normal queue, where a worker gets it with the whole history; no event is written.
   */
  dropSticky(name?: string): void {
    if (!this.sticky || (name !== undefined && this.sticky.name !== name)) return;
    this.sticky = null;
    const wft = this.wft;
    if (wft?.state === 'scheduled' && wft.sticky && wft.queueKey) {
      wft.stickyTimeout?.cancel();
      wft.stickyTimeout = undefined;
      wft.sticky = null;
      this.offerWft(wft);
    }
  }

  protected dropWft(): void {
    if (!this.wft) return;
    this.wft.timeout?.cancel();
    this.wft.stickyTimeout?.cancel();
    this.wft = null;
    this.setWftLock(false);
  }

  /**
   * Eager workflow start: the first task of a run just created for a start request with requestEagerExecution
   * (scheduled without being offered, so no held poll can take it) is started at once for the starter, with the
   * request's identity and request id on its started event, and returned in the start response. A worker that never
   * completes it is like any other: the task times out and the retry goes through the task queue. Null when there is
   * no such task (the run closed at once); a scheduled task not yet offered is then offered.
   */
  startEagerWft(identity: string, requestId: string): PollWftResponse | null {
    const wft = this.wft;
    if (!wft || wft.state !== 'scheduled' || wft.queueKey) return null;
    const task = this.dispatchWft(wft, { identity }, requestId);
    if (!task) this.offerWft(wft);
    return task;
  }

  /**
   * The eager task again, for a start retried with the same request id (the real server's respondToRetriedRequest):
   * only while the run's first task is still started at its first attempt by that request, else null (the retry then
   * gets a plain response, and the task, if it timed out, goes through the queue).
   */
  eagerWftAgain(requestId: string): PollWftResponse | null {
    const wft = this.wft;
    if (!this.isOpen || !wft || wft.state !== 'started' || wft.transient || wft.attempt !== 1 || wft.startedEventId !== 3) return null;
    if (!requestId || wft.requestId !== requestId) return null;
    return this.taskResponse(wft, this.history.slice(0, wft.startedEventId));
  }

  protected dispatchWft(wft: WorkflowTaskState, req: PollWftRequest, eagerRequestId?: string): PollWftResponse | null {
    if (this.wft !== wft || wft.state !== 'scheduled' || !this.isOpen) return null;
    const now = this.now;
    // Started from the sticky queue, or handed back inline to the sticky worker (not offered at all): that worker has
    // the run cached. A sticky task started from the normal queue goes to another worker, whole; as the real server
    // (RecordWorkflowTaskStarted), the run is no longer sticky.
    const partial = wft.sticky !== null && wft.queueKey !== this.taskQueueKey();
    if (wft.sticky && !partial) this.sticky = null;
    wft.stickyTimeout?.cancel();
    wft.stickyTimeout = undefined;
    wft.state = 'started';
    wft.startedTime = now;
    wft.identity = req.identity ?? '';
    wft.requestId = eagerRequestId ?? `${this.runId}-${wft.scheduledEventId}-${wft.attempt}`;
    const suggest =
      this.history.length >= this.host.options.suggestContinueAsNewAfterEvents ||
      this.historyBytes >= this.host.options.suggestContinueAsNewAfterBytes;
    const startedAttrs: temporal.api.history.v1.IWorkflowTaskStartedEventAttributes = {
      scheduledEventId: long(wft.scheduledEventId),
      identity: wft.identity,
      requestId: wft.requestId,
      historySizeBytes: long(this.historyBytes),
      suggestContinueAsNew: suggest,
    };
    let events: IHistoryEvent[];
    if (wft.speculative && wft.scheduledEventId !== this.lastEventId + 1) {
      // Events arrived while it waited: as on the real server it becomes a normal task, scheduled now, after them.
      wft.speculative = false;
      wft.scheduledEventId = num(this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, this.scheduledAttrs(wft.sticky, wft.attempt), now).eventId);
    }
    if (wft.transient || wft.speculative) {
      // Transient retries are never sticky, so their scheduled event names the normal queue.
      const sched: IHistoryEvent = {
        eventId: long(wft.scheduledEventId),
        eventTime: timestamp(wft.scheduledTime),
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        taskId: long(this.host.nextTaskId()),
        workflowTaskScheduledEventAttributes: this.scheduledAttrs(wft.sticky, wft.attempt),
      };
      const started: IHistoryEvent = {
        eventId: long(wft.scheduledEventId + 1),
        eventTime: timestamp(now),
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        taskId: long(this.host.nextTaskId()),
        workflowTaskStartedEventAttributes: startedAttrs,
      };
      wft.startedEventId = wft.scheduledEventId + 1;
      events = [...(partial ? this.history.slice(this.lastCompletedStartedId) : this.history), sched, started];
      (wft as WorkflowTaskState & { transientEvents?: IHistoryEvent[] }).transientEvents = [sched, started];
    } else {
      const ev = this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED, startedAttrs, now);
      wft.startedEventId = num(ev.eventId);
      // The sticky worker has the run cached up to the last completed task: it gets only what came after. (A worker
      // that evicted the run meanwhile fetches the whole history with GetWorkflowExecutionHistory.)
      events = partial ? this.history.slice(this.lastCompletedStartedId) : this.history.slice();
    }
    wft.timeout = this.host.clock.after(this.workflowTaskTimeoutMs, () => this.timeOutWft(wft));
    wft.messages = this.host.pendingUpdateMessages(this.self);
    // Every admitted update goes out with this task: none waits for another.
    this.updateWftWanted = false;
    return this.taskResponse(wft, events);
  }

  /** The poll response for a started task. */
  protected taskResponse(wft: WorkflowTaskState, events: IHistoryEvent[]): PollWftResponse {
    return {
      taskToken: encodeToken({ k: 'w', ns: this.namespace, r: this.runId, s: wft.scheduledEventId, a: wft.attempt }),
      workflowExecution: this.execution,
      workflowType: { name: this.workflowType },
      previousStartedEventId: long(this.lastCompletedStartedId),
      startedEventId: long(wft.startedEventId),
      attempt: wft.attempt,
      history: { events },
      workflowExecutionTaskQueue: { name: this.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      scheduledTime: timestamp(wft.scheduledTime),
      startedTime: timestamp(wft.startedTime),
      messages: wft.messages,
    };
  }

  /** Validates a workflow task token against the task in flight. */
  startedWft(token: TaskToken): WorkflowTaskState {
    const wft = this.wft;
    if (!this.isOpen || !wft || wft.state !== 'started' || wft.scheduledEventId !== token.s || wft.attempt !== token.a) {
      throw notFound('Workflow task not found.');
    }
    return wft;
  }

  /**
   * Writes the events a transient or speculative task showed the worker, once history must keep the task (it
   * completed, or a speculative one produced more than rejections, failed or timed out). A speculative task not yet
   * started has only its scheduled event.
   */
  protected persistTransient(wft: WorkflowTaskState): void {
    if (!wft.transient && !wft.speculative) return;
    if (wft.speculative) {
      wft.speculative = false;
      if (wft.state === 'scheduled') {
        wft.scheduledEventId = num(this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, this.scheduledAttrs(wft.sticky, wft.attempt), wft.scheduledTime).eventId);
        return;
      }
    }
    const events = (wft as WorkflowTaskState & { transientEvents?: IHistoryEvent[] }).transientEvents ?? [];
    for (const e of events) {
      // History took no other event since the task was shown (others wait in the buffer): the events the worker saw
      // go in as they are, ids, times, task ids and their cached encoding included.
      if (num(e.eventId!) === this.lastEventId + 1) {
        this.push(e);
        continue;
      }
      const type = num(e.eventType as number);
      const attrs = (e as Record<string, unknown>)[ATTRIBUTE_FIELD[type]] as object;
      this.append(type, attrs, num(e.eventTime?.seconds) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6);
    }
  }

  protected timeOutWft(wft: WorkflowTaskState): void {
    if (this.wft !== wft || !this.isOpen) return;
    if (wft.state === 'started' && !wft.transient) {
      this.persistTransient(wft);
      this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        timeoutType: TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
      });
    }
    this.retryWftAfterFailure();
  }

  protected retryWftAfterFailure(): void {
    const failed = this.wft;
    // As the real server: a failure while the run is sticky clears stickiness and retries at the same attempt on the
    // normal queue (the worker may simply have lost the run from its cache) before attempts start to count.
    const wasSticky = this.sticky !== null;
    this.sticky = null;
    this.dropWft();
    this.returnUnansweredUpdates(failed);
    const hadEvents = this.flushBuffer();
    if (hadEvents || !failed) {
      this.wftAttempt = 1;
      this.scheduleWft();
    } else if (wasSticky) {
      this.wftAttempt = failed.attempt;
      this.scheduleWft();
    } else {
      this.wftAttempt = failed.attempt + 1;
      // Immediate second attempt, then a capped exponential backoff like the real server's.
      const delay = this.wftAttempt <= 2 ? 0 : Math.min(1000 * 2 ** (this.wftAttempt - 3), 10 * 60_000);
      this.scheduleWft(delay);
    }
  }

  protected returnUnansweredUpdates(wft: WorkflowTaskState | null): void {
    if (wft?.messages.length) this.host.updateTaskEnded(this.self, false);
  }

  failWft(token: TaskToken, req: temporal.api.workflowservice.v1.IRespondWorkflowTaskFailedRequest): void {
    const wft = this.startedWft(token);
    this.writeWftFailed(wft, req.cause ?? WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED, req.failure, req.identity);
    this.retryWftAfterFailure();
  }

  protected writeWftFailed(wft: WorkflowTaskState, cause: number, failure?: IFailure | null, identity?: string | null): void {
    if (wft.transient) return;
    this.persistTransient(wft);
    this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, {
      scheduledEventId: wft.scheduledEventId,
      startedEventId: wft.startedEventId,
      cause,
      failure,
      identity: identity ?? '',
    });
  }

  // ---- queries -------------------------------------------------------------------------------------------------

  addQuery(q: QueryTask): void {
    this.queries.push(q);
    this.dispatchQueries();
  }

  /** Hands waiting queries to workers once no workflow task is in flight and the first task has completed. */
  dispatchQueries(): void {
    if (!this.queries.length) return;
    // As the real server: a query goes straight to a worker only while no workflow task is scheduled or started, since
    // that task carries events (a signal, say) that came before the query; otherwise it waits for the task to complete.
    if (this.wft || this.lastCompletedStartedId === 0) return;
    for (const q of this.queries.splice(0)) {
      if (q.dispatched) continue;
      q.dispatched = true;
      if (!q.locked) {
        q.locked = true;
        this.host.clock.lock();
      }
      this.host.workflowTasks.offer(this.taskQueueKey(), {
        dispatch: () => {
          // Answered or cancelled while queued: nothing to hand out (a pending query holds its clock lock).
          if (!q.locked) return null;
          if (this.wft && this.isOpen) {
            // A workflow task was scheduled meanwhile: the query waits for it to complete.
            q.dispatched = false;
            this.queries.push(q);
            return null;
          }
          return this.queryTask(q);
        },
      });
    }
  }

  protected queryTask(q: QueryTask): PollWftResponse {
    return {
      taskToken: encodeToken({ k: 'q', ns: this.namespace, r: this.runId, s: q.id }),
      workflowExecution: this.execution,
      workflowType: { name: this.workflowType },
      previousStartedEventId: long(this.lastCompletedStartedId),
      startedEventId: long(0),
      attempt: 1,
      history: { events: this.history.slice() },
      query: { queryType: q.queryType, queryArgs: q.args, header: q.header },
      workflowExecutionTaskQueue: { name: this.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      scheduledTime: timestamp(this.now),
      startedTime: timestamp(this.now),
    };
  }
}
