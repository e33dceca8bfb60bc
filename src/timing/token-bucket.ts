import type { Clock } from '../ports/clock.js';

// One token bucket for two jobs: the simulated region's model of AWS's request rate limits (sim/api.ts),
// and spotmax's own budget for the reconciler's EC2 writes (app/guarded-cloud.ts pacedWrites).

export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly spec: BucketSpec,
    now: number,
  ) {
    this.tokens = spec.capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now <= this.last) return;
    this.tokens = Math.min(
      this.spec.capacity,
      this.tokens + ((now - this.last) / 1000) * this.spec.refillPerSecond,
    );
    this.last = now;
  }

  /** Takes one token at `now` (ms); false when the bucket is empty (the call is throttled). */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Ms from `now` until a token is there (0 when one is). */
  msUntilToken(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.spec.refillPerSecond) * 1000);
  }

  /** Takers waiting for a token, oldest first; served by one timer (`pump`). */
  private readonly queue: Waiter[] = [];
  private pumping = false;

  /** Takers waiting now (a gauge: how far behind the budget its users are). */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Waits on `clock` until a token is there and takes it. Takers are served in the order they came, and
   * one timer serves them all: the first version let every waiter sleep until "a token is there" and look
   * again, so all of them woke for each token and all but one slept again. With hundreds of the
   * reconciler's writes waiting in a lifetime wave, that was hundreds of timers per token (scale-large's
   * simulated events per hour grew 69 k -> 600 k over 6 hours) and a waiter could be passed over for ever.
   * An abort takes the waiter out of the queue and rejects with the signal's reason.
   */
  takeWhenReady(clock: Clock, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.queue.length === 0 && this.take(clock.now().getTime())) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      if (!this.pumping) void this.pump(clock);
    });
  }

  /** Hands tokens to the queue in order as they come, sleeping until the next one; ends when it is empty. */
  private async pump(clock: Clock): Promise<void> {
    this.pumping = true;
    try {
      while (this.queue.length > 0) {
        const now = clock.now().getTime();
        while (this.queue.length > 0 && this.take(now)) {
          const w = this.queue.shift()!;
          if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
          w.resolve();
        }
        if (this.queue.length > 0) await clock.sleep(Math.max(1, this.msUntilToken(now)));
      }
    } finally {
      this.pumping = false;
    }
  }
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}
