import type { InstanceRefresh } from '../ports/autoscaling.js';
import type { SimGroup, SimMember } from './asg-model.js';

// Instance refresh as the Auto Scaling user guide describes it ("Use an instance refresh to update
// instances in an Auto Scaling group"; StartInstanceRefresh and InstanceRefresh in the API reference): the
// group replaces every instance launched before the refresh, a batch at a time, terminating first and
// launching the replacement after, so that at least MinHealthyPercentage (default 90 %) of the desired
// capacity stays healthy; a batch is never less than one instance. Status Pending, then InProgress, then
// Successful once no old instance is left (PercentageComplete 100, InstancesToUpdate 0).

export interface SimRefresh extends InstanceRefresh {
  /** Members launched before this (virtual ms) are replaced. */
  startedAtMs: number;
  minHealthyPercentage: number;
  /** How many instances the refresh had to replace when it began. */
  total: number;
}

/** The refresh that is not finished, if any ("one instance refresh at a time": StartInstanceRefresh). */
export function activeRefresh(g: Pick<SimGroup, 'refreshes'>): SimRefresh | undefined {
  const r = g.refreshes?.[0];
  return r && (r.status === 'Pending' || r.status === 'InProgress') ? r : undefined;
}

/** Old members still to replace, oldest first. */
export function refreshLeft(r: SimRefresh, active: readonly SimMember[]): SimMember[] {
  return active.filter((m) => m.launchedAt < r.startedAtMs).sort((a, b) => a.launchedAt - b.launchedAt);
}

/** How many may be out of service at once: what MinHealthyPercentage leaves, at least one. */
export function refreshBatch(r: SimRefresh, desiredInstances: number): number {
  return Math.max(1, Math.floor((desiredInstances * (100 - r.minHealthyPercentage)) / 100));
}

/** The refresh as DescribeInstanceRefreshes gives it. */
export function describeRefresh(r: SimRefresh): InstanceRefresh {
  const { startedAtMs: _s, minHealthyPercentage: _m, total: _t, ...shape } = r;
  return structuredClone(shape);
}
