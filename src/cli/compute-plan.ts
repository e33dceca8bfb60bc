import type { PolicySet } from '../config/load.js';
import { resolveGroups } from '../config/resolve.js';
import { observe } from '../controllers/reconcile/observe.js';
import type { Observation } from '../domain/types.js';
import { planGroup } from '../plan/group.js';
import type { Cloud } from '../ports/cloud.js';
import type { Clock } from '../ports/clock.js';
import { buildPlanReport, type GroupPlan, isOptedIn, type PlanReport } from './plan-report.js';

/** Observe the region once, resolve every opted-in group's config, and plan each managed one. */
export async function computePlan(
  cloud: Cloud,
  clock: Clock,
  policies: PolicySet,
): Promise<{ observation: Observation; plans: GroupPlan[]; report: PlanReport }> {
  const observation = await observe(cloud, clock);
  const resolved = resolveGroups(observation.groups, policies).filter(isOptedIn);
  const now = clock.now();
  const plans = resolved.map((r) => ({ resolved: r, actions: planGroup({ resolved: r, observation, now }) }));
  return { observation, plans, report: buildPlanReport(observation, plans) };
}
