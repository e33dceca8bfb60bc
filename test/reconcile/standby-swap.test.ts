import test from 'ava';
import { createStandbyHook, rankStandbys } from '../../src/controllers/reconcile/standby-hook.js';
import { STANDBY_FOR_TAG, STANDBY_SWAP_TAG } from '../../src/domain/tags.js';
import type { Instance } from '../../src/domain/types.js';
import { silentLogger } from '../../src/ports/logger.js';
import { toInstance } from '../../src/sim/ec2-port.js';
import type { ScenarioInput } from '../../src/sim/scenario.js';
import { settings } from '../plan/factories.js';
import { type World, webGroup, world } from './world.js';

// Standby swaps under Auto Scaling's bounds: AttachInstances may not take desired above MaxSize,
// DetachInstances with decrement may not take it below MinSize (API references). In a fixed-size group
// (min = max = desired) the swap raises MaxSize for the attach, records it on the group, and puts it back
// after the detach; a record left by a process that died mid-swap is finished by the reconciler.

const pool = settings({ standby: { size: 2, startTimeoutSeconds: 30 } });

/** `web` with its pool launched and stopped; standbys start in 6 s. */
async function fixedWithPool(group: Partial<ScenarioInput['groups'][number]>, s = pool) {
  const w = await world(s, {
    groups: [webGroup(group)],
    timings: { start: { median: 6, p99: 6 } },
  });
  await w.pass(); // launch the pool
  await w.wait(61);
  await w.pass(); // stop it
  await w.wait(46);
  return w;
}

const standbys = (w: World) =>
  w.instances().filter((i) => i.tags[STANDBY_FOR_TAG] === 'web' && i.state !== 'terminated');
const memberIn = (w: World, az: string) =>
  toInstance(
    w.instance(w.members().find((m) => m.az === az && m.lifecycleState === 'InService')!.instanceId),
  );
const swapTag = (w: World) => w.group().tags.get(STANDBY_SWAP_TAG)?.value;

function take(w: World, interrupted: Instance, s = pool) {
  const hook = createStandbyHook({
    cloud: w.cloud,
    clock: w.clock,
    logger: silentLogger,
    standbysFor: () => standbys(w).map(toInstance),
    pollMs: 2_000,
  });
  return w.clock.drive(
    hook.takeStandby({
      groupName: 'web',
      settings: s,
      interrupted,
      deadline: new Date(w.clock.now().getTime() + 110_000),
      signal: new AbortController().signal,
    }),
  );
}

test('fixed-size group: the swap raises MaxSize for the attach, and puts it back after the detach with decrement', async (t) => {
  const w = await fixedWithPool({ desired: 2, min: 2, max: 2 });
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
  const w = await fixedWithPool({ desired: 2, min: 2, max: 4 });
  const got = await take(w, memberIn(w, 'us-east-1a'));
  t.truthy(got);
  await got!.finish!();
  t.deepEqual(w.rec.callsOf('updateGroup'), []);
  t.is(swapTag(w), undefined);
});

test('a process that died mid-swap: the reconciler puts MaxSize and desired back once the record is stale', async (t) => {
  const w = await fixedWithPool({ desired: 2, min: 2, max: 2 });
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
  const restore = r!.groups[0]!.actions.find((a) => a.kind === 'standby-swap-restore');
  t.like(restore, { max: 2, desired: 2 });
  t.regex(restore!.reason, /never gave it back/);
  await w.wait(300);
  t.like(w.group(), { desired: 2, max: 2 });
  t.is(swapTag(w), undefined);
  const after = await w.pass();
  t.false(after!.groups[0]!.actions.some((a) => a.kind === 'standby-swap-restore'));
});

test('AZ spread: a standby in another AZ is used only when the AZs stay even (AZRebalance active)', async (t) => {
  // 4 members over two AZs (2 / 2); the pool has one standby in each AZ.
  const w = await fixedWithPool({ desired: 4, min: 4, max: 4 });
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
