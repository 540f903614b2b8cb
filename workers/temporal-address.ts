/**
 * Whether a Temporal address can be reached at all, found out at once: grpc-js and the worker's native connection
 * both retry a refused connection with backoff until their connect deadline (about 10 s, then "Failed to connect
 * before the deadline", naming nothing), so the `retrain` commands and `npm run worker` try a plain TCP connection
 * first and say which address refused and why.
 */
import { connect as tcpConnect } from 'node:net';

/** `host:port` (IPv6 in brackets) → its parts; undefined for anything else (left to grpc-js). */
export function splitAddress(address: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(address) ?? /^([^:\s]+):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port <= 65535 ? { host: m[1], port } : undefined;
}

/**
 * Why a TCP connection to `address` fails at once (refused, no such host, unreachable), or undefined when it
 * connects, cannot be tried here, or does not answer within the connect timeout (grpc-js then has its own say).
 */
export function tcpRefusal(address: string, timeoutMs = 5000): Promise<string | undefined> {
  const where = splitAddress(address);
  if (!where) return Promise.resolve(undefined);
  return new Promise((resolveRefusal) => {
    const socket = tcpConnect({ host: where.host, port: where.port });
    const done = (why: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolveRefusal(why);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('connect', () => done(undefined));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      const why: Record<string, string> = {
        ECONNREFUSED: 'connection refused: nothing listens on that port',
        ENOTFOUND: `no such host ${where.host}`,
        EAI_AGAIN: `cannot resolve ${where.host}`,
        EHOSTUNREACH: 'host unreachable',
        ENETUNREACH: 'network unreachable',
      };
      done(e.code && why[e.code] ? why[e.code] : undefined);
    });
  });
}

/**
 * Why `address` cannot be reached at all (see tcpRefusal), or undefined: also when the connection goes through a
 * proxy (`connectionOptions.proxy`), where a direct TCP connection says nothing about the server.
 */
export function refusalUnlessProxied(address: string, connectionOptions: object): Promise<string | undefined> {
  return (connectionOptions as { proxy?: unknown }).proxy ? Promise.resolve(undefined) : tcpRefusal(address);
}

/** "cannot connect to Temporal at ADDRESS (WHY): HINT", WHY being a refusal reason or a connection error's message. */
export function cannotConnect(address: string, why: unknown, hint: string): string {
  const reason = typeof why === 'string' ? why : why instanceof Error ? why.message : String(why);
  return `cannot connect to Temporal at ${address} (${reason}): ${hint}`;
}
