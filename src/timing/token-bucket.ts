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

  /**
   * Waits on `clock` until a token is there and takes it. Waiters are not queued in order: each looks
   * again when its wait ends, so under contention a waiter may wait more than one refill.
   */
  async takeWhenReady(clock: Clock, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = clock.now().getTime();
      if (this.take(now)) return;
      await clock.sleep(Math.max(1, this.msUntilToken(now)), signal);
    }
  }
}
