/**
 * The RPCs the server implements: one table per gRPC service, keyed by the exact RPC name of the proto service
 * definition, each entry typed with that RPC's request and response types from @temporalio/proto. The table types
 * are mapped over the services' methods, so a misspelt or unknown RPC name, or a handler taking or returning the
 * wrong messages, fails tsc. server.ts routes each unary method of a service to its entry; a method without one
 * answers UNIMPLEMENTED naming the RPC.
 */
import type { grpc, temporal } from '@temporalio/proto';
import type Long from 'long';
import type { CallContext, Engine } from './engine';
import type { installSchedules } from './schedules';
import type { installUpdates } from './updates';
import type { installVisibility } from './visibility-service';

/**
 * A message as handlers write it: 64-bit integer fields may be plain numbers besides Longs (the typings say Long; the
 * encoder, protobufjs's fromObject, takes both).
 */
export type Writable<T> = T extends Long
  ? Long | number
  : T extends Uint8Array
    ? T
    : T extends ReadonlyArray<infer E>
      ? Writable<E>[]
      : T extends object
        ? { [K in keyof T]: Writable<T[K]> }
        : T;

/** A handler: the RPC's request in, its response (or a promise of it) out. */
export type RpcHandler<Req, Res> = (request: Req, ctx: CallContext) => Writable<Res> | Promise<Writable<Res>>;

/** The plain-object (I…) form of a response message named `R` in the service's namespace `NS`. */
type ResponseOf<NS, R> = R extends keyof NS ? (NS[R] extends { create(properties?: infer P): unknown } ? NonNullable<P> : never) : never;

/**
 * Every RPC of a service, by its proto name: `S` is the service's protobufjs class (its methods carry the literal
 * `name`, the request in their call signature and the `responseType`), `NS` the namespace of its messages.
 */
export type ServiceRpcs<S, NS> = {
  [K in keyof S as S[K] extends { readonly name: infer N extends string; readonly requestType: string } ? N : never]: S[K] extends {
    (request: infer Req): Promise<unknown>;
    readonly responseType: infer R;
  }
    ? RpcHandler<Req, ResponseOf<NS, R>>
    : never;
};

/** The implemented subset of a service's RPCs. */
export type RpcTable<S, NS> = Partial<ServiceRpcs<S, NS>>;

export type WorkflowServiceRpcs = RpcTable<temporal.api.workflowservice.v1.WorkflowService, typeof temporal.api.workflowservice.v1>;
export type OperatorServiceRpcs = RpcTable<temporal.api.operatorservice.v1.OperatorService, typeof temporal.api.operatorservice.v1>;
export type TestServiceRpcs = RpcTable<temporal.api.testservice.v1.TestService, typeof temporal.api.testservice.v1>;
export type HealthRpcs = RpcTable<grpc.health.v1.Health, typeof grpc.health.v1>;

export interface ServiceTables {
  workflow: WorkflowServiceRpcs;
  operator: OperatorServiceRpcs;
  /** Served only with time skipping (server.ts). */
  test: TestServiceRpcs;
  health: HealthRpcs;
}

/** The feature modules that serve RPCs of their own (extensions.ts installs them). */
export interface RpcProviders {
  updates: ReturnType<typeof installUpdates>;
  visibility: ReturnType<typeof installVisibility>;
  schedules: ReturnType<typeof installSchedules>;
}

