import test from 'ava';
import { every } from '../../src/timing/every.js';
import { trackedClock } from './helpers.js';

test('runs every interval of the clock, never overlapping, until stopped', async (t) => {
  const c = trackedClock();
  const start = c.clock.now().getTime();
  const runs: number[] = [];
  const stop = new AbortController();
  const ticking = every(
    c.clock,
    1_000,
    async () => {
      runs.push(c.clock.now().getTime() - start);
      // A slow run delays the next interval instead of overlapping it.
      await c.clock.sleep(300);
    },
    stop.signal,
  );
  await c.virtual.advanceBy(3_700);
  t.deepEqual(runs, [1_000, 2_300, 3_600]);
  stop.abort();
  await c.virtual.advanceBy(1_000);
  await ticking;
  t.is(runs.length, 3, 'no run after the stop');
  t.is(c.pendingSleeps, 0);
});

test('a signal aborted before the start runs nothing and resolves', async (t) => {
  const c = trackedClock();
  let runs = 0;
  await every(
    c.clock,
    10,
    () => {
      runs++;
    },
    AbortSignal.abort(),
  );
  t.is(runs, 0);
});
