/**
 * The Temporal commands end to end: the embedded server, Retrain's search attributes registered through the
 * operator service (as docker-compose's one-shot does), a worker in this process running the fixture workflows
 * (test/cli/fixtures/workflows.ts, the real message contract without the pipeline), and `bin/retrain` as a child
 * process with --json.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../devserver';
import { SEARCH_ATTRIBUTES, TASK_QUEUE } from '../../workflows/definitions';
import { minimalConfig, retrain, type CliResult } from './helpers';

let server: DevServer;
let worker: Worker;
let running: Promise<void>;
let dir: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  server = await startDevServer();
  const connection = await Connection.connect({ address: server.address });
  await connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  await connection.close();
  worker = await Worker.create({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue: TASK_QUEUE,
    workflowsPath: require.resolve('./fixtures/workflows'),
  });
  running = worker.run();
  dir = await mkdtemp(join(tmpdir(), 'retrain-cli-wf-'));
  env = { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default', RETRAIN_HOME: dir };
});

after(async () => {
  worker.shutdown();
  await running;
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function ok(r: CliResult): any {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.json;
}

test('monitor start starts monitor/<model>; a second start applies the config with the configure update', async () => {
  const file = join(dir, 'churn.json');
  await writeFile(file, JSON.stringify(minimalConfig('churn', { promotion: { approvers: ['bo', 'cy'] } })));
  const first = ok(await retrain(['monitor', 'start', '--config', file, '--as', 'ana', '--json'], env));
  assert.equal(first.workflowId, 'monitor/churn');
  assert.equal(first.started, true);

  await writeFile(file, JSON.stringify(minimalConfig('churn', { promotion: { approvers: ['bo', 'cy'] }, triggers: { drift: { minSeverity: 'high' } } })));
  const second = ok(await retrain(['monitor', 'start', '--config', file, '--as', 'ana', '--json'], env));
  assert.equal(second.started, false);
  assert.equal(second.runId, first.runId, 'the running monitor was reconfigured, not replaced');
  assert.ok(second.configVersion > first.configVersion);

  const status = ok(await retrain(['monitor', 'status', 'churn', '--json'], env));
  assert.equal(status.model, 'churn');
  assert.equal(status.configVersion, second.configVersion);
  assert.equal(status.activeRun, null);
});

test('an invalid config is refused before anything is sent (exit 2, the field named)', async () => {
  const file = join(dir, 'bad.json');
  await writeFile(file, JSON.stringify(minimalConfig('churn', { triggers: { drift: { minSeverity: 'urgent' } } })));
  const r = await retrain(['monitor', 'start', '--config', file, '--json'], env);
  assert.equal(r.code, 2);
  assert.match(r.json.error.message, /triggers\.drift\.minSeverity: expected one of/);
});

test('pause and resume go through the monitor and come back with its status', async () => {
  const paused = ok(await retrain(['monitor', 'pause', 'churn', '--as', 'ana', '--reason', 'data outage', '--json'], env));
  assert.equal(paused.paused, true);
  const refused = await retrain(['run', 'churn', '--as', 'ana', '--reason', 'try', '--json'], env);
  assert.equal(refused.code, 4, 'the paused monitor refuses retrainNow');
  assert.match(refused.json.error.message, /paused/);
  const resumed = ok(await retrain(['monitor', 'resume', 'churn', '--as', 'ana', '--reason', 'data back', '--json'], env));
  assert.equal(resumed.paused, false);
});

test('run --wait follows the stages until an approver decides; the requester may not approve', async () => {
  const waiting = retrain(['run', 'churn', '--as', 'ana', '--reason', 'new labels', '--wait', '--poll', '200ms', '--json'], env);
  // The run is at the approval stage once `status` says so; until then, poll the CLI like an operator would.
  let status: any;
  for (;;) {
    const r = await retrain(['status', 'churn/1', '--json'], env);
    if (r.code === 0 && r.json.stage === 'approve') {
      status = r.json;
      break;
    }
  }
  assert.equal(status.workflowId, 'retrain/churn/1');
  assert.deepEqual(status.approval.approvers, ['bo', 'cy']);

  const self = await retrain(['approve', 'churn/1', '--as', 'ana', '--json'], env);
  assert.equal(self.code, 4);
  assert.match(self.json.error.message, /ana started this run and may not approve it/);

  const approved = ok(await retrain(['approve', 'retrain/churn/1', '--as', 'bo', '--comment', 'looks good', '--json'], env));
  assert.equal(approved.approved, true);

  const done = await waiting;
  assert.equal(done.code, 0, done.stderr);
  assert.equal(done.json.decision, 'promoted');
  assert.equal(done.json.decidedBy, 'bo');
  // Progress goes to stderr as JSON lines under --json: each stage once, in order.
  const stages = done.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l).stage);
  assert.deepEqual(stages.slice(-3), ['approve', 'promote', 'done']);
  assert.ok(stages.indexOf('approve') > 0);
});

test('drift starts a run when severe enough; reject ends it and a second answer is refused', async () => {
  const low = ok(await retrain(['drift', 'churn', '--severity', 'medium', '--source', 'grafana', '--event-id', 'a1', '--json'], env));
  assert.equal(low.event.eventId, 'a1');
  const high = ok(await retrain(['drift', 'churn', '--severity', 'high', '--source', 'grafana', '--score', '0.31', '--features', 'age,tenure', '--json'], env));
  assert.deepEqual(high.event.features, ['age', 'tenure']);
  assert.equal(high.event.score, 0.31);

  let run: any;
  for (;;) {
    const r = await retrain(['status', 'churn/2', '--json'], env);
    if (r.code === 0 && r.json.stage === 'approve') {
      run = r.json;
      break;
    }
    assert.ok(r.code === 0 || r.code === 3, `status exits 0, or 3 until the run exists: ${r.code} ${r.stderr}`);
  }
  assert.equal(run.trigger.kind, 'drift', 'the medium alert was below minSeverity high; the high one started run 2');

  const missingReason = await retrain(['reject', 'churn/2', '--as', 'cy', '--json'], env);
  assert.equal(missingReason.code, 2);
  const rejected = ok(await retrain(['reject', 'churn/2', '--as', 'cy', '--reason', 'fairness gap on age', '--json'], env));
  assert.equal(rejected.rejected, true);
  const again = await retrain(['approve', 'churn/2', '--as', 'bo', '--json'], env);
  assert.ok(again.code === 4 || again.code === 3, `a decided run refuses a second answer (exit ${again.code})`);

  let final: any;
  do final = ok(await retrain(['status', 'churn/2', '--json'], env));
  while (final.decision === null);
  assert.equal(final.decision, 'rejected');
  assert.equal(final.decidedBy, 'cy');
});

test('runs lists runs by model, decision and start time from the visibility store', async () => {
  const all = ok(await retrain(['runs', '--model', 'churn', '--json'], env));
  assert.deepEqual(all.runs.map((r: { workflowId: string }) => r.workflowId).sort(), ['retrain/churn/1', 'retrain/churn/2']);
  const rejected = ok(await retrain(['runs', '--decision', 'rejected', '--json'], env));
  assert.deepEqual(rejected.runs.map((r: { workflowId: string; trigger: string }) => [r.workflowId, r.trigger]), [['retrain/churn/2', 'drift']]);
  const future = ok(await retrain(['runs', '--since', new Date(Date.now() + 3_600_000).toISOString(), '--json'], env));
  assert.deepEqual(future.runs, []);
  const badStage = await retrain(['runs', '--stage', 'training', '--json'], env);
  assert.equal(badStage.code, 2);
  assert.match(badStage.json.error.message, /^--stage: expected one of/);
});

test('commands on a monitor or run that does not exist exit 3', async () => {
  const monitor = await retrain(['monitor', 'status', 'nosuch', '--json'], env);
  assert.equal(monitor.code, 3);
  const drift = await retrain(['drift', 'nosuch', '--severity', 'high', '--source', 's', '--json'], env);
  assert.equal(drift.code, 3);
  const run = await retrain(['status', 'nosuch/7', '--json'], env);
  assert.equal(run.code, 3);
});

test('approve-labels refuses a run that is not waiting for labels (exit 4)', async () => {
  const r = await retrain(['approve-labels', 'churn/2', '--as', 'bo', '--json'], env);
  assert.equal(r.code, 4);
  assert.match(r.json.error.message, /not waiting for labels/);
});
