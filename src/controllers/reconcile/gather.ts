import type { ResolvedGroup } from '../../config/resolved.js';
import { describeError } from '../../domain/errors.js';
import {
  FALLBACK_FOR_TAG,
  FALLBACK_ORIGINAL_TAG,
  GROUP_TAG,
  REPLACEMENT_TAG,
  STANDBY_FOR_TAG,
} from '../../domain/tags.js';
import type { Instance, Observation, ScalingActivity, Snapshot } from '../../domain/types.js';
import type { StandbyFacts } from '../../plan/standby-launch.js';
import type { InstanceRefresh } from '../../ports/autoscaling.js';
import type { Cloud } from '../../ports/cloud.js';
import type { LaunchTemplateVersionInfo, TagValues } from '../../ports/ec2.js';
import { describeKnown } from './eventual.js';
import { gatherStandbyFacts, readStandbyStatuses } from './standby-facts.js';

// What the planners need beyond one observation, fetched only for the groups whose settings use it:
// scaling activities (fallback), snapshots (persistent volumes), the numeric launch template version
// (standbys), and instances outside the groups that still matter (a detached instance whose
// replacement did not finish; the holder of a group's volume). A failed read is a problem for that
// group, never a failed pass.

export interface GroupExtras {
  activities?: ScalingActivity[];
  instanceRefreshes?: InstanceRefresh[];
  snapshots?: Snapshot[];
  launchTemplate?: LaunchTemplateVersionInfo;
  standbyFacts?: StandbyFacts;
  outsiders: Instance[];
  problems: string[];
}

export const ACTIVITIES_FETCHED = 50;
const GATHER_CONCURRENCY = 8;

export async function gatherExtras(
  cloud: Cloud,
  observation: Observation,
  groups: readonly ResolvedGroup[],
  /** The groups of a one-group pass: instances outside them are looked up for these groups only. */
  groupNames?: readonly string[],
  /**
   * Read every voluntary-replacing group's instance refreshes now (plan shows them); otherwise the pass
   * reads them only for a group whose plan starts a voluntary replacement (one call per group: at 500
   * groups, reading them all each pass is ten times the pass's other reads).
   */
  options: { instanceRefreshes: boolean } = { instanceRefreshes: true },
): Promise<Map<string, GroupExtras>> {
  const out = new Map<string, GroupExtras>();
  const managed = groups.filter((r) => r.managed && r.settings);
  for (const r of managed) out.set(r.group.name, { outsiders: [], problems: [] });
  if (managed.length === 0) return out;

  // A few groups at a time: a region with hundreds of groups must not burst the API rate limits.
  const queue = [...managed];
  // Status checks of every group's booting standbys in one read (not one call per group).
  const statusIds = managed
    .filter((r) => !r.settings!.standby.readiness.tag)
    .flatMap((r) =>
      observation.standbys
        .filter((s) => s.state === 'running' && s.tags[STANDBY_FOR_TAG] === r.group.name)
        .map((s) => s.instanceId),
    );
  const statuses = readStandbyStatuses(cloud.ec2, statusIds);
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift())
      await gatherGroup(cloud, observation, r, out.get(r.group.name)!, statuses, options);
  };
  await Promise.all([
    gatherOutsiders(cloud, observation, out, groupNames),
    ...Array.from({ length: Math.min(GATHER_CONCURRENCY, queue.length) }, worker),
  ]);
  return out;
}

async function gatherGroup(
  cloud: Cloud,
  observation: Observation,
  r: ResolvedGroup,
  extras: GroupExtras,
  statuses: ReturnType<typeof readStandbyStatuses>,
  options: { instanceRefreshes: boolean },
): Promise<void> {
  const settings = r.settings!;
  const group = r.group;
  const tasks: Promise<void>[] = [];
  const fallbackActive = group.tags.some((t) => t.key === FALLBACK_ORIGINAL_TAG);
  if (settings.onDemandFallback.enabled || fallbackActive) {
    tasks.push(
      cloud.autoscaling.describeScalingActivities(group.name, ACTIVITIES_FETCHED).then(
        (a) => {
          extras.activities = a;
        },
        (err) => {
          extras.problems.push(`could not read scaling activities of ${group.name}: ${describeError(err)}`);
        },
      ),
    );
  }
  if (options.instanceRefreshes && makesVoluntaryReplacements(r))
    tasks.push(readInstanceRefreshes(cloud, r, extras));
  if (settings.persistentVolume.device) {
    tasks.push(
      cloud.ec2.describeSnapshots({ [GROUP_TAG]: group.name }).then(
        (s) => {
          extras.snapshots = s;
        },
        (err) => {
          extras.problems.push(`could not read snapshots of ${group.name}: ${describeError(err)}`);
        },
      ),
    );
  }
  const hasStandbys = observation.standbys.some((s) => s.tags[STANDBY_FOR_TAG] === group.name);
  const ref = group.mixedInstancesPolicy?.launchTemplate ?? group.launchTemplate;
  if ((settings.standby.size > 0 || hasStandbys) && ref) {
    tasks.push(
      cloud.ec2
        .describeLaunchTemplateVersion(ref)
        .then(
          async (lt) => {
            extras.launchTemplate = lt;
            const facts = await gatherStandbyFacts({
              ec2: cloud.ec2,
              group,
              main: lt,
              standbys: observation.standbys.filter((s) => s.tags[STANDBY_FOR_TAG] === group.name),
              wantHibernation: settings.standby.state === 'hibernated',
              nowMs: observation.observedAt.getTime(),
              statuses,
              ...(settings.standby.readiness.tag ? { readinessTag: settings.standby.readiness.tag } : {}),
            });
            extras.standbyFacts = facts;
            extras.problems.push(...facts.problems);
          },
          (err) => {
            extras.problems.push(
              `could not resolve launch template ${ref.id ?? ref.name} version ${ref.version ?? '$Default'} of ${group.name}: ${describeError(err)}`,
            );
          },
        )
        .catch((err) => {
          extras.problems.push(
            `could not read what ${group.name}'s standbys launch as: ${describeError(err)}`,
          );
        }),
    );
  }
  await Promise.all(tasks);
}

