/**
 * The gRPC face of the embedded server: WorkflowService, OperatorService, TestService (with time skipping) and
 * grpc.health.v1.Health, each unary method routed to its entry in the service's RPC table (rpcs.ts). RPCs without
 * one answer UNIMPLEMENTED naming the RPC; undecodable requests answer INVALID_ARGUMENT; nothing a client sends can
 * crash the process.
 */
import * as grpc from '@grpc/grpc-js';
import { Engine, type CallContext, type EngineOptions } from './engine';
import { ServerError, Status } from './errors';
import { installExtensions } from './extensions';
import { installFastRequestDecompression } from './grpc-decompress';
import { openJournal, type CompactionOptions } from './journal-state';
import { DEFAULT_RETENTION_MS, KEEP_FOREVER, installRetention, type Retention } from './retention';
import { framedResponseEncoder, isUndecodable, serverMethodDefinition, serviceMethods } from './proto';
import { probeGzipCall, selfTestCallPaths } from './self-test';
import { serveUnaryCalls, type ServiceErrorLike, type UnaryCallContext, type UnaryRoute } from './unary-calls';

export interface DevServerOptions {
  /** Interface to bind; 127.0.0.1 by default. */
  host?: string;
  /** Port to bind; 0 (the default) picks a free one. */
  port?: number;
  namespace?: string;
  /** Enables the TestService and the virtual clock that jumps over idle time (TestWorkflowEnvironment.createTimeSkipping). */
  timeSkipping?: boolean;
  /** Custom search attributes to register, name to type (Keyword, Text, Int, Double, Bool, Datetime, KeywordList). */
  searchAttributes?: Record<string, string>;
  pollTimeoutMs?: number;
  historyPollTimeoutMs?: number;
  suggestContinueAsNewAfterEvents?: number;
  suggestContinueAsNewAfterBytes?: number;
  /** Logs every RPC name and errors to stderr. */
  verbose?: boolean;
  /**
   * Which layer serves unary calls: the server's own (unary-calls.ts, the default) or grpc-js's. Also set by the
   * environment variable RETRAIN_DEVSERVER_CALLS=grpc-js.
   */
  unaryCalls?: 'devserver' | 'grpc-js';
  /** The largest request and response message, in bytes (128 MiB by default). */
  maxMessageBytes?: number;
  /** For tests: wraps the start-up self-test's probe (self-test.ts), to inject failures. */
  selfTestProbe?: (probe: () => Promise<string | null>) => Promise<string | null>;
  /**
   * The journal file that keeps the server's state across restarts (the real dev server's `--db-filename`): read back
   * at start, appended and fsynced before each call that changed state is answered. Without it, state is in memory only.
   */
  dbFilename?: string;
  /**
   * How long closed runs are kept, in server time (which time skipping moves), in namespaces that set no retention of
   * their own (RegisterNamespace's workflowExecutionRetentionPeriod); 24 hours by default, except under `timeSkipping`,
   * where by default nothing is evicted (as the Java test server: a test that skips days still reads its earlier
   * runs). An explicit value applies in both modes. See retention.ts.
   */
  retentionMs?: number;
  /** When the journal is rewritten without evicted runs (journal-state.ts); for tests. */
  journalCompaction?: CompactionOptions;
  /** Eager workflow start (on by default, as the real server); `--dynamic-config-value system.enableEagerWorkflowStart=false` turns it off. */
  eagerWorkflowStart?: boolean;
  /**
   * The real server's frontend.enableCancelWorkerPollsOnShutdown (off by default, as there): ShutdownWorker answers the
   * worker's held polls empty, and DescribeNamespace advertises workerPollCompleteOnShutdown. `--dynamic-config-value
   * frontend.enableCancelWorkerPollsOnShutdown=true` turns it on.
   */
  cancelWorkerPollsOnShutdown?: boolean;
}

export interface DevServer {
  /** host:port, for Connection.connect / NativeConnection.connect. */
  readonly address: string;
  readonly port: number;
  readonly engine: Engine;
  /** The layer serving unary calls (grpc-js when asked for, or when the own layer could not be installed). */
  readonly unaryCalls: 'devserver' | 'grpc-js';
  /** The journal's path, or null when state is in memory only. */
  readonly dbFilename: string | null;
  /** Eviction of closed runs after their retention period. */
  readonly retention: Retention;
  /** The journal's counters (writes, records, bytes, compactions), or null without one. */
  readonly journalStats: { writes: number; records: number; bytes: number; compactions: number } | null;
  close(): Promise<void>;
}

