import type { ResolvedGroup } from '../../config/resolved.js';
import type { GroupSettings } from '../../config/schema.js';
import { globMatch } from '../../config/select.js';
import { describeError, isAutoScalingNotFound, SpotmaxError } from '../../domain/errors.js';
import type { LifecycleEvent } from '../../domain/events.js';
import { INTERRUPTED_AT_TAG } from '../../domain/tags.js';
import { countForGroup } from '../../observability/group-metrics.js';
import { MetricNames } from '../../observability/metric-names.js';
import { actionDetailType } from '../../observability/notices.js';
import type { LifecycleActionRef } from '../../ports/autoscaling.js';
import { every } from '../../timing/every.js';
import { withRetry } from '../../timing/retry.js';
import { claimWork } from './claims.js';
import { type HandlerContext, WARNING_MS } from './context.js';
import { release, releaseKey } from './handle-interruption.js';
import { done, type EventOutcome, freshInstance, groupOf, isGone, tagInstance } from './outcome.js';

export const completionKey = (ev: LifecycleEvent) =>
  `lifecycle/${ev.groupName}/${ev.hookName}/${ev.instanceId}/${ev.token ?? '-'}`;

/**
 * Whether spotmax owns the hook (lifecycleHooks.owned). A lifecycle action belongs to whoever the hook was
 * made for ("Amazon EC2 Auto Scaling lifecycle hooks"; CompleteLifecycleAction API reference): completing
 * CodeDeploy's or another handler's hook would let the instance go on before its owner is done.
 */
export function ownsHook(settings: GroupSettings, hookName: string): boolean {
  return settings.lifecycleHooks.owned.some((pattern) => globMatch(pattern, hookName));
}

/**
 * Lifecycle hooks. Only hooks spotmax owns (ownsHook) are handled; another owner's are left alone.
 * Terminate: release (once per instance, shared with warnings), heartbeat while the
 * release runs longer than half the hook's heartbeat timeout, then CONTINUE. Launch: the launch preparer
 * (extension point: volume attach), then CONTINUE. Each hook/instance/token is completed once.
 */
export async function handleLifecycle(
  ev: LifecycleEvent,
  resolved: ResolvedGroup,
  ctx: HandlerContext,
  signal: AbortSignal,
): Promise<EventOutcome> {
  const { groupName, settings } = groupOf(resolved);
  const key = completionKey(ev);
  if (ctx.done.has(key)) return done('lifecycle action already completed');
  if (!ownsHook(settings, ev.hookName)) {
    // Deleted, not retried: the event is for the hook's owner, who gets it on its own target.
    ctx.logger.info(
      { group: groupName, hook: ev.hookName, instance: ev.instanceId, owned: settings.lifecycleHooks.owned },
      `lifecycle hook ${ev.hookName} of ${groupName} is not spotmax's (lifecycleHooks.owned); left to its owner`,
    );
    return done(`hook ${ev.hookName} not owned by spotmax`);
  }
  const ref: LifecycleActionRef = {
    groupName,
    hookName: ev.hookName,
    instanceId: ev.instanceId,
    token: ev.token,
  };
  // Terminate hooks allow the drain to run long with heartbeats; launch hooks get the usual two minutes.
  const deadline = new Date(
    Math.max(ev.time.getTime(), ctx.clock.now().getTime()) +
      Math.max(WARNING_MS, (settings.kubernetes.drainTimeoutSeconds + 30) * 1000),
  );

  const work =
    ev.kind === 'lifecycle-terminate'
      ? () => releaseOnce(ev, groupName, settings, ctx, deadline, signal)
      : async () => {
          if (ctx.dryRun) return;
          await ctx.prepareLaunch?.({ groupName, settings, instanceId: ev.instanceId, deadline, signal });
        };
  await withHeartbeats(ctx, ref, work);
  signal.throwIfAborted();

  if (ctx.dryRun) {
    ctx.logger.info(
      { dryRun: true, ...ref },
      `would complete lifecycle action ${ev.hookName} for ${ev.instanceId} with CONTINUE`,
    );
    return done('dry-run');
  }
  try {
    await withRetry(() => ctx.cloud.autoscaling.completeLifecycleAction(ref, 'CONTINUE'), {
      clock: ctx.clock,
      deadline,
      signal,
    });
    ctx.stats.lifecycleCompleted++;
    countForGroup(ctx.cloud.metrics, MetricNames.LifecycleActionsCompleted, groupName);
    ctx.logger.info({ ...ref }, `completed lifecycle action ${ev.hookName} for ${ev.instanceId}: CONTINUE`);
    ctx.notify?.({
      detailType: actionDetailType('lifecycle-continue'),
      detail: {
        kind: 'lifecycle-continue',
        group: groupName,
        instance: ev.instanceId,
        target: ev.instanceId,
        reason: `${ev.kind === 'lifecycle-terminate' ? 'released before termination' : 'prepared for launch'}; lifecycle hook ${ev.hookName} completed with CONTINUE`,
        outcome: 'done',
      },
    });
  } catch (err) {
    // The hook is gone or already completed (by us earlier, another replica, or its timeout): nothing to do.
    if (!isAutoScalingNotFound(err)) {
      throw new SpotmaxError(
        `completing lifecycle action ${ev.hookName} for ${ev.instanceId} in ${groupName}`,
        { cause: err },
      );
    }
    ctx.logger.info(
      { ...ref, err: describeError(err) },
      'lifecycle action no longer active; nothing to complete',
    );
  }
  ctx.done.set(key, 'completed');
  ctx.onGroupTouched?.(groupName);
  return done('completed');
}

