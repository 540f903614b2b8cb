/**
 * The README's references cannot drift from the code: its model config table is what the schema generates, and
 * its CLI table names every command the `retrain` program defines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { configReference, README_END, README_START } from '../../scripts/docs/config-reference';
import { buildProgram } from '../../scripts/cli/main';

const readme = readFileSync(resolve(__dirname, '..', '..', 'README.md'), 'utf8');

test("the README's model config reference is the one the schema generates (regenerate: npx tsx scripts/docs/config-reference.ts --write)", () => {
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  assert.ok(a >= 0 && b > a, 'the README has the config reference markers');
  assert.equal(readme.slice(a + README_START.length, b).trim(), configReference().trim());
});

test('the config reference documents every field, each with a meaning', () => {
  const rows = configReference().split('\n').slice(2);
  assert.ok(rows.length > 80, `expected the whole schema, got ${rows.length} rows`);
  const undocumented = rows.filter((r) => /\|\s*\|$/.test(r.trim()) || /\| (\([a-z]+ = "[^"]+"\) )?\|$/.test(r.trim()));
  assert.deepEqual(undocumented, []);
});

test("the README's CLI table names every command of the retrain program", () => {
  const names: string[] = [];
  const walk = (cmd: Command, prefix: string) => {
    for (const c of cmd.commands) {
      const name = `${prefix}${c.name()}`;
      if (c.commands.length) walk(c, `${name} `);
      else names.push(name);
    }
  };
  walk(buildProgram(), '');
  assert.ok(names.length >= 17, `expected the documented commands, got ${names.join(', ')}`);
  const missing = names.filter((n) => !readme.includes(`\`retrain ${n}`));
  assert.deepEqual(missing, []);
});
