import { CloudError, DeadlineError, isThrottled } from '../../domain/errors.js';
import type { Clock } from '../../ports/clock.js';

/** Throttling and 5xx are worth another try; everything else is an answer. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof DeadlineError) return true;
  if (err instanceof CloudError) return err.retryable || isThrottled(err);
  if (isThrottled(err)) return true;
  const e = err as
    | { $metadata?: { httpStatusCode?: number }; $retryable?: unknown; name?: string }
    | undefined;
  const status = e?.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  return /InternalError|ServiceUnavailable|InternalFailure|RequestTimeout/i.test(e?.name ?? '');
}

export interface RetryOptions {
  clock: Clock;
  /** No attempt starts after this; the last error is thrown. */
  deadline: Date;
  baseMs?: number;
  maxMs?: number;
  signal?: AbortSignal;
  /** One attempt that gets no answer in this long is abandoned (a hung connection must not hold a deadline). */
  attemptTimeoutMs?: number;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Retries throttling and 5xx with exponential backoff and full jitter, inside the deadline. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const base = opts.baseMs ?? 100;
  const max = opts.maxMs ?? 5_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await bounded(fn, opts);
    } catch (err) {
      if (!isRetryable(err) || opts.signal?.aborted) throw err;
      const delay = Math.random() * Math.min(max, base * 2 ** (attempt - 1));
      if (opts.clock.now().getTime() + delay >= opts.deadline.getTime()) throw err;
      opts.onRetry?.(err, attempt, delay);
      await opts.clock.sleep(delay, opts.signal);
    }
  }
}

async function bounded<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const left = opts.deadline.getTime() - opts.clock.now().getTime();
  const limit = Math.max(1_000, Math.min(opts.attemptTimeoutMs ?? 10_000, left));
  const timer = new AbortController();
  const timeout = new Promise<never>((_, reject) => {
    opts.clock.sleep(limit, timer.signal).then(
      () => reject(new DeadlineError(`no answer within ${limit} ms`)),
      () => undefined,
    );
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    timer.abort();
  }
}
