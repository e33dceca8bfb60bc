import test from 'ava';
import type { Clock } from '../../src/ports/clock.js';
import { VirtualClock } from '../../src/sim/clock.js';
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

test('takers are served in the order they came, by one timer: 100 waiting on a 1-token, 10-a-second bucket take 100 sleeps, not one per waiter per token', async (t) => {
  const virtual = new VirtualClock(0);
  let sleeps = 0;
  const clock: Clock = {
    now: () => virtual.now(),
    sleep: (ms, signal) => {
      sleeps++;
      return virtual.sleep(ms, signal);
    },
  };
  const b = new TokenBucket({ capacity: 1, refillPerSecond: 10 }, 0);
  const order: number[] = [];
  await virtual.drive(
    Promise.all(Array.from({ length: 101 }, (_, i) => b.takeWhenReady(clock).then(() => order.push(i)))),
  );
  t.deepEqual(
    order,
    Array.from({ length: 101 }, (_, i) => i),
    'first come, first served',
  );
  t.is(virtual.nowMs(), 10_000, 'the burst of 1, then 100 at 10 a second');
  t.true(sleeps <= 101, `${sleeps} sleeps for 100 tokens`);
  t.is(b.waiting, 0);
});

test('an aborted waiter leaves the queue with the reason and takes no token; the others keep their order', async (t) => {
  const virtual = new VirtualClock(0);
  const b = new TokenBucket({ capacity: 1, refillPerSecond: 1 }, 0);
  const stop = new AbortController();
  const done: string[] = [];
  const first = b.takeWhenReady(virtual).then(() => done.push(`a@${virtual.nowMs()}`));
  const second = b.takeWhenReady(virtual).then(() => done.push(`b@${virtual.nowMs()}`));
  const aborted = b.takeWhenReady(virtual, stop.signal);
  const third = b.takeWhenReady(virtual).then(() => done.push(`c@${virtual.nowMs()}`));
  t.is(b.waiting, 3);
  stop.abort(new Error('service stopping'));
  await t.throwsAsync(aborted, { message: 'service stopping' });
  t.is(b.waiting, 2);
  await virtual.drive(Promise.all([first, second, third]));
  t.deepEqual(done, ['a@0', 'b@1000', 'c@2000'], 'c takes the token the aborted waiter would have had');
  await t.throwsAsync(b.takeWhenReady(virtual, stop.signal), { message: 'service stopping' });
});
