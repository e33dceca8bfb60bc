/** Bounds the messages handled at once; pollers reserve slots before receiving, so nothing is pulled that cannot start. */
export class Semaphore {
  private used = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly capacity: number) {
    if (capacity < 1) throw new RangeError(`concurrency must be at least 1, got ${capacity}`);
  }

  get free(): number {
    return this.capacity - this.used;
  }

  /** Waits until at least one slot is free, then takes up to `max` slots; returns how many it took. */
  async acquireUpTo(max: number, signal?: AbortSignal): Promise<number> {
    while (this.free < 1) {
      if (signal?.aborted) return 0;
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.push(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
    if (signal?.aborted) return 0;
    const n = Math.min(max, this.free);
    this.used += n;
    return n;
  }

  release(n = 1): void {
    this.used = Math.max(0, this.used - n);
    const woken = this.waiters.splice(0, this.waiters.length);
    for (const w of woken) w();
  }
}
