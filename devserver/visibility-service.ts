/**
 * Visibility wired into the server: every run is indexed in the in-memory store (visibility/store.ts) when it starts,
 * after each completed workflow task (history length, upserted search attributes and memo) and when it closes, and
 * the List/Count/GetSearchAttributes RPCs and the OperatorService's search-attribute admin read from it. Search
 * attributes on start requests are checked against the registry, as the real frontend does.
 */
import type { CallContext, Engine } from './engine';
import type { IHistoryEvent } from './proto';
import { invalidArgument, requireField } from './errors';
import { temporal } from './proto';
import type { WorkflowRun } from './run';
import { QueryError, ExecutionStatus as StatusByName, type ExecutionStatusName, type VisibilityRecord } from './visibility/query';
import {
  SearchAttributeError,
  SearchAttributeRegistry,
  applyTypeMetadata,
  decodeSearchAttributes,
  encodeSearchAttributes,
  fromProtoIndexedValueType,
  type TypedSearchAttribute,
} from './visibility/search-attributes';
import { InvalidPageTokenError, VisibilityStore } from './visibility/store';

const STATUS_NAME = new Map<number, ExecutionStatusName>(
  (Object.entries(StatusByName) as Array<[ExecutionStatusName, number]>).map(([name, n]) => [n, name]),
);

function asInvalidArgument<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof QueryError || e instanceof SearchAttributeError || e instanceof InvalidPageTokenError || e instanceof RangeError) {
      throw invalidArgument(e.message);
    }
    throw e;
  }
}

