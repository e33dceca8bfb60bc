import test from 'ava';
import { DedupeStore } from '../../src/controllers/interruption/dedupe-store.js';
import { createDirectory } from '../../src/controllers/interruption/directory.js';
import { KeyedSerializer } from '../../src/controllers/interruption/keyed-serializer.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { withRetry } from '../../src/timing/retry.js';
import { simpleResolve } from './helpers/setup.js';
import { simWorld } from './helpers/sim-world.js';

test('the directory answers from the last observation and falls back to one describe on a miss', async (t) => {
  const w = await simWorld([
    { name: 'web', size: 2 },
    { name: 'theirs', size: 1, tags: { team: 'x' } },
  ]);
  const { clock, rec, region } = w;
  const describes = () => rec.callsOf('describeGroups').length;
  const dir = createDirectory({ cloud: w.cloud, resolve: simpleResolve(), clock, ttlMs: 5000 });
  const web = () => structuredClone(region.asg.toGroup(region.asg.mustGet('web')));
  dir.update(simpleResolve()([web()]));
  const lookup = (id: string) => clock.drive(dir.lookup(id));
  t.is(describes(), 0);
  t.is((await lookup(w.members('web')[0]!))?.resolved.group.name, 'web');
  t.is(describes(), 0, 'a hit costs no call');

  // A freshly launched member is found by its own aws:autoscaling:groupName tag, without a describe of all groups.
  const before = new Set(w.members('web'));
  region.asg.update('web', { desired: 3 });
  // Past EC2's eventual consistency after a launch (DescribeInstances may not know the id for seconds),
  // and with the index refreshed by the reconciler meanwhile, though still without the new member.
  await clock.advanceBy(10_000);
  dir.update(simpleResolve()([{ ...web(), members: web().members.filter((m) => before.has(m.instanceId)) }]));
  const fresh = w.members('web').find((id) => !before.has(id))!;
  t.truthy(fresh);
  t.is((await lookup(fresh))?.resolved.group.name, 'web');
  t.is(describes(), 0);
  // Unknown ids: within the ttl of the last refresh, no describe of all groups...
  t.is(await lookup('i-0000000000000f00f'), undefined);
  t.is(describes(), 0);
  // ...after it, one describe, shared by concurrent misses.
  await clock.advanceBy(6000);
  const [b, c] = await clock.drive(
    Promise.all([dir.lookup('i-0000000000000f00f'), dir.lookup('i-0000000000000beef')]),
  );
  t.is(b, undefined);
  t.is(c, undefined);
  t.is(describes(), 1);
  // A group created after the last observation is found through that describe.
  const template = region.asg.mustGet('web').mixedInstancesPolicy!.launchTemplate;
  region.asg.createGroup({
    name: 'late',
    min: 0,
    max: 2,
    desired: 1,
    azs: ['us-east-1a'],
    launchTemplate: template,
    tags: [{ key: 'spotmax:managed', value: 'true', propagateAtLaunch: false }],
  });
  await clock.advanceBy(6000);
  t.is((await lookup(w.members('late')[0]!))?.resolved.group.name, 'late');
  // Members of unmanaged groups are not found; groups by name too.
  t.is(await lookup(w.members('theirs')[0]!), undefined);
  t.truthy(await clock.drive(dir.lookupGroup('web')));
  t.is(await clock.drive(dir.lookupGroup('theirs')), undefined);
});

test('dedupe entries expire after their ttl and the store stays under its cap', async (t) => {
  const clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
  const store = new DedupeStore<string>(clock, 60_000, 100);
  store.set('i-1/release', 'done');
  t.true(store.has('i-1/release'));
  await clock.advanceBy(59_000);
  t.true(store.has('i-1/release'));
  await clock.advanceBy(2_000);
  t.false(store.has('i-1/release'));
  for (let i = 0; i < 1000; i++) {
    store.set(`k${i}`, 'v');
    await clock.advanceBy(1000);
  }
  t.true(store.size <= 100);
  t.true(store.has('k999'));
  t.false(store.has('k0'));
});

test('work for one key runs in order, other keys in parallel; idle keys are forgotten', async (t) => {
  const clock = new VirtualClock(0);
  const s = new KeyedSerializer();
  const order: string[] = [];
  const step = (name: string, ms: number) => async () => {
    order.push(`start ${name}`);
    await clock.sleep(ms);
    order.push(`end ${name}`);
    if (name === 'a2') throw new Error('a2 failed');
    return name;
  };
  const results = await clock.drive(
    Promise.allSettled([
      s.run('a', step('a1', 30)),
      s.run('a', step('a2', 1)),
      s.run('a', step('a3', 1)),
      s.run('b', step('b1', 5)),
    ]),
  );
  t.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
  );
  t.true(order.indexOf('end a1') < order.indexOf('start a2'));
  t.true(order.indexOf('end a2') < order.indexOf('start a3'), 'a failure does not break the chain');
  t.true(order.indexOf('start b1') < order.indexOf('end a1'), 'other keys do not wait');
  await clock.drive(clock.sleep(5));
  t.is(s.activeKeys, 0);
});

