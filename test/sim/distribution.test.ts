import { readFileSync } from 'node:fs';
import test from 'ava';
import type { SimRegion } from '../../src/sim/region.js';
import { warmRegion } from './helpers.js';

// Rules 2 and 8 of issue 11 as the sim enforces them (docs/aws-rules.md):
// - a change of OnDemandBaseCapacity / OnDemandPercentageAboveBaseCapacity makes the group replace
//   running instances gradually, launch before terminate; SpotAllocationStrategy, SpotInstancePools and
//   SpotMaxPrice changes do not; an update that leaves the policy out keeps it;
// - failed launches read as Auto Scaling words them (test/fixtures/scaling-activities/).

const samples = JSON.parse(
  readFileSync(new URL('../fixtures/scaling-activities/failed-launches.json', import.meta.url), 'utf8'),
) as { activities: { name: string; statusMessage: string }[] };
const sample = (name: string) => samples.activities.find((a) => a.name === name)!.statusMessage;

const members = (r: SimRegion) => [...r.asg.mustGet('web').members.values()];
const inService = (r: SimRegion) => members(r).filter((m) => m.lifecycleState === 'InService');
const onDemand = (r: SimRegion) => inService(r).filter((m) => m.market === 'on-demand').length;

test('raising the On-Demand percentage replaces running Spot instances one at a time, launch before terminate', async (t) => {
  const region = await warmRegion();
  const spotBefore = inService(region).map((m) => m.instanceId);
  t.is(onDemand(region), 0);
  region.asg.update('web', { instancesDistribution: { onDemandPercentageAboveBaseCapacity: 50 } });
  let lowest = Number.POSITIVE_INFINITY;
  for (let s = 0; s < 900; s += 5) {
    await region.clock.advanceBy(5_000);
    lowest = Math.min(lowest, inService(region).length);
  }
  t.is(onDemand(region), 2, '50 % of 4');
  t.is(inService(region).length, 4);
  t.true(lowest >= 4, `never below desired while replacing (lowest ${lowest})`);
  const replaced = spotBefore.filter((id) => !inService(region).some((m) => m.instanceId === id));
  t.is(replaced.length, 2, 'two healthy Spot instances were replaced by the group');
  t.true(
    region.asg.mustGet('web').activities.some((a) => /instances distribution/.test(a.statusMessage ?? '')),
  );
});

test('raising the On-Demand base replaces running Spot instances too', async (t) => {
  const region = await warmRegion();
  region.asg.update('web', { instancesDistribution: { onDemandBaseCapacity: 1 } });
  await region.clock.advanceBy(900_000);
  t.is(onDemand(region), 1);
  t.is(inService(region).length, 4);
});

test('Spot allocation strategy, pools and max price changes leave running instances alone', async (t) => {
  const region = await warmRegion();
  const before = inService(region).map((m) => m.instanceId);
  region.asg.update('web', {
    instancesDistribution: {
      spotAllocationStrategy: 'capacity-optimized',
      spotInstancePools: 2,
      spotMaxPrice: '0.05',
    },
  });
  await region.clock.advanceBy(900_000);
  t.deepEqual(
    inService(region).map((m) => m.instanceId),
    before,
  );
  t.is(
    region.asg.mustGet('web').mixedInstancesPolicy?.instancesDistribution.spotAllocationStrategy,
    'capacity-optimized',
  );
});

test('an update of sizes alone keeps the whole MixedInstancesPolicy (UpdateAutoScalingGroup leaves out what is not sent)', async (t) => {
  const region = await warmRegion();
  const before = structuredClone(region.asg.mustGet('web').mixedInstancesPolicy);
  await region.cloud.autoscaling.updateGroup('web', { desired: 5, max: 9 });
  const [g] = await region.cloud.autoscaling.describeGroups(['web']);
  t.is(g!.max, 9);
  t.deepEqual(g!.mixedInstancesPolicy, before);
});

test("failed launches carry Auto Scaling's own texts: Spot shortages prefixed, On-Demand shortages not", async (t) => {
  const spot = await warmRegion({ market: { outages: [{ from: 0, to: 3_600_000 }] } });
  spot.asg.update('web', { desired: 5 });
  await spot.clock.advanceBy(10_000);
  const [failedSpot] = (await spot.cloud.autoscaling.describeScalingActivities('web')).filter(
    (a) => a.statusCode === 'Failed',
  );
  t.is(failedSpot?.statusMessage, sample('spot-insufficient-capacity'));
  t.is(
    failedSpot?.description,
    `Launching a new EC2 instance.  Status Reason: ${sample('spot-insufficient-capacity')}`,
  );

  const od = await warmRegion({
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large'],
        azs: ['us-east-1b'],
        desired: 1,
        onDemandPercentage: 100,
        boot: { median: 60, p99: 90 },
      },
    ],
    market: { outages: [{ from: 0, to: 3_600_000, onDemand: true }] },
  });
  od.asg.update('web', { desired: 2 });
  await od.clock.advanceBy(10_000);
  const [failedOd] = (await od.cloud.autoscaling.describeScalingActivities('web')).filter(
    (a) => a.statusCode === 'Failed',
  );
  t.regex(
    failedOd?.statusMessage ?? '',
    /^We currently do not have sufficient m5\.large capacity in the Availability Zone you requested \(us-east-1b\)\./,
  );
});
