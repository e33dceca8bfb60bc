import type { Market } from '../domain/types.js';
import type { SimGroup, SimMember } from './asg-model.js';
import { countMarkets, onDemandTarget } from './asg-placement.js';

// What Auto Scaling does after UpdateAutoScalingGroup changes OnDemandBaseCapacity or
// OnDemandPercentageAboveBaseCapacity: "an update to this setting means a gradual replacement of
// instances to adjust the current On-Demand and Spot Instance levels ... Amazon EC2 Auto Scaling
// launches new instances before terminating the previous ones" (CloudFormation
// AWS::AutoScaling::AutoScalingGroup InstancesDistribution). A change of SpotAllocationStrategy,
// SpotInstancePools or SpotMaxPrice "does not deploy any changes across the running EC2 instances"
// (InstancesDistribution API reference), and neither does attaching instances.

/** Whether this change of the distribution makes the group replace running instances. */
export function replacesInstances(
  before: SimGroup['mixedInstancesPolicy'],
  after: SimGroup['mixedInstancesPolicy'],
): boolean {
  const b = before?.instancesDistribution;
  const a = after?.instancesDistribution;
  return (
    (b?.onDemandBaseCapacity ?? 0) !== (a?.onDemandBaseCapacity ?? 0) ||
    (b?.onDemandPercentageAboveBaseCapacity ?? 100) !== (a?.onDemandPercentageAboveBaseCapacity ?? 100)
  );
}

/**
 * The market a settled group has too many of for its distribution at its desired capacity (the one to
 * terminate once a replacement of the other market serves), or undefined when the split is right.
 */
export function surplusMarket(g: SimGroup, active: readonly SimMember[]): Market | undefined {
  const d = g.mixedInstancesPolicy?.instancesDistribution;
  if (!d || active.some((m) => m.lifecycleState !== 'InService')) return undefined;
  const target = onDemandTarget(
    g.desired,
    d.onDemandBaseCapacity ?? 0,
    d.onDemandPercentageAboveBaseCapacity ?? 100,
  );
  const { od } = countMarkets([...active]);
  if (od < target) return 'spot';
  if (od > target) return 'on-demand';
  return undefined;
}

/**
 * The member of `market` to terminate: in the AZ with the most members (so the replacement keeps the
 * AZs balanced, as Auto Scaling's termination policy does first), the oldest there; never one protected
 * from scale in.
 */
export function surplusVictim(active: readonly SimMember[], market: Market): SimMember | undefined {
  const perAz = new Map<string, number>();
  for (const m of active) perAz.set(m.az, (perAz.get(m.az) ?? 0) + 1);
  let victim: SimMember | undefined;
  for (const m of active) {
    if (m.market !== market || m.protectedFromScaleIn || m.lifecycleState !== 'InService') continue;
    const byAz = victim ? (perAz.get(m.az) ?? 0) - (perAz.get(victim.az) ?? 0) : 1;
    if (byAz > 0 || (byAz === 0 && m.launchedAt < victim!.launchedAt)) victim = m;
  }
  return victim;
}
