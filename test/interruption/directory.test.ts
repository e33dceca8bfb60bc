import test from 'ava';
import { DedupeStore } from '../../src/controllers/interruption/dedupe-store.js';
import { createDirectory } from '../../src/controllers/interruption/directory.js';
import { KeyedSerializer } from '../../src/controllers/interruption/keyed-serializer.js';
import type { Clock } from '../../src/ports/clock.js';
import { FakeCloud } from './helpers/fake-cloud.js';
import { simpleResolve } from './helpers/setup.js';

/** A clock that moves only when told to. */
function manualClock(): Clock & { advance(ms: number): void } {
  let t = Date.parse('2026-01-01T00:00:00Z');
  return {
    now: () => new Date(t),
    sleep: async () => {},
    advance: (ms) => {
      t += ms;
    },
  };
}

test('the directory answers from the last observation and falls back to one describe on a miss', async (t) => {
  const clock = manualClock();
  const fake = new FakeCloud(clock);
  const web = fake.addGroup('web', 2);
  fake.addGroup('theirs', 1, { team: 'x' });
  const dir = createDirectory({ cloud: fake.cloud, resolve: simpleResolve(), clock, ttlMs: 5000 });
  dir.update(simpleResolve()([structuredClone(web)]));
  t.is(fake.describeGroupsCalls, 0);
  t.is((await dir.lookup(web.members[0]!.instanceId))?.resolved.group.name, 'web');
  t.is(fake.describeGroupsCalls, 0, 'a hit costs no call');

  // A freshly launched member is found by its own aws:autoscaling:groupName tag, without a describe of all groups.
  const fresh = fake.launchInto(web).instanceId;
  t.is((await dir.lookup(fresh))?.resolved.group.name, 'web');
  t.is(fake.describeGroupsCalls, 0);
  // Unknown ids: within the ttl of the last refresh, no describe of all groups...
  t.is(await dir.lookup('i-0000000000000f00f'), undefined);
  t.is(fake.describeGroupsCalls, 0);
  // ...after it, one describe, shared by concurrent misses.
  clock.advance(6000);
  const [b, c] = await Promise.all([dir.lookup('i-0000000000000f00f'), dir.lookup('i-0000000000000beef')]);
  t.is(b, undefined);
  t.is(c, undefined);
  t.is(fake.describeGroupsCalls, 1);
  // A group created after the last observation is found through that describe.
  const late = fake.addGroup('late', 1);
  clock.advance(6000);
  t.is((await dir.lookup(late.members[0]!.instanceId))?.resolved.group.name, 'late');
  // Members of unmanaged groups are not found; groups by name too.
  t.is(await dir.lookup(fake.membersOf('theirs')[0]!), undefined);
  t.truthy(await dir.lookupGroup('web'));
  t.is(await dir.lookupGroup('theirs'), undefined);
});

test('dedupe entries expire after their ttl and the store stays under its cap', (t) => {
  const clock = manualClock();
  const store = new DedupeStore<string>(clock, 60_000, 100);
  store.set('i-1/release', 'done');
  t.true(store.has('i-1/release'));
  clock.advance(59_000);
  t.true(store.has('i-1/release'));
  clock.advance(2_000);
  t.false(store.has('i-1/release'));
  for (let i = 0; i < 1000; i++) {
    store.set(`k${i}`, 'v');
    clock.advance(1000);
  }
  t.true(store.size <= 100);
  t.true(store.has('k999'));
  t.false(store.has('k0'));
});

test('work for one key runs in order, other keys in parallel; idle keys are forgotten', async (t) => {
  const s = new KeyedSerializer();
  const order: string[] = [];
  const step = (name: string, ms: number) => async () => {
    order.push(`start ${name}`);
    await new Promise((r) => setTimeout(r, ms));
    order.push(`end ${name}`);
    if (name === 'a2') throw new Error('a2 failed');
    return name;
  };
  const results = await Promise.allSettled([
    s.run('a', step('a1', 30)),
    s.run('a', step('a2', 1)),
    s.run('a', step('a3', 1)),
    s.run('b', step('b1', 5)),
  ]);
  t.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
  );
  t.true(order.indexOf('end a1') < order.indexOf('start a2'));
  t.true(order.indexOf('end a2') < order.indexOf('start a3'), 'a failure does not break the chain');
  t.true(order.indexOf('start b1') < order.indexOf('end a1'), 'other keys do not wait');
  await new Promise((r) => setTimeout(r, 5));
  t.is(s.activeKeys, 0);
});

test('a call that never answers is abandoned after its attempt timeout and retried inside the deadline', async (t) => {
  const { withRetry } = await import('../../src/controllers/interruption/retry.js');
  const { virtualClock } = await import('./helpers/clock.js');
  const clock = virtualClock();
  let calls = 0;
  const start = clock.now().getTime();
  const result = await withRetry(
    () => {
      calls++;
      return calls === 1 ? new Promise<string>(() => {}) : Promise.resolve('answer');
    },
    { clock, deadline: new Date(start + 60_000), attemptTimeoutMs: 5_000 },
  );
  t.is(result, 'answer');
  t.is(calls, 2);
  t.true(clock.now().getTime() - start >= 5_000);
  // Past the deadline the timeout is the last word.
  await t.throwsAsync(
    withRetry(() => new Promise(() => {}), { clock, deadline: new Date(clock.now().getTime() + 2_000) }),
    {
      message: /no answer within/,
    },
  );
});
