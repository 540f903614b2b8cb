/**
 * The replay check for a whole conformance file: every run the file's server holds (open or closed, listed through
 * visibility, so none is missed) has its full history fetched and replayed with the real SDK
 * (`Worker.runReplayHistories`) against a workflow module; any history a real worker would reject fails the check.
 * Raw-protocol files replay against test/devserver/fixtures/raw-workflows.ts, whose workflows issue the same
 * commands as their hand-written workers.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { IllegalStateError } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { quietRuntime, replayedHistories, replayKey, workflowBundle, WORKFLOWS_PATH, type Harness } from './helpers';

export const RAW_WORKFLOWS = require.resolve('./fixtures/raw-workflows');

let rawBundle: Promise<{ code: string }> | undefined;
/**
 * The raw fixtures' bundle, kept on disk across test processes: bundling takes seconds of CPU, and every raw-protocol
 * file would otherwise pay it only to replay a few histories. The cache key is everything the bundle is built from:
 * the fixture's source (which imports nothing but @temporalio/workflow, checked) and the SDK packages' versions.
 */
function rawWorkflowsBundle(): Promise<{ code: string }> {
  rawBundle ??= (async () => {
    const source = readFileSync(RAW_WORKFLOWS, 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    if (imports.some((i) => i !== '@temporalio/workflow')) {
      throw new Error(`fixtures/raw-workflows.ts may import only @temporalio/workflow (its bundle is cached by its own source), found ${imports.join(', ')}`);
    }
    const versions = ['workflow', 'worker'].map((p) => (require(`@temporalio/${p}/package.json`) as { version: string }).version);
    const key = createHash('sha256').update(JSON.stringify([source, versions, process.version])).digest('hex').slice(0, 32);
    const dir = join(tmpdir(), 'retrain-test-bundles');
    const file = join(dir, `raw-workflows-${key}.js`);
    try {
      return { code: readFileSync(file, 'utf8') };
    } catch {
      const bundle = await workflowBundle(RAW_WORKFLOWS);
      mkdirSync(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, bundle.code);
      renameSync(tmp, file); // atomic: a concurrent reader sees the whole bundle or none
      return bundle;
    }
  })();
  return rawBundle;
}

type WorkflowService = Connection['workflowService'];
export interface RunHistory {
  workflowId: string;
  history: temporal.api.history.v1.IHistory;
}

export interface ReplayFailure {
  workflowId: string;
  runId: string;
  error: Error;
}

/** Thrown when histories do not replay; `failures` holds each one's error (ReplayError or DeterminismViolationError). */
export class ReplayFailures extends Error {
  constructor(readonly failures: ReplayFailure[]) {
    super(`${failures.length} histories did not replay: ${failures.map((f) => `${f.workflowId} (${f.error.name}: ${f.error.message})`).join('; ')}`);
    this.name = 'ReplayFailures';
  }
}

/**
 * Every run of the namespace with its full history, fetched page by page (`pageSize` events a page: a server with a
 * small message limit can still hand out a history larger than that limit).
 */
export async function allHistories(
  workflowService: WorkflowService,
  opts: { namespace?: string; pageSize?: number } = {},
): Promise<RunHistory[]> {
  const namespace = opts.namespace ?? 'default';
  const runs: Array<{ workflowId: string; runId: string }> = [];
  let token: Uint8Array | undefined;
  do {
    const page = await workflowService.listWorkflowExecutions({ namespace, pageSize: 1000, nextPageToken: token });
    for (const e of page.executions ?? []) runs.push({ workflowId: e.execution!.workflowId!, runId: e.execution!.runId! });
    token = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (token);
  const out: RunHistory[] = [];
  for (const execution of runs) {
    const events = [];
    let next: Uint8Array | undefined;
    do {
      const res = await workflowService.getWorkflowExecutionHistory({ namespace, execution, nextPageToken: next, maximumPageSize: opts.pageSize ?? 0 });
      events.push(...(res.history?.events ?? []));
      next = res.nextPageToken?.length ? res.nextPageToken : undefined;
    } while (next);
    out.push({ workflowId: execution.workflowId, history: { events } });
  }
  return out;
}

/** Replays the histories against `workflowsPath` with one replay worker; throws ReplayFailures naming each one that fails. */
export async function replayHistories(histories: RunHistory[], workflowsPath: string): Promise<void> {
  try {
    quietRuntime();
  } catch (e) {
    if (!(e instanceof IllegalStateError)) throw e; // the file already runs a runtime of its own (smoke): replay uses it
  }
  const failures: ReplayFailure[] = [];
  const bundle = workflowsPath === RAW_WORKFLOWS ? await rawWorkflowsBundle() : await workflowBundle(workflowsPath);
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
    if (r.error) failures.push({ workflowId: r.workflowId, runId: r.runId, error: r.error });
  }
  if (failures.length) throw new ReplayFailures(failures);
  for (const h of histories) replayedHistories.add(replayKey(h.history, workflowsPath));
}

/**
 * Replays every run the server holds in the namespace against `workflowsPath`; resolves with the replayed runs'
 * workflow ids, sorted (so a file can check it replayed the runs it made, not none).
 */
export async function replayAll(
  workflowService: WorkflowService,
  workflowsPath: string,
  opts: { namespace?: string; pageSize?: number } = {},
): Promise<string[]> {
  const histories = await allHistories(workflowService, opts);
  await replayHistories(histories, workflowsPath);
  return histories.map((h) => h.workflowId).sort();
}

/** Every namespace the server knows. */
async function namespaces(workflowService: WorkflowService): Promise<string[]> {
  const names: string[] = [];
  let token: Uint8Array | undefined;
  do {
    const page = await workflowService.listNamespaces({ pageSize: 100, nextPageToken: token });
    for (const n of page.namespaces ?? []) names.push(n.namespaceInfo!.name!);
    token = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (token);
  return names;
}

/**
 * Registers a test (call it after the file's other tests, inside the same describe as the harness) that replays every
 * run the harness's server holds, in every namespace, against `workflowsPath` (the harness worker's code). The tests
 * before it replay the runs they look at; this one makes sure none is left out (warm-up runs, children, earlier runs
 * of a continue-as-new chain, schedule actions, runs a test only reads). Histories that already replayed unchanged
 * against the same code in this process (through assertReplays or replayHistories) are skipped.
 */
export function replaysEveryRun(harness: () => Harness, workflowsPath: string = WORKFLOWS_PATH): void {
  test('every run this file made, in every namespace, replays with the real SDK', async (t) => {
    const ws = harness().env.client.workflowService;
    const histories: RunHistory[] = [];
    for (const namespace of await namespaces(ws)) histories.push(...(await allHistories(ws, { namespace })));
    assert.ok(histories.length > 0, 'the file made runs');
    // A history a test already replayed as it is now (assertReplays, same code) is not replayed twice.
    const rest = histories.filter((h) => !replayedHistories.has(replayKey(h.history, workflowsPath)));
    await replayHistories(rest, workflowsPath);
    t.diagnostic(`${histories.length} runs: ${histories.length - rest.length} replayed by the tests as they are now, ${rest.length} here`);
  });
}