async function releaseOnce(
  ev: LifecycleEvent,
  groupName: string,
  settings: GroupSettings,
  ctx: HandlerContext,
  deadline: Date,
  signal: AbortSignal,
): Promise<void> {
  const key = releaseKey(ev.instanceId);
  if (ctx.done.has(key)) return;
  // The same key as the warning's and state change's: across replicas one releases the instance, whichever
  // message reaches a replica first; a replica that finds it claimed waits for the outcome, then completes.
  const claim = await claimWork(ctx.claims, key, deadline, { clock: ctx.clock, logger: ctx.logger, signal });
  if (claim.kind === 'done') {
    ctx.done.set(key, claim.outcome);
    return;
  }
  let released = false;
  try {
    released = await markAndRelease(ev, groupName, settings, ctx, deadline, signal);
  } finally {
    if (claim.kind === 'mine') await claim.finish(released ? 'released' : undefined);
  }
  if (released) ctx.done.set(key, 'released');
}

/** Marks and releases the instance unless it is gone or marked already; true when the release is done. */
async function markAndRelease(
  ev: LifecycleEvent,
  groupName: string,
  settings: GroupSettings,
  ctx: HandlerContext,
  deadline: Date,
  signal: AbortSignal,
): Promise<boolean> {
  const instance = await freshInstance(ctx, ev.instanceId, deadline, signal);
  if (isGone(instance) || !instance) return true;
  if (instance.tags[INTERRUPTED_AT_TAG]) return true;
  if (ctx.dryRun) {
    ctx.logger.info(
      { dryRun: true, instance: ev.instanceId, group: groupName },
      `would mark and release ${ev.instanceId}`,
    );
    return false;
  }
  if (
    !(await tagInstance(
      ctx,
      ev.instanceId,
      { [INTERRUPTED_AT_TAG]: ev.time.toISOString() },
      deadline,
      signal,
    ))
  )
    return true;
  await release(ctx, groupName, settings, instance, 'lifecycle-terminate', deadline, signal);
  return true;
}

/** Runs `work`, recording a heartbeat every half heartbeat-timeout while it runs. */
async function withHeartbeats(
  ctx: HandlerContext,
  ref: LifecycleActionRef,
  work: () => Promise<void>,
): Promise<void> {
  let timeoutSeconds: number | undefined;
  try {
    // No retry beyond the SDK's: waiting longer for this read would hold back the release it guards.
    timeoutSeconds = await ctx.cloud.autoscaling.describeHookHeartbeatSeconds(ref.groupName, ref.hookName);
  } catch (err) {
    ctx.logger.warn(
      { ...ref, err: describeError(err) },
      'could not read the hook heartbeat timeout; no heartbeats',
    );
  }
  if (!timeoutSeconds || ctx.dryRun) return work();
  const stop = new AbortController();
  const beats = every(
    ctx.clock,
    (timeoutSeconds * 1000) / 2,
    async () => {
      try {
        await ctx.cloud.autoscaling.recordLifecycleActionHeartbeat(ref);
        ctx.logger.debug({ ...ref }, 'lifecycle heartbeat');
      } catch (err) {
        // Logged, not fatal: the next beat tries again.
        ctx.logger.warn({ ...ref, err: describeError(err) }, 'lifecycle heartbeat failed');
      }
    },
    stop.signal,
  );
  try {
    await work();
  } finally {
    stop.abort();
    await beats;
  }
}
