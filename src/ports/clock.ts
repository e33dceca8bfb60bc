// Time is injected: core logic never calls Date.now or setTimeout itself, so the simulator can run a
// day in seconds and tests can state `now` explicitly.
export interface Clock {
  now(): Date;
  /** Resolves after `ms` of this clock's time; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * One turn of the event loop, taken by a long loop between units of work (timing/yield.ts); a simulated
   * clock decides how much of its time that stands for. Absent: a plain setImmediate.
   */
  yield?(): Promise<void>;
}

/** A real timer that rejects with the signal's reason when aborted, and cleans up after itself. */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: abortableDelay,
};
