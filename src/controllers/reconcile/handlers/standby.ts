import { describeError, SpotmaxError } from '../../../domain/errors.js';
import {
  STANDBY_ERROR_TAG,
  STANDBY_FOR_TAG,
  STANDBY_SWAP_TAG,
  STANDBY_TEMPLATE_TAG,
  STANDBY_TEMPLATE_VERSION_TAG,
  SWAPPED_IN_TAG,
} from '../../../domain/tags.js';
import type { ActionHandlers } from '../executor.js';
import { rememberStandbyLaunch } from '../recent-launches.js';
import { freshGroup } from './cloud-reads.js';

/** The standby pool: launch On-Demand from the group's template, stop (or hibernate), terminate. */
export const standbyHandlers: ActionHandlers = {
  'launch-standby': async (a, ctx) => {
    try {
      const launched = await ctx.cloud.ec2.runInstances({
        launchTemplate: a.launchTemplate,
        market: 'on-demand',
        hibernate: a.hibernate,
        count: 1,
        tags: {
          [STANDBY_FOR_TAG]: a.group,
          [STANDBY_TEMPLATE_VERSION_TAG]: String(a.templateVersion),
          ...(a.launchTemplate.id ? { [STANDBY_TEMPLATE_TAG]: a.launchTemplate.id } : {}),
        },
        ...(a.instanceType ? { instanceType: a.instanceType } : {}),
        ...(a.dropTemplateMarket ? { dropTemplateMarket: true } : {}),
        // The subnet goes where the template allows it (plan/standby-launch.ts launchPlacement).
        ...(a.subnetId
          ? { subnetId: a.subnetId }
          : a.networkInterfaces
            ? { networkInterfaces: a.networkInterfaces }
            : a.availabilityZone
              ? { availabilityZone: a.availabilityZone }
              : {}),
      });
      rememberStandbyLaunch(
        ctx.cloud.ec2,
        launched.map((l) => l.instanceId),
        ctx.clock.now().getTime(),
      );
    } catch (err) {
      const failure = new SpotmaxError(
        `launching a standby for ${a.group} from launch template ${a.launchTemplate.id ?? a.launchTemplate.name} version ${a.templateVersion}${a.instanceType ? ` as ${a.instanceType}` : ''}`,
        { cause: err },
      );
      // Recorded on the group so `plan`, another process, can say why the pool is short.
      const value = `${ctx.clock.now().toISOString()} ${describeError(failure)}`.slice(0, 256);
      await ctx.cloud.autoscaling
        .putGroupTags(a.group, [{ key: STANDBY_ERROR_TAG, value, propagateAtLaunch: false }])
        .catch((tagErr) =>
          ctx.logger.warn(
            { group: a.group, err: describeError(tagErr) },
            'recording the standby failure on the group failed',
          ),
        );
      throw failure;
    }
    if (a.clearError) await ctx.cloud.autoscaling.deleteGroupTags(a.group, [STANDBY_ERROR_TAG]);
  },
  'stop-standby': async (a, ctx) => {
    try {
      await ctx.cloud.ec2.stopInstances([a.target], a.hibernate);
    } catch (err) {
      // An instance that cannot hibernate yet (agent not ready) is still worth keeping stopped.
      if (!a.hibernate) throw err;
      ctx.logger.warn(
        { group: a.group, instance: a.target, err: String(err) },
        `hibernating standby ${a.target} failed; stopping it`,
      );
      await ctx.cloud.ec2.stopInstances([a.target], false);
    }
  },
  'terminate-standby': async (a, ctx) => ctx.cloud.ec2.terminateInstances([a.target]),
  'standby-swap-restore': async (a, ctx) => {
    try {
      await ctx.cloud.autoscaling.updateGroup(a.group, {
        max: a.max,
        ...(a.desired !== undefined ? { desired: a.desired } : {}),
      });
    } catch (err) {
      throw new SpotmaxError(`restoring MaxSize of ${a.group} to ${a.max} after a standby swap`, {
        cause: err,
      });
    }
    // The record goes last: a crash before this line repeats an update that is already done.
    await ctx.cloud.autoscaling.deleteGroupTags(a.group, [STANDBY_SWAP_TAG]);
  },
  'standby-swap-settle': async (a, ctx) => {
    if (a.takeBack) {
      // Planned from an observation that may be a pass old: decided again on a fresh read, so a scaling
      // change since, or a take-back already done by a pass that died before removing the record, wins.
      const group = await freshGroup(ctx, a.group);
      if (group.desired === a.desiredAfter && group.desired - a.units >= group.min) {
        try {
          await ctx.cloud.autoscaling.updateGroup(a.group, { desired: group.desired - a.units });
        } catch (err) {
          throw new SpotmaxError(
            `taking back the ${a.units} unit(s) standby ${a.target} added to ${a.group} for ${a.interrupted}`,
            { cause: err },
          );
        }
      } else {
        ctx.logger.info(
          { group: a.group, standby: a.target, desired: group.desired, desiredAfter: a.desiredAfter },
          `not taking back standby ${a.target}'s units in ${a.group}: desired is ${group.desired} now, not ${a.desiredAfter}${group.desired - a.units < group.min ? ` (or MinSize ${group.min} forbids)` : ''}`,
        );
      }
    }
    // The record goes last: a crash before this line finds desired lowered, and only removes it.
    await ctx.cloud.ec2.deleteTags([a.target], [SWAPPED_IN_TAG]);
  },
};
