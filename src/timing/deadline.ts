import { setMaxListeners } from 'node:events';
import { DeadlineError } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';

// The one way spotmax bounds work in time. The timer runs on the injected Clock (so the simulator's
// virtual time applies) and is always cancelled when the work ends, so no sleeper outlives its work.

export interface DeadlineOptions {
  clock: Clock;
  /** Time allowed from now, in ms of the clock. */
  ms?: number;
  /** The moment the work must be over; with `ms` too, whichever comes first. */
  deadline?: Date | number;
  /** The caller's signal: its abort reaches the work's signal (and, for withDeadline, rejects at once). */
  signal?: AbortSignal;
  /** What the work is, for the error: "DetachInstances for web" gives "DetachInstances for web: no answer within 5000 ms". */
  what: string;
}

export interface DeadlineSignal {
  /** Aborts with a DeadlineError at the deadline, or with the parent's reason when the parent aborts. */
  signal: AbortSignal;
  /** Cancels the timer and detaches from the parent; call when the work is over. */
  dispose(): void;
}

/** Milliseconds allowed by `ms` and `deadline`, whichever ends first. */
function limitOf(opts: Pick<DeadlineOptions, 'clock' | 'ms' | 'deadline'>): number {
  const untilDeadline =
    opts.deadline === undefined
      ? Number.POSITIVE_INFINITY
      : (typeof opts.deadline === 'number' ? opts.deadline : opts.deadline.getTime()) -
        opts.clock.now().getTime();
  return Math.min(opts.ms ?? Number.POSITIVE_INFINITY, untilDeadline);
}

/**
 * A signal for work that stops by itself when told (a drain that reports what is left at its time
 * limit): it aborts at the deadline with a DeadlineError, or when the parent aborts.
 */
export function deadlineSignal(opts: DeadlineOptions): DeadlineSignal {
  const controller = new AbortController();
  // One deadline's signal is the parent of every call made under it (a drain runs 20 evictions at once).
  setMaxListeners(200, controller.signal);
  const timer = new AbortController();
  const parent = opts.signal;
  const limitMs = limitOf(opts);
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  if (!controller.signal.aborted) {
    if (limitMs <= 0) controller.abort(new DeadlineError(`${opts.what}: no time left`));
    else if (Number.isFinite(limitMs))
      opts.clock.sleep(limitMs, timer.signal).then(
        () => controller.abort(new DeadlineError(`${opts.what}: no answer within ${Math.round(limitMs)} ms`)),
        () => undefined,
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

/**
 * Runs `work` against the deadline: its result, or a DeadlineError once the time is up (or the
 * parent's reason when the caller aborts), whether or not the work has stopped. For work that may
 * hang (a half-open connection) and must not hold the caller; `work` gets the deadline's signal so
 * it can stop too.
 */
export async function withDeadline<T>(
  work: (signal: AbortSignal) => Promise<T> | T,
  opts: DeadlineOptions,
): Promise<T> {
  const bound = deadlineSignal(opts);
  try {
    bound.signal.throwIfAborted();
    return await new Promise<T>((resolve, reject) => {
      bound.signal.addEventListener('abort', () => reject(bound.signal.reason), { once: true });
      // Through then() so a synchronous throw in `work` is a rejection like any other.
      Promise.resolve()
        .then(() => work(bound.signal))
        .then(resolve, reject);
    });
  } finally {
    bound.dispose();
  }
}
