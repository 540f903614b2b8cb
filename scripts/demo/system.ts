/**
 * The whole of Retrain in one process, as `npm start` runs it and the end-to-end tests start it: the embedded
 * Temporal-compatible server, Retrain's search attributes registered through the operator service, the workers of
 * both task queues, and the serving endpoint with the drift webhooks, all sharing one RETRAIN_HOME. `close()` takes
 * them down in the order that loses nothing: stop taking HTTP traffic (flushing the prediction log), let the workers
 * finish or checkpoint their activities, then close the connections and the server.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startDevServer, type DevServer, type DevServerOptions } from '../../devserver';
import { createDependencies, type ActivityDeps, type ActivityLogger } from '../../activities/deps';
import { PredictionLog } from '../../storage';
import { startServing, type ServingHandle } from '../../serving/server';
import { registerSearchAttributes, startWorkers, type RunningWorkers } from '../../workers/worker';

export interface SystemOptions {
  readonly host?: string;
  /** The embedded server's gRPC port; 0 picks a free one. */
  readonly port: number;
  /** The serving endpoint's HTTP port; 0 picks a free one. */
  readonly httpPort: number;
  /** RETRAIN_HOME: artifact store, registry, prediction log, reports, logs. */
  readonly home: string;
  /** The server's database file, when the embedded server supports durability (see `dbFilenameSupported`). */
  readonly dbFilename?: string;
  readonly namespace?: string;
  readonly webhookToken?: string;
  /** Where the worker's, the activities' and the serving endpoint's log lines go (they would garble a live display). */
  readonly logFile: string;
}

export interface System {
  readonly server: DevServer;
  readonly address: string;
  readonly namespace: string;
  readonly client: Client;
  readonly deps: ActivityDeps;
  readonly workers: RunningWorkers;
  readonly serving: ServingHandle;
  readonly home: string;
  readonly logFile: string;
  /** Graceful shutdown, in dependency order; safe to call twice. */
  close(): Promise<void>;
}

/** Whether this build of the embedded server accepts a database file (the durability work adds `dbFilename`). */
export function dbFilenameSupported(): boolean {
  // The option is typed, so its presence in DevServerOptions is what the compiler sees; at run time the server's
  // own option parsing is the judge, so this reads the start function's source for the option's name.
  return /\bdbFilename\b/.test(String(startDevServer));
}

/** A logger writing one JSON line per message to a file. */
export function fileLogger(path: string): ActivityLogger & { line(text: string): void } {
  mkdirSync(join(path, '..'), { recursive: true });
  const write = (level: string, message: string, attrs?: Record<string, unknown>) =>
    appendFileSync(path, `${JSON.stringify({ at: new Date().toISOString(), level, message, ...attrs })}\n`);
  return {
    info: (m, a) => write('info', m, a),
    warn: (m, a) => write('warn', m, a),
    error: (m, a) => write('error', m, a),
    line: (text) => write('info', text),
  };
}

/**
 * Sends the Temporal runtime's own log (worker start, bundling, workflow `log` calls) to the log file, warnings and
 * up. It can be installed once per process, before the first connection; a second system in the same process
 * (tests) keeps the first one's.
 */
function quietRuntime(logFile: string): void {
  try {
    Runtime.install({
      logger: new DefaultLogger('WARN', (entry) =>
        appendFileSync(logFile, `${JSON.stringify({ at: new Date().toISOString(), level: entry.level.toLowerCase(), message: entry.message, ...entry.meta })}\n`),
      ),
    });
  } catch {
    // Already installed.
  }
}

export async function startSystem(options: SystemOptions): Promise<System> {
  const namespace = options.namespace ?? 'default';
  const log = fileLogger(options.logFile);
  quietRuntime(options.logFile);
  const serverOptions: DevServerOptions & { dbFilename?: string } = {
    host: options.host ?? '127.0.0.1',
    port: options.port,
    namespace,
    ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
  };
  const server = await startDevServer(serverOptions);
  const closers: (() => Promise<void>)[] = [() => server.close()];
  const closeAll = async () => {
    // Last opened, first closed; one failing closer must not keep the server (and the port) open.
    while (closers.length) {
      try {
        await closers.pop()!();
      } catch (e) {
        log.error(`shutdown: ${(e as Error).message}`);
      }
    }
  };
  try {
    const connection = await Connection.connect({ address: server.address });
    closers.push(() => connection.close());
    const added = await registerSearchAttributes(connection, namespace);
    if (added.length) log.info(`registered search attributes ${added.join(', ')}`, { namespace });
    const client = new Client({ connection, namespace });

    const deps = createDependencies({ home: options.home, log });
    const native = await NativeConnection.connect({ address: server.address });
    closers.push(() => native.close());
    const workers = await startWorkers({ connection: native, namespace, deps, identity: `retrain-start@${process.pid}` });
    closers.push(() => workers.shutdown());

    const serving = await startServing({
      host: options.host ?? '127.0.0.1',
      port: options.httpPort,
      registry: deps.registry,
      store: deps.store,
      predictionLog: new PredictionLog(deps.store),
      client,
      ...(options.webhookToken ? { webhookToken: options.webhookToken } : {}),
      log: (line) => log.line(line),
    });
    closers.push(() => serving.close());

    let closing: Promise<void> | undefined;
    return {
      server,
      address: server.address,
      namespace,
      client,
      deps,
      workers,
      serving,
      home: deps.home,
      logFile: options.logFile,
      close: () => (closing ??= closeAll()),
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
