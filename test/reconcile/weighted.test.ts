import test from 'ava';
import { detachDecrement } from '../../src/controllers/interruption/detach-order.js';
import { createStandbyHook } from '../../src/controllers/reconcile/standby-hook.js';
import { REPLACEMENT_TAG, STANDBY_FOR_TAG } from '../../src/domain/tags.js';
import type { Group } from '../../src/domain/types.js';
import { silentLogger } from '../../src/ports/logger.js';
import { toInstance } from '../../src/sim/ec2-port.js';
import { settings } from '../plan/factories.js';
import { type World, webGroup, world } from './world.js';

// Issue 11 rule 6 on the simulated region: in a weighted group (m5.large 2 units, m5a.large 4) every
// change spotmax makes to desired or MaxSize for one instance is that instance's units, so desired comes
// back exactly where it was after a replacement, a take-back and a standby swap.

const WEIGHTS = { 'm5.large': 2, 'm5a.large': 4 };
const lifetime = settings({ lifetime: { guaranteeMinutes: 50 }, replacement: { maxConcurrent: 1 } });

const inServiceUnits = (w: World) =>
  w.members().reduce((n, m) => n + (m.lifecycleState === 'InService' ? m.weight : 0), 0);

/** `web` at desired = MaxSize = 8 units, its members 51 minutes old when the first pass runs. */
async function agedWeighted() {
  const w = await world(lifetime, {
    groups: [webGroup({ desired: 8, min: 0, max: 8, weights: WEIGHTS })],
  });
  await w.wait(41 * 60);
  return w;
}

test('lifetime replacement of a weighted member adds its units to desired and MaxSize, and takes exactly them back', async (t) => {
  const w = await agedWeighted();
  const g = w.group();
  t.true(inServiceUnits(w) >= 8);
  const first = await w.pass();
  const add = first!.groups[0]!.actions.find((a) => a.kind === 'replacement-add-capacity')!;
  t.truthy(add);
  const units = g.members.get(add.target)!.weight;
  t.true(units > 1);
  t.deepEqual([g.desired, g.max], [8 + units, 8 + units], 'raised by the member units, not by 1');
  t.regex(w.instance(add.target).tags[REPLACEMENT_TAG]!, new RegExp(`;units=${units}(;|$)`));
  t.deepEqual(
    w.rec.callsOf('updateGroup').map((c) => c.args[1]),
    [{ desired: 8 + units, max: 8 + units }],
  );

  await w.wait(61);
  const second = await w.pass();
  const retire = second!.groups[0]!.actions.find((a) => a.kind === 'replacement-retire');
  t.truthy(retire, 'the new members cover the units: the old one retires');
  t.deepEqual([g.desired, g.max], [8, 8], 'back exactly where it was');
  await w.wait(120);
  t.false(g.members.has(add.target));
  t.true(inServiceUnits(w) >= 8, `${inServiceUnits(w)} units in service for desired 8`);
});

test('take-back in a weighted group: a member Auto Scaling replaced under a replacement gives back its units, once', async (t) => {
  const w = await agedWeighted();
  const g = w.group();
  const first = await w.pass();
  const add = first!.groups[0]!.actions.find((a) => a.kind === 'replacement-add-capacity')!;
  const units = g.members.get(add.target)!.weight;
  t.is(g.desired, 8 + units);
  // Auto Scaling's health check takes the old member before the new capacity serves. The units come
  // back once the group serves its desired units again (plan/replacement.ts), not while it is short.
  w.region.asg.setUnhealthy(add.target);
  await w.wait(5);
  const backs = [];
  for (let n = 0; n < 8 && backs.length === 0; n++) {
    const r = await w.pass();
    backs.push(
      ...r!.groups[0]!.actions.filter((a) => a.kind === 'replacement-retire' && a.target === add.target),
    );
    if (backs.length === 0) await w.wait(61);
  }
  t.is(backs.length, 1);
  t.regex(backs[0]!.reason, /take back the capacity/);
  t.is(g.desired, 8, `desired ${8 + units} - ${units} units`);
  t.is(g.max, 8);
  await w.wait(180);
  const later = [await w.pass(), await w.pass()].flatMap((r) => r!.groups[0]!.actions);
  t.false(
    later.some((a) => a.kind === 'replacement-retire' && a.target === add.target),
    'taken back once only',
  );
  // The next aged members are being replaced now: desired is 8 plus exactly their recorded units.
  const inFlight = w
    .instances()
    .filter((i) => i.state === 'running' && i.tags[REPLACEMENT_TAG]?.startsWith('step=waiting'))
    .reduce((n, i) => n + Number(/;units=(\d+)/.exec(i.tags[REPLACEMENT_TAG]!)?.[1] ?? 1), 0);
  t.is(g.desired, 8 + inFlight);
});

