import type { InstanceRefresh } from '../ports/autoscaling.js';

// An instance refresh replaces the group's instances itself ("Use an instance refresh to update instances
// in an Auto Scaling group"): a voluntary replacement by spotmax at the same time would replace an
// instance twice, or take one the refresh counts on. The statuses that mean "not finished" are those of
// InstanceRefresh.Status (API reference): Pending, InProgress, Cancelling, RollbackInProgress and Baking
// (waiting the bake time after the update, a rollback still possible).

const ACTIVE = new Set(['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking']);

/** The group's unfinished refresh, if any (DescribeInstanceRefreshes lists the most recent first). */
export function activeInstanceRefresh(
  refreshes: readonly InstanceRefresh[] | undefined,
): InstanceRefresh | undefined {
  return refreshes?.find((r) => ACTIVE.has(r.status));
}

/** `instance refresh 0a1b… InProgress (40 % complete, 3 to update)` for plan. */
export function showRefresh(r: InstanceRefresh): string {
  const detail = [
    r.percentageComplete !== undefined ? `${r.percentageComplete} % complete` : undefined,
    r.instancesToUpdate !== undefined ? `${r.instancesToUpdate} to update` : undefined,
  ].filter(Boolean);
  return `instance refresh ${r.id} ${r.status}${detail.length > 0 ? ` (${detail.join(', ')})` : ''}`;
}
