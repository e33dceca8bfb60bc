import type { AsgMember, Group } from '../domain/types.js';
import type { SimGroup } from './asg-model.js';
import type { Ec2State } from './ec2-state.js';

/** A group in the shape DescribeAutoScalingGroups gives it. */
export function describeGroup(g: SimGroup, ec2: Ec2State): Group {
  const members: AsgMember[] = [];
  for (const m of g.members.values()) {
    members.push({
      instanceId: m.instanceId,
      availabilityZone: m.az,
      lifecycleState: m.lifecycleState,
      healthStatus: m.healthStatus,
      instanceType: m.instanceType,
      launchTemplate: m.launchTemplate ? { ...m.launchTemplate } : undefined,
      protectedFromScaleIn: m.protectedFromScaleIn,
      ...(m.weight !== 1 ? { weightedCapacity: m.weight } : {}),
    });
  }
  return {
    name: g.name,
    arn: `arn:aws:autoscaling:${ec2.region}:123456789012:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${g.name}`,
    desired: g.desired,
    min: g.min,
    max: g.max,
    launchTemplate: g.launchTemplate ? { ...g.launchTemplate } : undefined,
    mixedInstancesPolicy: g.mixedInstancesPolicy ? structuredClone(g.mixedInstancesPolicy) : undefined,
    availabilityZones: [...g.azs],
    subnetIds: g.azs.map((az) => ec2.subnet(az)),
    tags: [...g.tags].map(([key, t]) => ({ key, value: t.value, propagateAtLaunch: t.propagateAtLaunch })),
    members,
    createdTime: new Date(g.createdTime),
    capacityRebalance: g.capacityRebalance,
    suspendedProcesses: [...g.suspendedProcesses],
    ...(g.desiredCapacityType ? { desiredCapacityType: g.desiredCapacityType } : {}),
    ...(g.maxInstanceLifetime ? { maxInstanceLifetime: g.maxInstanceLifetime } : {}),
    warmPool: false,
  };
}
