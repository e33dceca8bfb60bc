import { memoizedResolve } from '../app/resolve.js';
import type { PolicySet } from '../config/load.js';
import type { SimRegion } from '../sim/region.js';

/**
 * Each opted-in group of the scenario's region resolved against the policies: the problems that would
 * make spotmax leave a group alone or run it on the wrong settings (a named policy the folder lacks, a bad
 * tag value), as "group NAME: problem" lines. A simulation with any of them would be a silent wrong answer.
 */
export async function scenarioPolicyProblems(region: SimRegion, policies: PolicySet): Promise<string[]> {
  const groups = await region.clock.drive(region.cloud.autoscaling.describeGroups());
  return memoizedResolve()(groups, policies).flatMap((r) =>
    r.problems.map((p) => `group ${r.group.name}: ${p}`),
  );
}
