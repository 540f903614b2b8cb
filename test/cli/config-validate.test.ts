import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { minimalConfig, retrain } from './helpers';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retrain-cli-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('config validate accepts a good JSON config and prints it with the defaults filled in', async () => {
  const file = join(dir, 'good.json');
  await writeFile(file, JSON.stringify(minimalConfig('churn')));
  const r = await retrain(['config', 'validate', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.valid, true);
  assert.equal(r.json.model, 'churn');
  assert.equal(r.json.config.triggers.drift.minSeverity, 'medium');
  assert.equal(r.json.config.trainer.kind, 'gbdt');
});

test('config validate reads YAML, and says in text which model the config is for', async () => {
  const file = join(dir, 'good.yaml');
  await writeFile(file, 'model: fraud\ndata:\n  source: { kind: folder, path: ./incoming }\n  label: is_fraud\n  positive: "yes"\n');
  const r = await retrain(['config', 'validate', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /valid config for model fraud/);
});

test('a bad config exits 2 and every issue names the file and the field path', async () => {
  const file = join(dir, 'bad.yaml');
  await writeFile(file, 'model: churn\ndata:\n  source: { kind: csv-replay, path: d.csv }\n  label: y\n  positive: "1"\ntriggers:\n  drift:\n    minSeverity: extreme\nrollout:\n  steps: [0.5, 0.2]\n');
  const r = await retrain(['config', 'validate', file, '--json']);
  assert.equal(r.code, 2);
  assert.equal(r.json.valid, false);
  const paths = r.json.issues.map((i: { path: string }) => i.path);
  assert.ok(paths.includes('triggers.drift.minSeverity'), paths.join(', '));
  assert.ok(paths.includes('rollout.steps[1]'), paths.join(', '));
  const severity = r.json.issues.find((i: { path: string }) => i.path === 'triggers.drift.minSeverity');
  assert.match(severity.message, /"low", "medium", "high"/);

  const text = await retrain(['config', 'validate', file]);
  assert.equal(text.code, 2);
  assert.match(text.stdout, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: triggers\\.drift\\.minSeverity: expected one of`));
});

test('a missing file exits 3 and unparsable JSON exits 2, both naming the file', async () => {
  const missing = join(dir, 'nope.json');
  const r = await retrain(['config', 'validate', missing, '--json']);
  assert.equal(r.code, 3);
  assert.equal(r.json.error.kind, 'not_found');
  assert.ok(r.json.error.message.includes(missing));

  const broken = join(dir, 'broken.json');
  await writeFile(broken, '{"model": ');
  const b = await retrain(['config', 'validate', broken, '--json']);
  assert.equal(b.code, 2);
  assert.match(b.json.error.message, /not valid JSON/);
});

test('usage errors exit 2, with a JSON error under --json; --help lists the exit codes', async () => {
  const r = await retrain(['drift', 'churn', '--severity', 'high', '--json']);
  assert.equal(r.code, 2);
  assert.equal(r.json.error.kind, 'usage');
  assert.match(r.json.error.message, /--source/);

  const bad = await retrain(['drift', 'churn', '--severity', 'extreme', '--source', 'grafana', '--json', '--address', '127.0.0.1:1']);
  assert.equal(bad.code, 2, 'the option is checked before any connection is tried');
  assert.match(bad.json.error.message, /^--severity: expected one of "low", "medium", "high"/);

  const help = await retrain(['--help']);
  assert.equal(help.code, 0);
  for (const code of ['0  ok', '2  bad usage', '3  not found', '4  rejected', '5  cannot connect']) assert.ok(help.stdout.includes(code), code);
});

test('relative data, hard-examples and trainer paths are resolved against the config file\'s folder, absolute ones kept', async () => {
  const sub = join(dir, 'models', 'churn');
  await mkdir(join(sub, 'data'), { recursive: true });
  await writeFile(join(sub, 'data', 'd.csv'), 'x,y\n1,1\n');
  const file = join(sub, 'churn.json');
  const config = minimalConfig('churn', { trainer: { kind: 'command', train: ['python3', 'train.py'], predict: ['python3', 'predict.py'], cwd: 'trainer' } });
  const data = config.data as Record<string, any>;
  data.source.path = 'data/d.csv';
  data.hardExamples = '/elsewhere/hard.csv';
  await writeFile(file, JSON.stringify(config));
  // Run from another folder: the paths must not depend on where the command runs.
  const r = await retrain(['config', 'validate', file, '--json'], {}, tmpdir());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.config.data.source.path, join(sub, 'data', 'd.csv'));
  assert.equal(r.json.config.trainer.cwd, join(sub, 'trainer'));
  assert.equal(r.json.config.data.hardExamples, '/elsewhere/hard.csv');
});

test('a local data source that does not exist is a warning: exit 0, the missing path named', async () => {
  const file = join(dir, 'missing-data.yaml');
  await writeFile(file, 'model: fraud\ndata:\n  source: { kind: csv-replay, path: nowhere/d.csv }\n  label: y\n  positive: "1"\n');
  const r = await retrain(['config', 'validate', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.valid, true);
  assert.equal(r.json.warnings.length, 1);
  assert.match(r.json.warnings[0], new RegExp(`^data\\.source\\.path: no file at ${join(dir, 'nowhere', 'd.csv').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

  const text = await retrain(['config', 'validate', file]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /valid config for model fraud\n.*warning: data\.source\.path: no file at /);
});

test('a csv-replay path that is a folder is a warning naming data.source.path and what it expects', async () => {
  const data = join(dir, 'batches');
  await mkdir(data, { recursive: true });
  const file = join(dir, 'folder-data.yaml');
  await writeFile(file, 'model: fraud\ndata:\n  source: { kind: csv-replay, path: batches }\n  label: y\n  positive: "1"\n');
  const r = await retrain(['config', 'validate', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json.warnings, [`data.source.path: ${data} is a folder; expected a CSV file (for a folder of CSV files use kind "folder")`]);
});

test('trainer params are checked with the trainer\'s own schema: unknown names and bad values are refused at their field', async () => {
  const file = join(dir, 'bad-params.json');
  await writeFile(file, JSON.stringify(minimalConfig('churn', { trainer: { kind: 'gbdt', params: { foo: 1, learningRate: 'fast' } } })));
  const r = await retrain(['config', 'validate', file, '--json']);
  assert.equal(r.code, 2);
  const byPath = new Map(r.json.issues.map((i: { path: string; message: string }) => [i.path, i.message]));
  assert.match(String(byPath.get('trainer.params.foo')), /unknown gbdt param; expected one of learningRate, maxIter, /);
  assert.equal(byPath.get('trainer.params.learningRate'), 'expected a number, got "fast"');

  const logistic = join(dir, 'bad-logistic.json');
  await writeFile(logistic, JSON.stringify(minimalConfig('churn', { trainer: { kind: 'logistic', params: { solver: 'sgd', C: 0.5 } } })));
  const l = await retrain(['config', 'validate', logistic, '--json']);
  assert.equal(l.code, 2);
  assert.deepEqual(l.json.issues, [{ path: 'trainer.params.solver', message: 'expected one of "auto", "newton", "lbfgs", got "sgd"' }]);

  const good = join(dir, 'good-params.json');
  await writeFile(good, JSON.stringify(minimalConfig('churn', { trainer: { kind: 'gbdt', params: { learningRate: 0.05, earlyStopping: false } } })));
  const g = await retrain(['config', 'validate', good, '--json']);
  assert.equal(g.code, 0, g.stdout);
  assert.deepEqual(g.json.config.trainer.params, { learningRate: 0.05, earlyStopping: false }, 'params are kept as written, not filled in');
});

test('config errors are worded for people: a missing field is "required", a bad kind lists the kinds', async () => {
  const file = join(dir, 'wording.json');
  await writeFile(file, JSON.stringify({ model: 'churn', data: { source: { kind: 'ftp', path: 'd.csv' }, label: 'y' } }));
  const r = await retrain(['config', 'validate', file]);
  assert.equal(r.code, 2);
  assert.ok(r.stdout.includes('data.positive: required (a string)'), r.stdout);
  assert.ok(r.stdout.includes('data.source.kind: expected one of "csv-replay", "folder", "s3"'), r.stdout);
  assert.doesNotMatch(r.stdout, /Invalid (input|discriminator)/);
});

test('the example config\'s data path is relative to its own folder, and points at the shared Elec2 file', async () => {
  const file = join(__dirname, '..', '..', 'examples', 'sklearn-trainer', 'elec2.json');
  const r = await retrain(['config', 'validate', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.config.data.source.path, join(__dirname, '..', '..', '..', 'shared', 'data', 'elec2.csv'));
  assert.deepEqual(r.json.warnings, []);
});
