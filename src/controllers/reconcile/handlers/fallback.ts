import { SpotmaxError } from '../../../domain/errors.js';
import { FALLBACK_FOR_TAG, FALLBACK_ORIGINAL_TAG, GROUP_TAG } from '../../../domain/tags.js';
import { countForGroup } from '../../../observability/group-metrics.js';
import { MetricNames } from '../../../observability/metric-names.js';
import { isLeavingState } from '../../../plan/members.js';
import { isWeighted, sumUnits, unitsOfType } from '../../../plan/units.js';
import type { ActionHandlers } from '../executor.js';

// The record goes on the group before anything is launched: a pass killed in between finds the record
// (and the tagged instances) and finishes the fallback. The group's MixedInstancesPolicy is never sent.
export const fallbackHandlers: ActionHandlers = {
  'fallback-launch': async (a, ctx) => {
    await ctx.cloud.autoscaling.putGroupTags(a.group, [
      { key: FALLBACK_ORIGINAL_TAG, value: a.record, propagateAtLaunch: false },
    ]);
    // One RunInstances per distinct placement, with the count of instances that go there.
    const batches = new Map<string, { placement: (typeof a.placements)[number]; count: number }>();
    for (const p of a.placements) {
      const key = JSON.stringify(p);
      const b = batches.get(key) ?? { placement: p, count: 0 };
      b.count++;
      batches.set(key, b);
    }
    for (const { placement, count } of batches.values()) {
      try {
        await ctx.cloud.ec2.runInstances({
          launchTemplate: a.launchTemplate,
          market: 'on-demand',
          count,
          tags: { [FALLBACK_FOR_TAG]: a.group, [GROUP_TAG]: a.group },
          ...placement,
        });
      } catch (err) {
        const where = placement.subnetId ?? placement.availabilityZone ?? 'any AZ';
        throw new SpotmaxError(
          `launching ${count} On-Demand instance(s) for ${a.group}'s fallback in ${where}${placement.instanceType ? ` as ${placement.instanceType}` : ''}`,
          { cause: err },
        );
      }
    }
    countForGroup(ctx.cloud.metrics, MetricNames.Fallbacks, a.group);
  },

  // AttachInstances adds the instances to the desired capacity ("Detach or attach instances"), so the
  // desired capacity is lowered by as many first and comes back to what it was with the attach. What it
  // was is read now, not when the fallback began: a replacement's +1 (taken back later by its retire) or a
  // scaling policy's change in between stays as it is, instead of being pinned by the fallback, which let
  // desired climb from 40 to 44 through the az-outage scenario and left 3 On-Demand instances. When
  // MinSize leaves no room for that, they are attached first (MaxSize permitting) and desired lowered
  // after. Instances the group no longer needs (its own launches caught up) are terminated instead.
  'fallback-attach': async (a, ctx) => {
    const [g] = await ctx.cloud.autoscaling.describeGroups([a.group]);
    if (!g) throw new SpotmaxError(`attaching fallback instances to ${a.group}: the group is gone`);
    // Units, as desired counts them (plan/units.ts); each instance is 1 in a group without weights.
    const active = sumUnits(g.members.filter((m) => !isLeavingState(m.lifecycleState)));
    const unitsOf = new Map<string, number>();
    if (isWeighted(g)) {
      for (const i of await ctx.cloud.ec2.describeInstances(a.instanceIds))
        unitsOf.set(i.instanceId, unitsOfType(g, i.instanceType) ?? 1);
    }
    const attach: string[] = [];
    const surplus: string[] = [];
    let attachUnits = 0;
    for (const id of a.instanceIds) {
      if (active + attachUnits < g.desired) {
        attach.push(id);
        attachUnits += unitsOf.get(id) ?? 1;
      } else surplus.push(id);
    }
    if (surplus.length > 0) {
      ctx.logger.info(
        { group: a.group, instances: surplus },
        `${a.group} has its capacity again: terminating ${surplus.length} fallback instance(s) not needed`,
      );
      await ctx.cloud.ec2.terminateInstances(surplus);
    }
    if (attach.length === 0) return;
    const lowered = g.desired - attachUnits;
    if (lowered >= g.min) {
      if (g.desired !== lowered) await ctx.cloud.autoscaling.updateGroup(a.group, { desired: lowered });
      await ctx.cloud.autoscaling.attachInstances(a.group, attach);
      return;
    }
    if (g.desired + attachUnits > g.max) {
      throw new SpotmaxError(
        `attaching ${attach.length} fallback instance(s) to ${a.group}: MinSize ${g.min} and MaxSize ${g.max} leave no room around desired ${g.desired}; raise MaxSize or lower MinSize`,
      );
    }
    await ctx.cloud.autoscaling.attachInstances(a.group, attach);
    await ctx.cloud.autoscaling.updateGroup(a.group, { desired: g.desired });
  },

  'fallback-return': (a, ctx) =>
    ctx.cloud.autoscaling.putGroupTags(a.group, [
      { key: FALLBACK_ORIGINAL_TAG, value: a.record, propagateAtLaunch: false },
    ]),
  'fallback-clear': async (a, ctx) => ctx.cloud.autoscaling.deleteGroupTags(a.group, [FALLBACK_ORIGINAL_TAG]),
};
