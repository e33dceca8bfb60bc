import type { GroupSettings } from '../../config/schema.js';
import { describeError, isInsufficientCapacity } from '../../domain/errors.js';
import {
  GROUP_TAG,
  STANDBY_CLAIMED_TAG,
  STANDBY_FOR_TAG,
  STANDBY_TEMPLATE_TAG,
  STANDBY_TEMPLATE_VERSION_TAG,
  STANDBY_UNSTARTABLE_TAG,
  SWAPPED_IN_TAG,
} from '../../domain/tags.js';
import type { Group, Instance } from '../../domain/types.js';
import { MetricNames } from '../../observability/metric-names.js';
import { isWeighted, unitsOfMember, unitsOfType } from '../../plan/units.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';
import type { Logger } from '../../ports/logger.js';
import { type ClaimStore, type TryClaimResult, tryClaim } from '../interruption/claims.js';
import type { StandbyHook } from '../interruption/standby-hook.js';
import { moveVolumeToStandby } from './launch-volume.js';
import { SwapHeadroom } from './standby-swap.js';

// The fast path's way into the standby pool: on a Spot warning, pick a stopped standby (same AZ when the
// group has a persistent volume, else the closest match), start it, and attach it to the group once it
// runs. A standby that does not run within standby.startTimeoutSeconds is released back to the pool and
// the fast path falls back to the plain detach. Time from the warning to the attach is recorded.
// The attach makes MaxSize headroom when the group is at max = desired (standby-swap.ts), and keeps the
// group's AZs even so AZRebalance has nothing to terminate. Launch hooks do not run for an attached
// instance ("Amazon EC2 Auto Scaling lifecycle hooks"), so the persistent volume is moved here.

// The names live in observability/metric-names.ts; these aliases stay for test/reconcile's imports.
export const STANDBY_ATTACH_SECONDS = MetricNames.StandbyHits;
export const STANDBY_START_TIMEOUTS = MetricNames.StandbyMisses;
const WARNING_MS = 120_000;

export interface StandbyHookDeps {
  cloud: Cloud;
  clock: Clock;
  logger: Logger;
  /** The group's standbys as last observed (the reconcile loop's latest observation). */
  standbysFor(groupName: string): readonly Instance[];
  /** How often to look whether the started standby runs. */
  pollMs?: number;
  /** No attach this close to the deadline: the fast path has already detached without decrement by then. */
  attachMarginMs?: number;
  /**
   * Replicas share one pool: a standby is taken only under its claim in the coordination store. The
   * `spotmax:standby-claimed` tag cannot do that alone: two replicas that read the pool at the same moment
   * both see it unclaimed, both start it, and the loser's AttachInstances is refused ("already part of an
   * Auto Scaling group") after it spent the warning's seconds on it.
   */
  claims?: ClaimStore;
}

export const standbyClaimKey = (instanceId: string) => `${instanceId}/standby`;

const LEAVING_MEMBER = /^(Terminating|Terminated|Detaching|Detached)/;

/** Spread (largest AZ count - smallest) of the group's members once `interrupted` is swapped for one in `az`. */
function spreadAfterSwap(group: Group, interrupted: Instance, az?: string): number {
  const counts = new Map<string, number>(group.availabilityZones.map((z) => [z, 0]));
  for (const m of group.members) {
    if (LEAVING_MEMBER.test(m.lifecycleState) || m.instanceId === interrupted.instanceId) continue;
    counts.set(m.availabilityZone, (counts.get(m.availabilityZone) ?? 0) + 1);
  }
  if (az !== undefined) counts.set(az, (counts.get(az) ?? 0) + 1);
  const values = [...counts.values()];
  return values.length === 0 ? 0 : Math.max(...values) - Math.min(...values);
}

/** AZRebalance evens out the group's AZs unless it (or Launch, which it needs) is suspended. */
export const azRebalanceActive = (group: Group): boolean =>
  !(group.suspendedProcesses ?? []).some((p) => p === 'AZRebalance' || p === 'Launch');

/**
 * Same AZ first (required with a persistent volume), else an AZ that is short, then the same instance
 * type, then the oldest. With AZRebalance active a standby that would leave the AZs uneven is not used:
 * Auto Scaling would launch in the short AZ and terminate a member in the long one ("Rebalancing
 * activities"), an instance the swap was meant to save.
 */
