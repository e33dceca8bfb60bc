import type { Provenanced, ResolvedGroup } from '../config/resolved.js';
import type { Action } from '../domain/actions.js';
import { STANDBY_FOR_TAG } from '../domain/tags.js';
import type { Observation } from '../domain/types.js';
import { isWeighted, memberUnits } from '../plan/units.js';

// The report `plan` prints and `apply` acts on. Its JSON form is a stable contract: keys are only
// ever added, never renamed or removed.

export interface ObservedCounts {
  desired: number;
  min: number;
  max: number;
  inService: number;
  spot: number;
  onDemand: number;
  standby: number;
  volumes: number;
  /** The group's suspended scaling processes (Launch, Terminate, AZRebalance, ...); empty when none. */
  suspendedProcesses: string[];
  /**
   * Weighted groups only (plan/units.ts): desired, min and max count units, not instances; this is the
   * units the InService members count for, to compare with desired.
   */
  inServiceUnits?: number;
}

export interface ReportAction {
  kind: string;
  target: string;
  reason: string;
}

export interface GroupReport {
  name: string;
  managed: boolean;
  /** Why the group is not managed; null when it is. */
  reason: string | null;
  policy: string | null;
  problems: string[];
  config: Record<string, Provenanced>;
  observed: ObservedCounts;
  actions: ReportAction[];
}

export interface PlanReport {
  region: string;
  generatedAt: string;
  groups: GroupReport[];
  /** Region-level actions not tied to a live group: standbys of groups that no longer exist. */
  orphans: ReportAction[];
}

export interface GroupPlan {
  resolved: ResolvedGroup;
  actions: Action[];
  problems?: string[];
}

export function observedCounts(resolved: ResolvedGroup, observation: Observation): ObservedCounts {
  const g = resolved.group;
  let inService = 0;
  let inServiceUnits = 0;
  let spot = 0;
  let onDemand = 0;
  for (const m of g.members) {
    if (m.lifecycleState === 'InService') {
      inService++;
      inServiceUnits += memberUnits(m);
    }
    const inst = observation.instances.get(m.instanceId);
    if (!inst || inst.state === 'terminated' || inst.state === 'shutting-down') continue;
    if (inst.market === 'spot') spot++;
    else onDemand++;
  }
  const standby = observation.standbys.filter(
    (s) => s.tags[STANDBY_FOR_TAG] === g.name && s.state !== 'terminated' && s.state !== 'shutting-down',
  ).length;
  const volumes = observation.volumes.filter((v) => v.tags['spotmax:group'] === g.name).length;
  return {
    desired: g.desired,
    min: g.min,
    max: g.max,
    inService,
    spot,
    onDemand,
    standby,
    volumes,
    suspendedProcesses: [...(g.suspendedProcesses ?? [])],
    ...(isWeighted(g) ? { inServiceUnits } : {}),
  };
}

/**
 * What suspended processes change for spotmax ("Suspend and resume Amazon EC2 Auto Scaling processes";
 * "How suspended processes affect other processes"), said in plan so nobody expects a replacement that
 * will not come.
 */
export function suspensionProblems(resolved: ResolvedGroup): string[] {
  const suspended = resolved.group.suspendedProcesses ?? [];
  if (!resolved.managed || !suspended.includes('Launch')) return [];
  const standbys = resolved.settings?.standby.size ?? 0;
  return [
    `Launch is suspended: the group launches no replacement for a member detached without decrement, so spotmax ${standbys > 0 ? 'swaps in a standby or ' : ''}detaches an interrupted member with decrement (while desired stays at or above MinSize ${resolved.group.min}) until Launch is resumed`,
  ];
}

export function buildPlanReport(
  observation: Observation,
  plans: GroupPlan[],
  orphans: Action[] = [],
): PlanReport {
  const groups = plans
    .map(
      ({ resolved, actions, problems }): GroupReport => ({
        name: resolved.group.name,
        managed: resolved.managed,
        reason: resolved.managed ? null : (resolved.unmanagedReason ?? 'not managed'),
        policy: resolved.policyName ?? null,
        problems: [...resolved.problems, ...(problems ?? []), ...suspensionProblems(resolved)],
        config: resolved.managed ? resolved.provenance : {},
        observed: observedCounts(resolved, observation),
        actions: actions.map((a) => ({ kind: a.kind, target: a.target, reason: a.reason })),
      }),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    region: observation.region,
    generatedAt: observation.observedAt.toISOString(),
    groups,
    orphans: orphans.map((a) => ({ kind: a.kind, target: a.target, reason: a.reason })),
  };
}

/** What a plan comes to: actions pending, groups they touch, problems found. */
export function planTotals(report: PlanReport): {
  actions: number;
  groupsWithActions: number;
  problems: number;
  managed: number;
  unmanaged: number;
} {
  return {
    actions: report.groups.reduce((n, g) => n + g.actions.length, 0) + report.orphans.length,
    groupsWithActions: report.groups.filter((g) => g.actions.length > 0).length,
    problems: report.groups.reduce((n, g) => n + g.problems.length, 0),
    managed: report.groups.filter((g) => g.managed).length,
    unmanaged: report.groups.filter((g) => !g.managed).length,
  };
}

/** The one line a reviewer reads first (terraform's "Plan: 1 to add, ..."), at the top of text and markdown. */
export function planSummary(report: PlanReport): string {
  const t = planTotals(report);
  const groups = `${t.managed} group(s) managed, ${t.unmanaged} not managed`;
  const problems = `${t.problems} problem(s)`;
  if (t.actions === 0) return `No changes. ${groups}; ${problems}.`;
  const where = `${t.groupsWithActions} group(s)${report.orphans.length > 0 ? ' and the region' : ''}`;
  return `Plan: ${t.actions} action(s) in ${where}. ${groups}; ${problems}.`;
}