type Handler = (req: unknown, ctx: CallContext) => unknown;

const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

const SERVICES = {
  workflow: 'temporal.api.workflowservice.v1.WorkflowService',
  operator: 'temporal.api.operatorservice.v1.OperatorService',
  test: 'temporal.api.testservice.v1.TestService',
  health: 'grpc.health.v1.Health',
} as const;

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  installFastRequestDecompression();
  const verbose = options.verbose ?? process.env.RETRAIN_DEVSERVER_VERBOSE === '1';
  const log = (m: string) => {
    if (verbose) process.stderr.write(`[devserver] ${m}\n`);
  };
  const engineOptions: EngineOptions = {
    namespace: options.namespace ?? 'default',
    timeSkipping: options.timeSkipping ?? false,
    pollTimeoutMs: options.pollTimeoutMs ?? 60_000,
    historyPollTimeoutMs: options.historyPollTimeoutMs ?? 20_000,
    suggestContinueAsNewAfterEvents: options.suggestContinueAsNewAfterEvents ?? 4096,
    suggestContinueAsNewAfterBytes: options.suggestContinueAsNewAfterBytes ?? 4 * 1024 * 1024,
    // Time skipping keeps every run unless told otherwise, as the Java test server it stands in for.
    retentionMs: options.retentionMs ?? (options.timeSkipping ? KEEP_FOREVER : DEFAULT_RETENTION_MS),
    eagerWorkflowStart: options.eagerWorkflowStart ?? true,
    cancelWorkerPollsOnShutdown: options.cancelWorkerPollsOnShutdown ?? false,
    log: (m) => process.stderr.write(`[devserver] ${m}\n`),
  };
  const engine = new Engine(engineOptions);
  const tables = installExtensions(engine, { searchAttributes: options.searchAttributes ?? {} });
  // Before the journal: its replay hands retention the closed runs it rebuilt.
  const retention = installRetention(engine);
  const journal = options.dbFilename ? openJournal(engine, options.dbFilename, engineOptions.log, options.journalCompaction) : null;
  engineOptions.log(
    journal
      ? journal.summary
      : 'state is kept in memory only and is lost when the server stops (pass --db-filename PATH to keep it)',
  );

  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    // Channelz bookkeeping costs about a tenth of the server's per-call CPU (bench:devserver); nothing reads it.
    'grpc.enable_channelz': 0,
  });
  const services: Array<keyof typeof SERVICES> = ['workflow', 'operator', 'health'];
  if (engineOptions.timeSkipping) services.push('test');
  const routes = new Map<string, UnaryRoute>();
  for (const key of services) {
    const fullName = SERVICES[key];
    const table = tables[key] as Record<string, Handler | undefined>;
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const m of serviceMethods(fullName)) {
      if (m.responseStream) continue;
      definition[m.name] = serverMethodDefinition(m);
      // Unimplemented RPCs stay routed (handler undefined) so that they answer UNIMPLEMENTED naming themselves.
      const handler = Object.hasOwn(table, m.name) ? table[m.name] : undefined;
      implementation[m.name] = unary(m.name, handler, engine, log);
      const decode = definition[m.name].requestDeserialize;
      routes.set(m.path, { decode, encodeFramed: framedResponseEncoder(m), invoke: (request, call) => invoke(m.name, handler, engine, log, request, call) });
    }
    server.addService(definition, implementation);
  }

  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  let unaryCalls = options.unaryCalls ?? (process.env.RETRAIN_DEVSERVER_CALLS === 'grpc-js' ? 'grpc-js' : 'devserver');
  if (unaryCalls === 'devserver' && !serveUnaryCalls(server, routes, maxMessageBytes)) {
    engine.log('unary calls stay with grpc-js: its internals are not the ones unary-calls.ts expects');
    unaryCalls = 'grpc-js';
  }
  // A real gzip-compressed call to ourselves through whichever layer serves it; falls back to public paths on failure.
  unaryCalls = await selfTestCallPaths({
    server,
    unaryCalls,
    probe: () => {
      const real = () => probeGzipCall(host, port, engineOptions.namespace);
      return options.selfTestProbe ? options.selfTestProbe(real) : real();
    },
    log: engineOptions.log,
  });
  return {
    address: `${host}:${port}`,
    port,
    unaryCalls,
    engine,
    dbFilename: options.dbFilename ?? null,
    retention,
    journalStats: journal?.stats ?? null,
    close: () =>
      new Promise<void>((resolve) => {
        retention.stop();
        engine.close();
        journal?.close();
        server.tryShutdown(() => resolve());
        // Held long polls would otherwise delay shutdown until their timeout.
        setTimeout(() => server.forceShutdown(), 500).unref();
      }),
  };
}