export function rankStandbys(
  standbys: readonly Instance[],
  interrupted: Instance,
  settings: GroupSettings,
  group?: Group,
): Instance[] {
  const sameAzOnly = !!settings.persistentVolume.device;
  const before = group ? spreadAfterSwap(group, interrupted, interrupted.availabilityZone) : 0;
  const evenEnough = (az: string) => !group || spreadAfterSwap(group, interrupted, az) <= Math.max(1, before);
  const strict = group !== undefined && azRebalanceActive(group);
  // Weighted group (plan/units.ts): the attach adds the standby's units and the detach with decrement
  // takes the interrupted member's, so only a standby worth as many units keeps desired exact.
  const units = group && isWeighted(group) ? unitsOfMember(group, interrupted.instanceId) : undefined;
  return standbys
    .filter((s) => units === undefined || unitsOfType(group!, s.instanceType) === units)
    .filter((s) => !sameAzOnly || s.availabilityZone === interrupted.availabilityZone)
    .filter((s) => !strict || evenEnough(s.availabilityZone))
    .map((s) => ({
      s,
      score:
        (s.availabilityZone === interrupted.availabilityZone ? 4 : 0) +
        (evenEnough(s.availabilityZone) ? 2 : 0) +
        (s.instanceType === interrupted.instanceType ? 1 : 0),
    }))
    .sort((a, b) => b.score - a.score || a.s.launchTime.getTime() - b.s.launchTime.getTime())
    .map((x) => x.s);
}

