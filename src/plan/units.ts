import type { AsgMember, Group } from '../domain/types.js';

// Capacity units (issue 11 rule 6). In a group with instance weights (the overrides' WeightedCapacity) or
// a DesiredCapacityType of vcpu / memory-mib, DesiredCapacity, MinSize and MaxSize count units, not
// instances ("Configure an Auto Scaling group to use instance weights", Amazon EC2 Auto Scaling user
// guide; DesiredCapacityType in the CreateAutoScalingGroup API reference), and AttachInstances /
// DetachInstances with decrement move desired by the instances' units. So every +1 / -1 spotmax makes to
// desired or MaxSize for one instance is that instance's units, and every count compared with desired is
// a sum of units. In a group without weights every member is 1 unit and nothing changes.

/** The units a member counts for: DescribeAutoScalingGroups reports its WeightedCapacity; 1 without. */
export function memberUnits(m: Pick<AsgMember, 'weightedCapacity'> | undefined): number {
  const w = m?.weightedCapacity;
  return w !== undefined && Number.isFinite(w) && w > 0 ? w : 1;
}

/** Units of these members together. */
export function sumUnits(members: Iterable<Pick<AsgMember, 'weightedCapacity'>>): number {
  let n = 0;
  for (const m of members) n += memberUnits(m);
  return n;
}

/** Whether desired, min and max of the group count something other than instances. */
export function isWeighted(group: Group): boolean {
  if (group.desiredCapacityType && group.desiredCapacityType !== 'units') return true;
  return (
    (group.mixedInstancesPolicy?.overrides ?? []).some((o) => o.weightedCapacity !== undefined) ||
    group.members.some((m) => m.weightedCapacity !== undefined && m.weightedCapacity !== 1)
  );
}

/** The units of the member `instanceId` (1 when it is not a member any more). */
export function unitsOfMember(group: Group, instanceId: string): number {
  return memberUnits(group.members.find((m) => m.instanceId === instanceId));
}

/**
 * The units an instance of `instanceType` would count for in `group`, or undefined when they cannot be
 * known: the override's WeightedCapacity; with vcpu / memory-mib (or a type the overrides do not list)
 * what a member of that type reports; 1 in a group without weights.
 */
export function unitsOfType(group: Group, instanceType: string | undefined): number | undefined {
  if (!isWeighted(group)) return 1;
  const byCapacityType = group.desiredCapacityType && group.desiredCapacityType !== 'units';
  if (!byCapacityType && instanceType) {
    const o = group.mixedInstancesPolicy?.overrides.find((x) => x.instanceType === instanceType);
    const w = Number(o?.weightedCapacity);
    if (Number.isFinite(w) && w > 0) return w;
  }
  const seen = group.members.find((m) => m.instanceType === instanceType && m.weightedCapacity !== undefined);
  return seen ? memberUnits(seen) : undefined;
}

/** `3 units` in a weighted group, `3` in another: counts in reasons. */
export function showUnits(group: Group, n: number): string {
  return isWeighted(group) ? `${n} unit${n === 1 ? '' : 's'}` : String(n);
}
