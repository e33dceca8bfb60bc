import { planFallback } from './fallback.js';
import { type GroupPlan, type ManagedInput, mergeParts, type PlanInput } from './input.js';
import { planLifetime } from './lifetime.js';
import { planMembership } from './membership.js';
import { planRebalance } from './rebalance.js';
import { planReplacements, type ReplacementCandidate } from './replacement.js';
import { planStandby } from './standby.js';
import { planVolumes } from './volumes.js';

export type { GroupPlan, PlanInput } from './input.js';

/**
 * The actions that bring one managed group to its desired state (none for an unmanaged one), with their reasons, problems for `plan` to show, and how soon to look again when something
 * is in progress. Pure: the same input always gives the same plan.
 */
export function planGroup(input: PlanInput): GroupPlan {
  const { resolved, observation } = input;
  if (!resolved.managed || !resolved.settings) return { actions: [], problems: [] };
  const managed: ManagedInput = { ...input, group: resolved.group, settings: resolved.settings };

  const lifetime = planLifetime(managed);
  const fallback = planFallback(managed);
  // Priority for the voluntary budget: hard lifetime limits, rebalance, the rest of lifetime, return to Spot.
  const candidates: ReplacementCandidate[] = [
    ...lifetime.candidates.filter((c) => c.urgent),
    ...planRebalance(managed),
    ...lifetime.candidates.filter((c) => !c.urgent),
    ...fallback.candidates,
  ];
  return mergeParts([
    { actions: planMembership(resolved.group, observation.instances), problems: [] },
    fallback,
    planReplacements(managed, candidates, lifetime.overdue),
    planStandby(managed),
    planVolumes(managed),
  ]);
}