export function createStandbyHook(deps: StandbyHookDeps): StandbyHook {
  const { cloud, clock } = deps;
  const pollMs = deps.pollMs ?? 2_000;
  const margin = deps.attachMarginMs ?? 10_000;
  /** Standbys this process is starting: two warnings at once never take the same one. */
  const taking = new Set<string>();
  const headroom = new SwapHeadroom({ cloud, clock, logger: deps.logger });

  const release = async (id: string, why: string, log: Logger, claim?: TryClaimResult) => {
    taking.delete(id);
    // Free for another replica's next warning (the pool's tag claim goes below).
    if (claim?.kind === 'mine') await claim.finish();
    try {
      // The swap record too, when the attach was refused after it was written.
      await cloud.ec2.deleteTags([id], [STANDBY_CLAIMED_TAG, SWAPPED_IN_TAG]);
    } catch (err) {
      log.warn(
        { standby: id, err: describeError(err) },
        `could not unclaim standby ${id}; the reconciler retires it later`,
      );
    }
    log.warn({ standby: id }, `standby ${id} not used: ${why}`);
  };

  return {
    async takeStandby({ groupName, settings, interrupted, deadline, signal }) {
      const log = deps.logger.child({ group: groupName, interrupted: interrupted.instanceId });
      const known = deps
        .standbysFor(groupName)
        .filter((s) => s.tags[STANDBY_FOR_TAG] === groupName && !taking.has(s.instanceId));
      if (known.length === 0) return undefined;
      // The observation can be a minute old: only a standby that is stopped and unclaimed now will do.
      const fresh = await cloud.ec2.describeInstances(known.map((s) => s.instanceId));
      const ready = fresh.filter(
        (s) =>
          s.state === 'stopped' &&
          s.tags[STANDBY_FOR_TAG] === groupName &&
          s.tags[STANDBY_CLAIMED_TAG] === undefined &&
          s.tags[STANDBY_UNSTARTABLE_TAG] === undefined &&
          !taking.has(s.instanceId),
      );
      const [group] = ready.length > 0 ? await cloud.autoscaling.describeGroups([groupName]) : [];
      const ranked = rankStandbys(ready, interrupted, settings, group);
      let pick: Instance | undefined;
      let claim: TryClaimResult = { kind: 'unclaimed', reason: 'no standby' };
      for (const candidate of ranked) {
        // Reserved before the store is asked: this process's other warnings skip it meanwhile.
        if (taking.has(candidate.instanceId)) continue;
        taking.add(candidate.instanceId);
        claim = await tryClaim(deps.claims, standbyClaimKey(candidate.instanceId), {
          clock,
          logger: log,
          signal,
        }).catch((err) => {
          taking.delete(candidate.instanceId);
          throw err;
        });
        if (claim.kind !== 'held') {
          pick = candidate;
          break;
        }
        taking.delete(candidate.instanceId);
        log.info(
          { standby: candidate.instanceId, holder: claim.holder },
          `standby ${candidate.instanceId} is being taken by ${claim.holder}; trying the next`,
        );
      }
      if (!pick) {
        log.info(
          { candidates: known.length, ready: ready.length },
          ranked.length > 0
            ? `every stopped standby for ${groupName} that would do is being taken for another warning (here or by another replica)`
            : `no stopped standby for ${groupName}${settings.persistentVolume.device ? ` in ${interrupted.availabilityZone}` : ''}${ready.length > 0 ? ' that keeps its AZs even (AZRebalance would terminate a member)' : ''}`,
        );
        return undefined;
      }
      const id = pick.instanceId;
      let finish: () => Promise<void> = async () => {};
      const warnedAt = deadline.getTime() - WARNING_MS;
      const startBy = Math.min(
        clock.now().getTime() + settings.standby.startTimeoutSeconds * 1000,
        deadline.getTime() - margin,
      );
      try {
        await cloud.ec2.createTags([id], {
          [STANDBY_CLAIMED_TAG]: `${interrupted.instanceId}@${clock.now().toISOString()}`,
        });
        try {
          await cloud.ec2.startInstances([id]);
        } catch (err) {
          if (!isInsufficientCapacity(err)) throw err;
          // No capacity for its type in its AZ: the plain detach now, not after startTimeoutSeconds; the
          // mark tells the reconciler to replace it with another type or AZ.
          cloud.metrics.record({
            name: MetricNames.StandbyMisses,
            value: 1,
            unit: 'Count',
            dimensions: { AutoScalingGroupName: groupName },
          });
          await cloud.ec2
            .createTags([id], {
              [STANDBY_UNSTARTABLE_TAG]: `${clock.now().toISOString()} ${pick.instanceType} ${pick.availabilityZone} InsufficientInstanceCapacity`,
            })
            .catch((tagErr) =>
              log.warn(
                { standby: id, err: describeError(tagErr) },
                `could not mark standby ${id} unstartable`,
              ),
            );
          await release(id, `StartInstances: ${describeError(err)}`, log, claim);
          return undefined;
        }
        log.info(
          { standby: id, az: pick.availabilityZone, type: pick.instanceType },
          `starting standby ${id} for ${interrupted.instanceId}`,
        );
        let state = 'pending';
        while (clock.now().getTime() < startBy) {
          signal.throwIfAborted();
          await clock.sleep(Math.min(pollMs, Math.max(0, startBy - clock.now().getTime())), signal);
          state = (await cloud.ec2.describeInstances([id]))[0]?.state ?? 'gone';
          if (state === 'running' || state === 'gone' || state === 'terminated' || state === 'shutting-down')
            break;
        }
        if (state !== 'running') {
          cloud.metrics.record({
            name: MetricNames.StandbyMisses,
            value: 1,
            unit: 'Count',
            dimensions: { AutoScalingGroupName: groupName },
          });
          await release(
            id,
            `state ${state} after ${settings.standby.startTimeoutSeconds}s (standby.startTimeoutSeconds)`,
            log,
            claim,
          );
          return undefined;
        }
        signal.throwIfAborted();
        if (clock.now().getTime() >= deadline.getTime() - margin) {
          await release(id, 'running too late to attach before the deadline', log, claim);
          return undefined;
        }
        finish = (
          await headroom.attach(
            groupName,
            id,
            interrupted.instanceId,
            (group && unitsOfType(group, pick.instanceType)) ?? 1,
          )
        ).finish;
      } catch (err) {
        await release(id, describeError(err), log, claim);
        throw err;
      }
      taking.delete(id);
      // Kept as done: a replica whose observation still lists it as a standby finds it taken.
      if (claim.kind === 'mine') await claim.finish(`attached to ${groupName} for ${interrupted.instanceId}`);
      const seconds = (clock.now().getTime() - warnedAt) / 1000;
      cloud.metrics.record({
        name: MetricNames.StandbyHits,
        value: seconds,
        unit: 'Seconds',
        dimensions: { AutoScalingGroupName: groupName },
      });
      log.info(
        { standby: id, attachSeconds: seconds },
        `standby ${id} attached to ${groupName} ${seconds.toFixed(1)}s after the warning`,
      );
      // It is a member now: the pool's tags go, the membership tag comes (in-instance scripts read it).
      try {
        await cloud.ec2.deleteTags(
          [id],
          [
            STANDBY_FOR_TAG,
            STANDBY_CLAIMED_TAG,
            STANDBY_TEMPLATE_VERSION_TAG,
            STANDBY_TEMPLATE_TAG,
            STANDBY_UNSTARTABLE_TAG,
          ],
        );
        await cloud.ec2.createTags([id], { [GROUP_TAG]: groupName });
      } catch (err) {
        log.warn(
          { standby: id, err: describeError(err) },
          `retagging attached standby ${id} failed; the reconciler finishes it`,
        );
      }
      if (settings.persistentVolume.device) {
        // No launch hook for an attached instance: the volume comes free when the interrupted instance
        // is gone, and is moved here then (in the background: the detach does not wait for it).
        void moveVolumeToStandby(
          { cloud, clock, logger: log, attachAs: settings.persistentVolume.attachAs, signal },
          groupName,
          id,
          new Date(deadline.getTime() + 5 * 60_000),
        );
      }
      return { instanceId: id, finish };
    },
  };
}
