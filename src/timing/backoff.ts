// Exponential backoff, the one formula behind every wait-after-failure in spotmax: base·2^(n-1),
// capped. Full jitter (a uniform draw below that) spreads callers that failed together, so a throttled
// storm does not come back in step; per-key backoff in the reconciler is deterministic, since one
// group's passes do not compete with each other and operators read the wait in the logs.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** 'full': a uniform draw in [0, delay) (AWS's "full jitter"); 'none' (default): the delay itself. */
  jitter?: 'none' | 'full';
  /** Source of randomness for jitter, in [0, 1); injected so tests can pin it. */
  random?: () => number;
}

/** The wait after the `failures`-th consecutive failure (1 = the first). */
export function backoffDelay(failures: number, opts: BackoffOptions): number {
  const exponent = Math.max(0, failures - 1);
  // 2^exponent overflows to Infinity long after the cap applies; min() keeps it finite.
  const delay = Math.min(opts.maxMs, opts.baseMs * 2 ** exponent);
  return opts.jitter === 'full' ? (opts.random ?? Math.random)() * delay : delay;
}

/** Per-key backoff for the reconciler: 5 s, 10 s, 20 s, ... up to 5 minutes after failed passes. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5_000, maxMs: 300_000 };

export class Backoff {
  private readonly failures = new Map<string, { count: number; until: number; error: string }>();
  constructor(private readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /** Records a failure; returns how long to wait before the next attempt. */
  fail(key: string, nowMs: number, error: string): number {
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    const wait = backoffDelay(count, this.options);
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
