import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SEARCH_ATTRIBUTES, TASK_QUEUE, TRAINING_TASK_QUEUE } from '../../workflows/definitions';

const root = resolve(__dirname, '..', '..');
const read = (p: string) => readFileSync(resolve(root, p), 'utf8');

test("docker-compose's one-shot registers exactly the search attributes the workflows define, as Keyword", () => {
  const script = read('scripts/compose/search-attributes.sh');
  const names = /for name in ([^;]+);/.exec(script)?.[1].trim().split(/\s+/);
  assert.deepEqual(names, SEARCH_ATTRIBUTES.map((k) => k.name));
  assert.match(script, /--type Keyword/);
});

test('the compose workers listen on the two task queues the workflows use', () => {
  const compose = read('docker-compose.yml');
  assert.match(compose, new RegExp(`RETRAIN_WORKER_QUEUES: ${TASK_QUEUE}\\n`));
  assert.match(compose, new RegExp(`RETRAIN_WORKER_QUEUES: ${TRAINING_TASK_QUEUE}\\n`));
});

test('the worker image installs with npm ci and runs as a non-root user', () => {
  const dockerfile = read('Dockerfile');
  assert.match(dockerfile, /RUN npm ci\b/);
  assert.match(dockerfile, /^USER node$/m);
  assert.equal((dockerfile.match(/^FROM /gm) ?? []).length, 2, 'multi-stage: deps and runtime');
});
