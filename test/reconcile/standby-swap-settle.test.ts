import test from 'ava';
import { parseMemberSwap } from '../../src/domain/swap-records.js';
import { SWAPPED_IN_TAG } from '../../src/domain/tags.js';
import { toInstance } from '../../src/sim/ec2-port.js';
import { reclaimed, take, withPool } from './swap-world.js';
import type { World } from './world.js';

// Issue 11 rule 3, after a crash: a standby swap in a group with MaxSize headroom adds the standby's unit
// to desired with the attach; the interrupted instance's detach with decrement was to take it out. A
// process that dies in between leaves the unit in desired for good (the reclaim takes the instance, Auto
// Scaling replaces it). The standby's `spotmax:swapped-in` record lets the reconciler take it back, once.

const inService = (w: World, skip: string[] = []) =>
  toInstance(
    w.instance(
      w.members().find((m) => m.lifecycleState === 'InService' && !skip.includes(m.instanceId))!.instanceId,
    ),
  );

const record = (w: World, id: string) => w.instance(id).tags[SWAPPED_IN_TAG];

test('the swap records itself on the standby before the attach, and removes the record once the detach took the unit back', async (t) => {
  const w = await withPool({ desired: 2, max: 4 });
  const interrupted = inService(w);
  const got = await take(w, interrupted);
  t.truthy(got);
  const written = parseMemberSwap(record(w, got!.instanceId));
  t.like(written, { interrupted: interrupted.instanceId, desiredAfter: 3, units: 1 });
  const tagged = w.rec.calls.findIndex(
    (c) => c.method === 'createTags' && JSON.stringify(c.args).includes(SWAPPED_IN_TAG),
  );
  const attached = w.rec.calls.findIndex((c) => c.method === 'attachInstances');
  t.true(tagged >= 0 && tagged < attached, 'recorded before the attach');
  await w.clock.drive(w.cloud.autoscaling.detachInstances('web', [interrupted.instanceId], true));
  await w.clock.drive(got!.finish!('detached'));
  t.is(record(w, got!.instanceId), undefined);
  t.is(w.group().desired, 2);
});

test('a process that died between attach and detach, headroom group: the reconciler takes the unit back once, after the swap could have ended', async (t) => {
  const w = await withPool({ desired: 2, max: 4 });
  const interrupted = inService(w);
  const got = await take(w, interrupted);
  t.is(w.group().desired, 3);
  // The process dies: no detach, no finish.
  t.true(await reclaimed(w, interrupted.instanceId));
  const early = await w.pass();
  t.false(
    early!.groups[0]!.actions.some((a) => a.kind === 'standby-swap-settle'),
    'a swap that may still be running is left alone',
  );
  await w.wait(10 * 60);
  const r = await w.pass();
  const settle = r!.groups[0]!.actions.find((a) => a.kind === 'standby-swap-settle');
  t.like(settle, { target: got!.instanceId, takeBack: true, desiredAfter: 3 });
  t.regex(settle!.reason, /without the detach with decrement: desired 3 → 2/);
  await w.wait(300);
  t.is(w.group().desired, 2, 'taken back');
  t.is(record(w, got!.instanceId), undefined, 'record gone');
  // Which member goes is Auto Scaling's choice (its termination policy); the group is back at 2.
  t.is(w.members().filter((m) => m.lifecycleState === 'InService').length, 2);
  const after = await w.pass();
  t.false(after!.groups[0]!.actions.some((a) => a.kind === 'standby-swap-settle'));
  t.deepEqual(
    w.rec.callsOf('updateGroup').map((c) => c.args[1]),
    [{ desired: 2 }],
    'one take-back, nothing else',
  );
});

test('two swaps of one group that both died: each unit is taken back, latest first', async (t) => {
  const w = await withPool({ desired: 3, max: 6 });
  const first = inService(w);
  const second = inService(w, [first.instanceId]);
  const a = await take(w, first);
  const b = await take(w, second);
  t.truthy(a && b);
  t.is(w.group().desired, 5);
  t.true(await reclaimed(w, first.instanceId));
  t.true(await reclaimed(w, second.instanceId));
  await w.wait(11 * 60);
  const r = await w.pass();
  const settles = r!.groups[0]!.actions.filter((x) => x.kind === 'standby-swap-settle');
  t.deepEqual(
    settles.map((x) => [x.target, x.takeBack]),
    [
      [b!.instanceId, true],
      [a!.instanceId, true],
    ],
  );
  await w.wait(300);
  t.is(w.group().desired, 3);
  t.is(record(w, a!.instanceId), undefined);
  t.is(record(w, b!.instanceId), undefined);
});

test('a record left after a finished swap (its removal failed) only goes: desired is not lowered again', async (t) => {
  const w = await withPool({ desired: 2, max: 4 });
  const interrupted = inService(w);
  const got = await take(w, interrupted);
  await w.clock.drive(w.cloud.autoscaling.detachInstances('web', [interrupted.instanceId], true));
  w.rec.failNext('deleteTags', 'RequestLimitExceeded', 1);
  await w.clock.drive(got!.finish!('detached'));
  t.truthy(record(w, got!.instanceId), 'the removal failed');
  t.is(w.group().desired, 2);
  await w.wait(11 * 60);
  const r = await w.pass();
  const settle = r!.groups[0]!.actions.find((a) => a.kind === 'standby-swap-settle');
  t.like(settle, { takeBack: false });
  t.regex(settle!.reason, /desired is 2, not the 3 the attach left/);
  await w.wait(60);
  t.is(w.group().desired, 2);
  t.is(record(w, got!.instanceId), undefined);
  t.deepEqual(w.rec.callsOf('updateGroup'), []);
});

test('a failed detach keeps the record, and while the interrupted instance is still a member the reconciler only reports it', async (t) => {
  const w = await withPool({ desired: 2, max: 4 });
  const interrupted = inService(w);
  const got = await take(w, interrupted);
  await w.clock.drive(got!.finish!('failed'));
  t.truthy(record(w, got!.instanceId), 'kept for the reconciler');
  await w.wait(11 * 60);
  const r = await w.pass();
  const g = r!.groups[0]!;
  t.false(g.actions.some((a) => a.kind === 'standby-swap-settle'));
  t.true(
    g.problems.some((p) => p.includes(`${interrupted.instanceId} is still a member (InService)`)),
    g.problems.join('\n'),
  );
  t.is(w.group().desired, 3, "no member of Auto Scaling's choosing is terminated");
  // Once it is reclaimed and replaced, the unit comes back.
  t.true(await reclaimed(w, interrupted.instanceId));
  await w.pass();
  await w.wait(300);
  t.is(w.group().desired, 2);
});

test('a record that cannot be read is reported, not acted on', async (t) => {
  const w = await withPool({ desired: 2, max: 4 });
  const member = inService(w);
  await w.clock.drive(w.cloud.ec2.createTags([member.instanceId], { [SWAPPED_IN_TAG]: 'garbage' }));
  const r = await w.pass();
  t.true(r!.groups[0]!.problems.some((p) => p.includes(`${SWAPPED_IN_TAG}=garbage on ${member.instanceId}`)));
  t.false(r!.groups[0]!.actions.some((a) => a.kind === 'standby-swap-settle'));
});
