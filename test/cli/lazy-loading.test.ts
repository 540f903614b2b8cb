/**
 * Every `retrain` call used to load every command's imports (the Temporal client, the S3 SDK, zod, ml/), which
 * took seconds even for `--version`. These tests run bin/retrain as a user does, with a preload that lists every
 * module the process loaded when it exits, and check that a command loads only what it needs. They count
 * modules, not milliseconds, so they hold on a busy machine.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RETRAIN_BIN, minimalConfig } from './helpers';

let dir: string;
let tracer: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retrain-cli-lazy-'));
  tracer = join(dir, 'trace-modules.js');
  // Preloaded with --require: at exit, writes the path of every CommonJS module in the require cache.
  await writeFile(tracer, `process.on('exit', () => require('node:fs').writeFileSync(process.env.TRACE_FILE, Object.keys(require.cache).join('\\n')));\n`);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let calls = 0;
async function loadedModules(args: readonly string[]): Promise<{ code: number; stdout: string; modules: string[] }> {
  const traceFile = join(dir, `trace-${++calls}.txt`);
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, ['--require', tracer, RETRAIN_BIN, ...args], { env: { ...process.env, TRACE_FILE: traceFile } }, (err, out) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: out }),
    );
  });
  return { code, stdout, modules: (await readFile(traceFile, 'utf8')).split('\n') };
}

const loads = (modules: readonly string[], fragment: string) => modules.some((m) => m.includes(fragment));
const HEAVY = ['/node_modules/@temporalio/', '/node_modules/@aws-sdk/', '/node_modules/zod/', '/ml/', '/storage/', '/scripts/cli/commands/'];

test('--version and --help load no command module and none of their dependencies', async () => {
  for (const args of [['--version'], ['--help'], ['runs', '--help'], ['monitor', 'start', '--help']]) {
    const r = await loadedModules(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.ok(r.stdout.length > 0, `${args.join(' ')} printed nothing`);
    const heavy = HEAVY.filter((h) => loads(r.modules, h));
    assert.deepEqual(heavy, [], `${args.join(' ')} loaded ${heavy.join(', ')}`);
  }
});

test('config validate loads its own module and the config schema, but not the Temporal client or the other commands', async () => {
  const file = join(dir, 'good.json');
  await writeFile(file, JSON.stringify(minimalConfig('churn')));
  const r = await loadedModules(['config', 'validate', file]);
  assert.equal(r.code, 0);
  assert.ok(loads(r.modules, '/scripts/cli/commands/validate-config.ts'));
  assert.ok(loads(r.modules, '/workflows/config.ts'));
  for (const absent of ['/node_modules/@temporalio/client/', '/node_modules/@aws-sdk/', '/storage/', '/scripts/cli/commands/start-monitor.ts', '/scripts/cli/commands/serve-models.ts']) {
    assert.ok(!loads(r.modules, absent), `config validate loaded ${absent}`);
  }
});

test('a command that talks to Temporal loads the client, and only its own command module', async () => {
  // Port 1 refuses the connection: the command fails with exit 5, after loading what it needs to try.
  const r = await loadedModules(['monitor', 'status', 'churn', '--address', '127.0.0.1:1']);
  assert.equal(r.code, 5);
  assert.ok(loads(r.modules, '/node_modules/@temporalio/client/'));
  const commands = r.modules.filter((m) => m.includes('/scripts/cli/commands/'));
  assert.deepEqual(
    commands.map((m) => m.slice(m.lastIndexOf('/') + 1)),
    ['show-monitor.ts'],
  );
  assert.ok(!loads(r.modules, '/node_modules/@aws-sdk/'), 'monitor status loaded the S3 SDK');
});
