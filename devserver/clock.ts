/**
 * The server's clock. Event timestamps and every timeout read it. With time skipping (the TestService mode) it is a
 * virtual clock with the Java test server's lock model (SelfAdvancingTimerImpl): one lock count for the whole server,
 * which the server's own locks (an outstanding workflow task or activity, ...) and the test clients' calls all add to
 * (engine.ts: LockTimeSkipping/UnlockTimeSkipping through a balance floored at zero, UnlockTimeSkippingWithSleep
 * straight). While the count is positive virtual time advances with wall time; when it is not, it jumps straight to
 * the next due timer. So a test's `env.sleep()` from inside a running activity gives up a lock that balances the
 * activity's own, and time skips. Without time skipping it is the wall clock. Kept free of server state so it can be
 * tested alone.
 */

export interface ClockTimer {
  readonly due: number;
  cancel(): void;
}

interface Entry extends ClockTimer {
  /** Tie-break among timers due at the same time (lower first); timers without one come after, in arming order. */
  order: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class VirtualClock {
  private offset = 0;
  private lockCount: number;
  private readonly heap: Entry[] = [];
  private seq = 0;
  private wake: NodeJS.Timeout | undefined;
  /** Wall-clock time (Date.now()) the armed wake-up is for. */
  private wakeAt = Infinity;
  private pumpQueued = false;
  private closed = false;

  constructor(
    readonly timeSkipping: boolean,
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    // The Java test server, and so TestWorkflowEnvironment, start locked: time only skips while a test waits.
    this.lockCount = timeSkipping ? 1 : 0;
  }

  now(): number {
    return Date.now() + this.offset;
  }

  get locks(): number {
    return this.lockCount;
  }

  lock(): void {
    this.lockCount++;
  }

  /**
   * Gives up one lock. The count may go below zero (where the Java test server fails the call as unbalanced): a
   * below-zero count skips time like zero, and balanced calls bring it back to where it was.
   */
  unlock(): void {
    this.lockCount--;
    if (this.lockCount <= 0) this.requestPump();
  }

  /** Moves virtual time forward (only meaningful with time skipping). */
  skip(ms: number): void {
    if (ms > 0) this.offset += ms;
    this.requestPump();
  }

  after(delayMs: number, fn: () => void): ClockTimer {
    return this.at(this.now() + Math.max(0, delayMs), fn);
  }

  /**
   * `order` ranks timers due at the same instant (lower fires first), as the real server orders same-time timers of
   * a run by event id, then timeout type (see activityTimerOrder in run-types.ts); timers without it fire after, in order.
   */
  at(due: number, fn: () => void, order = Number.MAX_SAFE_INTEGER): ClockTimer {
    const entry: Entry = {
      due,
      order,
      seq: this.seq++,
      fn,
      cancelled: false,
      // Method shorthand: tsx's keepNames would wrap an arrow property in a defineProperty call on every timer.
      cancel() {
        entry.cancelled = true;
      },
    };
    this.push(entry);
    if (this.heap[0] === entry) this.requestPump();
    return entry;
  }

  close(): void {
    this.closed = true;
    if (this.wake) clearTimeout(this.wake);
    this.heap.length = 0;
  }

  private requestPump(): void {
    if (this.pumpQueued || this.closed) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.closed) return;
    for (;;) {
      this.dropCancelled();
      const head = this.heap[0];
      if (!head) break;
      const now = this.now();
      if (head.due > now) {
        if (!this.timeSkipping || this.lockCount > 0) break;
        this.offset += head.due - now;
      }
      this.pop();
      try {
        head.fn();
      } catch (e) {
        this.onError(e);
      }
      // A fired timer usually schedules a workflow task, which locks; yield so that the lock is taken and any
      // same-time timers run before time moves again.
      this.requestPump();
      return;
    }
    this.arm();
  }

  private arm(): void {
    const head = this.heap[0];
    const due = head ? head.due : Infinity;
    // The wake-up is a wall-clock timer: compare wall-clock deadlines, so that a skip (which moves the offset) re-arms
    // it. Comparing virtual deadlines left a wake-up armed before a skip firing that much too late.
    const wallDue = due - this.offset;
    if (wallDue === this.wakeAt) return;
    if (this.wake) clearTimeout(this.wake);
    this.wake = undefined;
    this.wakeAt = wallDue;
    if (!head) return;
    const delay = Math.min(Math.max(0, due - this.now()), 2 ** 31 - 1);
    this.wake = setTimeout(() => {
      this.wake = undefined;
      this.wakeAt = Infinity;
      this.pump();
    }, delay);
    this.wake.unref?.();
  }

  private dropCancelled(): void {
    while (this.heap.length && this.heap[0].cancelled) this.pop();
  }

  private less(a: Entry, b: Entry): boolean {
    if (a.due !== b.due) return a.due < b.due;
    return a.order !== b.order ? a.order < b.order : a.seq < b.seq;
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
