import { GROUP_TAG, STANDBY_FOR_TAG, TAG_PREFIX } from '../../domain/tags.js';
import type { Group, Instance, Observation, Volume } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';
import { yieldToEventLoop } from '../../timing/yield.js';
import { describeKnown, describeLaunched } from './eventual.js';
import { recentStandbyLaunches } from './recent-launches.js';

export interface ObserveOptions {
  /** Only these groups (and their standbys and volumes); all groups of the region when unset. */
  groupNames?: string[];
}

/** Work taken in one turn of the event loop: groups, and instances put into the observation's map. */
const TURN_GROUPS = 100;
const TURN_INSTANCES = 10_000;

/** Set by Auto Scaling on the instances of a group, attached ones included. */
const ASG_NAME_TAG = 'aws:autoscaling:groupName';

/** Groups spotmax may act on carry at least one spotmax:* tag; the others are listed, not described. */
function hasSpotmaxTag(group: Group): boolean {
  return group.tags.some((t) => t.key.startsWith(TAG_PREFIX));
}

/**
 * One read of the region. Call count for N groups of M instances: ceil(N/100) DescribeAutoScalingGroups,
 * ceil((N·M + standbys)/1000) DescribeInstances plus one filtered by tag (standbys), one DescribeVolumes
 * filtered by tag and ceil(volumes/500) more to describe them. Joins go through maps and sets, never nested scans.
 */
export async function observe(cloud: Cloud, clock: Clock, opts: ObserveOptions = {}): Promise<Observation> {
  const observedAt = clock.now();
  const wanted = opts.groupNames ? new Set(opts.groupNames) : undefined;
  // A one-group pass reads its groups' standbys and volumes (tag:<key> value filters), not the region's.
  const standbysOf = opts.groupNames ? { [STANDBY_FOR_TAG]: opts.groupNames } : undefined;
  const volumesOf = opts.groupNames ? { [GROUP_TAG]: opts.groupNames } : undefined;
  // The tag lookups do not depend on the groups, so they run alongside DescribeAutoScalingGroups.
  const [groups, taggedStandbyIds, volumeIds] = await Promise.all([
    cloud.autoscaling.describeGroups(opts.groupNames),
    // DescribeInstances / DescribeVolumes tag-key filters, not the Resource Groups Tagging API: that one
    // answers from its own index, which lags tag changes and still lists deleted resources (AWS re:Post
    // "Only get existing resources with ResourceGroupTaggingAPI get-resources"), so a standby launched a
    // minute ago could be missed (and launched again) and a deleted volume listed.
    cloud.ec2.findInstanceIdsByTag(STANDBY_FOR_TAG, standbysOf),
    cloud.ec2.findVolumeIdsByTag(GROUP_TAG, volumesOf),
  ]);

  // Plus the standbys this process launched moments ago, which the filter may not list yet.
  const standbyIds = new Set([
    ...taggedStandbyIds,
    ...recentStandbyLaunches(cloud.ec2, observedAt.getTime()),
  ]);
  // Members are listed once each (a member is in one group), so they go into an array, not a set: a full
  // pass touches 50,000 ids, and every hash table of them costs milliseconds to build (issue 16). Only
  // the few standby ids are looked up, to leave out those that are members now.
  const memberStandbys = new Set<string>();
  const describedIds = [...standbyIds];
  for (const [k, group] of groups.entries()) {
    // In turns of the event loop, as below: the fast path shares it.
    if (k > 0 && k % TURN_GROUPS === 0) await yieldToEventLoop(clock);
    const described = hasSpotmaxTag(group);
    for (const m of group.members) {
      if (standbyIds.has(m.instanceId)) memberStandbys.add(m.instanceId);
      else if (described) describedIds.push(m.instanceId);
    }
  }

  const [described, volumes] = await Promise.all([
    // A member the ASG launched seconds ago may be unknown to EC2 yet: it is left out, not a failed pass.
    describeKnown(cloud.ec2, describedIds),
    volumeIds.length ? cloud.ec2.describeVolumes(volumeIds) : Promise.resolve<Volume[]>([]),
  ]);

  // 50,000 instances into one Map took 10-40 ms in one turn of the event loop (bench/reconcile.ts), a
  // wait for every Spot warning handled meanwhile: a turn every 10,000.
  const instances = new Map<string, Instance>();
  for (let k = 0; k < described.length; k++) {
    if (k > 0 && k % TURN_INSTANCES === 0) await yieldToEventLoop(clock);
    const i = described[k]!;
    instances.set(i.instanceId, i);
  }

  // A standby found by its tag but not yet by id was launched seconds ago: wait for EC2 to know it
  // rather than plan as if it were missing (which would launch a second one).
  const late = await Promise.all(
    [...standbyIds]
      .filter((id) => !instances.has(id))
      .map((id) => describeLaunched(cloud.ec2, clock, id, 'a standby just launched')),
  );
  for (const i of late) if (i) instances.set(i.instanceId, i);

  // A standby that was attached to a group is a member now, whatever its spotmax tags still say; the
  // ASG's own tag tells so even when that group was not observed (groupNames).
  const standbys: Instance[] = [];
  for (const id of standbyIds) {
    const i = instances.get(id);
    if (!i || i.state === 'terminated' || memberStandbys.has(id) || i.tags[ASG_NAME_TAG]) continue;
    const owner = i.tags[STANDBY_FOR_TAG];
    if (wanted && (!owner || !wanted.has(owner))) continue;
    standbys.push(i);
  }

  return {
    region: cloud.region,
    observedAt,
    groups,
    instances,
    standbys,
    volumes: volumes.filter((v) => v.state !== 'deleted' && (!wanted || wanted.has(v.tags[GROUP_TAG] ?? ''))),
  };
}
