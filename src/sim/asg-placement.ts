import type { Market } from '../domain/types.js';
import type { SimGroup, SimMember } from './asg-model.js';

// Where a group's next instance goes, per "Auto Scaling groups with multiple instance types and
// purchase options": On-Demand base capacity first, then the On-Demand percentage of what is above it
// (rounded up, default 100 %); Spot across the override types; AZs kept balanced, and an AZ without
// capacity skipped for the next one, as Auto Scaling does.

export interface LaunchChoice {
  instanceType: string;
  az: string;
  market: Market;
}

export function countMarkets(members: SimMember[]): { od: number; spot: number } {
  let od = 0;
  for (const m of members) if (m.market === 'on-demand') od++;
  return { od, spot: members.length - od };
}

/** On-Demand instances the group should have at `capacity`. */
export function onDemandTarget(capacity: number, base: number, percentAboveBase: number): number {
  const baseCount = Math.min(capacity, base);
  return baseCount + Math.ceil(((capacity - baseCount) * percentAboveBase) / 100 - 1e-9);
}

export type Availability = (instanceType: string, az: string, market: Market) => boolean;

export function chooseLaunch(
  g: SimGroup,
  active: SimMember[],
  templateType: string,
  available: Availability,
): LaunchChoice | undefined {
  const mip = g.mixedInstancesPolicy;
  const types = mip?.overrides.map((o) => o.instanceType).filter((t): t is string => Boolean(t)) ?? [];
  if (types.length === 0) types.push(templateType);
  const dist = mip?.instancesDistribution;
  const { od } = countMarkets(active);
  const market: Market = !mip
    ? 'on-demand'
    : od <
        onDemandTarget(
          active.length + 1,
          dist?.onDemandBaseCapacity ?? 0,
          dist?.onDemandPercentageAboveBaseCapacity ?? 100,
        )
      ? 'on-demand'
      : 'spot';

  const perAz = new Map<string, number>(g.azs.map((az) => [az, 0]));
  const perPool = new Map<string, number>();
  for (const m of active) {
    perAz.set(m.az, (perAz.get(m.az) ?? 0) + 1);
    const k = `${m.instanceType}|${m.az}`;
    perPool.set(k, (perPool.get(k) ?? 0) + 1);
  }
  const azs = [...g.azs].sort((a, b) => (perAz.get(a) ?? 0) - (perAz.get(b) ?? 0));
  for (const az of azs) {
    const usable = types.filter((t) => available(t, az, market));
    if (usable.length === 0) continue;
    if (market === 'on-demand') return { instanceType: usable[0]!, az, market };
    // Spot: spread over the pools (a diversified allocation), fewest members first, override order breaking ties.
    const pools = dist?.spotInstancePools ? usable.slice(0, dist.spotInstancePools) : usable;
    let best = pools[0]!;
    for (const t of pools)
      if ((perPool.get(`${t}|${az}`) ?? 0) < (perPool.get(`${best}|${az}`) ?? 0)) best = t;
    return { instanceType: best, az, market };
  }
  return undefined;
}

/**
 * The StatusMessage of a launch that found no capacity, as Auto Scaling words it ("Troubleshoot Amazon
 * EC2 Auto Scaling: EC2 instance launch failures"): a Spot launch is prefixed "Could not launch Spot
 * Instances." with EC2's error code; an On-Demand one carries EC2's InsufficientInstanceCapacity text.
 */
export function launchFailureMessage(g: SimGroup, active: SimMember[], templateType: string): string {
  const mip = g.mixedInstancesPolicy;
  const dist = mip?.instancesDistribution;
  const { od } = countMarkets(active);
  const wantsSpot =
    !!mip &&
    od >=
      onDemandTarget(
        active.length + 1,
        dist?.onDemandBaseCapacity ?? 0,
        dist?.onDemandPercentageAboveBaseCapacity ?? 100,
      );
  if (wantsSpot)
    return 'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.';
  const type = mip?.overrides.find((o) => o.instanceType)?.instanceType ?? templateType;
  const azs = g.azs.join(', ');
  return `We currently do not have sufficient ${type} capacity in the Availability Zone you requested (${azs}). Our system will be working on provisioning additional capacity. Launching EC2 instance failed.`;
}
