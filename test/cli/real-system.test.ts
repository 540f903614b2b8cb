/**
 * The `retrain` command line against the real system: the embedded server in this process (real time, no time
 * skipping: the CLI is a separate process with its own client, so it could not hold a time-skipping lock, and a
 * skipping server would jump the approval and label deadlines the moment a run waits for a person), Retrain's
 * search attributes registered as the worker registers them, `startWorkers` with the real activities over a
 * temporary RETRAIN_HOME, and `bin/retrain` in a child process with --json.
 *
 * The data is ml/data's SEA stream with a sudden drift, replayed one batch a second. The data each run sees is fixed
 * by the configs rather than by timing: model `sea` stops at three batches (all pre-drift) and starts its initial
 * run when all three have arrived; a reconfigure then lets the three drifted batches in, and run 2 trains on them.
 * Model `sea-labels` (labels approved by a person) starts its first run only when an operator asks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../devserver';
import { createDependencies } from '../../activities/deps';
import { registerSearchAttributes, startWorkers, type RunningWorkers } from '../../workers/worker';
import { seaCsv } from '../activities/helpers';
import { monitorStatusQuery, runStatusQuery, type MonitorStatus, type RunStatus } from '../../workflows/definitions';
import { retrain, type CliResult } from './helpers';

const quietLog = { info: () => {}, warn: () => {}, error: () => {} };
const dir = mkdtempSync(join(tmpdir(), 'retrain-cli-real-'));
const home = join(dir, 'home');
const csv = join(dir, 'sea.csv');
const BATCH_ROWS = 400;

let server: DevServer;
let connection: Connection;
let client: Client;
let nativeConnection: NativeConnection;
let workers: RunningWorkers;
let env: NodeJS.ProcessEnv;

/** A model config over the SEA CSV, one batch a second; `extra` overrides top-level sections. */
function seaConfig(model: string, maxBatches: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model,
    data: { source: { kind: 'csv-replay', path: csv, batchRows: BATCH_ROWS, every: '1 second', labelDelayBatches: 0, maxBatches }, label: 'label', positive: '1' },
    trainer: { kind: 'gbdt', params: { maxIter: 20, earlyStopping: false } },
    // The built-in check is off so that only the commands under test (and the initial trigger) start runs.
    triggers: { initialBatches: 3, builtin: { enabled: false }, cooldown: '1 second' },
    promotion: { approvers: ['alice', 'bob'] },
    rollout: { steps: [1] },
    ...extra,
  };
}

function writeConfig(name: string, config: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

const cli = (args: string[]) => retrain([...args, '--json'], env);

function ok(r: CliResult): any {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.json;
}

/**
 * Waits for a workflow's query to satisfy `done`, reading it in this process: each CLI start costs seconds on a shared
 * machine, so the CLI is run once per assertion, and the waiting between them is the test's own. Polls (bounded, so a
 * run that never gets there fails the test instead of hanging); undefined until the workflow exists.
 */
async function until<T>(workflowId: string, query: typeof runStatusQuery | typeof monitorStatusQuery, done: (s: T) => boolean, what: string): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 1200; i++) {
    last = await client.workflow
      .getHandle(workflowId)
      .query(query as typeof runStatusQuery)
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      });
    if (last !== undefined && done(last as T)) return last as T;
    await delay(200);
  }
  throw new Error(`never reached: ${what}; last seen ${JSON.stringify(last)}`);
}
const untilRun = (id: string, done: (s: RunStatus) => boolean, what: string) => until<RunStatus>(`retrain/${id}`, runStatusQuery, done, what);
const untilMonitor = (model: string, done: (s: MonitorStatus) => boolean, what: string) => until<MonitorStatus>(`monitor/${model}`, monitorStatusQuery, done, what);

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // 6 batches of 400 rows; the concept changes at row 1200, the first row of batch 3.
  writeFileSync(csv, seaCsv({ rows: 6 * BATCH_ROWS, seed: 7, noise: 0.05, drift: { mode: 'sudden', at: [3 * BATCH_ROWS] } }));
  server = await startDevServer();
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection, namespace: 'default' });
  await registerSearchAttributes(connection, 'default');
  nativeConnection = await NativeConnection.connect({ address: server.address });
  workers = await startWorkers({ connection: nativeConnection, namespace: 'default', deps: createDependencies({ home, env: {}, log: quietLog }), shutdownGraceTime: '1 second' });
  // RETRAIN_S3_BUCKET emptied: the registry commands must read the same RETRAIN_HOME the workers write.
  env = { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default', RETRAIN_HOME: home, RETRAIN_S3_BUCKET: '' };
});

