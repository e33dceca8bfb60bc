import { FALLBACK_ORIGINAL_TAG } from '../../../domain/tags.js';
import { countForGroup } from '../../../observability/group-metrics.js';
import { MetricNames } from '../../../observability/metric-names.js';
import type { ActionHandlers } from '../executor.js';

// The record goes on the group before the policy changes: a pass killed in between finds the record
// and finishes the change, and the original distribution is never lost.
export const fallbackHandlers: ActionHandlers = {
  'fallback-on-demand': async (a, ctx) => {
    await ctx.cloud.autoscaling.putGroupTags(a.group, [
      { key: FALLBACK_ORIGINAL_TAG, value: a.record, propagateAtLaunch: false },
    ]);
    await ctx.cloud.autoscaling.updateGroup(a.group, { mixedInstancesPolicy: a.policy });
    countForGroup(ctx.cloud.metrics, MetricNames.Fallbacks, a.group);
  },
  'restore-spot': async (a, ctx) => {
    await ctx.cloud.autoscaling.putGroupTags(a.group, [
      { key: FALLBACK_ORIGINAL_TAG, value: a.record, propagateAtLaunch: false },
    ]);
    await ctx.cloud.autoscaling.updateGroup(a.group, { mixedInstancesPolicy: a.policy });
  },
  'fallback-clear': async (a, ctx) => ctx.cloud.autoscaling.deleteGroupTags(a.group, [FALLBACK_ORIGINAL_TAG]),
};
