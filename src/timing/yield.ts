import type { Clock } from '../ports/clock.js';

/**
 * Lets the event loop run everything waiting (I/O callbacks, timers, other promise chains) before going
 * on. A long CPU-bound loop — planning every group of a region — awaits it between units of work so it
 * never holds the loop for long: the interruption fast path, sharing the process, receives and detaches
 * in between. setImmediate runs after the I/O poll phase (a resolved promise would not let I/O in) and
 * adds no timer delay (setTimeout(0) waits at least 1 ms); it issues nothing and reads no clock. A clock
 * with its own `yield` (the simulated region's) takes the turn itself, so that its time knows a loop is
 * still running.
 */
export function yieldToEventLoop(clock?: Clock): Promise<void> {
  return clock?.yield ? clock.yield() : new Promise((resolve) => setImmediate(resolve));
}
