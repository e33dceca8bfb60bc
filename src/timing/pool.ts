/**
 * A counting semaphore: at most `capacity` units of work at once. The queue consumer reserves slots
 * before it receives (so nothing is pulled that cannot start); mapLimit takes one slot per item.
 */
export class Semaphore {
  private used = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`concurrency must be at least 1, got ${capacity}`);
  }

  get free(): number {
    return this.capacity - this.used;
  }

  /** Waits until at least one slot is free, then takes up to `max`; returns how many it took (0 when aborted). */
  async acquireUpTo(max: number, signal?: AbortSignal): Promise<number> {
    while (this.free < 1) {
      if (signal?.aborted) return 0;
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        // An aborted waiter leaves the queue, so a release never spends its wake-up on it.
        const onAbort = () => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve();
        };
        this.waiters.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    if (signal?.aborted) return 0;
    const n = Math.min(max, this.free);
    this.used += n;
    return n;
  }

  release(n = 1): void {
    this.used = Math.max(0, this.used - n);
    // Wakes as many waiters as there are free slots, first come first served; one that finds the slots
    // taken meanwhile waits again. Waking only that many keeps a long queue (mapLimit) linear.
    for (let k = this.free; k > 0 && this.waiters.length > 0; k--) this.waiters.shift()?.();
  }

  /** Runs `fn` in one slot, released however `fn` ends. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquireUpTo(1);
    try {
      return await fn();
    } finally {
      this.release(1);
    }
  }
}

/**
 * Maps with at most `limit` calls in flight; results keep the input order. Rejects with the first
 * failure (the calls already started still run to their end); a caller that wants every outcome
 * catches inside `fn`.
 */
export function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const pool = new Semaphore(limit);
  return Promise.all(items.map((item) => pool.run(() => fn(item))));
}
