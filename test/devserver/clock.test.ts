// Unit tests of the server's virtual clock (devserver/clock.ts) alone: the Java test server's lock model.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../devserver/clock';

const HOUR = 3_600_000;
const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves when `cond` holds, polling every few ms; fails after `ms` of wall time (a guard against a hang only). */
async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await wait(2);
  }
}

const clocks: VirtualClock[] = [];
function clock(timeSkipping = true): VirtualClock {
  const c = new VirtualClock(timeSkipping, (e) => {
    throw e;
  });
  clocks.push(c);
  return c;
}
/** How far virtual time is ahead of the wall clock. */
const skew = (c: VirtualClock) => c.now() - Date.now();

afterEach(() => {
  for (const c of clocks.splice(0)) c.close();
});

describe('VirtualClock', () => {
  test('a time-skipping clock starts locked and then runs on wall time, firing timers only when they are due', async () => {
    const c = clock();
    assert.equal(c.locks, 1);
    const t0 = c.now();
    let firedAt = 0;
    let firedWall = 0;
    const wallStart = Date.now();
    c.after(80, () => {
      firedAt = c.now();
      firedWall = Date.now();
    });
    await until(() => firedAt > 0);
    // Wall time of the firing, not a sleep before checking: a loaded machine may delay the check past 80 ms.
    const wallElapsed = firedWall - wallStart;
    assert.ok(wallElapsed >= 75, `a locked clock must not jump: fired after ${wallElapsed} ms of wall time, expected about 80`);
    // Not early in virtual time either; how late depends on the machine's load, so it is not bounded.
    assert.ok(firedAt - t0 >= 80, `virtual elapsed ${firedAt - t0}`);
    assert.ok(Math.abs(skew(c)) < 20, 'no virtual skew while locked');
  });

  test('an unlocked clock jumps straight to the next timer, landing exactly on its due time', async () => {
    const c = clock();
    const due = c.now() + 5 * HOUR;
    let firedAt = 0;
    c.at(due, () => {
      firedAt = c.now();
    });
    c.unlock();
    assert.equal(c.locks, 0);
    // Without the jump the timer would be five real hours away (until() gives up long before).
    await until(() => firedAt > 0);
    assert.ok(firedAt >= due && firedAt - due < 50, `fired at due+${firedAt - due} ms`);
    assert.ok(skew(c) >= 5 * HOUR - 100, 'virtual time stays ahead after the jump');
  });

  test('timers fire in due order, and timers with the same due time fire first-in first-out', async () => {
    const c = clock();
    const base = c.now();
    const order: string[] = [];
    const times: Record<string, number> = {};
    const add = (name: string, offset: number) =>
      c.at(base + offset, () => {
        order.push(name);
        times[name] = c.now() - base;
      });
    add('3h', 3 * HOUR);
    add('1h', HOUR);
    add('5h-a', 5 * HOUR);
    add('2h', 2 * HOUR);
    add('5h-b', 5 * HOUR);
    add('5h-c', 5 * HOUR);
    c.unlock();
    await until(() => order.length === 6);
    assert.deepEqual(order, ['1h', '2h', '3h', '5h-a', '5h-b', '5h-c']);
    for (const [name, expected] of [['1h', HOUR], ['2h', 2 * HOUR], ['3h', 3 * HOUR], ['5h-a', 5 * HOUR]] as const) {
      assert.ok(times[name] >= expected && times[name] - expected < 50, `${name} fired at +${times[name]} ms`);
    }
  });

  test('a cancelled timer never fires and does not make the clock jump to its due time', async () => {
    const c = clock();
    const base = c.now();
    let cancelledFired = false;
    const t = c.at(base + HOUR, () => {
      cancelledFired = true;
    });
    assert.equal(t.due, base + HOUR);
    t.cancel();
    c.unlock();
    await wait(60);
    assert.equal(cancelledFired, false);
    assert.ok(skew(c) < 1_000, `clock jumped by ${skew(c)} ms for a cancelled timer`);

    // With a live timer behind it, the jump goes to the live one.
    let liveAt = 0;
    const dead = c.at(c.now() + HOUR, () => {
      cancelledFired = true;
    });
    const liveDue = c.now() + 2 * HOUR;
    c.at(liveDue, () => {
      liveAt = c.now();
    });
    dead.cancel();
    await until(() => liveAt > 0);
    assert.equal(cancelledFired, false);
    assert.ok(liveAt >= liveDue && liveAt - liveDue < 50);
  });

  test('a timer callback that takes a lock stops further jumps until the lock is released', async () => {
    const c = clock();
    const base = c.now();
    const fired: string[] = [];
    c.at(base + HOUR, () => {
      fired.push('first');
      c.lock(); // like a workflow task scheduled by a fired timer
    });
    c.at(base + 2 * HOUR, () => fired.push('second'));
    c.unlock();
    await until(() => fired.length === 1);
    await wait(60);
    assert.deepEqual(fired, ['first'], 'the second timer must wait while the first one holds a lock');
    assert.equal(c.locks, 1);
    c.unlock();
    await until(() => fired.length === 2);
    assert.ok(c.now() - base >= 2 * HOUR);
  });

  test('skip moves virtual time forward even while locked, and fires the timers it passes in order', async () => {
    const c = clock();
    const base = c.now();
    const fired: string[] = [];
    c.at(base + 30 * 60_000, () => fired.push('30m'));
    c.at(base + 20 * 60_000, () => fired.push('20m'));
    c.at(base + 2 * HOUR, () => fired.push('2h'));
    assert.equal(c.locks, 1);
    c.skip(HOUR);
    assert.ok(c.now() - base >= HOUR && c.now() - base < HOUR + 500);
    await until(() => fired.length === 2);
    await wait(40);
    assert.deepEqual(fired, ['20m', '30m'], 'the 2 h timer is not due yet after a 1 h skip');
    c.skip(-5 * HOUR); // negative skips are ignored: time never goes back
    assert.ok(c.now() - base >= HOUR);
  });

  test('one signed lock count: extra unlocks go below zero and skip time, and balanced calls end where they started', async () => {
    const c = clock();
    const base = c.now();
    assert.equal(c.locks, 1);
    c.lock(); // an outstanding task's lock
    c.unlock(); // the test waits (result()), and two sleeps give up a lock each ...
    c.unlock();
    c.unlock();
    assert.equal(c.locks, -1);
    let fired = false;
    c.after(HOUR, () => {
      fired = true;
    });
    await until(() => fired);
    assert.ok(c.now() - base >= HOUR, 'a count below zero skips time like zero');
    c.lock(); // ... and relock
    c.lock();
    assert.equal(c.locks, 1);
    let second = false;
    c.after(HOUR, () => {
      second = true;
    });
    await wait(40);
    assert.equal(second, false, 'back at one lock, time runs on the wall clock again');
    c.lock(); // a task's lock, balanced by a sleep's unlock (env.sleep inside a running activity)
    c.unlock();
    c.unlock();
    await until(() => second);
  });

  test('a clock without time skipping never jumps', async () => {
    const wall = clock(false);
    assert.equal(wall.locks, 0, 'the wall clock starts unlocked');
    let wallFired = false;
    wall.after(HOUR, () => {
      wallFired = true;
    });
    let soon = false;
    wall.after(20, () => {
      soon = true;
    });
    await until(() => soon);
    await wait(40);
    assert.equal(wallFired, false, 'without time skipping an hour-long timer waits an hour');
    assert.ok(Math.abs(skew(wall)) < 20);
  });

  test('a timer callback that throws is reported and does not stop later timers', async () => {
    const errors: unknown[] = [];
    const c = new VirtualClock(true, (e) => errors.push(e));
    clocks.push(c);
    const base = c.now();
    let later = false;
    c.at(base + HOUR, () => {
      throw new Error('boom');
    });
    c.at(base + 2 * HOUR, () => {
      later = true;
    });
    c.unlock();
    await until(() => later);
    assert.equal(errors.length, 1);
    assert.match(String((errors[0] as Error).message), /boom/);
  });

  test('close drops every pending timer', async () => {
    const c = clock();
    let fired = false;
    c.after(10, () => {
      fired = true;
    });
    c.close();
    await wait(50);
    assert.equal(fired, false);
  });
});