test('a call that never answers is abandoned after its attempt timeout and retried inside the deadline', async (t) => {
  const clock = new VirtualClock(Date.parse('2026-01-01T12:00:00Z'));
  let calls = 0;
  const start = clock.nowMs();
  const result = await clock.drive(
    withRetry(
      () => {
        calls++;
        return calls === 1 ? new Promise<string>(() => {}) : Promise.resolve('answer');
      },
      { clock, deadline: new Date(start + 60_000), attemptTimeoutMs: 5_000 },
    ),
  );
  t.is(result, 'answer');
  t.is(calls, 2);
  t.true(clock.nowMs() - start >= 5_000);
  // Past the deadline the timeout is the last word.
  await t.throwsAsync(
    clock.drive(withRetry(() => new Promise(() => {}), { clock, deadline: new Date(clock.nowMs() + 2_000) })),
    {
      message: /no answer within/,
    },
  );
});

test('a one-group update replaces that group alone and does not make the index complete', async (t) => {
  const w = await simWorld([
    { name: 'web', size: 2 },
    { name: 'api', size: 2 },
  ]);
  const { clock, rec, region } = w;
  const describes = () =>
    rec.callsOf('describeGroups').map((c) => (c.args[0] as string[] | undefined) ?? 'all');
  const dir = createDirectory({ cloud: w.cloud, resolve: simpleResolve(), clock, ttlMs: 5000 });
  const group = (name: string) => structuredClone(region.asg.toGroup(region.asg.mustGet(name)));
  const lookup = (id: string) => clock.drive(dir.lookup(id));

  // Only one-group passes so far: a miss still asks AWS for all groups (the index may lack some).
  dir.updateGroups(['web'], simpleResolve()([group('web')]));
  t.is((await lookup(w.members('web')[0]!))?.resolved.group.name, 'web');
  t.is(await lookup('i-0000000000000f00f'), undefined);
  t.deepEqual(describes(), ['all']);

  // A full update; then a one-group update of web leaves api's entries as they were.
  dir.update(simpleResolve()([group('web'), group('api')]));
  const apiMember = w.members('api')[0]!;
  const webOld = w.members('web')[0]!;
  const webKept = { ...group('web'), members: group('web').members.filter((m) => m.instanceId !== webOld) };
  dir.updateGroups(['web'], simpleResolve()([webKept]));
  rec.clear();
  t.is((await lookup(apiMember))?.resolved.group.name, 'api');
  t.is((await lookup(w.members('web')[1]!))?.resolved.group.name, 'web');
  t.is(rec.callsOf('describeInstances').length, 0, 'hits cost no call');
  // The member left out of web's entry is no longer a hit: it is looked up by its own tags.
  t.is((await lookup(webOld))?.resolved.group.name, 'web');
  t.is(rec.callsOf('describeInstances').length, 1);
  // A one-group update that no longer finds its group drops it; the index stays complete (no describe of all).
  dir.updateGroups(['api'], []);
  t.is(await lookup('i-0000000000000beef'), undefined);
  t.deepEqual(describes(), []);
  t.is((await lookup(apiMember))?.resolved.group.name, 'api', 'found again through its own tags');
  t.deepEqual(describes(), [['api']]);
});

test('a full update of many groups is taken in over turns of the event loop, and a one-group update made meanwhile is applied after it, not overwritten', async (t) => {
  const w = await simWorld([{ name: 'web', size: 2 }]);
  const { clock, rec, region } = w;
  const dir = createDirectory({ cloud: w.cloud, resolve: simpleResolve(), clock, ttlMs: 5000 });
  const base = structuredClone(region.asg.toGroup(region.asg.mustGet('web')));
  const id = (g: number, m: number) => `i-${(0xa0000 + g * 16 + m).toString(16).padStart(17, '0')}`;
  const group = (g: number, members: number[]) => ({
    ...base,
    name: `g${g}`,
    members: members.map((m) => ({ ...base.members[0]!, instanceId: id(g, m) })),
  });
  const all = Array.from({ length: 120 }, (_, g) => group(g, [0, 1, 2]));
  let applied = false;
  const full = dir.update(simpleResolve()(all)).then(() => {
    applied = true;
  });
  t.false(applied, 'not all of it in one turn');
  // Made while the full update is still being taken in: g119 has lost member 0 and gained member 3.
  const later = dir.updateGroups(['g119'], simpleResolve()([group(119, [1, 2, 3])]));
  // The first 50 groups are in at once: a hit, no call.
  t.is((await clock.drive(dir.lookup(id(0, 0))))?.resolved.group.name, 'g0');
  await clock.drive(Promise.all([full, later]));
  t.true(applied);
  rec.clear();
  t.is((await clock.drive(dir.lookup(id(118, 2))))?.resolved.group.name, 'g118');
  t.is(
    (await clock.drive(dir.lookup(id(119, 3))))?.resolved.group.name,
    'g119',
    'the newer view of g119 stands',
  );
  t.is(rec.callsOf('describeInstances').length, 0, 'hits cost no call');
  // The member g119 lost is not a hit any more (the full update's older view did not put it back).
  await clock.drive(dir.lookup(id(119, 0)));
  t.is(rec.callsOf('describeInstances').length, 1, 'a miss: looked up by its own tags');
});
