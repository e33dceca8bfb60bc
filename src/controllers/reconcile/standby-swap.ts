import { describeError, SpotmaxError } from '../../domain/errors.js';
import {
  formatGroupSwap,
  formatMemberSwap,
  type GroupSwapRecord,
  parseGroupSwap,
} from '../../domain/swap-records.js';
import { STANDBY_SWAP_TAG, SWAPPED_IN_TAG } from '../../domain/tags.js';
import type { Group } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import type { Cloud } from '../../ports/cloud.js';
import type { Logger } from '../../ports/logger.js';
import type { SwapDetachOutcome } from '../interruption/standby-hook.js';

// Headroom for a standby swap. AttachInstances refuses to take desired capacity above MaxSize, and
// DetachInstances with decrement refuses to take it below MinSize (both API references), so in a group
// with min = max = desired neither order of "attach the standby, detach the interrupted with decrement"
// works as is. The swap raises MaxSize by what it needs, attaches, and once the interrupted instance is
// detached with decrement (desired back where it was) puts MaxSize back. The original MaxSize is written
// to a group tag before MaxSize changes, so a process that dies mid-swap leaves a record the reconciler
// finishes (plan/standby.ts, action standby-swap-restore). In every group, with headroom or not, the
// standby carries `spotmax:swapped-in` from just before the attach until the detach with decrement (or
// the take-back) is done: a process that dies in between leaves the attach's units in desired, and the
// reconciler takes them back once (plan/swap-settle.ts, action standby-swap-settle).

const swapRecordOf = (group: Group): GroupSwapRecord | undefined =>
  parseGroupSwap(group.tags.find((t) => t.key === STANDBY_SWAP_TAG)?.value);

interface GroupSwaps {
  /** Swaps of this group between their attach and the end of their detach. */
  open: number;
  /** MaxSize before the first of them raised it; undefined while no swap raised it. */
  originalMax?: number;
  /** Attaches of this group run one at a time: each sees the MaxSize the previous one left. */
  queue: Promise<void>;
}

export interface SwapHeadroomDeps {
  cloud: Pick<Cloud, 'autoscaling' | 'ec2'>;
  clock: Clock;
  logger: Logger;
}

/** Attaches standbys with the MaxSize headroom they need and gives it back after the detach. */
export class SwapHeadroom {
  private readonly groups = new Map<string, GroupSwaps>();

  constructor(private readonly deps: SwapHeadroomDeps) {}

  /**
   * Attaches `standbyId` to `groupName`, raising MaxSize first when desired + its units (1, or its weight
   * in a weighted group: plan/units.ts) would exceed it. Returns `finish`, to call once the interrupted
   * instance's detach is over (or has failed): the last open swap of the group restores MaxSize and
   * removes the record. After a failed detach the standby keeps its `spotmax:swapped-in` record: the
   * attach's units may still be in desired, and the reconciler settles them.
   */
  async attach(
    groupName: string,
    standbyId: string,
    interruptedId: string,
    units = 1,
  ): Promise<{ finish: (detach?: SwapDetachOutcome) => Promise<void> }> {
    const st = this.state(groupName);
    st.open++;
    let finished = false;
    /** Desired capacity right after this attach: what a take-back lowers from, and only from. */
    let desiredAfter: number | undefined;
    const finish = async (detach?: SwapDetachOutcome) => {
      if (finished) return;
      finished = true;
      if (detach === 'already-gone' && desiredAfter !== undefined)
        await this.takeBack(groupName, standbyId, units, desiredAfter);
      if (detach !== 'failed') await this.settled(groupName, standbyId);
      st.open--;
      if (st.open === 0) await this.restore(groupName, st);
    };
    const run = st.queue.then(async () => {
      desiredAfter = await this.attachOne(groupName, standbyId, interruptedId, units, st);
    });
    st.queue = run.catch(() => undefined);
    try {
      await run;
    } catch (err) {
      await finish();
      throw err;
    }
    return { finish };
  }

  private state(groupName: string): GroupSwaps {
    let st = this.groups.get(groupName);
    if (!st) {
      st = { open: 0, queue: Promise.resolve() };
      this.groups.set(groupName, st);
    }
    return st;
  }

