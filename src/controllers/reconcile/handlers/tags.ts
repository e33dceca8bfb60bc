import type { ActionHandlers } from '../executor.js';

/** Tags: membership on instances and the group, and spotmax's bookkeeping tags on any EC2 resource. */
export const tagHandlers: ActionHandlers = {
  'tag-instance': async (a, ctx) => ctx.cloud.ec2.createTags([a.target], a.tags),
  'tag-group': async (a, ctx) => ctx.cloud.autoscaling.putGroupTags(a.target, a.tags),
  'tag-resource': async (a, ctx) => ctx.cloud.ec2.createTags([a.target], a.tags),
  'untag-resource': async (a, ctx) => ctx.cloud.ec2.deleteTags([a.target], a.keys),
};
