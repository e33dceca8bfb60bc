import test from 'ava';
import { VirtualClock } from '../../src/sim/clock.js';
import { drawDuration, Random } from '../../src/sim/random.js';

test('events fire in time order, same-time events in scheduling order, and the clock lands on the target', async (t) => {
  const clock = new VirtualClock(0);
  const seen: string[] = [];
  clock.at(2000, () => seen.push('b'));
  clock.at(1000, () => seen.push('a'));
  clock.at(2000, () => seen.push('c'));
  clock.at(5000, () => seen.push('late'));
  await clock.runUntil(3000);
  t.deepEqual(seen, ['a', 'b', 'c']);
  t.is(clock.nowMs(), 3000);
});

test('sleep resolves when virtual time reaches it; chained async work runs between events', async (t) => {
  const clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
  const log: number[] = [];
  const worker = (async () => {
    for (let i = 0; i < 3; i++) {
      await clock.sleep(60_000);
      log.push(clock.nowMs());
    }
  })();
  await clock.advanceBy(3 * 60_000);
  await worker;
  const start = Date.parse('2026-01-01T00:00:00Z');
  t.deepEqual(log, [start + 60_000, start + 120_000, start + 180_000]);
});

test('an aborted sleep rejects with the reason and never fires', async (t) => {
  const clock = new VirtualClock(0);
  const ac = new AbortController();
  const p = clock.sleep(10_000, ac.signal);
  ac.abort(new Error('stop'));
  await t.throwsAsync(p, { message: 'stop' });
  await clock.runUntil(20_000);
  t.is(clock.fired, 0, 'the cancelled timer did not count as an event');
});

test('paced mode advances virtual time at about speed x wall time and stops on abort', async (t) => {
  const clock = new VirtualClock(0);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  const began = Date.now();
  await clock.runPaced({ speed: 100, signal: ac.signal, sliceMs: 20 });
  const wall = Date.now() - began;
  // A loaded machine may stretch the wall time; virtual time follows it and never runs ahead of it.
  t.true(clock.nowMs() <= wall * 100, `virtual ${clock.nowMs()} ms after ${wall} ms at 100x`);
  t.true(clock.nowMs() >= (wall - 100) * 50, `virtual ${clock.nowMs()} ms after ${wall} ms at 100x`);
});

test('keyed draws depend only on seed and keys; streams are reproducible', (t) => {
  const a = new Random(7);
  const b = new Random(7);
  a.next();
  t.is(a.keyed('boot', 'lt-1', 3), b.keyed('boot', 'lt-1', 3));
  t.not(a.keyed('boot', 'lt-1', 3), new Random(8).keyed('boot', 'lt-1', 3));
  const s1 = new Random(3).fork('x');
  const s2 = new Random(3).fork('x');
  t.deepEqual([s1.next(), s1.next()], [s2.next(), s2.next()]);
});

test('a lognormal duration draw honours its median and p99', (t) => {
  const d = { median: 90, p99: 180 };
  t.is(Math.round(drawDuration(d, 0.5)), 90);
  t.is(Math.round(drawDuration(d, 0.99)), 180);
  t.true(drawDuration(d, 0.1) < 90);
});

test('a loop taking turns (yield) holds time to one YIELD_TURN_MS per turn: what falls due fires between turns, later events wait', async (t) => {
  const clock = new VirtualClock(0);
  const fired: [string, number][] = [];
  clock.at(20, () => fired.push(['window', clock.nowMs()]));
  clock.at(60_000, () => fired.push(['next minute', clock.nowMs()]));
  let turns = 0;
  const loop = (async () => {
    for (; turns < 100; turns++) await clock.yield();
    return clock.nowMs();
  })();
  const ended = await clock.drive(loop);
  t.is(turns, 100);
  // Each turn stands for at most YIELD_TURN_MS (1 ms): a 100-turn loop spans about 100 ms, not a minute.
  t.true(ended >= 20 && ended <= 100, `loop ended at ${ended} ms`);
  t.deepEqual(fired, [['window', 20]]);
  await clock.runUntil(60_000);
  t.deepEqual(fired.at(-1), ['next minute', 60_000]);
});

test('without turns in progress the clock still leaps to the next event', async (t) => {
  const clock = new VirtualClock(0);
  await clock.drive(clock.sleep(3_600_000));
  t.is(clock.nowMs(), 3_600_000);
});
