// Per-key exponential backoff after failed passes: 5 s, 10 s, 20 s, ... up to 5 minutes.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5_000, maxMs: 300_000 };

export class Backoff {
  private readonly failures = new Map<string, { count: number; until: number; error: string }>();
  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Records a failure; returns how long to wait before the next attempt. */
  fail(key: string, nowMs: number, error: string): number {
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    const wait = Math.min(this.options.maxMs, this.options.baseMs * 2 ** (count - 1));
    this.failures.set(key, { count, until: nowMs + wait, error });
    return wait;
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  /** Milliseconds left before `key` may run again; 0 when it may run now. */
  remaining(key: string, nowMs: number): number {
    const f = this.failures.get(key);
    return f ? Math.max(0, f.until - nowMs) : 0;
  }

  state(key: string): { failures: number; lastError: string } | undefined {
    const f = this.failures.get(key);
    return f ? { failures: f.count, lastError: f.error } : undefined;
  }
}
