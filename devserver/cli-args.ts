/**
 * Command-line forms the executable accepts. The SDK's TestWorkflowEnvironment launches an `existing-path`
 * executable either as the Java test server (`<port> [extra...]`, time skipping on) or as the Temporal CLI
 * (`server start-dev --port P --namespace N --ip IP ... [--search-attribute Name=Type]...`), and people run it
 * by hand with `--port P [--time-skipping]`. Unknown flags are accepted and ignored. Our own flags:
 * `--suggest-continue-as-new-after-events N` and `--suggest-continue-as-new-after-bytes N` set when workflow tasks
 * carry `suggestContinueAsNew` (workflowInfo().continueAsNewSuggested); defaults 4096 events and 4 MiB. As the real dev
 * server, `--db-filename PATH` keeps state in a file across restarts (here an append-only journal, see journal.ts).
 * `--dynamic-config-value KEY=VALUE` sets one of the real server's dynamic config keys this server reads (DYNAMIC_CONFIG
 * below; values are JSON booleans, as the CLI passes them): `system.enableEagerWorkflowStart` (eager workflow start, on
 * by default) and `frontend.enableCancelWorkerPollsOnShutdown` (ShutdownWorker completes the worker's polls, off by
 * default); other keys are ignored.
 * `--retention DURATION` (`24h`, `90m`, `1h30m`, `45s`, `500ms`, `7d`) keeps closed runs that long, in server time,
 * in namespaces that set no retention of their own (retention.ts); 24 hours by default, except with `--time-skipping`,
 * where by default nothing is evicted (as the Java test server, which time skipping stands in for: a test that skips
 * days still reads its earlier runs). An explicit `--retention` applies in both modes.
 */
import type { DevServerOptions } from './server';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A positive duration in Go's style (a sequence of number-unit pairs, units ms, s, m, h and d), in milliseconds. */
export function parseDuration(flag: string, v: string): number {
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(v) ? v.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g)! : null;
  const ms = parts?.reduce((sum, p) => sum + parseFloat(p) * UNIT_MS[/[a-z]+$/.exec(p)![0]], 0) ?? 0;
  if (!parts || !(ms >= 1)) throw new Error(`${flag}: expected a positive duration such as 24h, 90m or 30s, got "${v}"`);
  return Math.round(ms);
}

/** The dynamic config keys read (boolean values), and the option each sets. */
const DYNAMIC_CONFIG: Record<string, 'eagerWorkflowStart' | 'cancelWorkerPollsOnShutdown'> = {
  'system.enableEagerWorkflowStart': 'eagerWorkflowStart',
  'frontend.enableCancelWorkerPollsOnShutdown': 'cancelWorkerPollsOnShutdown',
};

export function parseLaunchArgs(argv: readonly string[]): DevServerOptions {
  const args = [...argv];
  const opts: DevServerOptions = { host: '127.0.0.1', port: 7233, timeSkipping: false, searchAttributes: {} };
  if (args.length && /^\d+$/.test(args[0])) {
    // The Java test server form: `<port> [extraArgs...]`; the extra arguments take the flags below.
    opts.port = Number(args.shift());
    opts.timeSkipping = true;
  } else if (args[0] === 'server' && args[1] === 'start-dev') args.splice(0, 2);
  const valueFlags = new Set(['--log-format', '--log-level', '--ui-port', '--ui-ip', '--http-port', '--metrics-port', '--config', '--log-config']);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a}: expected a value`);
      return v;
    };
    if (a === '--port' || a === '-p') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) > 65535) throw new Error(`--port: expected a port number 0..65535, got "${v}"`);
      opts.port = Number(v);
    } else if (a === '--ip') opts.host = value();
    else if (a === '--namespace' || a === '-n') opts.namespace = value();
    else if (a === '--time-skipping') opts.timeSkipping = true;
    else if (a === '--db-filename') opts.dbFilename = value();
    else if (a === '--retention') opts.retentionMs = parseDuration(a, value());
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--search-attribute') {
      const v = value();
      const eq = v.indexOf('=');
      if (eq <= 0) throw new Error(`--search-attribute: expected Name=Type, got "${v}"`);
      opts.searchAttributes![v.slice(0, eq)] = v.slice(eq + 1);
    } else if (a === '--suggest-continue-as-new-after-events' || a === '--suggest-continue-as-new-after-bytes') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${a}: expected a positive integer, got "${v}"`);
      if (a.endsWith('events')) opts.suggestContinueAsNewAfterEvents = Number(v);
      else opts.suggestContinueAsNewAfterBytes = Number(v);
    } else if (a === '--dynamic-config-value') {
      // KEY=VALUE; the keys in DYNAMIC_CONFIG take true or false, the others are ignored.
      const v = value();
      const eq = v.indexOf('=');
      if (eq <= 0) throw new Error(`--dynamic-config-value: expected KEY=VALUE, got "${v}"`);
      const key = v.slice(0, eq);
      const option = Object.hasOwn(DYNAMIC_CONFIG, key) ? DYNAMIC_CONFIG[key] : undefined;
      if (option) {
        const b = v.slice(eq + 1);
        if (b !== 'true' && b !== 'false') throw new Error(`--dynamic-config-value ${key}: expected true or false, got "${b}"`);
        opts[option] = b === 'true';
      }
    } else if (valueFlags.has(a)) value();
    // Other flags (--headless and anything newer CLIs pass) are accepted and ignored.
  }
  return opts;
}
