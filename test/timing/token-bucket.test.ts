import test from 'ava';
import { TokenBucket } from '../../src/timing/token-bucket.js';
import { trackedClock } from './helpers.js';

test('a full bucket gives its burst at once, then one token per refill interval', (t) => {
  const b = new TokenBucket({ capacity: 3, refillPerSecond: 2 }, 0);
  t.deepEqual([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
  t.is(b.msUntilToken(0), 500);
  t.is(b.msUntilToken(250), 250);
  t.true(b.take(500));
  t.false(b.take(500));
  // Never more than its capacity, however long it rested.
  t.is([0, 1, 2, 3].filter(() => b.take(60_000)).length, 3);
});

test('takeWhenReady waits for the token on the clock: 10 takers of a 4-token, 2-a-second bucket end at 3 s', async (t) => {
  const tracked = trackedClock(0);
  const { clock, virtual } = tracked;
  const b = new TokenBucket({ capacity: 4, refillPerSecond: 2 }, 0);
  const done: number[] = [];
  await virtual.drive(
    Promise.all(
      Array.from({ length: 10 }, () => b.takeWhenReady(clock).then(() => done.push(virtual.nowMs()))),
    ),
  );
  t.deepEqual(done.slice(0, 4), [0, 0, 0, 0], 'the burst at once');
  t.is(Math.max(...done), 3_000, 'six more at 2 a second');
  t.is(tracked.pendingSleeps, 0);
});
