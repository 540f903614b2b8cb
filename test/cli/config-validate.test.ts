import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