async function gatherOutsiders(
  cloud: Cloud,
  observation: Observation,
  out: Map<string, GroupExtras>,
  groupNames: readonly string[] | undefined,
): Promise<void> {
  const known = observation.instances;
  const wanted = new Map<string, Set<string>>();
  const want = (id: string, group: string) => {
    if (known.has(id)) return;
    const set = wanted.get(id) ?? new Set<string>();
    set.add(group);
    wanted.set(id, set);
  };
  for (const v of observation.volumes) {
    const group = v.tags[GROUP_TAG];
    if (!group || !out.has(group)) continue;
    for (const a of v.attachments) want(a.instanceId, group);
  }
  // Instances tagged for a group outside it: a replacement's detached old instance, and the On-Demand
  // instances a fallback launched that are not attached yet.
  const tagged: string[] = [];
  // A one-group pass asks for its groups' only: a replacement's old instance names its group in
  // spotmax:group, a fallback's instance in spotmax:fallback-for.
  const scopes: Record<string, TagValues | undefined> = {
    [REPLACEMENT_TAG]: groupNames ? { [GROUP_TAG]: groupNames } : undefined,
    [FALLBACK_FOR_TAG]: groupNames ? { [FALLBACK_FOR_TAG]: groupNames } : undefined,
  };
  for (const key of [REPLACEMENT_TAG, FALLBACK_FOR_TAG]) {
    try {
      // DescribeInstances' tag-key filter: authoritative (observe.ts says why not the Tagging API).
      // Terminated old instances too: one Auto Scaling took out between two passes may still carry
      // capacity added for it (plan/replacement.ts inFlightReplacements).
      tagged.push(
        ...(await cloud.ec2.findInstanceIdsByTag(key, scopes[key], { terminated: key === REPLACEMENT_TAG })),
      );
    } catch (err) {
      for (const e of out.values())
        e.problems.push(`could not list instances with ${key}: ${describeError(err)}`);
    }
  }
  // Not `known`: the observation may still hold an old instance that left its group since (it was a
  // member when last described); only a current member is covered by the members' own read. The few
  // tagged ids go in the set, not the region's 50,000 members (a hash table of those costs ms a pass).
  const taggedSet = new Set(tagged);
  const taggedMembers = new Set<string>();
  if (taggedSet.size > 0)
    for (const g of observation.groups)
      for (const m of g.members) if (taggedSet.has(m.instanceId)) taggedMembers.add(m.instanceId);
  const retiringIds = tagged.filter((id) => !taggedMembers.has(id));
  const ids = [...new Set([...wanted.keys(), ...retiringIds])];
  if (ids.length === 0) return;
  let described: Instance[];
  try {
    described = await describeKnown(cloud.ec2, ids);
  } catch (err) {
    for (const e of out.values())
      e.problems.push(
        `could not describe ${ids.length} instance(s) outside the groups: ${describeError(err)}`,
      );
    return;
  }
  for (const i of described) {
    const groups = new Set(wanted.get(i.instanceId) ?? []);
    const owner = i.tags[GROUP_TAG];
    if (owner && i.tags[REPLACEMENT_TAG] !== undefined) groups.add(owner);
    const fallbackFor = i.tags[FALLBACK_FOR_TAG];
    if (fallbackFor) groups.add(fallbackFor);
    for (const g of groups) out.get(g)?.outsiders.push(i);
  }
}

/** Whether the group's settings make voluntary replacements (lifetime, rebalance, return to Spot). */
export function makesVoluntaryReplacements(r: ResolvedGroup): boolean {
  const settings = r.settings!;
  return (
    settings.lifetime.durationHours !== undefined ||
    settings.lifetime.guaranteeMinutes !== undefined ||
    settings.rebalance.action === 'replace' ||
    r.group.tags.some((t) => t.key === FALLBACK_ORIGINAL_TAG)
  );
}

/**
 * Voluntary replacements wait while an instance refresh replaces the group's instances
 * (plan/instance-refresh.ts). A failed read counts as a refresh in progress: replacing during one is
 * the worse mistake.
 */
export function readInstanceRefreshes(cloud: Cloud, r: ResolvedGroup, extras: GroupExtras): Promise<void> {
  return cloud.autoscaling.describeInstanceRefreshes(r.group.name).then(
    (refreshes) => {
      extras.instanceRefreshes = refreshes;
    },
    (err) => {
      extras.problems.push(
        `could not read instance refreshes of ${r.group.name}: ${describeError(err)}; voluntary replacements wait`,
      );
      extras.instanceRefreshes = [{ id: '(unknown)', status: 'Pending' }];
    },
  );
}
