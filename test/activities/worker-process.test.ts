import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../devserver';
import { createActivities } from '../../activities';
import type { TrainHeartbeat } from '../../activities/train';
import type { TrainInput, TrainResult } from '../../activities/types';
import { ActivityEnv, config, sandbox, stage, writeSea, type Sandbox } from './helpers';

const ROOT = resolve(__dirname, '..', '..');

function spawnWorker(env: NodeJS.ProcessEnv): { child: ChildProcess; ready: Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/worker.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const ready = new Promise<void>((res, rej) => {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => {
      log += s;
      if (log.includes('workers running on')) res();
    });
    child.once('exit', (code) => rej(new Error(`worker exited early (${code}): ${log}`)));
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, ready, exited };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a worker process killed in the middle of training', () => {
  let server: DevServer;
  let box: Sandbox;
  before(async () => {
    server = await startDevServer();
    box = sandbox();
  });
  after(async () => {
    await server.close();
    box.cleanup();
  });

  it('resumes from its heartbeated checkpoint after a restart, and the run registers exactly one version', async () => {
    const cfg = config(writeSea(box.dir, 'big.csv', { rows: 30000, seed: 51, noise: 0.1 }), { trainer: { kind: 'gbdt', params: { maxIter: 600, earlyStopping: false } } }, 5000);
    const collected = await new ActivityEnv().call(createActivities(box.deps).collect, { ...stage(cfg, 1), labelledBatches: 6, sinceBatch: 3 });
    const input: TrainInput = { ...stage(cfg, 1), collect: collected };
    const env = { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default', RETRAIN_HOME: box.deps.home, RETRAIN_WORKER_QUEUES: 'retrain-training' };

    const first = spawnWorker(env);
    await first.ready;
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const attrs = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    assert.ok(['RetrainModel', 'RetrainStage', 'RetrainTrigger', 'RetrainDecision'].every((k) => k in (attrs.customAttributes ?? {})), 'the worker registered the search attributes');

    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const workflowWorker = await Worker.create({ connection: nativeConnection, taskQueue: 'retrain-test', workflowsPath: join(__dirname, 'fixtures', 'train-workflow.ts') });
    const workflowWorkerDone = workflowWorker.run();
    try {
      const handle = await client.workflow.start('trainOnly', { taskQueue: 'retrain-test', workflowId: 'retrain/sea/1', args: [input] });
      // Wait until the server holds a heartbeat naming a checkpoint, then kill the worker without warning.
      const seen = await until('a checkpoint heartbeat', async () => {
        const d = await handle.describe();
        const payload = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
        const hb = payload ? defaultPayloadConverter.fromPayload<TrainHeartbeat>(payload) : undefined;
        return hb?.checkpoint ? hb : undefined;
      });
      first.child.kill('SIGKILL');
      assert.equal(await first.exited, null);

      const second = spawnWorker(env);
      await second.ready;
      const result: TrainResult = await handle.result();
      assert.ok(result.resumedFrom, 'the retry resumed from a checkpoint');
      assert.ok(result.resumedFrom.iteration >= seen.checkpoint!.iteration, `resumed from ${result.resumedFrom.iteration}, the server had ${seen.checkpoint!.iteration}`);
      assert.equal(result.candidateVersion, 1);
      const versions = await box.deps.registry.listVersions('sea');
      assert.equal(versions.length, 1, 'exactly one new registry version');
      const model = await box.deps.store.getJson<{ model: { trees: unknown[] } }>(result.modelUri);
      assert.equal(model.model.trees.length, 600);

      // SIGTERM stops the restarted worker gracefully.
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    } finally {
      workflowWorker.shutdown();
      await workflowWorkerDone;
      await nativeConnection.close();
      await connection.close();
    }
  });
});
