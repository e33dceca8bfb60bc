import type { Clock } from '../../ports/clock.js';

/**
 * Remembers which work was done (keyed deterministically, e.g. `i-123/release`) for `ttlMs`, so a
 * duplicate delivery in that window is a no-op. Entries expire and the store is capped, so memory stays
 * bounded during a storm; what outlives it is the marker tag on the instance.
 */
export class DedupeStore<V = true> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  private lastSweep = 0;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries = 50_000,
  ) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.clock.now().getTime()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: V): void {
    const now = this.clock.now().getTime();
    this.entries.delete(key); // re-insert so Map order stays oldest-first
    this.entries.set(key, { value, expiresAt: now + this.ttlMs });
    if (now - this.lastSweep >= Math.min(this.ttlMs, 60_000)) this.sweep(now);
    // Oldest first: over the cap, the entries nearest to expiry go.
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [k, e] of this.entries) {
      if (e.expiresAt > now) break; // insertion order = expiry order (one ttl for all)
      this.entries.delete(k);
    }
  }
}