function answerError(method: string, engine: Engine, call: UnaryCallContext, e: unknown): void {
  if (e instanceof ServerError) {
    call.answer(e.toServiceError());
    return;
  }
  engine.log(`${method} failed: ${(e as Error)?.stack ?? e}`);
  call.answer({ code: Status.INTERNAL, details: `${method}: ${(e as Error)?.message ?? e}` });
}

/**
 * A unary call as grpc-js serves it, for `invoke`. A class, not an object literal of closures: tsx (esbuild with
 * keepNames) wraps every named closure in a defineProperty call, which cost about 2% of the server's CPU when made on
 * every call.
 */
class GrpcJsCall implements UnaryCallContext {
  constructor(
    private readonly call: grpc.ServerUnaryCall<unknown, unknown>,
    private readonly callback: grpc.sendUnaryData<unknown>,
  ) {}

  // Only handlers that wait (long polls) listen for the caller's cancellation; most calls never add a listener.
  onCancel(cb: () => void): void {
    if (this.call.cancelled) cb();
    else this.call.once('cancelled', cb);
  }

  answer(err: ServiceErrorLike | null, response?: unknown): void {
    if (err) this.callback(err as grpc.ServiceError);
    else this.callback(null, response);
  }
}

function unary(method: string, handler: Handler | undefined, engine: Engine, log: (m: string) => void): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => invoke(method, handler, engine, log, call.request, new GrpcJsCall(call, callback));
}

/** Runs one call's handler, whichever layer serves it, and answers: the response, or the handler's error as a status. */
function invoke(method: string, handler: Handler | undefined, engine: Engine, log: (m: string) => void, request: unknown, call: UnaryCallContext): void {
  engine.rpcCounts.set(method, (engine.rpcCounts.get(method) ?? 0) + 1);
  log(method);
  // Runs past their retention go before the call sees them (a comparison when none is due).
  engine.sweepRetention();
  if (!handler) {
    call.answer({ code: Status.UNIMPLEMENTED, details: `${method} is not implemented by the Retrain devserver` });
    return;
  }
  if (isUndecodable(request)) {
    call.answer({ code: Status.INVALID_ARGUMENT, details: `malformed request: ${request.__undecodable}` });
    return;
  }
  try {
    const result = handler(request, call);
    if (result instanceof Promise) result.then((r) => answerDurably(method, engine, call, null, r), (e) => answerDurably(method, engine, call, e));
    else answerDurably(method, engine, call, null, result);
  } catch (e) {
    answerDurably(method, engine, call, e);
  }
}

/**
 * Answers once what the call wrote is durable (with a journal; at once without one, or when nothing is waiting to be
 * written). Errors wait too: a rejected workflow task completion still writes its failure event.
 */
function answerDurably(method: string, engine: Engine, call: UnaryCallContext, err: unknown, result?: unknown): void {
  const durable = engine.whenDurable();
  // Without a journal (or nothing to write) the answer goes at once, with no closure: tsx's keepNames wraps a named
  // closure in a defineProperty call, made here on every call.
  if (!durable) answerNow(method, engine, call, err, result);
  else
    durable.then(
      () => answerNow(method, engine, call, err, result),
      (e: Error) => call.answer({ code: Status.UNAVAILABLE, details: `${method}: state could not be made durable: ${e.message}` }),
    );
}

function answerNow(method: string, engine: Engine, call: UnaryCallContext, err: unknown, result?: unknown): void {
  if (err === null) call.answer(null, result);
  else answerError(method, engine, call, err);
}
