import type { ResolvedGroup } from '../../config/resolved.js';
import { isNotFound } from '../../domain/errors.js';
import { GROUP_TAG } from '../../domain/tags.js';
import type { Group, Instance } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';

export interface DirectoryEntry {
  resolved: ResolvedGroup;
  instance?: Instance;
}

/** Which managed group an instance belongs to, for the fast path. */
export interface GroupDirectory {
  /** The managed group holding the instance, or undefined when it is foreign or unmanaged. */
  lookup(instanceId: string): Promise<DirectoryEntry | undefined>;
  /** The managed group by name (lifecycle events name their group). */
  lookupGroup(groupName: string): Promise<ResolvedGroup | undefined>;
  /**
   * Replaces the index with the reconciler's view (the service feeds it after every pass). `complete`
   * false (no full pass has succeeded yet): the view may lack groups, so a miss is never taken as
   * "not managed" without asking AWS.
   */
  update(resolved: ResolvedGroup[], instances?: Map<string, Instance>, complete?: boolean): void;
}

export interface DirectoryOptions {
  cloud: Pick<Cloud, 'autoscaling' | 'ec2'>;
  resolve: (groups: Group[]) => ResolvedGroup[];
  clock: Clock;
  /** A miss triggers at most one describe of all groups per this many ms (a storm of foreign ids costs one call). */
  ttlMs: number;
}

/** The tag AWS puts on every instance an ASG launches or attaches. */
const ASG_NAME_TAG = 'aws:autoscaling:groupName';

/**
 * Membership index from the latest observation, with fallbacks so a freshly launched instance is found
 * without waiting for the next reconcile: on a miss, the instance itself is described (its
 * aws:autoscaling:groupName tag names its group); failing that, all groups are described again (shared by
 * concurrent misses, at most once per ttl, so a storm of foreign ids costs one call). Its reads have
 * the SDK's retries only: a lookup that still fails fails the message, which comes back within seconds
 * (consumer.ts retryDelaySeconds) and finds the directory refreshed or the throttling over.
 */
export function createDirectory(opts: DirectoryOptions): GroupDirectory {
  let groups = new Map<string, ResolvedGroup>();
  let byInstance = new Map<string, string>();
  let instances = new Map<string, Instance>();
  /** When the index last held every group (a full describe, or a complete view from the reconciler). */
  let refreshedAt = Number.NEGATIVE_INFINITY;
  let refreshing: Promise<void> | undefined;

  const update = (resolved: ResolvedGroup[], known?: Map<string, Instance>, complete = true) => {
    const g = new Map<string, ResolvedGroup>();
    const idx = new Map<string, string>();
    for (const r of resolved) {
      if (!r.managed || !r.settings) continue;
      g.set(r.group.name, r);
      for (const m of r.group.members) idx.set(m.instanceId, r.group.name);
    }
    groups = g;
    byInstance = idx;
    if (known) instances = known;
    notManagedAt.clear();
    // Only a complete view resets the refresh timer: a partial one must not hold off the describe of
    // all groups that would find a group it lacks.
    if (complete) refreshedAt = opts.clock.now().getTime();
  };

  const refresh = async (): Promise<void> => {
    if (opts.clock.now().getTime() - refreshedAt < opts.ttlMs) return;
    refreshing ??= opts.cloud.autoscaling
      .describeGroups()
      .then((all) => update(opts.resolve(all), instances, true))
      .finally(() => {
        refreshing = undefined;
      });
    await refreshing;
  };

  const entryFor = (instanceId: string): DirectoryEntry | undefined => {
    const name = byInstance.get(instanceId);
    const resolved = name ? groups.get(name) : undefined;
    return resolved ? { resolved, instance: instances.get(instanceId) } : undefined;
  };

  /** Group lookups in flight (a storm's misses for one group share one call), and recent "not managed". */
  const describing = new Map<string, Promise<ResolvedGroup | undefined>>();
  const notManagedAt = new Map<string, number>();

  /** A named group's resolution: from the index, else from AWS (that group alone, not the region). */
  const lookupGroup = async (groupName: string): Promise<ResolvedGroup | undefined> => {
    const hit = groups.get(groupName);
    if (hit) return hit;
    const miss = notManagedAt.get(groupName);
    if (miss !== undefined && opts.clock.now().getTime() - miss < opts.ttlMs) return undefined;
    let pending = describing.get(groupName);
    if (!pending) {
      pending = opts.cloud.autoscaling
        .describeGroups([groupName])
        .then(([group]) => {
          const [resolved] = group ? opts.resolve([group]) : [];
          if (!resolved?.managed || !resolved.settings) {
            notManagedAt.set(groupName, opts.clock.now().getTime());
            return undefined;
          }
          groups.set(groupName, resolved);
          for (const m of resolved.group.members) byInstance.set(m.instanceId, groupName);
          return resolved;
        })
        .finally(() => describing.delete(groupName));
      describing.set(groupName, pending);
    }
    return pending;
  };

  const byOwnTags = async (instanceId: string): Promise<DirectoryEntry | undefined> => {
    let instance: Instance | undefined;
    try {
      [instance] = await opts.cloud.ec2.describeInstances([instanceId]);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const groupName = instance?.tags[ASG_NAME_TAG] ?? instance?.tags[GROUP_TAG];
    if (!instance || !groupName) return undefined;
    const resolved = await lookupGroup(groupName);
    if (!resolved) return undefined;
    byInstance.set(instanceId, groupName);
    instances.set(instanceId, instance);
    return { resolved, instance };
  };

  return {
    update,
    lookupGroup,
    async lookup(instanceId) {
      const hit = entryFor(instanceId);
      if (hit) return hit;
      const tagged = await byOwnTags(instanceId);
      if (tagged) return tagged;
      await refresh();
      return entryFor(instanceId);
    },
  };
}
