import test from 'ava';
import { rankStandbys } from '../../src/controllers/reconcile/standby-hook.js';
import { STANDBY_SWAP_TAG } from '../../src/domain/tags.js';
import { toInstance } from '../../src/sim/ec2-port.js';
import { POOL as pool, standbys, take, withPool } from './swap-world.js';
import type { World } from './world.js';

// Standby swaps under Auto Scaling's bounds: AttachInstances may not take desired above MaxSize,
// DetachInstances with decrement may not take it below MinSize (API references). In a fixed-size group
// (min = max = desired) the swap raises MaxSize for the attach, records it on the group, and puts it back
// after the detach; a record left by a process that died mid-swap is finished by the reconciler.

const memberIn = (w: World, az: string) =>
  toInstance(
    w.instance(w.members().find((m) => m.az === az && m.lifecycleState === 'InService')!.instanceId),
  );
const swapTag = (w: World) => w.group().tags.get(STANDBY_SWAP_TAG)?.value;

test('fixed-size group: the swap raises MaxSize for the attach, and puts it back after the detach with decrement', async (t) => {
  const w = await withPool({ desired: 2, min: 2, max: 2 });
  const interrupted = memberIn(w, 'us-east-1a');
  const got = await take(w, interrupted);
  t.truthy(got, 'a standby is attached although desired = MaxSize');
  t.like(w.group(), { desired: 3, max: 3, min: 2 });
  t.regex(swapTag(w) ?? '', /^max=2 since=/);
  // The fast path detaches the interrupted one with decrement (desired 3 -> 2, not below MinSize) ...
  await w.clock.drive(w.cloud.autoscaling.detachInstances('web', [interrupted.instanceId], true));
  await w.clock.drive(got!.finish!());
  t.like(w.group(), { desired: 2, max: 2, min: 2 });
  t.is(swapTag(w), undefined);
  await w.wait(10);
  t.true(w.group().members.get(got!.instanceId)?.lifecycleState === 'InService');
  t.deepEqual(
    w.rec.callsOf('updateGroup').map((c) => c.args[1]),
    [{ max: 3 }, { max: 2 }],
  );
});

test('a group with headroom is not touched: no MaxSize change, no record', async (t) => {
  const w = await withPool({ desired: 2, min: 2, max: 4 });
  const got = await take(w, memberIn(w, 'us-east-1a'));
  t.truthy(got);
  await got!.finish!();
  t.deepEqual(w.rec.callsOf('updateGroup'), []);
  t.is(swapTag(w), undefined);
});

test('a process that died mid-swap: the reconciler puts MaxSize and desired back once the record is stale', async (t) => {
  const w = await withPool({ desired: 2, min: 2, max: 2 });
  const interrupted = memberIn(w, 'us-east-1a');
  t.truthy(await take(w, interrupted));
  // The process dies here: no detach with decrement, no finish. The Spot reclaim takes the instance; the
  // group (desired 3) replaces it after its health check.
  w.region.ec2.terminate(w.instance(interrupted.instanceId));
  const early = await w.pass();
  t.false(
    early!.groups[0]!.actions.some((a) => a.kind === 'standby-swap-restore'),
    'a fresh swap is left alone',
  );
  await w.wait(11 * 60);
  const r = await w.pass();
  // The standby's own record takes the attach's unit back (plan/swap-settle.ts); the group's record then
  // only has MaxSize to restore, as desired is already within it.
  const actions = r!.groups[0]!.actions;
  const settle = actions.find((a) => a.kind === 'standby-swap-settle');
  t.like(settle, { takeBack: true, desiredAfter: 3, units: 1, interrupted: interrupted.instanceId });
  const restore = actions.find((a) => a.kind === 'standby-swap-restore');
  t.like(restore, { max: 2, desired: undefined });
  t.regex(restore!.reason, /never gave it back/);
  t.true(actions.indexOf(settle!) < actions.indexOf(restore!), 'desired down before MaxSize');
  await w.wait(300);
  t.like(w.group(), { desired: 2, max: 2 });
  t.is(swapTag(w), undefined);
  const after = await w.pass();
  t.false(
    after!.groups[0]!.actions.some(
      (a) => a.kind === 'standby-swap-restore' || a.kind === 'standby-swap-settle',
    ),
  );
});

test('AZ spread: a standby in another AZ is used only when the AZs stay even (AZRebalance active)', async (t) => {
  // 4 members over two AZs (2 / 2); the pool has one standby in each AZ.
  const w = await withPool({ desired: 4, min: 4, max: 4 });
  const interrupted = memberIn(w, 'us-east-1a');
  const [group] = await w.cloud.autoscaling.describeGroups(['web']);
  const pool_ = standbys(w).map(toInstance);
  const inB = pool_.filter((s) => s.availabilityZone === 'us-east-1b');
  // Same AZ first.
  t.is(rankStandbys(pool_, interrupted, pool, group)[0]?.availabilityZone, 'us-east-1a');
  // Only one in b: 1 / 3 would make AZRebalance terminate a member in b; not used.
  t.deepEqual(rankStandbys(inB, interrupted, pool, group), []);
  // With AZRebalance suspended the group stays as it is: the standby is better than none.
  const suspended = { ...group!, suspendedProcesses: ['AZRebalance'] };
  t.deepEqual(
    rankStandbys(inB, interrupted, pool, suspended).map((s) => s.instanceId),
    inB.map((s) => s.instanceId),
  );
  // Three AZs at 2 / 2 / 1, a member of a interrupted, standbys in b and c: c is short, b would be long.
  const m = (id: string, az: string) => ({
    instanceId: id,
    availabilityZone: az,
    lifecycleState: 'InService',
    healthStatus: 'Healthy',
  });
  const three = {
    ...group!,
    availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    members: [
      m('i-a1', 'us-east-1a'),
      m(interrupted.instanceId, 'us-east-1a'),
      m('i-b1', 'us-east-1b'),
      m('i-b2', 'us-east-1b'),
      m('i-c1', 'us-east-1c'),
    ],
  };
  const inC = { ...inB[0]!, instanceId: 'i-standby-c', availabilityZone: 'us-east-1c' };
  t.deepEqual(
    rankStandbys([inB[0]!, inC], interrupted, pool, three).map((s) => s.availabilityZone),
    ['us-east-1c'],
  );
});
