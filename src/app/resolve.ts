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
 */
export function memoizedResolve(): (groups: Group[], policies: PolicySet) => ResolvedGroup[] {
  let forPolicies: PolicySet | undefined;
  const cache = new Map<string, ResolvedGroup>();
  return (groups, policies) => {
    if (forPolicies !== policies) {
      cache.clear();
      forPolicies = policies;
    }
    const out: ResolvedGroup[] = [];
    for (const group of groups) {
      const key = JSON.stringify([
        group.name,
        group.tags,
        group.launchTemplate,
        group.mixedInstancesPolicy?.launchTemplate,
        group.launchConfigurationName,
      ]);
      let resolved = cache.get(key);
      if (!resolved) {
        resolved = resolveGroups([group], policies)[0]!;
        cache.set(key, resolved);
      }
      if (isOptedIn(resolved)) out.push(resolved.group === group ? resolved : { ...resolved, group });
    }
    return out;
  };
}
