import { abortableDelay, type Clock } from '../../../src/ports/clock.js';

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
    sleep: (ms, signal) => abortableDelay(ms / speed, signal),
  };
}

/**
 * A virtual clock for timing assertions: time stands still while work runs and jumps to the next sleeper
 * once the pending microtasks have drained (checked with setImmediate). Exact, and independent of machine
 * load, as long as everything the code awaits besides sleeps is in-memory (the port fakes are).
 */
export function virtualClock(start = new Date('2026-01-01T12:00:00Z')): Clock {
  let t = start.getTime();
  const sleepers: { at: number; seq: number; resolve: () => void }[] = [];
  let seq = 0;
  let scheduled = false;
  const tick = () => {
    scheduled = false;
    if (sleepers.length === 0) return;
    sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = sleepers.shift()!;
    t = Math.max(t, next.at);
    next.resolve();
    schedule();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(tick);
  };
  return {
    now: () => new Date(t),
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const entry = {
          at: t + Math.max(0, ms),
          seq: seq++,
          resolve: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          const i = sleepers.indexOf(entry);
          if (i >= 0) sleepers.splice(i, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        sleepers.push(entry);
        schedule();
      }),
  };
}