after(async () => {
  await workers?.shutdown();
  await nativeConnection?.close();
  await connection?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the retrain CLI against the real workflows and activities', () => {
  const seaV1 = seaConfig('sea', 3);
  const labelsConfig = seaConfig('sea-labels', 3, {
    // The first run waits for an operator (`retrain run`), not for the initial trigger.
    triggers: { initialBatches: 99, builtin: { enabled: false }, cooldown: '1 second' },
    labels: { mode: 'approval', approvers: ['alice'] },
  });
  /** `retrain run sea-labels --wait`, started early so that its run overlaps model sea's; read in its own test. */
  let following: Promise<CliResult>;

  test('config validate accepts a good file, and refuses a bad one (exit 2) naming the file and every bad field', async () => {
    const valid = ok(await cli(['config', 'validate', writeConfig('sea.json', seaV1)]));
    assert.equal(valid.valid, true);
    assert.equal(valid.model, 'sea');
    assert.equal(valid.config.data.source.every, 1000, 'durations come back in milliseconds, defaults filled in');

    const badPath = join(dir, 'bad.yaml');
    writeFileSync(badPath, 'model: sea\ndata:\n  source: { kind: csv-replay, path: x.csv }\n  label: label\ntriggers:\n  drift: { minSeverity: urgent }\n');
    const bad = await retrain(['config', 'validate', badPath], env);
    assert.equal(bad.code, 2);
    assert.ok(bad.stdout.includes(`${badPath}: triggers.drift.minSeverity: expected one of "low", "medium", "high"`), bad.stdout);
    assert.ok(bad.stdout.includes(`${badPath}: data.positive: `), bad.stdout);
  });

  test('monitor start starts the monitors; run --wait starts the first run of sea-labels, which waits for labels', async () => {
    const sea = ok(await cli(['monitor', 'start', '--config', writeConfig('sea.json', seaV1), '--as', 'ops']));
    assert.deepEqual([sea.workflowId, sea.model, sea.started], ['monitor/sea', 'sea', true]);
    const labels = ok(await cli(['monitor', 'start', '--config', writeConfig('sea-labels.json', labelsConfig), '--as', 'ops']));
    assert.deepEqual([labels.workflowId, labels.started], ['monitor/sea-labels', true]);

    // All three batches first, so the run's data does not depend on timing.
    await untilMonitor('sea-labels', (m) => m.batches?.arrived === 3, 'three batches of sea-labels');
    following = retrain(['run', 'sea-labels', '--as', 'carol', '--reason', 'first model', '--wait', '--poll', '200ms', '--json'], env);
    await untilRun('sea-labels/1', (s) => s.stage === 'label' || s.decision !== null, 'sea-labels/1 waiting for labels');
    const status = ok(await cli(['monitor', 'status', 'sea-labels']));
    assert.equal(status.activeRun, 'retrain/sea-labels/1');
    assert.equal(status.productionVersion, null);
  });

  test('the initial run of sea waits for approval; a non-approver is refused (exit 4), alice approves, it is promoted', async () => {
    await untilRun('sea/1', (s) => s.stage === 'approve' || s.decision !== null, 'sea/1 at approval');
    const waiting = ok(await cli(['status', 'sea/1']));
    assert.equal(waiting.decision, null, `the run ended before approval: ${waiting.error ?? waiting.blessing?.summary}`);
    assert.deepEqual([waiting.workflowId, waiting.stage, waiting.trigger.kind], ['retrain/sea/1', 'approve', 'initial']);
    assert.equal(waiting.blessing.promote, true);
    assert.deepEqual(waiting.approval.approvers, ['alice', 'bob']);

    const carol = await cli(['approve', 'sea/1', '--as', 'carol']);
    assert.equal(carol.code, 4);
    assert.match(carol.json.error.message, /"carol" is not a promotion approver/);
    const approved = ok(await cli(['approve', 'retrain/sea/1', '--as', 'alice', '--comment', 'first model']));
    assert.equal(approved.approved, true);
    assert.notEqual(approved.stage, 'approve', 'approve prints the status after the approval, not the one before it');
    assert.equal(approved.decidedBy, 'alice');

    await untilRun('sea/1', (s) => s.decision !== null, 'sea/1 decided');
    const done = ok(await cli(['status', 'sea/1']));
    assert.deepEqual([done.decision, done.decidedBy], ['promoted', 'alice']);
    assert.deepEqual(
      done.timeline.map((t: { stage: string }) => t.stage),
      ['collect', 'validate', 'train', 'evaluate', 'gate', 'approve', 'rollout', 'promote'],
    );
    await untilMonitor('sea', (m) => m.activeRun === null && m.productionVersion === done.candidateVersion, 'the monitor sees sea/1 promoted');
  });

  test("report prints the paths of the run's HTML and JSON reports, which exist", async () => {
    const r = ok(await cli(['report', 'sea/1']));
    assert.equal(r.html, join(home, 'reports', 'sea', '1', 'report.html'));
    assert.match(readFileSync(r.html, 'utf8'), /^<!doctype html>/i);
    assert.equal(JSON.parse(readFileSync(r.json, 'utf8')).decision, 'promoted');
    // With a RETRAIN_HOME that is not the workers' (npm start --home DIR, the CLI run elsewhere), the run says where.
    const elsewhere = await retrain(['report', 'sea/1', '--json'], { ...env, RETRAIN_HOME: join(dir, 'elsewhere') });
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    assert.equal(elsewhere.json.html, r.html);
    // --open on a machine without a desktop says so and still answers the paths.
    const headless = await retrain(['report', 'sea/1', '--open', '--json'], { ...env, DISPLAY: '', WAYLAND_DISPLAY: '' });
    assert.equal(headless.code, 0, headless.stderr);
    assert.deepEqual([headless.json.html, headless.json.opened], [r.html, false]);
    assert.match(headless.stderr, /could not open the report \(no desktop session: DISPLAY and WAYLAND_DISPLAY are unset\): open .*report\.html in a browser/);
  });

  test('run --wait follows the run live; approve-labels and reject answer it, and it exits 4 (not promoted)', async () => {
    const bob = await cli(['approve-labels', 'sea-labels/1', '--as', 'bob']);
    assert.equal(bob.code, 4);
    assert.match(bob.json.error.message, /bob may not approve labels .*: approvers are alice/);
    ok(await cli(['approve-labels', 'sea-labels/1', '--as', 'alice', '--note', 'checked 50 rows']));

    await untilRun('sea-labels/1', (s) => s.stage === 'approve' || s.decision !== null, 'sea-labels/1 at approval');
    const atApproval = ok(await cli(['runs', '--stage', 'approve']));
    assert.deepEqual(atApproval.runs.map((r: { workflowId: string }) => r.workflowId), ['retrain/sea-labels/1']);
    const self = await cli(['approve', 'sea-labels/1', '--as', 'carol']);
    assert.equal(self.code, 4, 'carol asked for the run');
    assert.match(self.json.error.message, /"carol" is not a promotion approver/);
    const rejected = ok(await cli(['reject', 'sea-labels/1', '--as', 'bob', '--reason', 'holdout too small to trust']));
    assert.equal(rejected.rejected, true);

    const done = await following;
    assert.equal(done.code, 4, `run --wait exits 4 when the run ends without promotion: ${done.stderr}`);
    assert.deepEqual([done.json.workflowId, done.json.decision, done.json.decidedBy], ['retrain/sea-labels/1', 'rejected', 'bob']);
    // Progress is JSON lines on stderr under --json, one per change, in order.
    const stages = done.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l).stage as string);
    const order = ['label', 'train', 'approve', 'done'].map((st) => stages.indexOf(st));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])), `label, train, approve, done in ${stages.join(', ')}`);
    assert.equal(stages.lastIndexOf('approve'), stages.indexOf('approve'), 'a stage is printed once');
  });

  test('monitor start again applies a new config to the running monitor (configure update)', async () => {
    const again = ok(await cli(['monitor', 'start', '--config', writeConfig('sea.json', seaConfig('sea', 6)), '--as', 'ops']));
    assert.equal(again.started, false);
    const m = await untilMonitor('sea', (x) => x.batches?.arrived === 6, 'the three drifted batches');
    assert.equal(m.configVersion, again.configVersion);
    assert.equal(m.activeRun, null, 'new batches alone start no run');
  });

  test('a paused monitor refuses `run` (exit 4) and records drift alerts; resume starts the queued drift run', async () => {
    const paused = ok(await cli(['monitor', 'pause', 'sea', '--as', 'ops', '--reason', 'data outage']));
    assert.equal(paused.paused, true);
    const refused = await cli(['run', 'sea', '--as', 'ops', '--reason', 'try']);
    assert.equal(refused.code, 4);
    assert.match(refused.json.error.message, /paused \(by ops: data outage\)/);

    const low = ok(await cli(['drift', 'sea', '--severity', 'low', '--source', 'grafana', '--event-id', 'g-1']));
    assert.equal(low.event.eventId, 'g-1');
    const high = ok(await cli(['drift', 'sea', '--severity', 'high', '--source', 'grafana', '--event-id', 'g-2', '--score', '0.42', '--features', 'f1,f2']));
    assert.deepEqual([high.event.score, high.event.features], [0.42, ['f1', 'f2']]);
    // A signal is handled after the command returns; wait for it, then read the status through the CLI.
    await untilMonitor('sea', (m) => m.drift?.received === 2, 'both alerts handled');
    const queued = ok(await cli(['monitor', 'status', 'sea']));
    assert.equal(queued.paused, true);
    assert.equal(queued.drift.belowSeverity, 1, 'the low alert is below minSeverity (medium)');
    assert.equal(queued.queuedTrigger.kind, 'drift');
    assert.equal(queued.activeRun, null);

    const resumed = ok(await cli(['monitor', 'resume', 'sea', '--as', 'ops', '--reason', 'data back']));
    assert.equal(resumed.paused, false);
    const running = await untilMonitor('sea', (m) => m.activeRun !== null, 'the queued run starts');
    assert.equal(running.activeRun, 'retrain/sea/2');
  });

  test('the drift run trains on the drifted batches; bob approves and production moves to it', async () => {
    const waiting = await untilRun('sea/2', (s) => s.stage === 'approve' || s.decision !== null, 'sea/2 at approval');
    assert.equal(waiting.decision, null, `the run ended before approval: ${waiting.error ?? waiting.blessing?.summary}`);
    assert.deepEqual([waiting.trigger.kind, waiting.productionVersion], ['drift', 1]);
    ok(await cli(['approve', 'sea/2', '--as', 'bob']));
    const done = await untilRun('sea/2', (s) => s.decision !== null, 'sea/2 decided');
    assert.deepEqual([done.decision, done.decidedBy], ['promoted', 'bob']);
    await untilMonitor('sea', (m) => m.activeRun === null && m.productionVersion === done.candidateVersion, 'the monitor sees sea/2 promoted');
  });

  test('answering a run that already ended exits 4 and says how it ended', async () => {
    const approve = await cli(['approve', 'sea-labels/1', '--as', 'alice']);
    assert.equal(approve.code, 4, approve.stderr);
    assert.match(approve.json.error.message, /retrain\/sea-labels\/1 already ended with decision rejected/);
    const reject = await cli(['reject', 'sea/1', '--as', 'bob', '--reason', 'too late']);
    assert.equal(reject.code, 4, reject.stderr);
    assert.match(reject.json.error.message, /retrain\/sea\/1 already ended with decision promoted/);
  });

  test('runs filters by model, decision and start time (visibility), newest first', async () => {
    const ids = (j: any) => j.runs.map((r: { workflowId: string }) => r.workflowId);
    const sea = ok(await cli(['runs', '--model', 'sea', '--decision', 'promoted', '--since', '1 hour']));
    assert.deepEqual(ids(sea), ['retrain/sea/2', 'retrain/sea/1']);
    assert.deepEqual(sea.runs.map((r: { trigger: string; stage: string }) => [r.trigger, r.stage]), [['drift', 'done'], ['initial', 'done']]);
    assert.deepEqual(ids(ok(await cli(['runs', '--decision', 'rejected']))), ['retrain/sea-labels/1']);
    assert.deepEqual(ok(await cli(['runs', '--since', new Date(Date.now() + 3_600_000).toISOString()])).runs, []);
  });

  test('registry list and history show both promotions; rollback moves production back and is recorded', async () => {
    const list = ok(await cli(['registry', 'list', 'sea']));
    assert.deepEqual(list.versions.map((v: { version: number; lineage: { runWorkflowId: string } }) => [v.version, v.lineage.runWorkflowId]), [[1, 'retrain/sea/1'], [2, 'retrain/sea/2']]);
    assert.equal(list.aliases.production.version, 2);

    const back = ok(await cli(['rollback', 'sea', '--to', '1', '--as', 'alice', '--reason', 'v2 hurts the EU slice']));
    assert.deepEqual([back.move.from, back.move.to, back.move.by], [2, 1, 'alice']);

    const history = ok(await cli(['registry', 'history', 'sea', '--alias', 'production']));
    assert.deepEqual(
      history.history.map((m: { from: number | null; to: number; by: string }) => [m.from, m.to, m.by]),
      [
        [null, 1, 'alice'],
        [1, 2, 'bob'],
        [2, 1, 'alice'],
      ],
    );
  });

  test('a monitor or run that does not exist exits 3', async () => {
    const [monitor, run] = await Promise.all([cli(['monitor', 'status', 'nosuch']), cli(['approve', 'sea/9', '--as', 'alice'])]);
    assert.equal(monitor.code, 3);
    assert.equal(run.code, 3);
    assert.match(run.json.error.message, /retrain\/sea\/9/);
  });
});
