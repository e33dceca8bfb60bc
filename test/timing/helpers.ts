import type { Clock } from '../../src/ports/clock.js';
import { VirtualClock } from '../../src/sim/clock.js';

/** A virtual clock that counts the sleeps still pending, to show that no timer outlives its work. */
export function trackedClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  const clock = new VirtualClock(start);
  let pending = 0;
  const tracked: Clock = {
    now: () => clock.now(),
    sleep(ms, signal) {
      pending++;
      return clock.sleep(ms, signal).finally(() => {
        pending--;
      });
    },
  };
  return {
    clock: tracked,
    virtual: clock,
    get pendingSleeps() {
      return pending;
    },
  };
}
