import type { SimGroup, SimMember } from './asg-model.js';

// AZRebalance, per "Rebalancing activities" (Amazon EC2 Auto Scaling user guide) and "Suspend and resume
// Amazon EC2 Auto Scaling processes": when attaching or detaching instances (or a lost AZ) leaves the
// group's AZs uneven, Auto Scaling launches a new instance in the short AZ first and then terminates one in
// the long AZ, so capacity does not dip; for that it may go briefly above MaxSize (by up to 10 %, at least
// one instance). "How suspended processes affect other processes": with Launch suspended, AZRebalance
// stops rebalancing; with AZRebalance suspended, the group stays uneven.

export interface RebalanceMove {
  /** Where the new instance goes. */
  shortAz: string;
  /** Where an instance is terminated once the new one is InService. */
  longAz: string;
}

export function azCounts(azs: readonly string[], members: readonly SimMember[]): Map<string, number> {
  const counts = new Map<string, number>(azs.map((az) => [az, 0]));
  for (const m of members) counts.set(m.az, (counts.get(m.az) ?? 0) + 1);
  return counts;
}

/** The process that keeps the group from rebalancing, or undefined when it rebalances. */
export function rebalanceSuspendedBy(g: SimGroup): string | undefined {
  for (const p of ['AZRebalance', 'Launch']) if (g.suspendedProcesses.has(p)) return p;
  return undefined;
}

/**
 * The move that evens out the group's AZs, or undefined when they differ by at most one instance (the
 * balance Auto Scaling keeps). Only settled groups are rebalanced: every active member InService.
 */
export function rebalanceMove(g: SimGroup, active: readonly SimMember[]): RebalanceMove | undefined {
  if (g.azs.length < 2 || active.some((m) => m.lifecycleState !== 'InService')) return undefined;
  const counts = azCounts(g.azs, active);
  let shortAz = g.azs[0]!;
  let longAz = g.azs[0]!;
  for (const az of g.azs) {
    if ((counts.get(az) ?? 0) < (counts.get(shortAz) ?? 0)) shortAz = az;
    if ((counts.get(az) ?? 0) > (counts.get(longAz) ?? 0)) longAz = az;
  }
  return (counts.get(longAz) ?? 0) - (counts.get(shortAz) ?? 0) > 1 ? { shortAz, longAz } : undefined;
}

/** The member AZRebalance terminates in `az`: the oldest one not protected from scale in. */
export function rebalanceVictim(active: readonly SimMember[], az: string): SimMember | undefined {
  let victim: SimMember | undefined;
  for (const m of active) {
    if (m.az !== az || m.protectedFromScaleIn || m.lifecycleState !== 'InService') continue;
    if (!victim || m.launchedAt < victim.launchedAt) victim = m;
  }
  return victim;
}
