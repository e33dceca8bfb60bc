import type { ActionHandlers } from '../controllers/reconcile/executor.js';

/** Handlers for every action kind the planners produce. */
export function actionHandlers(): ActionHandlers {
  return {
    'tag-instance': async (a, ctx) => ctx.cloud.ec2.createTags([a.target], a.tags),
    'tag-group': async (a, ctx) => ctx.cloud.autoscaling.putGroupTags(a.target, a.tags),
  };
}
