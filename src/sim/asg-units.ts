import { awsError } from './api.js';
import type { SimGroup, SimMember } from './asg-model.js';

// Capacity units of a weighted group. "Configure an Auto Scaling group to use instance weights" (Amazon
// EC2 Auto Scaling user guide, https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-weighting.html)
// and LaunchTemplateOverrides.WeightedCapacity (API reference):
// - with weights, "these weights translate into the number of units that each instance counts toward
//   your desired capacity", and DesiredCapacity, MinSize and MaxSize "must be specified with the same
//   units that you use for weighting instances";
// - the group "launches instances until the desired capacity is totally fulfilled, even if this results
//   in an overage" (two units missing and only a five-unit instance: desired is exceeded by three);
// - "Current capacity will either be at the desired capacity or above it" (the scale-in in asg-state.ts
//   therefore never takes the group below its desired units), and MaxSize may be exceeded for that: "The
//   hard limit ... is a value that is equal to your desired capacity plus your largest weight" (user
//   guide, instance weighting behaviours; UpdateAutoScalingGroup MaxSize);
// - "If you specify a value for WeightedCapacity for one instance type, you must specify a value for
//   WeightedCapacity for all of them", each from 1 to 999.
// DesiredCapacityType (CreateAutoScalingGroup / AutoScalingGroup API reference) "units | vcpu |
// memory-mib": with vcpu or memory-mib every instance counts its vCPUs or its memory in MiB. AWS supports
// it for attribute-based instance type selection only; the sim picks among listed types and reads their
// size from the table below (the sizes EC2's DescribeInstanceTypes reports for them).

/** vCPUs and memory (MiB) of the instance types scenarios and tests use. */
export const INSTANCE_SIZES: Readonly<Record<string, { vcpu: number; memoryMiB: number }>> = {
  't3.micro': { vcpu: 2, memoryMiB: 1024 },
  't3.small': { vcpu: 2, memoryMiB: 2048 },
  't3.medium': { vcpu: 2, memoryMiB: 4096 },
  't3.large': { vcpu: 2, memoryMiB: 8192 },
  'm5.large': { vcpu: 2, memoryMiB: 8192 },
  'm5.xlarge': { vcpu: 4, memoryMiB: 16384 },
  'm5.2xlarge': { vcpu: 8, memoryMiB: 32768 },
  'm5a.large': { vcpu: 2, memoryMiB: 8192 },
  'm5a.xlarge': { vcpu: 4, memoryMiB: 16384 },
  'm6i.large': { vcpu: 2, memoryMiB: 8192 },
  'm6i.xlarge': { vcpu: 4, memoryMiB: 16384 },
  'c5.large': { vcpu: 2, memoryMiB: 4096 },
  'c5.xlarge': { vcpu: 4, memoryMiB: 8192 },
  'c5.2xlarge': { vcpu: 8, memoryMiB: 16384 },
  'c5.4xlarge': { vcpu: 16, memoryMiB: 32768 },
  'r5.large': { vcpu: 2, memoryMiB: 16384 },
  'r5.xlarge': { vcpu: 4, memoryMiB: 32768 },
};

export const DESIRED_CAPACITY_TYPES = ['units', 'vcpu', 'memory-mib'] as const;

/** The units an instance of `instanceType` counts for in `g`; 1 in a group without weights. */
export function memberWeight(
  g: Pick<SimGroup, 'mixedInstancesPolicy' | 'desiredCapacityType'>,
  instanceType: string,
): number {
  const kind = g.desiredCapacityType ?? 'units';
  if (kind === 'vcpu' || kind === 'memory-mib') {
    const size = INSTANCE_SIZES[instanceType];
    if (!size)
      throw awsError(
        'ValidationError',
        `Instance type ${instanceType} has no known size for DesiredCapacityType ${kind}.`,
      );
    return kind === 'vcpu' ? size.vcpu : size.memoryMiB;
  }
  const o = g.mixedInstancesPolicy?.overrides.find((x) => x.instanceType === instanceType);
  const w = Number(o?.weightedCapacity ?? 1);
  return Number.isFinite(w) && w > 0 ? w : 1;
}

/** Units of these members together. */
export function unitsOf(members: Iterable<SimMember>): number {
  let n = 0;
  for (const m of members) n += m.weight;
  return n;
}

/** The largest units one instance of the group can count for: how far MaxSize may be exceeded. */
export function largestWeight(g: Pick<SimGroup, 'mixedInstancesPolicy' | 'desiredCapacityType'>): number {
  const types = g.mixedInstancesPolicy?.overrides.map((o) => o.instanceType).filter((t): t is string => !!t);
  let max = 1;
  for (const t of types ?? []) max = Math.max(max, memberWeight(g, t));
  return max;
}

/**
 * CreateAutoScalingGroup's checks on weights and the capacity type: weights on all overrides or none,
 * each 1-999, and a known DesiredCapacityType.
 */
export function validateUnits(
  g: Pick<SimGroup, 'name' | 'mixedInstancesPolicy' | 'desiredCapacityType'>,
): void {
  const kind = g.desiredCapacityType;
  if (kind !== undefined && !(DESIRED_CAPACITY_TYPES as readonly string[]).includes(kind))
    throw awsError(
      'ValidationError',
      `1 validation error detected: Value '${kind}' at 'desiredCapacityType' failed to satisfy constraint: Member must satisfy enum value set: [units, vcpu, memory-mib]`,
    );
  const overrides = g.mixedInstancesPolicy?.overrides ?? [];
  const weighted = overrides.filter((o) => o.weightedCapacity !== undefined);
  if (weighted.length > 0 && weighted.length < overrides.length)
    throw awsError(
      'ValidationError',
      `${g.name}: if you specify a value for WeightedCapacity for one instance type, you must specify a value for WeightedCapacity for all of them`,
    );
  for (const o of weighted) {
    const w = Number(o.weightedCapacity);
    if (!Number.isInteger(w) || w < 1 || w > 999)
      throw awsError(
        'ValidationError',
        `${g.name}: WeightedCapacity ${o.weightedCapacity} of ${o.instanceType ?? 'an override'} must be a whole number from 1 to 999`,
      );
  }
}
