import type { Ec2Port } from '../../ports/ec2.js';

// Standbys this process launched in the last minutes, by EC2 port. "Eventual consistency in the Amazon
// EC2 API": right after RunInstances a DescribeInstances (by id or by tag filter) may not list the new
// instance yet; a pass that followed a launch within seconds would plan the pool as short and launch
// again. The ids RunInstances answered are added to the next passes' standby lookups, where
// describeLaunched waits for EC2 to know them. Another process relies on the tag filter alone (its
// launches are older than the lag by the time it looks, or it double-launches once and trims the excess).

const REMEMBER_MS = 5 * 60_000;
const registry = new WeakMap<object, Map<string, number>>();

function of(ec2: Ec2Port): Map<string, number> {
  let m = registry.get(ec2);
  if (!m) {
    m = new Map();
    registry.set(ec2, m);
  }
  return m;
}

export function rememberStandbyLaunch(ec2: Ec2Port, ids: readonly string[], nowMs: number): void {
  const m = of(ec2);
  for (const id of ids) m.set(id, nowMs);
}

/** Ids launched less than five minutes ago (older ones are forgotten). */
export function recentStandbyLaunches(ec2: Ec2Port, nowMs: number): string[] {
  const m = of(ec2);
  for (const [id, at] of m) if (nowMs - at > REMEMBER_MS) m.delete(id);
  return [...m.keys()];
}
