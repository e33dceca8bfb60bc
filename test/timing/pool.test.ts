import test from 'ava';
import { mapLimit, Semaphore } from '../../src/timing/pool.js';
import { trackedClock } from './helpers.js';

test('mapLimit keeps at most `limit` calls in flight and the results in input order', async (t) => {
  const c = trackedClock();
  let inFlight = 0;
  let most = 0;
  const results = await c.virtual.drive(
    mapLimit([50, 10, 40, 20, 30], 2, async (ms) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await c.clock.sleep(ms);
      inFlight--;
      return ms * 2;
    }),
  );
  t.deepEqual(results, [100, 20, 80, 40, 60]);
  t.is(most, 2);
  // 50 ‖ (10, 40) → 50; then 20 ‖ 30 from 50 → 80.
  t.is(c.virtual.now().getTime() - Date.parse('2026-01-01T00:00:00Z'), 80);
});

test('mapLimit rejects with the first failure', async (t) => {
  const err = await t.throwsAsync(
    mapLimit([1, 2, 3], 2, async (n) => {
      if (n === 2) throw new Error('two failed');
      return n;
    }),
  );
  t.is(err?.message, 'two failed');
});

test('acquireUpTo takes what is free, waits when nothing is, and gives 0 when aborted', async (t) => {
  const s = new Semaphore(3);
  t.is(await s.acquireUpTo(2), 2);
  t.is(await s.acquireUpTo(10), 1);
  t.is(s.free, 0);
  const stop = new AbortController();
  const aborted = s.acquireUpTo(1, stop.signal);
  const waiting = s.acquireUpTo(5);
  stop.abort();
  t.is(await aborted, 0);
  s.release(2);
  // The aborted waiter left the queue, so the release reached the live one.
  t.is(await waiting, 2);
  t.is(s.free, 0);
  t.throws(() => new Semaphore(0), { instanceOf: RangeError });
});
