import { RETIRE_REQUESTED_TAG } from '../domain/tags.js';
import type { ManagedInput } from './input.js';
import { membersWithInstances } from './members.js';
import type { ReplacementCandidate } from './replacement.js';

/**
 * Rebalance `replace`: the fast path tags an instance at elevated risk with spotmax:retire-requested;
 * the reconciler replaces it launch-before-retire. Oldest request first.
 */
export function planRebalance(input: ManagedInput): ReplacementCandidate[] {
  // With Capacity Rebalancing on, the ASG launches a replacement itself ("Capacity Rebalancing in Auto
  // Scaling to replace at-risk Spot Instances"): a second one from spotmax would double the capacity.
  // planReplacements says so in the plan for each such member.
  if (input.group.capacityRebalance) return [];
  return membersWithInstances(input)
    .filter((v) => v.instance.tags[RETIRE_REQUESTED_TAG] !== undefined)
    .sort((a, b) =>
      (a.instance.tags[RETIRE_REQUESTED_TAG] ?? '').localeCompare(
        b.instance.tags[RETIRE_REQUESTED_TAG] ?? '',
      ),
    )
    .map((v) => ({
      instanceId: v.member.instanceId,
      why: 'rebalance' as const,
      reason: `replace ${v.member.instanceId}: rebalance recommendation (retire requested ${v.instance.tags[RETIRE_REQUESTED_TAG] || 'without a time'})`,
    }));
}
