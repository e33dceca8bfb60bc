import test from 'ava';
import { errorCode, isAutoScalingNotInService } from '../../src/domain/errors.js';
import { warmRegion } from './helpers.js';

// The AWS rules of issue 11 (3, 9, 10) as the simulated region enforces them; docs/aws-rules.md lists
// each with its AWS document.

const members = (r: Awaited<ReturnType<typeof warmRegion>>, name = 'web') => [
  ...r.asg.mustGet(name).members.values(),
];

test('Capacity Rebalancing: on a rebalance recommendation the group launches first, then terminates the old member once the new one is InService', async (t) => {
  const r = await warmRegion({
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large'],
        azs: ['us-east-1a'],
        desired: 2,
        boot: { median: 60, p99: 60 },
        capacityRebalance: true,
      },
    ],
  });
  const [old] = members(r).map((m) => m.instanceId) as [string];
  r.bus.emit({ type: 'rebalance', instanceId: old });
  const g = r.asg.mustGet('web');
  t.is(g.members.size, 3, 'a replacement is launched before anything is terminated');
  t.is(g.desired, 2, 'desired capacity is unchanged');
  t.is(g.members.get(old)?.lifecycleState, 'InService', 'the old member serves until the new one does');
  await r.clock.advanceBy(61_000);
  t.regex(g.members.get(old)?.lifecycleState ?? 'gone', /^Terminating|gone/);
  t.regex(g.activities[0]?.statusMessage ?? '', /rebalance recommendation/);
  await r.clock.advanceBy(30_000);
  t.false(g.members.has(old));
  t.is(members(r).filter((m) => m.lifecycleState === 'InService').length, 2);
});

test('without Capacity Rebalancing a rebalance recommendation changes nothing', async (t) => {
  const r = await warmRegion();
  const [old] = members(r).map((m) => m.instanceId) as [string];
  r.bus.emit({ type: 'rebalance', instanceId: old });
  await r.clock.advanceBy(120_000);
  t.is(r.asg.mustGet('web').members.get(old)?.lifecycleState, 'InService');
  t.is(members(r).length, 4);
});

test('health check replacement: an Unhealthy member is terminated and a new one launched for desired', async (t) => {
  const r = await warmRegion();
  const [sick] = members(r).map((m) => m.instanceId) as [string];
  r.asg.setUnhealthy(sick);
  const g = r.asg.mustGet('web');
  t.regex(g.members.get(sick)?.lifecycleState ?? 'gone', /^Terminating|gone/);
  await r.clock.advanceBy(100);
  t.is(members(r).filter((m) => m.lifecycleState === 'Pending').length, 1, 'a replacement is launching');
  await r.clock.advanceBy(120_000);
  t.false(g.members.has(sick));
  t.is(members(r).filter((m) => m.lifecycleState === 'InService').length, 4);
  t.is(g.desired, 4);
});

test('DetachInstances refuses a Pending or Detaching member ("not in InService or Standby"), classified', async (t) => {
  const r = await warmRegion();
  r.asg.update('web', { desired: 5 });
  await r.clock.advanceBy(1_000);
  const pending = members(r).find((m) => m.lifecycleState === 'Pending')!.instanceId;
  const err1 = await r.drive(r.cloud.autoscaling.detachInstances('web', [pending], false)).catch((e) => e);
  t.is(errorCode(err1), 'ValidationError');
  t.true(isAutoScalingNotInService(err1));
  const serving = members(r).find((m) => m.lifecycleState === 'InService')!.instanceId;
  await r.drive(r.cloud.autoscaling.detachInstances('web', [serving], false));
  const err2 = await r.drive(r.cloud.autoscaling.detachInstances('web', [serving], false)).catch((e) => e);
  t.true(isAutoScalingNotInService(err2), String(err2));
});

test('eventual consistency: a just-launched instance is not found by id for a few seconds, then is', async (t) => {
  const r = await warmRegion();
  const [launched] = await r.drive(
    r.cloud.ec2.runInstances({
      launchTemplate: { name: 'web-lt' },
      market: 'on-demand',
      availabilityZone: 'us-east-1a',
      tags: {},
    }),
  );
  const id = launched!.instanceId;
  const err = await r.drive(r.cloud.ec2.describeInstances([id])).catch((e) => e);
  t.is(errorCode(err), 'InvalidInstanceID.NotFound');
  const tagErr = await r.drive(r.cloud.ec2.createTags([id], { a: 'b' })).catch((e) => e);
  t.is(errorCode(tagErr), 'InvalidInstanceID.NotFound');
  await r.clock.advanceBy(5_000);
  const [seen] = await r.drive(r.cloud.ec2.describeInstances([id]));
  t.is(seen?.instanceId, id);
});

test('eventual consistency is a scenario knob: { min: 0, max: 0 } turns it off', async (t) => {
  const r = await warmRegion({ api: { latencyMs: 0, launchVisibleAfter: { min: 0, max: 0 } } });
  const [launched] = await r.drive(
    r.cloud.ec2.runInstances({
      launchTemplate: { name: 'web-lt' },
      market: 'on-demand',
      availabilityZone: 'us-east-1a',
      tags: {},
    }),
  );
  const [seen] = await r.drive(r.cloud.ec2.describeInstances([launched!.instanceId]));
  t.is(seen?.instanceId, launched!.instanceId);
});
