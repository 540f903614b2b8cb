/**
 * workflows/duration.ts: durations as configs write them and as the monitor and reports print them. The printed
 * form uses the units the parser reads, so a schedule shown in a trigger ("schedule: every 1w") can be pasted back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../workflows/duration';

test('formatDuration: compact by default (two largest units, to the second), exact on request', () => {
  assert.equal(formatDuration(604_800_000), '1w');
  assert.equal(formatDuration(90 * 60_000), '1h 30m');
  assert.equal(formatDuration(2 * 86_400_000 + 3 * 3_600_000 + 5 * 60_000), '2d 3h');
  assert.equal(formatDuration(45_000), '45s');
  assert.equal(formatDuration(1500), '2s');
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(2 * 86_400_000 + 3 * 3_600_000 + 5 * 60_000, { exact: true }), '2d 3h 5m');
  assert.equal(formatDuration(1500, { exact: true }), '1s 500ms');
  assert.equal(formatDuration(15 * 86_400_000, { exact: true }), '2w 1d');
  assert.equal(formatDuration(-1), '-1');
});

test('an exact formatDuration reads back through parseDuration to the same milliseconds', () => {
  for (const ms of [1000, 60_000, 90 * 60_000, 86_400_000, 604_800_000, 8 * 86_400_000 + 1234, 3_600_000 + 15_000, 999]) {
    assert.equal(parseDuration(formatDuration(ms, { exact: true })), ms, formatDuration(ms, { exact: true }));
  }
});
