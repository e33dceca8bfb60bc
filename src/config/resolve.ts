import { TAG_PREFIX } from '../domain/tags.js';
import type { Group, LaunchTemplateRef } from '../domain/types.js';
import { dotted, issueMessage } from './issues.js';
import type { LoadedPolicy, PolicySet } from './load.js';
import { clonePlain, getPath, hasPath, type Plain, setPath } from './paths.js';
import type { Provenanced, ResolvedGroup } from './resolved.js';
import { type GroupSettings, specSchema } from './schema.js';
import { settingLeaves } from './schema-walk.js';
import { selectPolicy } from './select.js';
import { type ParsedTags, parseGroupTags } from './tag-keys.js';

// A group's effective configuration: defaults < policy YAML < ASG tags, validated as a whole (so
// cross-field rules hold for tag values too), every leaf with where it came from.

const hasRef = (r: LaunchTemplateRef | undefined) => !!r && (!!r.id || !!r.name);

function suitability(group: Group): string | undefined {
  if (hasRef(group.launchTemplate) || hasRef(group.mixedInstancesPolicy?.launchTemplate)) return undefined;
  const uses = group.launchConfigurationName
    ? `uses launch configuration ${group.launchConfigurationName}`
    : 'has no launch template';
  return `unsuitable: ${uses}; spotmax needs a launch template`;
}

export function resolveGroups(groups: Group[], policies: PolicySet): ResolvedGroup[] {
  return groups.map((g) => resolveGroup(g, policies));
}

export function resolveGroup(group: Group, policies: PolicySet): ResolvedGroup {
  const base = { group, provenance: {} };
  if (!group.tags.some((t) => t.key.startsWith(TAG_PREFIX))) {
    return { ...base, managed: false, unmanagedReason: 'not opted in: no spotmax:* tag', problems: [] };
  }
  const tags = parseGroupTags(group.tags);
  if (tags.enabled === false) {
    return { ...base, managed: false, unmanagedReason: 'opted out: spotmax:enabled=false', problems: [] };
  }
  const blocking: string[] = [];
  const unsuitable = suitability(group);
  if (unsuitable) blocking.push(unsuitable);
  blocking.push(...tags.errors);
  const selection = selectPolicy(group, tags.policy, policies);
  blocking.push(...selection.problems);

  let settings: GroupSettings | undefined;
  let provenance: Record<string, Provenanced> = {};
  // With a bad tag or no clear policy, a merge would be built on a guess: skip it.
  if (tags.errors.length === 0 && selection.problems.length === 0) {
    const merged = merge(selection.policy, tags);
    blocking.push(...merged.problems);
    settings = merged.settings;
    provenance = merged.provenance;
  }
  const managed = blocking.length === 0;
  return {
    group,
    managed,
    ...(managed ? {} : { unmanagedReason: blocking[0] }),
    problems: [...blocking, ...tags.warnings],
    ...(selection.policy ? { policyName: selection.policy.name } : {}),
    ...(managed && settings ? { settings } : {}),
    provenance,
  };
}

interface Merged {
  settings?: GroupSettings;
  provenance: Record<string, Provenanced>;
  problems: string[];
}

function merge(policy: LoadedPolicy | undefined, tags: ParsedTags): Merged {
  const written = ((policy?.input ?? policy?.policy)?.spec ?? {}) as Plain;
  const { match: _match, ...input } = clonePlain(written);
  for (const [path, { value }] of tags.settings) setPath(input, path, value);

  const sourceOf = (path: string): string => {
    const tag = tags.settings.get(path);
    if (tag) return `tag:${tag.key}`;
    if (policy && hasPath(written, path))
      return `policy:${policy.file}:${policy.line(path) ?? policy.at?.line ?? 1}`;
    return 'default';
  };
  const describeSource = (path: string): string | undefined => {
    const tag = tags.settings.get(path);
    if (tag) return `${path} from tag ${tag.key}`;
    if (policy && hasPath(written, path))
      return `${path} from policy "${policy.name}" (${sourceOf(path).slice(7)})`;
    return undefined;
  };

  const parsed = specSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((iss) => {
      const path = dotted(iss.path as PropertyKey[]);
      const section = path.split('.')[0]!;
      // Name whoever set the offending values, so the fix is obvious: a tag or a policy line.
      const involved = settingLeaves()
        .filter((l) => l.path === path || (iss.code === 'custom' && l.path.startsWith(`${section}.`)))
        .map((l) => describeSource(l.path))
        .filter((s): s is string => s !== undefined);
      const message = issueMessage(iss, input, specSchema);
      return involved.length ? `${message} [${involved.join('; ')}]` : message;
    });
    return { provenance: {}, problems };
  }
  const { match: _m, ...settings } = parsed.data;
  const provenance: Record<string, Provenanced> = {};
  for (const leaf of settingLeaves()) {
    provenance[leaf.path] = { value: getPath(settings, leaf.path) ?? null, source: sourceOf(leaf.path) };
  }
  return { settings, provenance, problems: [] };
}