  private async attachOne(
    groupName: string,
    standbyId: string,
    interruptedId: string,
    units: number,
    st: GroupSwaps,
  ): Promise<number> {
    const { cloud, clock, logger } = this.deps;
    const [group] = await cloud.autoscaling.describeGroups([groupName]);
    if (!group) throw new SpotmaxError(`attaching standby ${standbyId}: group ${groupName} not found`);
    if (group.desired + units > group.max) {
      const recorded = swapRecordOf(group);
      const originalMax = st.originalMax ?? recorded?.originalMax ?? group.max;
      if (!recorded) {
        await cloud.autoscaling.putGroupTags(groupName, [
          {
            key: STANDBY_SWAP_TAG,
            value: formatGroupSwap({ originalMax, since: clock.now() }),
            propagateAtLaunch: false,
          },
        ]);
      }
      st.originalMax = originalMax;
      const max = group.desired + units;
      try {
        await cloud.autoscaling.updateGroup(groupName, { max });
      } catch (err) {
        throw new SpotmaxError(
          `raising MaxSize of ${groupName} from ${group.max} to ${max} to attach standby ${standbyId}`,
          { cause: err },
        );
      }
      logger.info(
        { group: groupName, standby: standbyId, max, originalMax },
        `raised MaxSize of ${groupName} to ${max} for the standby swap (desired ${group.desired} = MaxSize ${group.max})`,
      );
    }
    // AttachInstances adds the standby's units to desired ("Detach or attach instances"). Recorded on the
    // standby first: one tag write on the warning's path buys a desired capacity that survives a crash.
    const desiredAfter = group.desired + units;
    await cloud.ec2.createTags([standbyId], {
      [SWAPPED_IN_TAG]: formatMemberSwap({
        interrupted: interruptedId,
        desiredAfter,
        units,
        since: clock.now(),
      }),
    });
    await cloud.autoscaling.attachInstances(groupName, [standbyId]);
    return desiredAfter;
  }

  /** The swap's units are out of desired again (or were never in): its record goes. */
  private async settled(groupName: string, standbyId: string): Promise<void> {
    try {
      await this.deps.cloud.ec2.deleteTags([standbyId], [SWAPPED_IN_TAG]);
    } catch (err) {
      // Left behind, the record is settled by the reconciler: desired no longer matches it, so it only goes.
      this.deps.logger.warn(
        { group: groupName, standby: standbyId, err: describeError(err) },
        `removing ${SWAPPED_IN_TAG} from ${standbyId} failed; the reconciler removes it`,
      );
    }
  }

  /**
   * The interrupted instance left the group by other hands before its detach with decrement (the Spot
   * reclaim and Auto Scaling's health check, Capacity Rebalancing, a user): the units the attach added
   * would stay in desired for good, and the group would launch a replacement on top of the standby. They
   * are taken back once, and only while desired is still what the attach left: any other change since
   * (a scale-in, another swap, a user) means someone else decided, and spotmax leaves it.
   */
  private async takeBack(groupName: string, standbyId: string, units: number, desiredAfter: number) {
    const { cloud, logger } = this.deps;
    try {
      const [group] = await cloud.autoscaling.describeGroups([groupName]);
      if (!group) return;
      if (group.desired !== desiredAfter || group.desired - units < group.min) {
        logger.warn(
          { group: groupName, standby: standbyId, desired: group.desired, desiredAfter, min: group.min },
          `not taking back the standby swap's capacity in ${groupName}: desired is ${group.desired}, not the ${desiredAfter} the attach left${group.desired - units < group.min ? ` (or MinSize ${group.min} forbids)` : ''}`,
        );
        return;
      }
      await cloud.autoscaling.updateGroup(groupName, { desired: group.desired - units });
      logger.info(
        { group: groupName, standby: standbyId, desired: group.desired - units },
        `the interrupted instance left ${groupName} by other hands before its detach: took back the ${units} unit(s) standby ${standbyId} added (desired ${group.desired} -> ${group.desired - units})`,
      );
    } catch (err) {
      logger.warn(
        { group: groupName, standby: standbyId, err: describeError(err) },
        `taking back the standby swap's capacity in ${groupName} failed`,
      );
    }
  }

  private async restore(groupName: string, st: GroupSwaps): Promise<void> {
    const originalMax = st.originalMax;
    if (originalMax === undefined) return;
    const { cloud, logger } = this.deps;
    try {
      // A lower MaxSize alone would pull desired down with it (UpdateAutoScalingGroup) and terminate a
      // member: while desired is still above the original, a detach went wrong; the reconciler decides.
      const [group] = await cloud.autoscaling.describeGroups([groupName]);
      if (group && group.desired > originalMax) {
        st.originalMax = undefined;
        logger.warn(
          { group: groupName, desired: group.desired, originalMax },
          `desired capacity of ${groupName} is ${group.desired}, above its MaxSize before the standby swap (${originalMax}); leaving MaxSize to the reconciler (${STANDBY_SWAP_TAG})`,
        );
        return;
      }
      await cloud.autoscaling.updateGroup(groupName, { max: originalMax });
      st.originalMax = undefined;
      await cloud.autoscaling.deleteGroupTags(groupName, [STANDBY_SWAP_TAG]);
      logger.info(
        { group: groupName, max: originalMax },
        `restored MaxSize of ${groupName} to ${originalMax}`,
      );
    } catch (err) {
      st.originalMax = undefined;
      logger.warn(
        { group: groupName, originalMax, err: describeError(err) },
        `restoring MaxSize of ${groupName} to ${originalMax} failed; the reconciler finishes it from ${STANDBY_SWAP_TAG}`,
      );
    }
  }
}
