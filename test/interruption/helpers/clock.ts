import type { Clock } from '../../../src/ports/clock.js';

/**
 * A clock that runs `speed` times faster than real time: sleeps are real timers divided by `speed`, so
 * ordering stays natural (no manual ticking) while a 20 s detach delay takes 200 ms at speed 100.
 */
export function fastClock(
  speed: number,
  start = new Date('2026-01-01T12:00:00Z'),
): Clock & { speed: number } {
  const realStart = performance.now();
  const now = () => new Date(start.getTime() + (performance.now() - realStart) * speed);
  return {
    speed,
    now,
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const timer = setTimeout(
          () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          Math.max(0, ms / speed),
        );
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
  };
}
