#!/usr/bin/env node
// Runs every `*.test.ts` under test/ with node's own test runner (through tsx), so CI reads node:test's summary.
// Node 20's runner does not expand globs or pick up .ts files, hence this small finder.
// `npm test -- test/ml` narrows the run to a folder or file.
//
// A second pass runs the core devserver conformance files again with RETRAIN_DEVSERVER_CALLS=grpc-js, so the
// server's fallback (grpc-js's public call path, see devserver/unary-calls.ts) stays tested alongside its own call
// layer. It is a separate node:test invocation (the variable reaches every server those files spawn); it runs when a
// folder (or the whole tree) is selected that holds those files, not for single files, and not when the variable is
// already set. The last block printed is the summary of both passes together, and the exit status covers both.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

/** The conformance files that drive the server over gRPC with the real SDK worker and client (a spawned server). */
const PUBLIC_CALL_PATH_FILES = [
  'test/devserver/workflow-lifecycle.test.ts',
  'test/devserver/activity-lifecycle.test.ts',
  'test/devserver/updates.test.ts',
  'test/devserver/workflow-signals-queries.test.ts',
].map((f) => resolve(f));

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const name of readdirSync(path).sort()) collect(join(path, name), out);
  return out;
}

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const selected = roots.length ? roots : ['test'];
const files = selected.flatMap((r) => collect(resolve(r), []));
if (files.length === 0) {
  console.error('no test files found under', roots.length ? roots.join(', ') : 'test/');
  process.exit(1);
}
const folderSelected = selected.some((r) => statSync(resolve(r)).isDirectory());
const secondPass =
  folderSelected && !process.env.RETRAIN_DEVSERVER_CALLS ? PUBLIC_CALL_PATH_FILES.filter((f) => files.includes(f)) : [];

const tmp = mkdtempSync(join(tmpdir(), 'retrain-tests-'));
const SUMMARY_KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];

/** Runs one node:test invocation (spec to the terminal, TAP to a file for the counts); returns its status and counts. */
function run(name, testFiles, env) {
  const tap = join(tmp, `${name}.tap`);
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      '--test-concurrency=2',
      ...flags,
      ...testFiles,
    ],
    { stdio: 'inherit', env },
  );
  const counts = {};
  try {
    // The TAP reporter ends with `# tests N`, `# pass N`, ... for the whole invocation.
    for (const m of readFileSync(tap, 'utf8').matchAll(/^# (\w+) ([\d.]+)$/gm)) if (SUMMARY_KEYS.includes(m[1])) counts[m[1]] = Number(m[2]);
  } catch {
    // No TAP file: the runner did not start; its status says so.
  }
  return { status: result.status ?? 1, counts };
}

const passes = [{ label: 'default call layer', ...run('default', files, process.env) }];
if (secondPass.length) {
  console.log(
    `\n▶ second pass: ${secondPass.length} devserver conformance files on grpc-js's public call path (RETRAIN_DEVSERVER_CALLS=grpc-js)\n`,
  );
  passes.push({
    label: 'grpc-js public call path',
    ...run('grpc-js', secondPass, { ...process.env, RETRAIN_DEVSERVER_CALLS: 'grpc-js' }),
  });
}
rmSync(tmp, { recursive: true, force: true });

if (passes.length > 1) {
  // Both passes together, in the spec reporter's form, as the last block of the output.
  console.log(`\nℹ summary of both passes (${passes.map((p) => `${p.label}: ${p.counts.tests ?? '?'} tests, ${p.counts.fail ?? '?'} failed`).join('; ')})`);
  for (const k of SUMMARY_KEYS) {
    const total = passes.reduce((n, p) => n + (p.counts[k] ?? 0), 0);
    console.log(`ℹ ${k} ${k === 'duration_ms' ? total.toFixed(3) : total}`);
  }
}
process.exit(passes.some((p) => p.status !== 0) ? 1 : 0);
