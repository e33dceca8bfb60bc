import type { ResolvedGroup } from '../config/resolved.js';
import type { Action } from '../domain/actions.js';
import type { Observation, ScalingActivity, Snapshot } from '../domain/types.js';
import { planMembership } from './membership.js';

/** Everything a group's planners may look at. Pure data: no ports, no clock. */
export interface PlanInput {
  resolved: ResolvedGroup;
  observation: Observation;
  now: Date;
  /** Recent scaling activities of the group, when they were fetched. */
  activities?: ScalingActivity[];
  /** Snapshots of the group's persistent volumes, when they were fetched. */
  snapshots?: Snapshot[];
}

/** The actions that bring one managed group to its desired state; none for an unmanaged one. */
export function planGroup(input: PlanInput): Action[] {
  const { resolved, observation } = input;
  if (!resolved.managed || !resolved.settings) return [];
  return [...planMembership(resolved.group, observation.instances)];
}
