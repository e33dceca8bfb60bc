import type { Clock } from '../ports/clock.js';

/**
 * Runs `fn` every `ms` of the clock's time until `signal` aborts; the first run is one interval from
 * now. `ms` may be a function, asked before each wait (an interval that depends on what the last run saw). Each run is awaited before the next interval starts, so runs never overlap. Resolves (never
 * rejects) once stopped; `fn` handles its own errors, since a ticker that dies on one failure would
 * silently stop heartbeats or flushes. A run in progress at the abort finishes before this resolves.
 */
export async function every(
  clock: Clock,
  ms: number | (() => number),
  fn: () => Promise<void> | void,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await clock.sleep(typeof ms === 'number' ? ms : ms(), signal);
    } catch {
      return;
    }
    await fn();
  }
}
