import test from 'ava';
import { STANDBY_SWAP_TAG } from '../../src/domain/tags.js';
import { toInstance } from '../../src/sim/ec2-port.js';
import { reclaimed, take, withPool } from './swap-world.js';
import type { World } from './world.js';

// Issue 11 rule 3 for the standby swap: the attach added the standby's units to desired, and the detach
// with decrement of the interrupted instance was to take them out again. When the interrupted instance
// has left the group by other hands first (the reclaim, then Auto Scaling's health check replacing it),
// there is nothing to detach: the swap takes back what it added, exactly once, and only while desired is
// what the attach left.

const member = (w: World) =>
  toInstance(w.instance(w.members().find((m) => m.lifecycleState === 'InService')!.instanceId));

test('the interrupted instance gone by other hands: the swap takes back the capacity it added, once', async (t) => {
  const w = await withPool({ desired: 2, max: 4 });
  const interrupted = member(w);
  const got = await take(w, interrupted);
  t.truthy(got);
  t.is(w.group().desired, 3, 'the attach added the standby');
  t.true(await reclaimed(w, interrupted.instanceId));
  t.is(w.group().desired, 3, 'Auto Scaling replaced it without changing desired');
  await w.clock.drive(got!.finish!('already-gone'));
  t.is(w.group().desired, 2, 'taken back');
  await w.clock.drive(got!.finish!('already-gone'));
  t.is(w.group().desired, 2, 'once only');
  t.deepEqual(
    w.rec.callsOf('updateGroup').map((c) => c.args[1]),
    [{ desired: 2 }],
  );
});

test('fixed-size group: the take-back comes before MaxSize is restored, so both end where they were', async (t) => {
  const w = await withPool({ desired: 2, min: 2, max: 2 });
  const interrupted = member(w);
  const got = await take(w, interrupted);
  t.like(w.group(), { desired: 3, max: 3 });
  t.true(await reclaimed(w, interrupted.instanceId));
  await w.clock.drive(got!.finish!('already-gone'));
  t.like(w.group(), { desired: 2, max: 2, min: 2 });
  t.is(w.group().tags.get(STANDBY_SWAP_TAG), undefined);
});

test('no take-back when desired changed since the attach (someone else decided) or when the detach happened', async (t) => {
  const w = await withPool({ desired: 2, max: 6 });
  const interrupted = member(w);
  const got = await take(w, interrupted);
  t.true(await reclaimed(w, interrupted.instanceId));
  await w.clock.drive(w.cloud.autoscaling.updateGroup('web', { desired: 5 }));
  await w.clock.drive(got!.finish!('already-gone'));
  t.is(w.group().desired, 5);

  const w2 = await withPool({ desired: 2, max: 4 });
  const other = member(w2);
  const got2 = await take(w2, other);
  await w2.clock.drive(w2.cloud.autoscaling.detachInstances('web', [other.instanceId], true));
  await w2.clock.drive(got2!.finish!('detached'));
  t.is(w2.group().desired, 2, 'the detach with decrement took it back; nothing more');
});
