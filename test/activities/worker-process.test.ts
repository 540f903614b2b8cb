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
import { freePort } from '../devserver/helpers';

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
  const boxes: Sandbox[] = [];
  before(async () => {
    server = await startDevServer();
  });
  after(async () => {
    await server.close();
    for (const b of boxes) b.cleanup();
  });

  it('resumes from its heartbeated checkpoint after a restart, and the run registers exactly one version', async () => {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    const workflowWorker = await Worker.create({ connection: nativeConnection, taskQueue: 'retrain-test', workflowsPath: join(__dirname, 'fixtures', 'train-workflow.ts') });
    const workflowWorkerDone = workflowWorker.run();
    try {
      // The SDK sends a heartbeat at most every 2.4 s (0.8 of the fixture's 3 s heartbeat timeout), so on a fast
      // machine a fit can end before any checkpoint reaches the server. Then the scenario runs again on a fresh
      // sandbox with four times the iterations, until the server holds a checkpoint while the fit still runs.
      for (const maxIter of [600, 2400, 9600]) {
        const box = sandbox();
        boxes.push(box);
        const cfg = config(writeSea(box.dir, 'big.csv', { rows: 30000, seed: 51, noise: 0.1 }), { trainer: { kind: 'gbdt', params: { maxIter, earlyStopping: false } } }, 5000);
        const collected = await new ActivityEnv().call(createActivities(box.deps).collect, { ...stage(cfg, 1), labelledBatches: 6, sinceBatch: 3 });
        const input: TrainInput = { ...stage(cfg, 1), collect: collected };
        const env = { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default', RETRAIN_HOME: box.deps.home, RETRAIN_WORKER_QUEUES: 'retrain-training' };

        const first = spawnWorker(env);
        await first.ready;
        const attrs = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        assert.ok(['RetrainModel', 'RetrainStage', 'RetrainTrigger', 'RetrainDecision'].every((k) => k in (attrs.customAttributes ?? {})), 'the worker registered the search attributes');

        const handle = await client.workflow.start('trainOnly', { taskQueue: 'retrain-test', workflowId: 'retrain/sea/1', args: [input] });
        // Wait until the server holds a heartbeat naming a checkpoint (null: the fit ended first), then kill the
        // worker without warning.
        const seen = await until('a checkpoint heartbeat', async () => {
          const d = await handle.describe();
          if (d.status.name !== 'RUNNING') return null;
          const payload = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
          const hb = payload ? defaultPayloadConverter.fromPayload<TrainHeartbeat>(payload) : undefined;
          return hb?.checkpoint ? hb : undefined;
        });
        if (seen === null) {
          first.child.kill('SIGTERM');
          assert.equal(await first.exited, 0);
          continue;
        }
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
        assert.equal(model.model.trees.length, maxIter);

        // SIGTERM stops the restarted worker gracefully.
        second.child.kill('SIGTERM');
        assert.equal(await second.exited, 0);
        return;
      }
      assert.fail('at every size tried, the fit ended before a checkpoint heartbeat reached the server');
    } finally {
      workflowWorker.shutdown();
      await workflowWorkerDone;
      await nativeConnection.close();
      await connection.close();
    }
  });
});

describe('a worker process with no Temporal to connect to', () => {
  it('exits 1 naming the address, why it failed, and the variable to set', async () => {
    const port = await freePort();
    const box = sandbox();
    try {
      const { ready, exited } = spawnWorker({ TEMPORAL_ADDRESS: `127.0.0.1:${port}`, TEMPORAL_NAMESPACE: 'default', RETRAIN_HOME: box.deps.home });
      // The spawned worker's stderr comes back in the early-exit error.
      await assert.rejects(ready, (e: Error) => {
        assert.match(e.message, new RegExp(`^worker exited early \\(1\\): npm run worker: cannot connect to Temporal at 127\\.0\\.0\\.1:${port} \\(connection refused: nothing listens on that port\\)`));
        assert.match(e.message, /npm start.*TEMPORAL_ADDRESS/);
        return true;
      });
      assert.equal(await exited, 1);
    } finally {
      box.cleanup();
    }
  });
});
