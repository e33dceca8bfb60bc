import test from 'ava';
import { toGroup, toInstanceRefresh } from '../../src/aws/asg-shapes.js';

// The AWS describe adapter keeps what issue 11 needs from DescribeAutoScalingGroups (weights per member and
// override, DesiredCapacityType) and DescribeInstanceRefreshes (status, progress), in the shapes the SDK
// returns them (WeightedCapacity is a string in the API). moto 5.2.1 implements no instance refresh, so
// this mapping is checked on the SDK shape; the call itself runs on the simulated region.

test('weights and DesiredCapacityType of a group reach the domain shape', (t) => {
  const g = toGroup({
    AutoScalingGroupName: 'web',
    MinSize: 8,
    MaxSize: 40,
    DesiredCapacity: 24,
    DesiredCapacityType: 'units',
    DefaultCooldown: 300,
    AvailabilityZones: ['us-east-1a'],
    HealthCheckType: 'EC2',
    CreatedTime: new Date('2026-12-01T00:00:00Z'),
    MixedInstancesPolicy: {
      LaunchTemplate: {
        LaunchTemplateSpecification: { LaunchTemplateId: 'lt-1', Version: '$Latest' },
        Overrides: [
          { InstanceType: 'm5.large', WeightedCapacity: '2' },
          { InstanceType: 'm5.xlarge', WeightedCapacity: '4' },
        ],
      },
    },
    Instances: [
      {
        InstanceId: 'i-1',
        AvailabilityZone: 'us-east-1a',
        LifecycleState: 'InService',
        HealthStatus: 'Healthy',
        InstanceType: 'm5.xlarge',
        ProtectedFromScaleIn: false,
        WeightedCapacity: '4',
      },
    ],
  });
  t.is(g.desiredCapacityType, 'units');
  t.deepEqual(
    g.mixedInstancesPolicy?.overrides.map((o) => o.weightedCapacity),
    ['2', '4'],
  );
  t.is(g.members[0]?.weightedCapacity, 4, 'a number, from the API string');
  const plain = toGroup({
    AutoScalingGroupName: 'plain',
    MinSize: 0,
    MaxSize: 2,
    DesiredCapacity: 1,
    DefaultCooldown: 300,
    AvailabilityZones: ['us-east-1a'],
    HealthCheckType: 'EC2',
    CreatedTime: new Date(),
    Instances: [
      {
        InstanceId: 'i-2',
        AvailabilityZone: 'us-east-1a',
        LifecycleState: 'InService',
        HealthStatus: 'Healthy',
        ProtectedFromScaleIn: false,
      },
    ],
  });
  t.is(plain.members[0]?.weightedCapacity, undefined, 'no weight: 1 unit (plan/units.ts)');
  t.is(plain.desiredCapacityType, undefined);
});

test('an instance refresh keeps its id, status and progress', (t) => {
  const start = new Date('2026-12-02T01:00:00Z');
  t.deepEqual(
    toInstanceRefresh({
      InstanceRefreshId: 'r-1',
      AutoScalingGroupName: 'web',
      Status: 'InProgress',
      StatusReason: 'Waiting for instances to warm up before continuing.',
      StartTime: start,
      PercentageComplete: 40,
      InstancesToUpdate: 3,
    }),
    {
      id: 'r-1',
      status: 'InProgress',
      statusReason: 'Waiting for instances to warm up before continuing.',
      startTime: start,
      percentageComplete: 40,
      instancesToUpdate: 3,
    },
  );
  t.deepEqual(toInstanceRefresh({}), { id: '', status: 'Unknown' });
});
