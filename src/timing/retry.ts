import { DeadlineError, isRetryable } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import { backoffDelay } from './backoff.js';
import { withDeadline } from './deadline.js';

// spotmax's only retry of cloud calls. The AWS SDK already retries throttling, 5xx and broken
// connections (standard mode, a few attempts within seconds: aws/clients.ts); this layer exists for
// the interruption fast path, whose deadline (the 2-minute warning, a lifecycle hook's timeout) outlasts
// the SDK's budget: in a storm, DetachInstances stays throttled longer than the SDK waits, and giving up
// then would cost the capacity the warning was meant to save. Elsewhere a failure waits for the next
// reconcile pass or the message's redelivery instead.

export interface RetryOptions {
  clock: Clock;
  /** No attempt starts after this; the last error is thrown. */
  deadline: Date;
  /** Backoff between attempts: full jitter on base·2^(n-1), capped at max. */
  baseMs?: number;
  maxMs?: number;
  signal?: AbortSignal;
  /** One attempt that gets no answer in this long is abandoned (a hung connection must not hold a deadline). */
  attemptTimeoutMs?: number;
  /** What the call is, for the error of an abandoned attempt. */
  what?: string;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /** Randomness for the jitter, in [0, 1). */
  random?: () => number;
}

/** Retries what isRetryable() says may succeed later (and abandoned attempts), inside the deadline. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const backoff = {
    baseMs: opts.baseMs ?? 100,
    maxMs: opts.maxMs ?? 5_000,
    jitter: 'full',
    random: opts.random,
  } as const;
  for (let attempt = 1; ; attempt++) {
    const left = opts.deadline.getTime() - opts.clock.now().getTime();
    // At least a second per attempt: an attempt started just before the deadline still gets its answer.
    const limit = Math.max(1_000, Math.min(opts.attemptTimeoutMs ?? 10_000, left));
    try {
      return await withDeadline(() => fn(), {
        clock: opts.clock,
        ms: limit,
        signal: opts.signal,
        what: opts.what ?? 'call',
      });
    } catch (err) {
      if (!(err instanceof DeadlineError || isRetryable(err)) || opts.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, backoff);
      if (opts.clock.now().getTime() + delay >= opts.deadline.getTime()) throw err;
      opts.onRetry?.(err, attempt, delay);
      await opts.clock.sleep(delay, opts.signal);
    }
  }
}
