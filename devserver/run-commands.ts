/**
 * WorkflowRun's workflow task completions: the commands validated, then applied in order (activities, timers, markers,
 * search attributes, memo, the close commands, protocol messages, and the host's cross-run commands).
 */
import { invalidArgument, ServerError, Status } from './errors';
import { EventType, temporal, durationMs, long, num, type IHistoryEvent } from './proto';
import { CRON_UNSUPPORTED } from './workflow-retry';
import { type ActivityState, CLOSE_COMMANDS, CommandType, DISCARD_SPECULATIVE_MAX_EVENTS, ExecutionStatus, type ICommand, type PollActRequest, type PollActResponse, type PollWftResponse, REJECTION_TYPE_URL, type TaskToken, WftFailedCause } from './run-types';
import { RunWorkflowTasks } from './run-workflow-tasks';

export abstract class RunCommands extends RunWorkflowTasks {
  // Defined in run.ts, used here.
  abstract close(status: number, closeEvent: IHistoryEvent): void;

  completeWft(
    token: TaskToken,
    req: temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest,
  ): { activityTasks: PollActResponse[]; workflowTask?: PollWftResponse; resetHistoryEventId?: ReturnType<typeof long> } {
    const wft = this.startedWft(token);
    const commands = req.commands ?? [];
    const closes = commands.filter((c) => CLOSE_COMMANDS.has(num(c.commandType as number)));
    if (closes.length && this.buffer.length) {
      // A signal (or other event) raced with completion: reject so the worker sees it first. Core handles this exact message.
      this.persistTransient(wft);
      this.writeWftFailed(
        { ...wft, transient: false },
        WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
        { message: 'UnhandledCommand' },
        req.identity,
      );
      this.dropWft();
      this.returnUnansweredUpdates(wft);
      this.sticky = null;
      this.wftAttempt = 1;
      this.flushBuffer();
      this.scheduleWft();
      throw new ServerError(Status.INVALID_ARGUMENT, 'UnhandledCommand');
    }
    const bad = this.validateCommands(commands);
    if (bad) {
      this.writeWftFailed(wft, bad.cause, { message: bad.message }, req.identity);
      this.retryWftAfterFailure();
      throw invalidArgument(bad.message);
    }
    // A speculative task that only rejected updates is dropped: no event at all, history and journal unchanged.
    let completedId = 0;
    const discarded = wft.speculative && this.discardable(commands, req);
    if (!discarded) {
      this.persistTransient(wft);
      const completed = this.append(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        identity: req.identity ?? '',
        binaryChecksum: req.binaryChecksum ?? '',
        sdkMetadata: req.sdkMetadata,
        meteringMetadata: req.meteringMetadata,
        workerVersion: req.workerVersionStamp,
      });
      completedId = num(completed.eventId);
      this.lastCompletedStartedId = wft.startedEventId;
    }
    this.wftAttempt = 1;
    const stickyQueue = req.stickyAttributes?.workerTaskQueue?.name;
    this.sticky = stickyQueue
      ? { name: stickyQueue, scheduleToStartMs: durationMs(req.stickyAttributes?.scheduleToStartTimeout) || this.workflowTaskTimeoutMs }
      : null;
    const deliveredMessages = wft.messages;
    this.dropWft();
    this.processingCommands = true;
    this.needWft = false;
    const eager: ActivityState[] = (this.eagerActivities = []);
    try {
      this.host.handleMessages(this.self, req.messages ?? [], completedId);
      for (const command of commands) {
        if (!this.isOpen) break;
        this.applyCommand(command, completedId, req.messages ?? []);
      }
      if (deliveredMessages.length) this.host.updateTaskEnded(this.self, true);
    } finally {
      this.processingCommands = false;
      this.eagerActivities = null;
    }
    const flushed = this.flushBuffer();
    // A worker that caches the run asks for the next task in this same response (`returnNewWorkflowTask`): events
    // that arrived during the task it just completed. As the real server, it gets it at once, with partial history;
    // the task skips matching, so none of the worker's held polls takes it first.
    const inline = !!req.returnNewWorkflowTask && this.sticky !== null;
    if (this.isOpen && (flushed || this.needWft || req.forceCreateNewWorkflowTask)) this.scheduleWft(0, !inline);
    else if (this.isOpen && this.updateWftWanted) this.scheduleWft(0, !inline, true);
    this.needWft = false;
    this.updateWftWanted = false;
    let workflowTask: PollWftResponse | undefined;
    // The task just scheduled (attempt 1, the run open) is started here; dispatchWft declines nothing else.
    const next = this.wft;
    if (inline && next?.state === 'scheduled') {
      next.sticky = this.sticky;
      workflowTask = this.dispatchWft(next, { identity: req.identity }) ?? undefined;
    }
    this.dispatchQueries();
    // Eager activities start now, after every command: none when the run closed or the activity was cancelled in
    // this same task (dispatchActivity declines those), as the real server's post-command step.
    const tasks: PollActResponse[] = [];
    for (const act of eager) {
      if (!this.isOpen || this.activities.get(act.scheduledEventId) !== act) continue;
      this.lockActivity(act, true);
      const task = this.dispatchActivity(act, act.attempt, { identity: req.identity } as PollActRequest);
      if (task) tasks.push(task);
    }
    // A dropped task tells the worker where its history really ends (the real server's ResetHistoryEventId): core
    // rolls back to the last completed task's started event and forgets the two events it was shown.
    return discarded ? { activityTasks: tasks, workflowTask, resetHistoryEventId: long(this.lastCompletedStartedId) } : { activityTasks: tasks, workflowTask };
  }

  /**
   * Whether a speculative task's completion leaves no trace, as the real server's skipWorkflowTaskCompletedEvent
   * decides: no commands, not a heartbeat, only update rejections among the messages, and not too many events shown
   * to the worker since the last completed task (none unless the worker can take them again, as core 1.24 says).
   */
  protected discardable(commands: ICommand[], req: temporal.api.workflowservice.v1.IRespondWorkflowTaskCompletedRequest): boolean {
    if (commands.length || req.forceCreateNewWorkflowTask) return false;
    const interleaved = this.lastEventId - (this.lastCompletedStartedId + 1);
    const maxInterleaved = req.capabilities?.discardSpeculativeWorkflowTaskWithEvents ? DISCARD_SPECULATIVE_MAX_EVENTS : 0;
    if (interleaved > maxInterleaved) return false;
    return (req.messages ?? []).every((m) => m.body?.type_url === REJECTION_TYPE_URL);
  }

  protected validateCommands(commands: ICommand[]): { cause: number; message: string } | undefined {
    const newTimers = new Set<string>();
    const newActivities = new Set<string>();
    let closed = false;
    for (const c of commands) {
      const type = num(c.commandType as number);
      if (closed) {
        return {
          cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES,
          message: 'invalid command sequence: a command follows the workflow close command',
        };
      }
      if (CLOSE_COMMANDS.has(type)) closed = true;
      if (type === CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK) {
        const a = c.scheduleActivityTaskCommandAttributes;
        const bad = (message: string) => ({
          cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
          message,
        });
        if (!a) return bad('ScheduleActivityTaskCommandAttributes is not set on command.');
        if (!a.activityId) return bad('ActivityId is not set on command.');
        if (!a.activityType?.name) return bad('ActivityType is not set on command.');
        if (this.activityIds.has(a.activityId) || newActivities.has(a.activityId)) {
          return bad(`ActivityId "${a.activityId}" is already in use by an open activity.`);
        }
        newActivities.add(a.activityId);
        const s2c = durationMs(a.scheduleToCloseTimeout) ?? 0;
        const st2c = durationMs(a.startToCloseTimeout) ?? 0;
        if (s2c <= 0 && st2c <= 0) {
          return bad('A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.');
        }
      } else if (type === CommandType.COMMAND_TYPE_START_TIMER) {
        const a = c.startTimerCommandAttributes;
        const bad = (message: string) => ({ cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES, message });
        if (!a?.timerId) return bad('TimerId is not set on command.');
        if (this.timers.has(a.timerId) || newTimers.has(a.timerId)) return bad(`TimerId "${a.timerId}" is already in use by an open timer.`);
        newTimers.add(a.timerId);
      } else if (type === CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION) {
        const a = c.startChildWorkflowExecutionCommandAttributes;
        // Accepting a cron schedule and never running it would be a silent gap (see workflow-retry.ts).
        if (a?.cronSchedule) return { cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES, message: CRON_UNSUPPORTED };
        const err = a?.searchAttributes && this.host.checkSearchAttributes?.(a.searchAttributes);
        if (err) {
          return {
            cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
            message: `invalid SearchAttributes on StartChildWorkflowCommand: ${err}. WorkflowId=${a.workflowId ?? ''} WorkflowType=${a.workflowType?.name ?? ''} Namespace=${a.namespace || this.namespace}`,
          };
        }
      } else if (type === CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION) {
        const a = c.continueAsNewWorkflowExecutionCommandAttributes;
        if (a?.cronSchedule) return { cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES, message: CRON_UNSUPPORTED };
        const err = a?.searchAttributes && this.host.checkSearchAttributes?.(a.searchAttributes);
        if (err) {
          return {
            cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
            message: `invalid SearchAttributes on ContinueAsNewWorkflowExecutionCommand: ${err}. WorkflowType=${a.workflowType?.name || this.workflowType} TaskQueue=${a.taskQueue?.name || this.taskQueue}`,
          };
        }
      } else if (type === CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) {
        // As the real server's ValidateUpsertWorkflowSearchAttributes.
        const a = c.upsertWorkflowSearchAttributesCommandAttributes;
        const bad = (message: string) => ({ cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, message });
        if (!a) return bad('UpsertWorkflowSearchAttributesCommandAttributes is not set on UpsertWorkflowSearchAttributesCommand.');
        if (!a.searchAttributes) return bad('SearchAttributes is not set on UpsertWorkflowSearchAttributesCommand.');
        if (!Object.keys(a.searchAttributes.indexedFields ?? {}).length) return bad('IndexedFields is not set on UpsertWorkflowSearchAttributesCommand.');
        const err = this.host.checkSearchAttributes?.(a.searchAttributes);
        if (err) return bad(err);
      } else if (type === CommandType.COMMAND_TYPE_UNSPECIFIED) {
        return { cause: WftFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND, message: 'Unknown command type: COMMAND_TYPE_UNSPECIFIED.' };
      }
    }
    return undefined;
  }

  protected applyCommand(c: ICommand, completedId: number, messages: temporal.api.protocol.v1.IMessage[]): void {
    const type = num(c.commandType as number);
    switch (type) {
      case CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK:
        return this.scheduleActivity(c.scheduleActivityTaskCommandAttributes!, completedId);
      case CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK:
        return this.requestCancelActivity(num(c.requestCancelActivityTaskCommandAttributes?.scheduledEventId), completedId);
      case CommandType.COMMAND_TYPE_START_TIMER:
        return this.startTimer(c.startTimerCommandAttributes!, completedId);
      case CommandType.COMMAND_TYPE_CANCEL_TIMER:
        return this.cancelTimer(c.cancelTimerCommandAttributes?.timerId ?? '', completedId);
      case CommandType.COMMAND_TYPE_RECORD_MARKER: {
        const a = c.recordMarkerCommandAttributes ?? {};
        this.append(EventType.EVENT_TYPE_MARKER_RECORDED, {
          markerName: a.markerName,
          details: a.details,
          header: a.header,
          failure: a.failure,
          workflowTaskCompletedEventId: completedId,
        });
        return;
      }
      case CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: {
        const sa = c.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes ?? {};
        this.append(EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, {
          searchAttributes: sa,
          workflowTaskCompletedEventId: completedId,
        });
        this.upsertSearchAttributes(sa);
        return;
      }
      case CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: {
        const memo = c.modifyWorkflowPropertiesCommandAttributes?.upsertedMemo ?? {};
        this.append(EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, {
          upsertedMemo: memo,
          workflowTaskCompletedEventId: completedId,
        });
        this.upsertMemo(memo);
        return;
      }
      case CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: {
        const result = c.completeWorkflowExecutionCommandAttributes?.result;
        // A cron workflow's completion starts its next run: the completed event names it, as on the real server.
        const cron = this.host.workflowCron(this.self);
        const ev = this.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, {
          result,
          workflowTaskCompletedEventId: completedId,
          newExecutionRunId: cron?.newRunId,
        });
        this.nextRunId = cron?.newRunId;
        this.close(ExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED, ev);
        if (cron) this.host.startCron(this.self, cron, result);
        return;
      }
      case CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: {
        const failure = c.failWorkflowExecutionCommandAttributes?.failure;
        // The retry policy decides before the event is written: a retried run's event names the run that retries it.
        const retry = this.host.workflowRetry(this.self, failure);
        const ev = this.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, {
          failure,
          retryState: retry.retryState,
          workflowTaskCompletedEventId: completedId,
          newExecutionRunId: retry.newRunId,
        });
        this.nextRunId = retry.newRunId;
        this.close(ExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED, ev);
        if (retry.newRunId) this.host.startRetry(this.self, retry, failure);
        return;
      }
      case CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: {
        const ev = this.append(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, {
          details: c.cancelWorkflowExecutionCommandAttributes?.details,
          workflowTaskCompletedEventId: completedId,
        });
        return this.close(ExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED, ev);
      }
      case CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE: {
        const id = c.protocolMessageCommandAttributes?.messageId ?? '';
        const msg = messages.find((m) => m.id === id);
        if (msg) this.host.applyProtocolMessage(this.self, msg);
        return;
      }
      default:
        if (this.host.handleCrossRunCommand(this.self, c, completedId)) return;
        this.host.log(`ignoring unsupported command type ${type}`);
    }
  }

  // ---- timers --------------------------------------------------------------------------------------------------

  protected startTimer(a: temporal.api.command.v1.IStartTimerCommandAttributes, completedId: number): void {
    const ev = this.append(EventType.EVENT_TYPE_TIMER_STARTED, {
      timerId: a.timerId,
      startToFireTimeout: a.startToFireTimeout,
      workflowTaskCompletedEventId: completedId,
    });
    this.armTimer(a.timerId!, num(ev.eventId), this.now + (durationMs(a.startToFireTimeout) ?? 0));
  }

  /** Arms a started timer to fire at `due` (when started, and again after a restart). */
  protected armTimer(timerId: string, startedEventId: number, due: number): void {
    const handle = this.host.clock.at(due, () => {
      if (this.timers.get(timerId)?.startedEventId !== startedEventId) return;
      this.timers.delete(timerId);
      this.deliver({ k: 'event', type: EventType.EVENT_TYPE_TIMER_FIRED, attrs: { timerId, startedEventId }, timerId }, {
        kind: 'timerFired',
        timerId,
      });
    });
    this.timers.set(timerId, { startedEventId, handle });
  }

  protected cancelTimer(timerId: string, completedId: number): void {
    let startedEventId: number | undefined;
    const t = this.timers.get(timerId);
    if (t) {
      t.handle.cancel();
      this.timers.delete(timerId);
      startedEventId = t.startedEventId;
    } else {
      // The timer fired during this task: its buffered TimerFired is withdrawn, as the real server does.
      const i = this.buffer.findIndex((b) => b.kind === 'timerFired' && b.timerId === timerId);
      if (i < 0) return;
      this.buffer.splice(i, 1);
      const started = this.history.find(
        (e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED && e.timerStartedEventAttributes?.timerId === timerId,
      );
      startedEventId = num(started?.eventId);
    }
    this.append(EventType.EVENT_TYPE_TIMER_CANCELED, {
      timerId,
      startedEventId,
      workflowTaskCompletedEventId: completedId,
      identity: '',
    });
  }
}
