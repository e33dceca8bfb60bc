import { setMaxListeners } from 'node:events';
import type { Clock } from '../ports/clock.js';

// Helpers that keep every release call inside its time limit. Timers go through the injected Clock so
// the simulator's virtual time applies here too.

export interface BoundedSignal {
  signal: AbortSignal;
  /** Stops the timer and detaches from the parent; call when the bounded work is over. */
  dispose(): void;
}

/** A signal that aborts when `parent` aborts or after `ms` of the clock's time, whichever comes first. */
export function boundedSignal(
  clock: Clock,
  parent: AbortSignal | undefined,
  ms: number,
  what: string,
): BoundedSignal {
  const controller = new AbortController();
  // A drain's signal is the parent of every eviction call in flight (20 at once by default).
  setMaxListeners(200, controller.signal);
  const timer = new AbortController();
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  if (!controller.signal.aborted) {
    if (ms <= 0) controller.abort(new Error(`${what}: no time left`));
    else
      clock.sleep(ms, timer.signal).then(
        () => controller.abort(new Error(`${what} timed out after ${Math.round(ms)} ms`)),
        () => {},
      );
  }
  return {
    signal: controller.signal,
    dispose() {
      timer.abort();
      parent?.removeEventListener('abort', onParent);
    },
  };
}

/** Milliseconds from the clock's now until `at` (negative when past). */
export function msUntil(clock: Clock, at: number): number {
  return at - clock.now().getTime();
}

/**
 * Runs `fn` over `items` with at most `limit` in flight. Errors are the callback's business: a
 * rejection stops nothing else and is returned in place of the result.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<(R | Error)[]> {
  const results: (R | Error)[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (err) {
        results[i] = err instanceof Error ? err : new Error(String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
