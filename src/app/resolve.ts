import type { PolicySet } from '../config/load.js';
import { resolveGroups } from '../config/resolve.js';
import type { ResolvedGroup } from '../config/resolved.js';
import type { Group } from '../domain/types.js';

/** Groups that carry no spotmax tag at all are not spotmax's: left out of passes and reports. */
export function isOptedIn(resolved: ResolvedGroup): boolean {
  return resolved.group.tags.some((t) => t.key.startsWith('spotmax:'));
}

/**
 * resolveGroups for the opted-in groups, remembered per group while what resolution reads (name, tags,
 * launch template refs) and the policy set stay the same: every pass resolves every group, a region
 * holds hundreds, and most passes see them unchanged. The result carries the current group.
 * One entry per group name, holding the group last seen: keyed by what resolution reads, a group whose
 * tags changed left its old entry behind, and an entry kept the group it was first resolved with, whose
 * members (and everything cached on them) would otherwise live as long as the process.
 */
export function memoizedResolve(): (groups: Group[], policies: PolicySet) => ResolvedGroup[] {
  let forPolicies: PolicySet | undefined;
  const cache = new Map<string, { key: string; resolved: ResolvedGroup }>();
  return (groups, policies) => {
    if (forPolicies !== policies) {
      cache.clear();
      forPolicies = policies;
    }
    const out: ResolvedGroup[] = [];
    for (const group of groups) {
      const key = JSON.stringify([
        group.tags,
        group.launchTemplate,
        group.mixedInstancesPolicy?.launchTemplate,
        group.launchConfigurationName,
      ]);
      const hit = cache.get(group.name);
      let resolved: ResolvedGroup;
      if (hit?.key === key)
        resolved = hit.resolved.group === group ? hit.resolved : { ...hit.resolved, group };
      else resolved = resolveGroups([group], policies)[0]!;
      if (resolved !== hit?.resolved) cache.set(group.name, { key, resolved });
      if (isOptedIn(resolved)) out.push(resolved);
    }
    return out;
  };
}