export function installVisibility(engine: Engine, launchAttributes: Record<string, string>) {
  const registry = new SearchAttributeRegistry({ defaults: true });
  for (const [name, type] of Object.entries(launchAttributes)) {
    const parsed = registry.parseLaunchFlag(`${name}=${type}`);
    registry.add(parsed.name, parsed.type);
  }
  const store = new VisibilityStore(() => registry);

  const typedAttributes = (run: WorkflowRun): Map<string, TypedSearchAttribute> => {
    const out = new Map<string, TypedSearchAttribute>();
    for (const [name, payload] of Object.entries(run.searchAttributes.indexedFields ?? {})) {
      try {
        const v = decodeSearchAttributes({ [name]: payload }, registry).get(name);
        if (v) out.set(name, v);
      } catch {
        // An attribute the registry does not know is kept on the run but not indexed.
      }
    }
    return out;
  };

  const index = (run: WorkflowRun) => {
    const s = run.started;
    const record: VisibilityRecord = {
      namespace: run.namespace,
      workflowId: run.workflowId,
      runId: run.runId,
      workflowType: run.workflowType,
      taskQueue: run.taskQueue,
      status: STATUS_NAME.get(run.status) ?? 'Running',
      startTime: run.startTime,
      executionTime: run.executionTime,
      closeTime: run.closeTime,
      historyLength: run.history.length,
      historySizeBytes: run.historyBytes,
      stateTransitionCount: run.history.length,
      parentWorkflowId: s.parentWorkflowExecution?.workflowId ?? undefined,
      parentRunId: s.parentWorkflowExecution?.runId ?? undefined,
      rootWorkflowId: s.rootWorkflowExecution?.workflowId ?? undefined,
      rootRunId: s.rootWorkflowExecution?.runId ?? undefined,
      memo: run.memo,
      searchAttributes: typedAttributes(run),
    };
    store.upsert(record);
  };
  engine.register({
    onRunStarted: index,
    onRunChanged: index,
    onRunClosed: index,
    // After a restart the records are rebuilt from the runs, which were rebuilt from their histories.
    onRestored: (runs) => runs.forEach(index),
    // After retention the run is gone from List and Count too, as from the real server's visibility store.
    onRunEvicted: (run) => store.delete(run.runId),
  });
  // Registrations made through the OperatorService are journalled; launch flags are applied again at each start.
  engine.recordHandlers.set('sa', (h) => {
    if (!registry.customAttributes().has(h.name as string)) registry.add(h.name as string, h.type as never);
  });
  engine.recordHandlers.set('sa-rm', (h) => {
    if (registry.customAttributes().has(h.name as string)) registry.remove(h.name as string);
  });

  // Events are typed on the way out, never in history; a typed event is kept per stored event (until the registry
  // changes) so that every answer shows the same object, whose encoding the serving layer caches.
  const typedEventCache = new WeakMap<IHistoryEvent, { version: number; event: IHistoryEvent }>();
  const typedEvent = (e: IHistoryEvent): IHistoryEvent => {
    const field = e.workflowExecutionStartedEventAttributes
      ? 'workflowExecutionStartedEventAttributes'
      : e.upsertWorkflowSearchAttributesEventAttributes
        ? 'upsertWorkflowSearchAttributesEventAttributes'
        : e.workflowExecutionContinuedAsNewEventAttributes
          ? 'workflowExecutionContinuedAsNewEventAttributes'
          : e.startChildWorkflowExecutionInitiatedEventAttributes
            ? 'startChildWorkflowExecutionInitiatedEventAttributes'
            : undefined;
    if (!field) return e;
    const cached = typedEventCache.get(e);
    if (cached && cached.version === registry.version) return cached.event;
    const attrs = e[field]!;
    const sa = applyTypeMetadata(attrs.searchAttributes, registry);
    const event = sa === attrs.searchAttributes ? e : { ...e, [field]: { ...attrs, searchAttributes: sa } };
    typedEventCache.set(e, { version: registry.version, event });
    return event;
  };
  /** The Go server's ProcessOutgoingSearchAttributes: history events as any RPC answers them, typed. */
  const typedHistory = <R extends { history?: { events?: IHistoryEvent[] | null } | null }>(res: R): R => {
    const events = res?.history?.events;
    if (!events?.length) return res;
    let out: IHistoryEvent[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const t = typedEvent(events[i]);
      if (t !== events[i]) (out ??= events.slice())[i] = t;
    }
    return out ? { ...res, history: { ...res.history, events: out } } : res;
  };

  const listedAttributes = (attributes: ReadonlyMap<string, TypedSearchAttribute>) => {
    const registered = new Map([...attributes].filter(([name]) => registry.payloadTypeOf(name) !== undefined));
    return registered.size ? { indexedFields: encodeSearchAttributes(registered) } : undefined;
  };

  // Start requests (INVALID_ARGUMENT), and upserts, continue-as-new and child starts in workflow task completions (a
  // failed workflow task, BAD_SEARCH_ATTRIBUTES): refused when the registry refuses them, as on the real server.
  engine.checkSearchAttributes = (sa) => {
    try {
      decodeSearchAttributes(sa.indexedFields, registry);
      return undefined;
    } catch (e) {
      if (e instanceof SearchAttributeError) return e.message;
      throw e;
    }
  };

  const checkAttributes = (sa: temporal.api.common.v1.ISearchAttributes | null | undefined) =>
    asInvalidArgument(() => decodeSearchAttributes(sa?.indexedFields, registry));

  const workflow = {
    /** An eager start's first task carries history: typed, as the real frontend's convertToStartWorkflowExecutionResponse. */
    startWorkflowExecution(req: temporal.api.workflowservice.v1.IStartWorkflowExecutionRequest) {
      const res = engine.startWorkflowExecution(req) as { eagerWorkflowTask?: { history?: { events?: IHistoryEvent[] | null } | null } };
      return res.eagerWorkflowTask ? { ...res, eagerWorkflowTask: typedHistory(res.eagerWorkflowTask) } : res;
    },
    describeWorkflowExecution(req: temporal.api.workflowservice.v1.IDescribeWorkflowExecutionRequest) {
      const res = engine.describeWorkflowExecution(req) as { workflowExecutionInfo: temporal.api.workflow.v1.IWorkflowExecutionInfo };
      const info = res.workflowExecutionInfo;
      return { ...res, workflowExecutionInfo: { ...info, searchAttributes: applyTypeMetadata(info.searchAttributes, registry) } };
    },
    async getWorkflowExecutionHistory(req: temporal.api.workflowservice.v1.IGetWorkflowExecutionHistoryRequest, ctx: CallContext) {
      return typedHistory(await engine.getWorkflowExecutionHistory(req, ctx));
    },
    async pollWorkflowTaskQueue(req: temporal.api.workflowservice.v1.IPollWorkflowTaskQueueRequest, ctx: CallContext) {
      return typedHistory(await engine.pollWorkflowTaskQueue(req, ctx));
    },
    listWorkflowExecutions(req: temporal.api.workflowservice.v1.IListWorkflowExecutionsRequest) {
      const ns = engine.namespace(req.namespace);
      const page = asInvalidArgument(() => store.list(ns.name, req.query ?? '', req.pageSize ?? 0, req.nextPageToken));
      return {
        // As the real visibility store: the attributes as indexed (decoded by their registered type, Datetime in
        // RFC 3339 UTC, one-element lists unwrapped), encoded back with their types; unregistered names left out.
        executions: page.records.map((r) => ({
          ...engine.executionInfo(ns.runs.get(r.runId)!),
          searchAttributes: listedAttributes(r.searchAttributes),
        })),
        nextPageToken: page.nextPageToken,
      };
    },
    scanWorkflowExecutions(req: temporal.api.workflowservice.v1.IScanWorkflowExecutionsRequest) {
      return workflow.listWorkflowExecutions(req);
    },
    countWorkflowExecutions(req: temporal.api.workflowservice.v1.ICountWorkflowExecutionsRequest) {
      const ns = engine.namespace(req.namespace);
      const result = asInvalidArgument(() => store.count(ns.name, req.query ?? ''));
      return { count: result.count, groups: result.groups };
    },
    getSearchAttributes() {
      return { keys: registry.keys() };
    },
  };

  const operator = {
    addSearchAttributes(req: temporal.api.operatorservice.v1.IAddSearchAttributesRequest, _ctx: CallContext) {
      const entries = Object.entries(req.searchAttributes ?? {});
      if (!entries.length) throw invalidArgument('SearchAttributes is not set on request.');
      asInvalidArgument(() => {
        for (const [name, type] of entries) {
          const t = fromProtoIndexedValueType(type);
          registry.add(name, t);
          engine.journal?.record('sa', { name, type: t });
        }
      });
      return {};
    },
    removeSearchAttributes(req: temporal.api.operatorservice.v1.IRemoveSearchAttributesRequest) {
      const names = req.searchAttributes ?? [];
      if (!names.length) throw invalidArgument('SearchAttributes is not set on request.');
      asInvalidArgument(() => {
        for (const name of names) {
          registry.remove(requireField(name, 'SearchAttributes[]'));
          engine.journal?.record('sa-rm', { name });
        }
      });
      return {};
    },
    listSearchAttributes() {
      const { systemAttributes, customAttributes } = registry.list();
      return { systemAttributes, customAttributes, storageSchema: {} };
    },
  };
  type ScheduleHandlers = Record<string, unknown> & {
    createSchedule(req: temporal.api.workflowservice.v1.ICreateScheduleRequest): unknown;
    updateSchedule(req: temporal.api.workflowservice.v1.IUpdateScheduleRequest): unknown;
    describeSchedule(req: temporal.api.workflowservice.v1.IDescribeScheduleRequest): temporal.api.workflowservice.v1.IDescribeScheduleResponse;
    listSchedules(req: temporal.api.workflowservice.v1.IListSchedulesRequest): temporal.api.workflowservice.v1.IListSchedulesResponse;
  };
  /**
   * CreateSchedule and UpdateSchedule with their search attributes checked, and DescribeSchedule and ListSchedules
   * with them typed, as the real frontend answers them: the
   * schedule's own (from the scheduler workflow's describe, or its visibility record) and those of the workflow the
   * schedule starts (annotateSearchAttributesOfScheduledWorkflow).
   */
  const typedSchedules = <H extends ScheduleHandlers>(handlers: H): H => ({
    ...handlers,
    // As the real frontend: the schedule's attributes and its workflow's are checked when the schedule is written.
    createSchedule(req: temporal.api.workflowservice.v1.ICreateScheduleRequest) {
      checkAttributes(req.searchAttributes);
      checkAttributes(req.schedule?.action?.startWorkflow?.searchAttributes);
      return handlers.createSchedule(req);
    },
    updateSchedule(req: temporal.api.workflowservice.v1.IUpdateScheduleRequest) {
      checkAttributes(req.searchAttributes);
      checkAttributes(req.schedule?.action?.startWorkflow?.searchAttributes);
      return handlers.updateSchedule(req);
    },
    describeSchedule(req: temporal.api.workflowservice.v1.IDescribeScheduleRequest) {
      const res = handlers.describeSchedule(req);
      const start = res.schedule?.action?.startWorkflow;
      return {
        ...res,
        searchAttributes: applyTypeMetadata(res.searchAttributes, registry),
        schedule: start
          ? { ...res.schedule, action: { ...res.schedule!.action, startWorkflow: { ...start, searchAttributes: applyTypeMetadata(start.searchAttributes, registry) } } }
          : res.schedule,
      };
    },
    listSchedules(req: temporal.api.workflowservice.v1.IListSchedulesRequest) {
      const res = handlers.listSchedules(req);
      return { ...res, schedules: res.schedules?.map((e) => ({ ...e, searchAttributes: applyTypeMetadata(e.searchAttributes, registry) })) };
    },
  });

  return { workflow, operator, registry, store, typedSchedules };
}
