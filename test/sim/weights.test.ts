import test from 'ava';
import { errorCode } from '../../src/domain/errors.js';
import type { SimRegion } from '../../src/sim/region.js';
import { warmRegion } from './helpers.js';

// Issue 11 rule 6, as the simulated region enforces it (sim/asg-units.ts, docs/aws-rules.md): in a group
// with instance weights or a DesiredCapacityType other than units, desired, min and max count units, the
// group launches until the desired units are fulfilled (an overage allowed), and attach / detach with
// decrement move desired by the members' weights.

const PRICES = {
  'm5.large': { onDemand: 0.096, spot: 0.036 },
  'm5.xlarge': { onDemand: 0.192, spot: 0.072 },
};

function weighted(extra: Record<string, unknown> = {}) {
  return warmRegion({
    prices: PRICES,
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large', 'm5.xlarge'],
        weights: { 'm5.large': 2, 'm5.xlarge': 4 },
        azs: ['us-east-1a', 'us-east-1b'],
        desired: 12,
        min: 8,
        max: 16,
        boot: { median: 60, p99: 60 },
        ...extra,
      },
    ],
  });
}

const live = (r: SimRegion) =>
  [...r.asg.mustGet('web').members.values()].filter((m) => m.lifecycleState === 'InService');
const units = (r: SimRegion) => live(r).reduce((n, m) => n + m.weight, 0);

test('a weighted group launches until its desired units are fulfilled, not desired instances', async (t) => {
  const r = await weighted();
  const g = r.asg.mustGet('web');
  t.is(g.desired, 12);
  t.true(units(r) >= 12, `units ${units(r)}`);
  t.true(units(r) - 4 < 12, 'no more than one instance of overage');
  t.true(live(r).length < 12, `${live(r).length} instances carry 12 units`);
  const shape = r.asg.toGroup(g);
  t.true(shape.members.every((m) => m.weightedCapacity === 2 || m.weightedCapacity === 4));
  t.deepEqual(
    shape.mixedInstancesPolicy?.overrides.map((o) => o.weightedCapacity),
    ['2', '4'],
  );
});

test('DetachInstances with decrement lowers desired by the weight, and refuses to go below MinSize in units', async (t) => {
  const r = await weighted();
  const g = r.asg.mustGet('web');
  const big = live(r).find((m) => m.weight === 4)!;
  const small = live(r).find((m) => m.weight === 2)!;
  await r.drive(r.cloud.autoscaling.detachInstances('web', [big.instanceId], true));
  t.is(g.desired, 8, '12 - 4 units');
  const err = await t.throwsAsync(
    r.drive(r.cloud.autoscaling.detachInstances('web', [small.instanceId], true)),
  );
  t.is(errorCode(err), 'ValidationError', 'desired 8 - 2 would go below MinSize 8');
  t.is(g.desired, 8);
});

test('AttachInstances adds the weight to desired and refuses when that passes MaxSize in units', async (t) => {
  const r = await weighted({ max: 12 });
  const g = r.asg.mustGet('web');
  const big = live(r).find((m) => m.weight === 4)!;
  // Out without decrement: the group launches for it; the old one runs on outside the group.
  await r.drive(r.cloud.autoscaling.detachInstances('web', [big.instanceId], false));
  await r.clock.advanceBy(120_000);
  t.is(g.desired, 12);
  const err = await t.throwsAsync(r.drive(r.cloud.autoscaling.attachInstances('web', [big.instanceId])));
  t.is(errorCode(err), 'ValidationError');
  t.regex(err!.message, /16 is above max value 12/, 'desired + weight 4, not + 1');
  await r.drive(r.cloud.autoscaling.updateGroup('web', { max: 16 }));
  await r.drive(r.cloud.autoscaling.attachInstances('web', [big.instanceId]));
  t.is(g.desired, 16);
});

test('scale-in in units: lowering desired terminates members only while the surplus covers their weight', async (t) => {
  const r = await weighted();
  const g = r.asg.mustGet('web');
  await r.drive(r.cloud.autoscaling.updateGroup('web', { desired: 9 }));
  await r.clock.advanceBy(300_000);
  t.is(g.desired, 9);
  t.true(units(r) >= 9, `units ${units(r)} cover desired 9`);
  t.true(units(r) - 2 < 9, `units ${units(r)}: no member whose weight fits the surplus is left`);
});

test('DesiredCapacityType vcpu: every member counts its vCPUs', async (t) => {
  const r = await warmRegion({
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large'],
        azs: ['us-east-1a'],
        desired: 8,
        max: 16,
        boot: { median: 60, p99: 60 },
        desiredCapacityType: 'vcpu',
      },
    ],
  });
  t.is(live(r).length, 4, '8 vCPUs = 4 m5.large');
  t.true(live(r).every((m) => m.weight === 2));
  t.is(r.asg.toGroup(r.asg.mustGet('web')).desiredCapacityType, 'vcpu');
});

test('weights on some overrides only are refused, as CreateAutoScalingGroup does', async (t) => {
  const err = await t.throwsAsync(weighted({ weights: { 'm5.large': 2 } }) as Promise<unknown>);
  t.is(errorCode(err), 'ValidationError');
  t.regex(err!.message, /WeightedCapacity for all of them/);
});
