import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeToken, encodeToken, type TaskToken } from '../../devserver/run';
import { ServerError } from '../../devserver/errors';

describe('task tokens', () => {
  test('workflow, activity and query tokens come back as they were issued, whatever the namespace is called', () => {
    const tokens: TaskToken[] = [
      { k: 'w', ns: 'default', r: '0b6f3e2a-run', s: 7, a: 1 },
      { k: 'a', ns: 'with\nnew\nlines and spaces', r: 'run-2', s: 12345678901, a: 3 },
      { k: 'q', ns: 'default', r: 'run-3', s: '9a3c-query-id' },
    ];
    for (const t of tokens) assert.deepEqual(decodeToken(encodeToken(t)), t);
  });

  test('bytes this server did not issue are rejected as INVALID_ARGUMENT naming the task token', () => {
    const bad = ['', 'x', 'w\nrun\n7\n1', 'z\nrun\n7\n1\ndefault', 'w\n\n7\n1\ndefault', 'w\nrun\nseven\n1\ndefault', '{"k":"w"}'];
    for (const text of bad) {
      assert.throws(
        () => decodeToken(Buffer.from(text)),
        (e: unknown) => e instanceof ServerError && /TaskToken/.test(e.message),
        JSON.stringify(text),
      );
    }
  });
});