test('fast path in a weighted group with Launch suspended: the detach decrements only when MinSize allows the member units', (t) => {
  const group = (weight: number): Group => ({
    name: 'web',
    desired: 8,
    min: 6,
    max: 8,
    availabilityZones: ['us-east-1a'],
    subnetIds: [],
    tags: [],
    suspendedProcesses: ['Launch'],
    members: [
      {
        instanceId: 'i-1',
        availabilityZone: 'us-east-1a',
        lifecycleState: 'InService',
        healthStatus: 'Healthy',
        weightedCapacity: weight,
      },
    ],
  });
  t.true(detachDecrement(group(2), false, 'i-1').decrement, '8 - 2 >= 6');
  t.false(detachDecrement(group(4), false, 'i-1').decrement, '8 - 4 < 6: refused by DetachInstances');
  t.regex(detachDecrement(group(4), false, 'i-1').note ?? '', /Launch suspended/);
});

test('standby swap in a weighted fixed-size group: a standby worth the interrupted units, MaxSize raised by them and restored', async (t) => {
  const pool = settings({ standby: { size: 2, startTimeoutSeconds: 30 } });
  const w = await world(pool, {
    groups: [
      webGroup({
        desired: 8,
        min: 8,
        max: 8,
        weights: WEIGHTS,
        // One AZ: the swap is about units here, not about the AZ spread.
        azs: ['us-east-1a'],
      }),
    ],
    timings: { start: { median: 6, p99: 6 } },
  });
  await w.pass(); // launch the pool: one standby of each type
  await w.wait(61);
  await w.pass(); // stop it
  await w.wait(46);
  const standbys = () =>
    w.instances().filter((i) => i.tags[STANDBY_FOR_TAG] === 'web' && i.state !== 'terminated');
  t.deepEqual(
    standbys()
      .map((s) => s.instanceType)
      .sort(),
    ['m5.large', 'm5a.large'],
  );
  const g = w.group();
  const heavy = w.members().find((m) => m.weight === 4 && m.lifecycleState === 'InService')!;
  t.truthy(heavy, 'a 4-unit member to interrupt');
  const hook = createStandbyHook({
    cloud: w.cloud,
    clock: w.clock,
    logger: silentLogger,
    standbysFor: () => standbys().map(toInstance),
    pollMs: 2_000,
  });
  const got = await w.clock.drive(
    hook.takeStandby({
      groupName: 'web',
      settings: pool,
      interrupted: toInstance(w.instance(heavy.instanceId)),
      deadline: new Date(w.clock.now().getTime() + 110_000),
      signal: new AbortController().signal,
    }),
  );
  t.truthy(got);
  t.is(w.instance(got!.instanceId).instanceType, 'm5a.large', 'the 4-unit standby, not the 2-unit one');
  t.deepEqual([g.desired, g.max], [12, 12], 'MaxSize raised by 4 units for the attach');
  await w.clock.drive(w.cloud.autoscaling.detachInstances('web', [heavy.instanceId], true));
  await w.clock.drive(got!.finish!());
  t.deepEqual([g.desired, g.max, g.min], [8, 8, 8], 'desired exact again');
});
