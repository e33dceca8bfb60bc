import type { ResolvedGroup } from '../config/resolved.js';
import type { GroupSettings } from '../config/schema.js';
import type { Action } from '../domain/actions.js';
import type { Group, Instance, Observation, ScalingActivity, Snapshot } from '../domain/types.js';
import type { InstanceRefresh } from '../ports/autoscaling.js';
import type { LaunchTemplateVersionInfo } from '../ports/ec2.js';
import type { StandbyFacts } from './standby-launch.js';

/** Everything a group's planners may look at. Pure data: no ports, no clock. */
export interface PlanInput {
  resolved: ResolvedGroup;
  observation: Observation;
  now: Date;
  /** Recent scaling activities of the group, when they were fetched (fallback detection needs them). */
  activities?: ScalingActivity[];
  /** The group's instance refreshes, most recent first, when they were fetched (voluntary replacements). */
  instanceRefreshes?: InstanceRefresh[];
  /** Snapshots of the group's persistent volumes, when they were fetched. */
  snapshots?: Snapshot[];
  /** The group's launch template version, resolved to a number (standbys are built from it). */
  launchTemplate?: LaunchTemplateVersionInfo;
  /** What standbys are launched as and from, images, types and status checks (plan/standby-launch.ts). */
  standbyFacts?: StandbyFacts;
  /**
   * Instances of the group that are no longer members but still matter: detached ones that carry a
   * replacement record (a crash between detach and terminate), and holders of the group's volumes.
   */
  outsiders?: Instance[];
}

/** One planner's contribution. `requeueAfterSeconds`: something is in progress, look again soon. */
export interface PlanPart {
  actions: Action[];
  problems: string[];
  requeueAfterSeconds?: number;
}

export interface GroupPlan extends PlanPart {}

/** The input of a managed group: settings are present. */
export interface ManagedInput extends PlanInput {
  group: Group;
  settings: GroupSettings;
}

export function emptyPart(): PlanPart {
  return { actions: [], problems: [] };
}

/** Concatenates parts; the soonest requeue wins. */
export function mergeParts(parts: PlanPart[]): PlanPart {
  const out = emptyPart();
  for (const p of parts) {
    out.actions.push(...p.actions);
    out.problems.push(...p.problems);
    out.requeueAfterSeconds = soonest(out.requeueAfterSeconds, p.requeueAfterSeconds);
  }
  return out;
}

export function soonest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
