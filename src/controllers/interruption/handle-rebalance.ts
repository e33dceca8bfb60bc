import type { RebalanceEvent, ScheduledChangeEvent } from '../../domain/events.js';
import { INTERRUPTED_AT_TAG, RETIRE_REQUESTED_TAG } from '../../domain/tags.js';
import { type HandlerContext, WARNING_MS } from './context.js';
import type { DirectoryEntry } from './directory.js';
import { release } from './handle-interruption.js';
import { done, type EventOutcome, freshInstance, groupOf, isGone, tagInstance } from './outcome.js';

export const rebalanceKey = (instanceId: string) => `${instanceId}/rebalance`;

/**
 * Rebalance recommendations and Health scheduled changes follow the group's `rebalance.action`:
 * ignore; cordon (release steps in cordon-only mode, no detach); replace (tag the instance
 * spotmax:retire-requested=<event time> for the reconciler's launch-before-retire, then done).
 */
export async function handleRebalance(
  ev: RebalanceEvent | ScheduledChangeEvent,
  entry: DirectoryEntry,
  ctx: HandlerContext,
  signal: AbortSignal,
): Promise<EventOutcome> {
  const { groupName, settings } = groupOf(entry.resolved);
  const action = settings.rebalance.action;
  const log = ctx.logger.child({ instance: ev.instanceId, group: groupName, event: ev.kind, action });
  if (action === 'ignore') {
    log.info({}, `${ev.kind} for ${ev.instanceId} ignored (rebalance.action=ignore)`);
    return done('ignored by policy');
  }
  const deadline = new Date(Math.max(ev.time.getTime(), ctx.clock.now().getTime()) + WARNING_MS);
  const instance = await freshInstance(ctx, ev.instanceId, deadline, signal);
  if (isGone(instance) || !instance) return done(`${ev.instanceId} is already gone`);
  if (instance.tags[INTERRUPTED_AT_TAG]) return done(`${ev.instanceId} is already being released`);

  if (action === 'cordon') {
    if (ctx.dryRun) {
      log.info({ dryRun: true }, `would cordon ${ev.instanceId}`);
      return done('dry-run');
    }
    await release(
      ctx,
      groupName,
      settings,
      instance,
      ev.kind === 'rebalance' ? 'rebalance' : 'scheduled-change',
      deadline,
      signal,
      'cordon',
    );
    ctx.stats.cordoned++;
    return done('cordoned');
  }

  if (instance.tags[RETIRE_REQUESTED_TAG]) return done('retirement already requested');
  if (ctx.dryRun) {
    log.info({ dryRun: true }, `would tag ${ev.instanceId} ${RETIRE_REQUESTED_TAG}`);
    return done('dry-run');
  }
  await tagInstance(ctx, ev.instanceId, { [RETIRE_REQUESTED_TAG]: ev.time.toISOString() }, deadline, signal);
  ctx.stats.retireRequested++;
  log.info({}, `requested replacement of ${ev.instanceId} (${RETIRE_REQUESTED_TAG})`);
  ctx.onGroupTouched?.(groupName);
  return done('retire requested');
}
