import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../ml/random';
import * as fastmath from '../../ml/trainers/fastmath';

test('the fast exp stays within 2 ulp of Math.exp across the double range', () => {
  const rng = new Rng(1);
  let worst = 0;
  for (let k = 0; k < 200000; k++) {
    const x = (2 * rng.next() - 1) * 745;
    const a = fastmath.exp(x);
    const b = Math.exp(x);
    if (b === Infinity || b < 2.2250738585072014e-308) {
      // Overflow and the subnormal range go through Math.exp itself.
      assert.equal(a, b);
      continue;
    }
    worst = Math.max(worst, Math.abs(a - b) / (b * Number.EPSILON));
  }
  assert.ok(worst <= 2, `worst error ${worst} ulp`);
});

test('the fast exp is exact at 0 and matches e at 1, and handles the edges like Math.exp', () => {
  assert.equal(fastmath.exp(0), 1);
  assert.ok(Math.abs(fastmath.exp(1) - Math.E) <= Number.EPSILON * Math.E);
  assert.equal(fastmath.exp(Infinity), Infinity);
  assert.equal(fastmath.exp(-Infinity), 0);
  assert.ok(Number.isNaN(fastmath.exp(NaN)));
  assert.equal(fastmath.exp(710), Infinity);
  assert.equal(fastmath.exp(-746), 0);
  assert.equal(fastmath.sigmoid(0), 0.5);
  assert.equal(fastmath.sigmoid(-800), 0);
  assert.equal(fastmath.sigmoid(800), 1);
});
