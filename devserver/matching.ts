/**
 * Task queues with long polls. A task is offered to a waiting poller, or kept until one comes; a poll is held until a
 * task, its timeout (an empty answer, as the real server gives after about a minute) or the caller's cancellation.
 * Tasks are dispatchers that may decline (return null) when they went stale while queued, for example a workflow
 * task of a run that was terminated meanwhile; a declined task is dropped and the next one tried.
 */

/** The matching key of a namespace's normal task queue. */
export function queueKey(namespace: string, queue: string): string {
  return `${namespace}/${queue}`;
}

/** The matching key of a worker's sticky queue (kept apart from normal queues of the same name). */
export function stickyQueueKey(namespace: string, queue: string): string {
  return `${namespace}/sticky/${queue}`;
}

export interface Task<Req, Res> {
  dispatch(request: Req): Res | null;
}

interface Poller<Req, Res> {
  readonly request: Req;
  resolve(res: Res | null): void;
}

/** A poll waiting for a task; a class so that no named closures are made per poll (tsx's keepNames wraps each). */
class HeldPoll<Req, Res> implements Poller<Req, Res> {
  private done = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly matcher: Matcher<Req, Res>,
    private readonly key: string,
    private readonly queue: Queue<Req, Res>,
    readonly request: Req,
    private readonly answer: (res: Res | null) => void,
  ) {
    this.timer = setTimeout(() => this.remove(), matcher.pollTimeoutMs);
  }

  resolve(res: Res | null): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.matcher.pollEnded(this.key);
    this.answer(res);
  }

  /** Timeout or cancellation: leave the queue with an empty answer. */
  remove(): void {
    const i = this.queue.pollers.indexOf(this);
    if (i >= 0) this.queue.pollers.splice(i, 1);
    this.resolve(null);
  }
}

class Queue<Req, Res> {
  readonly tasks: Task<Req, Res>[] = [];
  head = 0;
  readonly pollers: Poller<Req, Res>[] = [];
}

export class Matcher<Req, Res> {
  private readonly queues = new Map<string, Queue<Req, Res>>();
  /** When each queue was last polled (wall clock, ms): a sticky queue is only fed while its worker is around. */
  private readonly lastPoll = new Map<string, number>();
  /** Number of polls currently held, for the idle-rate benchmark and tests. */
  waiting = 0;

  constructor(readonly pollTimeoutMs: number) {}

  private queue(key: string): Queue<Req, Res> {
    let q = this.queues.get(key);
    if (!q) {
      q = new Queue();
      this.queues.set(key, q);
    }
    return q;
  }

  offer(key: string, task: Task<Req, Res>): void {
    const q = this.queue(key);
    while (q.pollers.length) {
      const poller = q.pollers.shift()!;
      const res = task.dispatch(poller.request);
      if (res === null) {
        q.pollers.unshift(poller);
        return;
      }
      poller.resolve(res);
      return;
    }
    q.tasks.push(task);
  }

  /**
   * Whether a worker polls `key`: a poll is held now, or one ended within the last `windowMs` (the worker is between
   * two polls). The real matching service answers a task for a sticky queue without such a poller with
   * StickyWorkerUnavailable, and history sends the task to the normal queue instead.
   */
  hasPoller(key: string, windowMs: number): boolean {
    if (this.queues.get(key)?.pollers.length) return true;
    const at = this.lastPoll.get(key);
    return at !== undefined && Date.now() - at <= windowMs;
  }

  /** Forgets that `key` was ever polled (its worker announced its shutdown); held polls stay until they end. */
  forgetPoller(key: string): void {
    this.lastPoll.delete(key);
  }

  /** Resolves with a dispatched task, or null on timeout or cancellation. */
  poll(key: string, request: Req, caller: { onCancel(cb: () => void): void }): Promise<Res | null> {
    const q = this.queue(key);
    this.lastPoll.set(key, Date.now());
    while (q.head < q.tasks.length) {
      const task = q.tasks[q.head++];
      if (q.head > 1024 && q.head * 2 > q.tasks.length) {
        q.tasks.splice(0, q.head);
        q.head = 0;
      }
      const res = task.dispatch(request);
      if (res !== null) return Promise.resolve(res);
    }
    return new Promise((resolve) => {
      const poller = new HeldPoll(this, key, q, request, resolve);
      this.waiting++;
      q.pollers.push(poller);
      caller.onCancel(() => poller.remove());
    });
  }

  /** A held poll ended (answered, timed out or cancelled). */
  pollEnded(key: string): void {
    this.waiting--;
    if (this.lastPoll.has(key)) this.lastPoll.set(key, Date.now());
  }

  /**
   * Forgets queues nobody has polled for `idleMs` (wall clock) that hold no task and no poll: a task queue used by a
   * few runs long gone, or the sticky queue of a worker that went away, would otherwise stay in the map for good.
   * Called by the retention sweep (retention.ts).
   */
  sweep(idleMs = 10 * 60_000): void {
    const before = Date.now() - idleMs;
    for (const [key, q] of this.queues) {
      if (q.pollers.length || q.head < q.tasks.length) continue;
      const at = this.lastPoll.get(key);
      if (at !== undefined && at > before) continue;
      this.queues.delete(key);
      this.lastPoll.delete(key);
    }
  }

  /**
   * Answers the held polls whose request matches with an empty response, as the real matching service's
   * CancelOutstandingWorkerPolls does for a worker that announced its shutdown. Returns how many it answered.
   */
  completePolls(matches: (request: Req) => boolean): number {
    let n = 0;
    for (const q of this.queues.values()) {
      for (let i = q.pollers.length - 1; i >= 0; i--) {
        const p = q.pollers[i];
        if (!matches(p.request)) continue;
        q.pollers.splice(i, 1);
        p.resolve(null);
        n++;
      }
    }
    return n;
  }

  /** Answers every held poll with an empty response (server shutdown). */
  releaseAll(): void {
    for (const q of this.queues.values()) {
      for (const p of q.pollers.splice(0)) p.resolve(null);
    }
  }
}
