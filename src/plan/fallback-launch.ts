import type { ActionOf } from '../domain/actions.js';
import type { ManagedInput } from './input.js';
import { isLeavingState, membersWithInstances } from './members.js';
import { showUnits, unitsOfType } from './units.js';

// Where the fallback's On-Demand instances go: the group's launch template, its first override type
// (the order a `prioritized` On-Demand allocation follows), spread over the group's subnets (or AZs)
// with the fewest members first, as the group itself balances.

/** `missing` is in the group's units (plan/units.ts): as many instances as cover them are launched. */
export function planFallbackLaunch(
  input: ManagedInput,
  missing: number,
  record: string,
  why: string,
): { action: ActionOf<'fallback-launch'> } | { problem: string } {
  const { group } = input;
  const policy = group.mixedInstancesPolicy;
  const launchTemplate = policy?.launchTemplate ?? group.launchTemplate;
  if (!launchTemplate) {
    return { problem: 'cannot fall back to On-Demand: the group has no launch template to launch from' };
  }
  const instanceType = policy?.overrides.find((o) => o.instanceType)?.instanceType;
  const each = unitsOfType(group, instanceType);
  if (each === undefined) {
    return {
      problem: `cannot fall back to On-Demand: the units of ${instanceType ?? "the template's instance type"} in ${group.name} (DesiredCapacityType ${group.desiredCapacityType ?? 'units'}) are unknown until a member of that type reports them`,
    };
  }
  const count = Math.ceil(missing / each);
  const views = membersWithInstances(input).filter((v) => !isLeavingState(v.member.lifecycleState));
  const placements: ActionOf<'fallback-launch'>['placements'] = [];
  const bySubnet = new Map(group.subnetIds.map((s) => [s, 0]));
  const byZone = new Map(group.availabilityZones.map((z) => [z, 0]));
  for (const v of views) {
    if (v.instance.subnetId && bySubnet.has(v.instance.subnetId))
      bySubnet.set(v.instance.subnetId, bySubnet.get(v.instance.subnetId)! + 1);
    if (byZone.has(v.instance.availabilityZone))
      byZone.set(v.instance.availabilityZone, byZone.get(v.instance.availabilityZone)! + 1);
  }
  const counts = bySubnet.size > 0 ? bySubnet : byZone;
  for (let i = 0; i < count; i++) {
    const where = leastUsed(counts);
    if (where !== undefined) counts.set(where, counts.get(where)! + 1);
    placements.push({
      ...(instanceType ? { instanceType } : {}),
      ...(where === undefined ? {} : bySubnet.size > 0 ? { subnetId: where } : { availabilityZone: where }),
    });
  }
  return {
    action: {
      kind: 'fallback-launch',
      group: group.name,
      target: group.name,
      launchTemplate,
      placements,
      record,
      reason: `fallback-on-demand: ${why}; launch ${count} On-Demand to cover the shortfall${each !== 1 ? ` of ${showUnits(group, missing)} (${each} each)` : ''}`,
    },
  };
}

function leastUsed(counts: Map<string, number>): string | undefined {
  let best: string | undefined;
  for (const [k, n] of counts) if (best === undefined || n < counts.get(best)!) best = k;
  return best;
}
