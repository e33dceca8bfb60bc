import type { Clock } from '../ports/clock.js';

// The simulated region's time. Nothing happens between events: `runUntil` jumps from one scheduled
// event to the next, letting the promises each event resolves run to completion before the next one
// fires, so spotmax's real controllers (which only ever wait through Clock.sleep) play a day in seconds.

export interface TimerHandle {
  cancel(): void;
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A binary min-heap on (at, seq): same-time events fire in the order they were scheduled. */
class TimerHeap {
  private items: Timer[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Timer | undefined {
    return this.items[0];
  }
  push(t: Timer): void {
    const a = this.items;
    a.push(t);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): Timer | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

const noop = () => {};

const less = (x: Timer, y: Timer) => x.at < y.at || (x.at === y.at && x.seq < y.seq);

/** One turn of the event loop: every promise chain started by the last event runs (no real I/O here). */
const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The virtual time one turn of a yielding loop stands for (Clock.yield): about one group's planning in a
 * full reconcile pass. Time stands still while work is runnable, except that a long loop taking turns
 * lets it move on by this much per turn, firing what falls due (the fast path's 20 ms coalescing window
 * ends inside a 500-group pass, as it would in real time) — never leaping to the next event, which
 * would play minutes of the region (requeued passes, launches) inside one pass.
 */
export const YIELD_TURN_MS = 1;
/** Events fired in one turn of a yielding loop at most. */
const MAX_EVENTS_PER_TURN = 1_000;

export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly heap = new TimerHeap();
  /** Turns of long loops in progress (yield()). */
  private yielding = 0;
  /** Events fired so far (the benchmark's events/s). */
  fired = 0;

  constructor(start: Date | number) {
    this.t = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  nowMs(): number {
    return this.t;
  }

  /** Runs `fn` at virtual time `at` (never earlier than now). */
  at(at: number, fn: () => void): TimerHandle {
    const timer: Timer = { at: Math.max(at, this.t), seq: this.seq++, fn, cancelled: false };
    this.heap.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        // Added for bench/interruption.ts's memory run: a cancelled timer stays in the heap until its time
        // comes, so drop its callback now (as clearTimeout frees it) rather than keep alive, until then,
        // everything the callback holds (a withDeadline's abort controller, the work behind it).
        timer.fn = noop;
      },
    };
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.at(this.t + Math.max(0, ms), fn);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        handle.cancel();
        reject(signal?.reason);
      };
      const handle = this.after(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A turn of the event loop for a long loop; until it is over, `settle` knows work is still runnable. */
  yield(): Promise<void> {
    this.yielding++;
    return new Promise((resolve) =>
      setImmediate(() => {
        this.yielding--;
        resolve();
      }),
    );
  }

  /**
   * Lets everything runnable run before time moves on. While a long loop is taking turns (yield), time
   * moves on by at most YIELD_TURN_MS per turn (never past `limit`), and every event due by then fires
   * in that turn, in time order: as Node runs every I/O callback that is ready in one poll phase, between
   * two of the loop's setImmediate turns. Firing one event a turn made each of a warning's answers wait
   * for a turn of a running pass: 50 warnings' ~400 answers took ~400 of its turns, a delay no real
   * event loop adds (bench/reconcile.ts).
   */
  private async settle(limit = Number.POSITIVE_INFINITY): Promise<void> {
    await immediate();
    while (this.yielding > 0) {
      const to = Math.min(limit, this.t + YIELD_TURN_MS);
      // Bounded, so that an event that schedules another at once cannot keep the turn from ending.
      let budget = MAX_EVENTS_PER_TURN;
      for (let next = this.heap.peek(); next && next.at <= to && budget-- > 0; next = this.heap.peek()) {
        this.heap.pop();
        if (next.cancelled) continue;
        this.t = Math.max(this.t, next.at);
        this.fired++;
        next.fn();
      }
      if (budget > 0 && to > this.t) this.t = to;
      await immediate();
    }
  }

  /** Scheduled events not yet fired (cancelled ones included until they reach the front). */
  get pending(): number {
    return this.heap.size;
  }

  /** Fires every event due up to `until` in time order, then leaves the clock at `until`. */
  async runUntil(until: Date | number): Promise<void> {
    const end = typeof until === 'number' ? until : until.getTime();
    await this.settle(end);
    for (;;) {
      const next = this.heap.peek();
      if (!next || next.at > end) break;
      this.heap.pop();
      if (next.cancelled) continue;
      this.t = Math.max(this.t, next.at);
      this.fired++;
      next.fn();
      await this.settle(end);
    }
    if (end > this.t) this.t = end;
  }

  /**
   * Awaits `work` while time jumps to the next scheduled event each time everything runnable has run:
   * exact times, no step size. When nothing is scheduled, the work waits on something real (a loopback
   * HTTP server in a test): real time passes in 1 ms turns until it answers.
   */
  async drive<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const settled = work.finally(() => {
      done = true;
    });
    settled.catch(() => undefined);
    while (!done) {
      await this.settle();
      if (done || !this.fireNext()) await new Promise((r) => setTimeout(r, 1));
    }
    return settled;
  }

  /**
   * Runs in the background until `signal` aborts: whenever everything runnable has run, time jumps to
   * the next event. For tests that start long-running loops (a consumer, the service) and watch them.
   */
  async runFreely(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.settle();
      if (!this.fireNext()) await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Fires the earliest live event, if any; false when nothing is scheduled. */
  private fireNext(): boolean {
    for (;;) {
      const next = this.heap.pop();
      if (!next) return false;
      if (next.cancelled) continue;
      this.t = Math.max(this.t, next.at);
      this.fired++;
      next.fn();
      return true;
    }
  }

  advanceTo(until: Date | number): Promise<void> {
    return this.runUntil(until);
  }

  advanceBy(ms: number): Promise<void> {
    return this.runUntil(this.t + ms);
  }

  /**
   * Real-time pacing for the demo: virtual time runs `speed` times faster than the wall clock until
   * `signal` aborts (or `until`). Waits in slices of at most `sliceMs` so an abort is noticed promptly.
   */
  async runPaced(options: {
    speed: number;
    signal: AbortSignal;
    until?: number;
    sliceMs?: number;
  }): Promise<void> {
    const { speed, signal } = options;
    const slice = options.sliceMs ?? 100;
    let wallStart = Date.now();
    let virtStart = this.t;
    while (!signal.aborted && (options.until === undefined || this.t < options.until)) {
      const target = virtStart + (Date.now() - wallStart) * speed;
      const capped = options.until === undefined ? target : Math.min(target, options.until);
      const began = Date.now();
      await this.runUntil(capped);
      // A burst of work slower than real time must not make the clock leap ahead to catch up.
      if (Date.now() - began > slice * 5) {
        wallStart = Date.now();
        virtStart = this.t;
      }
      await new Promise((r) => setTimeout(r, slice));
    }
  }
}
