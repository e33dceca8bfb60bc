import type { ResolvedGroup } from '../../config/resolved.js';
import { isNotFound } from '../../domain/errors.js';
import { GROUP_TAG } from '../../domain/tags.js';
import type { Group, Instance } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';
import { yieldToEventLoop } from '../../timing/yield.js';

/** Groups a full update takes in per turn of the event loop. */
const UPDATE_TURN_GROUPS = 50;

export interface DirectoryEntry {
  resolved: ResolvedGroup;
}

/** Which managed group an instance belongs to, for the fast path. */
export interface GroupDirectory {
  /** The managed group holding the instance, or undefined when it is foreign or unmanaged. */
  lookup(instanceId: string): Promise<DirectoryEntry | undefined>;
  /** The managed group by name (lifecycle events name their group). */
  lookupGroup(groupName: string): Promise<ResolvedGroup | undefined>;
  /**
   * Takes in every group of the region (a full pass): each group's entry is replaced and a group absent
   * from `resolved` is dropped. The index then holds every group (complete): a miss within the ttl is
   * not worth a describe of all groups. Up to 50 groups are taken in at once, the rest in turns of the
   * event loop; resolves when all are in.
   */
  update(resolved: readonly ResolvedGroup[]): Promise<void>;
  /**
   * Takes in the groups `names` of a one-group pass (those of them absent from `resolved`, or no longer
   * managed, are dropped); the others stay as they are. Costs the size of these groups, not the
   * region's, and says nothing about completeness: before a full pass, a miss still asks AWS.
   */
  updateGroups(names: readonly string[], resolved: readonly ResolvedGroup[]): Promise<void>;
  /**
   * After a lookup missed: the Auto Scaling group the instance's own tags name, when there is one and
   * spotmax does not manage it (not opted in, or opted in with a problem), so the event is reported as
   * "not managed" rather than as an instance nobody knows.
   */
  unmanagedGroupOf(instanceId: string): string | undefined;
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
  const groups = new Map<string, ResolvedGroup>();
  const byInstance = new Map<string, string>();
  /** Each group's indexed ids (its members, and ids found by their own tags), so a group's entry is replaced alone. */
  const indexed = new Map<string, string[]>();
  /** When the index last held every group (a full describe, or a full pass of the reconciler). */
  let refreshedAt = Number.NEGATIVE_INFINITY;
  let refreshing: Promise<void> | undefined;
  /** Group lookups in flight (a storm's misses for one group share one call), and recent "not managed". */
  const describing = new Map<string, Promise<ResolvedGroup | undefined>>();
  const notManagedAt = new Map<string, number>();
  /** Instances a lookup found in a group spotmax does not manage (bounded: emptied when it gets large). */
  const unmanagedMembers = new Map<string, string>();

  const drop = (name: string) => {
    for (const id of indexed.get(name) ?? []) if (byInstance.get(id) === name) byInstance.delete(id);
    indexed.delete(name);
    groups.delete(name);
  };
  /**
   * Replaces one group's entry: ids no longer its members out, its members in. Most passes find a group's
   * members unchanged: then only its resolution is replaced. A changed group has its ids set (an id
   * already there is overwritten in place) and only the ids that left deleted: deleting and re-adding all
   * of a group's ids made a full pass after 50 warnings rehash 10,000 keys of a 50,000-key Map, 10-30 ms
   * in one turn of the event loop that the fast path waited behind (bench/reconcile.ts).
   */
  const put = (r: ResolvedGroup) => {
    const name = r.group.name;
    notManagedAt.delete(name);
    const members = r.group.members;
    if (!r.managed || !r.settings) {
      drop(name);
      return;
    }
    groups.set(name, r);
    const old = indexed.get(name);
    if (old && sameMembers(old, members)) return;
    const ids = members.map((m) => m.instanceId);
    for (const id of ids) byInstance.set(id, name);
    if (old) {
      const kept = new Set(ids);
      for (const id of old) if (!kept.has(id) && byInstance.get(id) === name) byInstance.delete(id);
    }
    indexed.set(name, ids);
  };

  /**
   * Updates are applied in the order they came: one that comes while a full update is still being taken
   * in (in turns, below) waits behind it, so an older view never overwrites a newer one. Undefined when
   * nothing is pending: then an update is applied at once.
   */
  let tail: Promise<void> | undefined;
  const inOrder = (job: () => Promise<void> | undefined): Promise<void> => {
    const pending = tail ? tail.then(job) : job();
    if (!pending) return Promise.resolve();
    const mine = pending.catch(() => undefined);
    tail = mine;
    void mine.then(() => {
      if (tail === mine) tail = undefined;
    });
    return mine;
  };

  const update = (resolved: readonly ResolvedGroup[]): Promise<void> =>
    inOrder(() => {
      const seen = new Set<string>();
      const take = (from: number) => {
        for (const r of resolved.slice(from, from + UPDATE_TURN_GROUPS)) {
          seen.add(r.group.name);
          put(r);
        }
      };
      const finish = () => {
        for (const name of [...indexed.keys()]) if (!seen.has(name)) drop(name);
        notManagedAt.clear();
        refreshedAt = opts.clock.now().getTime();
      };
      take(0);
      if (resolved.length <= UPDATE_TURN_GROUPS) {
        finish();
        return undefined;
      }
      // The rest in turns of the event loop: the whole region in one turn held the fast path 10-80 ms
      // behind it (bench/reconcile.ts, 500 groups after 50 warnings). A lookup in between finds each
      // group either as it was or as it is now, never half of one; an id it misses asks AWS as before.
      return (async () => {
        for (let k = UPDATE_TURN_GROUPS; k < resolved.length; k += UPDATE_TURN_GROUPS) {
          await yieldToEventLoop(opts.clock);
          take(k);
        }
        finish();
      })();
    });

  const updateGroups = (names: readonly string[], resolved: readonly ResolvedGroup[]): Promise<void> =>
    inOrder(() => {
      const wanted = new Set(names);
      for (const name of names) drop(name);
      for (const r of resolved) if (wanted.has(r.group.name)) put(r);
      return undefined;
    });

  const refresh = async (): Promise<void> => {
    if (opts.clock.now().getTime() - refreshedAt < opts.ttlMs) return;
    refreshing ??= opts.cloud.autoscaling
      .describeGroups()
      .then((all) => update(opts.resolve(all)))
      .finally(() => {
        refreshing = undefined;
      });
    await refreshing;
  };

  const entryFor = (instanceId: string): DirectoryEntry | undefined => {
    const name = byInstance.get(instanceId);
    const resolved = name ? groups.get(name) : undefined;
    return resolved ? { resolved } : undefined;
  };

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
          put(resolved);
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
    if (!resolved) {
      if (unmanagedMembers.size >= 10_000) unmanagedMembers.clear();
      unmanagedMembers.set(instanceId, groupName);
      return undefined;
    }
    byInstance.set(instanceId, groupName);
    indexed.get(groupName)?.push(instanceId);
    return { resolved };
  };

  return {
    update,
    updateGroups,
    lookupGroup,
    unmanagedGroupOf: (instanceId) => (entryFor(instanceId) ? undefined : unmanagedMembers.get(instanceId)),
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

function sameMembers(ids: readonly string[], members: readonly { instanceId: string }[]): boolean {
  if (ids.length !== members.length) return false;
  for (let i = 0; i < ids.length; i++) if (ids[i] !== members[i]!.instanceId) return false;
  return true;
}
