import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import { commandPredict, runCommand } from '../../activities/command-trainer';
import { loadScorer } from '../../activities/trainers';
import { readSnapshot } from '../../activities/common';
import type { CollectResult } from '../../activities/types';
import { ActivityEnv, config, sandbox, stage, writeSea, type Sandbox } from './helpers';

const PROGRAM = join(__dirname, 'fixtures', 'user-trainer.mjs');
const train = [process.execPath, PROGRAM, 'train', '--data', '{data}', '--schema', '{schema}', '--params', '{params}', '--weights', '{weights}', '--model', '{model}'];
const predict = [process.execPath, PROGRAM, 'predict', '--model', '{model}', '--data', '{data}', '--scores', '{scores}'];

function isCommandFailed(pattern: RegExp, nonRetryable = true) {
  return (e: unknown) => {
    assert.ok(e instanceof ApplicationFailure, String(e));
    assert.equal(e.type, 'CommandFailed');
    assert.equal(e.nonRetryable, nonRetryable);
    assert.match(e.message, pattern);
    return true;
  };
}

describe('command trainer', () => {
  let box: Sandbox;
  let collected: CollectResult;
  before(async () => {
    box = sandbox();
    const cfg = config(writeSea(box.dir, 'sea.csv', { rows: 1000, seed: 21 }));
    collected = await new ActivityEnv().call(createActivities(box.deps).collect, { ...stage(cfg, 1), labelledBatches: 5, sinceBatch: 3 });
  });
  after(() => box.cleanup());

  const cfgWith = (params: Record<string, unknown>) =>
    config(join(box.dir, 'sea.csv'), { trainer: { kind: 'command', train, predict, params } });

  it('trains with the user program, registers the model, and scores rows with it', async () => {
    const cfg = cfgWith({});
    const r = await new ActivityEnv().call(createActivities(box.deps).train, { ...stage(cfg, 1), collect: collected });
    assert.equal(r.trainer, 'command');
    const scorer = await loadScorer(box.deps.store, r.modelUri, join(box.dir, 'work'));
    const holdout = await readSnapshot(box.deps.store, collected.holdout.uri);
    const p = await scorer.predict(holdout);
    assert.equal(p.length, holdout.rows.length);
    assert.ok(p[0] > 0.3 && p[0] < 0.9, `the learnt positive rate, got ${p[0]}`);
    assert.ok(p.every((x) => x === p[0]));
  });

  it('a non-zero exit is CommandFailed with the exit code and the stderr tail', async () => {
    const cfg = cfgWith({ fail: 'bad data' });
    await assert.rejects(new ActivityEnv().call(createActivities(box.deps).train, { ...stage(cfg, 2), collect: collected }), isCommandFailed(/exited with code 3; stderr: user trainer: asked to fail \(bad data\)/));
  });

  it('a program that writes no model file is CommandFailed', async () => {
    const cfg = cfgWith({ skipModel: true });
    await assert.rejects(new ActivityEnv().call(createActivities(box.deps).train, { ...stage(cfg, 3), collect: collected }), isCommandFailed(/wrote no model file/));
  });

  it('unparsable scores are CommandFailed naming the line', async () => {
    process.env.USER_TRAINER_GARBAGE = '1';
    try {
      await assert.rejects(
        commandPredict({ predict, timeout: 60_000 }, { model: Buffer.from('{"rate":0.5}'), csv: 'f1\n1\n2\n', rows: 2 }, { workDir: join(box.dir, 'garbage') }),
        isCommandFailed(/line 1 of \{scores\} is "not-a-number", expected a probability/),
      );
    } finally {
      delete process.env.USER_TRAINER_GARBAGE;
    }
  });

  it('a program still running at the timeout is killed', async () => {
    await assert.rejects(runCommand({ argv: [process.execPath, PROGRAM, 'hang'], files: {}, timeoutMs: 300 }, 'hang'), isCommandFailed(/killed after the timeout of 300 ms/, false));
  });

  it('a program that cannot start is CommandFailed', async () => {
    await assert.rejects(runCommand({ argv: [join(box.dir, 'no-such-program')], files: {}, timeoutMs: 1000 }, 'missing'), isCommandFailed(/could not start/));
  });
});