/** The server's RPC tables: the engine's own handlers and those of the feature modules. */
export function rpcTables(engine: Engine, { updates, visibility, schedules }: RpcProviders): ServiceTables {
  const workflow: WorkflowServiceRpcs = {
    // connection and namespaces
    GetSystemInfo: () => engine.getSystemInfo(),
    GetClusterInfo: () => engine.getClusterInfo(),
    RegisterNamespace: (req) => engine.registerNamespace(req),
    DescribeNamespace: (req) => engine.describeNamespace(req),
    ListNamespaces: () => engine.listNamespaces(),
    ShutdownWorker: (req) => engine.shutdownWorker(req),
    ResetStickyTaskQueue: (req) => engine.resetStickyTaskQueue(req),
    // starting (an eager start's first task typed by visibility), signalling, cancelling
    StartWorkflowExecution: (req) => visibility.workflow.startWorkflowExecution(req),
    SignalWithStartWorkflowExecution: (req) => engine.signalWithStartWorkflowExecution(req),
    SignalWorkflowExecution: (req) => engine.signalWorkflowExecution(req),
    RequestCancelWorkflowExecution: (req) => engine.requestCancelWorkflowExecution(req),
    TerminateWorkflowExecution: (req) => engine.terminateWorkflowExecution(req),
    // queries, describe, history (search attributes in answers typed by visibility)
    QueryWorkflow: (req, ctx) => engine.queryWorkflow(req, ctx),
    RespondQueryTaskCompleted: (req) => engine.respondQueryTaskCompleted(req),
    DescribeWorkflowExecution: (req) => visibility.workflow.describeWorkflowExecution(req),
    GetWorkflowExecutionHistory: (req, ctx) => visibility.workflow.getWorkflowExecutionHistory(req, ctx),
    // workflow tasks
    PollWorkflowTaskQueue: (req, ctx) => visibility.workflow.pollWorkflowTaskQueue(req, ctx),
    RespondWorkflowTaskCompleted: (req) => engine.respondWorkflowTaskCompleted(req),
    RespondWorkflowTaskFailed: (req) => engine.respondWorkflowTaskFailed(req),
    // activity tasks
    PollActivityTaskQueue: (req, ctx) => engine.pollActivityTaskQueue(req, ctx),
    RespondActivityTaskCompleted: (req) => engine.respondActivityTaskCompleted(req),
    RespondActivityTaskCompletedById: (req) => engine.respondActivityTaskCompletedById(req),
    RespondActivityTaskFailed: (req) => engine.respondActivityTaskFailed(req),
    RespondActivityTaskFailedById: (req) => engine.respondActivityTaskFailedById(req),
    RespondActivityTaskCanceled: (req) => engine.respondActivityTaskCanceled(req),
    RespondActivityTaskCanceledById: (req) => engine.respondActivityTaskCanceledById(req),
    RecordActivityTaskHeartbeat: (req) => engine.recordActivityTaskHeartbeat(req),
    RecordActivityTaskHeartbeatById: (req) => engine.recordActivityTaskHeartbeatById(req),
    // updates (updates.ts)
    UpdateWorkflowExecution: (req, ctx) => updates.updateWorkflowExecution(req, ctx),
    PollWorkflowExecutionUpdate: (req, ctx) => updates.pollWorkflowExecutionUpdate(req, ctx),
    ExecuteMultiOperation: (req, ctx) => updates.executeMultiOperation(req, ctx),
    // visibility (visibility-service.ts)
    ListWorkflowExecutions: (req) => visibility.workflow.listWorkflowExecutions(req),
    ScanWorkflowExecutions: (req) => visibility.workflow.scanWorkflowExecutions(req),
    CountWorkflowExecutions: (req) => visibility.workflow.countWorkflowExecutions(req),
    GetSearchAttributes: () => visibility.workflow.getSearchAttributes(),
    // schedules (schedules.ts)
    CreateSchedule: (req) => schedules.createSchedule(req),
    DescribeSchedule: (req) => schedules.describeSchedule(req),
    UpdateSchedule: (req) => schedules.updateSchedule(req),
    PatchSchedule: (req) => schedules.patchSchedule(req),
    DeleteSchedule: (req) => schedules.deleteSchedule(req),
    ListSchedules: (req) => schedules.listSchedules(req),
    ListScheduleMatchingTimes: (req) => schedules.listScheduleMatchingTimes(req),
  };
  const operator: OperatorServiceRpcs = {
    AddSearchAttributes: (req, ctx) => visibility.operator.addSearchAttributes(req, ctx),
    RemoveSearchAttributes: (req) => visibility.operator.removeSearchAttributes(req),
    ListSearchAttributes: () => visibility.operator.listSearchAttributes(),
  };
  const test: TestServiceRpcs = {
    LockTimeSkipping: () => engine.lockTimeSkipping(),
    UnlockTimeSkipping: () => engine.unlockTimeSkipping(),
    Sleep: (req) => engine.sleep(req),
    SleepUntil: (req) => engine.sleepUntil(req),
    UnlockTimeSkippingWithSleep: (req) => engine.unlockTimeSkippingWithSleep(req),
    GetCurrentTime: () => engine.getCurrentTime(),
  };
  const health: HealthRpcs = {
    Check: () => engine.check(),
  };
  return { workflow, operator, test, health };
}
