import { test } from 'node:test';
import assert from 'node:assert/strict';
test('the runner executes TypeScript tests', () => {
  assert.equal([1, 2, 3].reduce((a, b) => a + b, 0), 6);
});
