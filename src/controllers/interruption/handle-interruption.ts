import type { GroupSettings } from '../../config/schema.js';
import { DeadlineError, describeError } from '../../domain/errors.js';
import type { SpotInterruptionEvent, StateChangeEvent } from '../../domain/events.js';
import { parseMemberSwap } from '../../domain/swap-records.js';
import { INTERRUPTED_AT_TAG, SWAPPED_IN_TAG } from '../../domain/tags.js';
import type { Group, Instance } from '../../domain/types.js';
import { countForGroup, secondsForGroup } from '../../observability/group-metrics.js';
import { MetricNames } from '../../observability/metric-names.js';
import { actionDetailType } from '../../observability/notices.js';
import type { ReleaseReason } from '../../ports/releaser.js';
import { recordReleaseMetrics, summarizeOutcomes } from '../../release/outcomes.js';
import { runReleasers } from '../../release/run.js';
import { withDeadline } from '../../timing/deadline.js';
import { type HandlerContext, WARNING_MS } from './context.js';
import { LEAVING_LIFECYCLE } from './detach-coalescer.js';
import { detachDecrement } from './detach-order.js';
import type { DirectoryEntry } from './directory.js';
import { detachFailedNotice, releaseIncompleteNotice } from './failure-notices.js';
import { keepDataVolume } from './keep-volume.js';
import { discard, done, type EventOutcome, freshInstance, groupOf, isGone, tagInstance } from './outcome.js';
import type { TakenStandby } from './standby-hook.js';

/** State changes that mean the instance is going away: release it if nothing has yet. */
export const LEAVING_STATES = new Set(['stopping', 'stopped', 'shutting-down', 'terminated']);

export const releaseKey = (instanceId: string) => `${instanceId}/release`;

/**
 * A Spot warning (or a state change to stopping/terminated): mark, release, detach.
 *
 * Timing rule: release steps start at once and are bounded by (deadline - margin), deadline being the
 * event time + 120 s. The detach is sent at max(event time + detachDelaySeconds, end of the release
 * steps): never before the configured delay, and never held back by a release step that fails or
 * overruns. The marker `spotmax:interrupted-at=<event time>` is written before any effect; a run that
 * finds it (another replica, a restart) does not release again but still makes sure the detach happens.
 */
export async function handleInterruption(
  ev: SpotInterruptionEvent | StateChangeEvent,
  entry: DirectoryEntry,
  ctx: HandlerContext,
  signal: AbortSignal,
): Promise<EventOutcome> {
  const { groupName, settings } = groupOf(entry.resolved);
  const deadline = new Date(ev.time.getTime() + WARNING_MS);
  const log = ctx.logger.child({
    instance: ev.instanceId,
    group: groupName,
    event: ev.kind,
    eventId: ev.eventId,
  });
  if (ev.kind === 'spot-interruption') {
    ctx.stats.warnings++;
    countForGroup(ctx.cloud.metrics, MetricNames.Interruptions, groupName);
  }

  const instance = await freshInstance(ctx, ev.instanceId, deadline, signal);
  if (isGone(instance)) {
    handled(ctx, groupName, 'already-gone');
    if (ctx.clock.now() > deadline)
      return discard(
        'too-old',
        `${ev.instanceId} is gone and its deadline ${deadline.toISOString()} has passed`,
      );
    return done(`${ev.instanceId} is already gone`);
  }
  const current = instance as Instance;
  const marker = current.tags[INTERRUPTED_AT_TAG];
  let detachNotBefore = ev.time.getTime() + settings.interruption.detachDelaySeconds * 1000;
  let standby: Promise<TakenStandby | undefined> = Promise.resolve(undefined);

  if (marker) {
    // Released by an earlier run: only make sure the detach it would have sent happens, on its schedule.
    const markedAt = Date.parse(marker);
    if (!Number.isNaN(markedAt)) detachNotBefore = markedAt + settings.interruption.detachDelaySeconds * 1000;
    log.info({ marker }, `${ev.instanceId} already carries ${INTERRUPTED_AT_TAG}; not releasing again`);
  } else if (ctx.dryRun) {
    const steps = ctx.releasersFor(groupName, settings).map((r) => r.name);
    log.info(
      { dryRun: true, steps },
      `would mark ${ev.instanceId}, release it (${steps.join(', ') || 'no steps'}) and detach it from ${groupName}`,
    );
  } else {
    const stillThere = await tagInstance(
      ctx,
      ev.instanceId,
      { [INTERRUPTED_AT_TAG]: ev.time.toISOString() },
      deadline,
      signal,
    );
    if (!stillThere) return done(`${ev.instanceId} disappeared before it could be marked`);
    standby = takeStandby(ctx, groupName, settings, current, deadline, signal);
    const keeping = keepDataVolume(ctx, groupName, settings, current);
    await release(
      ctx,
      groupName,
      settings,
      current,
      ev.kind === 'spot-interruption' ? 'spot-interruption' : 'state-change',
      deadline,
      signal,
    );
    await keeping;
  }

  // Shutting down: leave the detach to the replica that gets the message next (it finds the marker).
  signal.throwIfAborted();
  const wait = detachNotBefore - ctx.clock.now().getTime();
  if (wait > 0 && !ctx.dryRun) await ctx.clock.sleep(wait, signal);
  // Marked by another run (a replica that could not claim it, or ours before a crash): that run may have
  // detached it meanwhile. Without the claim the marker alone said "released", not "detached".
  let swappedIn: string | undefined;
  if (marker && !ctx.dryRun) {
    const fresh = await freshGroup(ctx, groupName, ev.instanceId);
    if (fresh !== 'unknown' && (!fresh || !isMember(fresh, ev.instanceId)))
      return done(`${ev.instanceId} already left ${groupName}: the run that marked it detached it`);
    // That run may also have swapped a standby in (its attach added the units) and died before the
    // detach with decrement that takes them out again: finish the swap now rather than have Auto Scaling
    // launch a replacement on top of the standby until the reconciler takes the units back.
    if (fresh !== 'unknown') swappedIn = await standbySwappedInFor(ctx, fresh, ev.instanceId);
  }
  const replacement = await standbyInTime(ctx, standby, deadline.getTime() - ctx.releaseMarginMs);
  const decrement = swappedIn
    ? {
        decrement: true,
        note: `standby ${swappedIn} was swapped in for ${ev.instanceId} by the run that marked it: detaching with decrement to finish the swap`,
      }
    : detachDecrement(entry.resolved.group, replacement !== undefined, ev.instanceId);
  if (decrement.note) log.info({ standby: replacement?.instanceId ?? swappedIn }, decrement.note);
  let result: Awaited<ReturnType<typeof ctx.coalescer.detach>> | undefined;
  try {
    result = await detachOnceInService(
      ctx,
      () => ctx.coalescer.detach(groupName, ev.instanceId, decrement.decrement, deadline),
      { groupName, instanceId: ev.instanceId, deadline, signal, log },
    );
  } catch (err) {
    // The message comes back for another attempt (consumer.ts): the operators hear of it now, not only
    // when the last attempt fails too (then handle-event.ts publishes the give-up instead of this).
    if (!ctx.dryRun && !ctx.attempt?.last && !signal.aborted)
      ctx.notify?.(detachFailedNotice({ ev, group: groupName, err, attempt: ctx.attempt?.count ?? 1 }));
    throw err;
  } finally {
    // The swap's MaxSize headroom goes back once desired is back (the detach decremented it) or the
    // detach failed (then the reconciler sorts out the record the swap left). When the interrupted
    // instance had already left by other hands, no decrement happened: the swap takes back what it added.
    await replacement
      ?.finish?.(result?.status ?? 'failed')
      .catch((err) =>
        log.warn(
          { err: describeError(err) },
          'finishing the standby swap failed; the reconciler finishes it',
        ),
      );
  }
  if (swappedIn && result.status === 'detached') {
    // The units are out of desired again: the swap's record goes (the reconciler would only remove it).
    await ctx.cloud.ec2
      .deleteTags([swappedIn], [SWAPPED_IN_TAG])
      .catch((err) =>
        log.warn(
          { standby: swappedIn, err: describeError(err) },
          `removing ${SWAPPED_IN_TAG} from ${swappedIn} failed; the reconciler removes it`,
        ),
      );
  }
  if (result.status === 'detached') {
    ctx.stats.detached++;
    countForGroup(ctx.cloud.metrics, MetricNames.InstancesDetached, groupName);
    const lag = ((result.sentAt ?? ctx.clock.now()).getTime() - ev.time.getTime()) / 1000;
    secondsForGroup(ctx.cloud.metrics, MetricNames.DetachLag, groupName, lag);
    log.info(
      { lagSeconds: lag, standby: replacement?.instanceId },
      `detached ${ev.instanceId} from ${groupName}`,
    );
    ctx.notify?.({
      detailType: actionDetailType('interruption-detach'),
      detail: {
        kind: 'interruption-detach',
        group: groupName,
        instance: ev.instanceId,
        target: ev.instanceId,
        reason: `${ev.kind === 'spot-interruption' ? 'Spot interruption warning' : `instance ${ev.kind}`} at ${ev.time.toISOString()}; ${
          replacement
            ? `standby ${replacement.instanceId} attached in its place`
            : decrement.decrement
              ? 'detached with decrement'
              : 'detached so Auto Scaling launches a replacement now'
        }`,
        outcome: 'done',
        lagSeconds: lag,
        ...(replacement ? { standby: replacement.instanceId } : {}),
      },
    });
  }
  handled(ctx, groupName, result.status === 'detached' && replacement ? 'standby' : result.status);
  ctx.onGroupTouched?.(groupName);
  return done(`detach: ${result.status}`);
}

/** How often a detach refused for a member still Pending looks at it again. */
const PENDING_POLL_MS = 5_000;

/**
 * Sends the detach; when Auto Scaling refuses it because the member is still Pending (booting, or in a
 * launch lifecycle hook: only InService or Standby members can be detached, docs/aws-rules.md), looks
 * again every 5 s and sends it the moment the member is InService, within the warning. A Spot warning can
 * come while the instance boots (40-180 s). Failing the message instead spent its attempts (5 deliveries,
 * 2-4-8-16 s apart) before the boot ended, and the instance was never detached: on a simulated day of
 * scale-large, 8 of 12,323 warnings; Auto Scaling then replaced it only after its health check saw it
 * terminated, 30 s past the warning's end instead of ~60 s before it.
 */
async function detachOnceInService<T>(
  ctx: HandlerContext,
  detach: () => Promise<T>,
  at: {
    groupName: string;
    instanceId: string;
    deadline: Date;
    signal: AbortSignal;
    log: HandlerContext['logger'];
  },
): Promise<T> {
  const inTime = () =>
    ctx.clock.now().getTime() + PENDING_POLL_MS < at.deadline.getTime() - ctx.releaseMarginMs;
  for (;;) {
    try {
      return await detach();
    } catch (err) {
      let state = await memberState(ctx, at.groupName, at.instanceId);
      if (!state?.startsWith('Pending')) throw err;
      at.log.info(
        { lifecycleState: state },
        `${at.instanceId} is ${state} in ${at.groupName}: Auto Scaling detaches only InService or Standby members; waiting for it to be InService`,
      );
      while (state?.startsWith('Pending')) {
        if (!inTime()) throw err;
        await ctx.clock.sleep(PENDING_POLL_MS, at.signal);
        state = await memberState(ctx, at.groupName, at.instanceId);
      }
    }
  }
}

/** The member's lifecycle state as Auto Scaling shows it now; undefined when not a member or unreadable. */
async function memberState(ctx: HandlerContext, groupName: string, instanceId: string) {
  const group = await ctx.cloud.autoscaling.describeGroups([groupName]).then(
    ([g]) => g,
    () => undefined,
  );
  return group?.members.find((m) => m.instanceId === instanceId)?.lifecycleState;
}

/**
 * The group as Auto Scaling shows it now, undefined when it is gone, 'unknown' when it cannot be read
 * (then the detach goes ahead: a needless detach is refused, a missed one loses the replacement).
 */
async function freshGroup(
  ctx: HandlerContext,
  groupName: string,
  instanceId: string,
): Promise<Group | undefined | 'unknown'> {
  try {
    const [group] = await ctx.cloud.autoscaling.describeGroups([groupName]);
    return group;
  } catch (err) {
    ctx.logger.warn(
      { group: groupName, instance: instanceId, err: describeError(err) },
      `checking whether ${instanceId} is still in ${groupName} failed; detaching it`,
    );
    return 'unknown';
  }
}

const isMember = (group: Group, instanceId: string): boolean => {
  const member = group.members.find((m) => m.instanceId === instanceId);
  return member !== undefined && !LEAVING_LIFECYCLE.test(member.lifecycleState);
};

/** A member of `group` carrying the swap record of a standby attached for `instanceId`, if any. */
async function standbySwappedInFor(
  ctx: HandlerContext,
  group: Group,
  instanceId: string,
): Promise<string | undefined> {
  const others = group.members
    .filter((m) => m.instanceId !== instanceId && !LEAVING_LIFECYCLE.test(m.lifecycleState))
    .map((m) => m.instanceId);
  if (others.length === 0) return undefined;
  try {
    const described = await ctx.cloud.ec2.describeInstances(others);
    return described.find((i) => parseMemberSwap(i.tags[SWAPPED_IN_TAG])?.interrupted === instanceId)
      ?.instanceId;
  } catch (err) {
    ctx.logger.warn(
      { group: group.name, instance: instanceId, err: describeError(err) },
      `looking for a standby swapped in for ${instanceId} failed; detaching without it`,
    );
    return undefined;
  }
}

/** Runs the group's release steps; never throws (a failed step is logged, the detach follows). */
export async function release(
  ctx: HandlerContext,
  groupName: string,
  settings: GroupSettings,
  instance: Instance,
  reason: ReleaseReason,
  deadline: Date,
  signal: AbortSignal,
  mode: 'drain' | 'cordon' = 'drain',
): Promise<void> {
  const started = ctx.clock.now().getTime();
  const bounded = new Date(Math.max(started, deadline.getTime() - ctx.releaseMarginMs));
  const outcomes = await runReleasers(
    ctx.releasersFor(groupName, settings),
    { groupName, instance, mode, reason, deadline: bounded, signal },
    { clock: ctx.clock },
  );
  const seconds = (ctx.clock.now().getTime() - started) / 1000;
  ctx.stats.released++;
  secondsForGroup(ctx.cloud.metrics, MetricNames.ReleaseSeconds, groupName, seconds);
  recordReleaseMetrics(ctx.cloud.metrics, groupName, outcomes);
  const failed = outcomes.filter((o) => o.status === 'failed' || o.status === 'partial');
  const log = ctx.logger.child({ instance: instance.instanceId, group: groupName, mode });
  // One line an operator can read at 3 a.m.: every step, its outcome, duration and counts.
  const summary = summarizeOutcomes(outcomes);
  if (failed.length > 0) {
    log.warn({ outcomes, seconds }, `release of ${instance.instanceId} incomplete; going on: ${summary}`);
    // Work left on the instance (pods not evicted, a service still registered) may need a person.
    const notice = releaseIncompleteNotice({
      group: groupName,
      instanceId: instance.instanceId,
      mode,
      reason,
      outcomes,
      summary,
    });
    if (notice) ctx.notify?.(notice);
  } else log.info({ outcomes, seconds }, `released ${instance.instanceId}: ${summary}`);
}

function takeStandby(
  ctx: HandlerContext,
  groupName: string,
  settings: GroupSettings,
  interrupted: Instance,
  deadline: Date,
  signal: AbortSignal,
): Promise<TakenStandby | undefined> {
  if (!ctx.standby || settings.standby.size === 0) return Promise.resolve(undefined);
  return ctx.standby.takeStandby({ groupName, settings, interrupted, deadline, signal }).catch((err) => {
    ctx.logger.warn(
      { group: groupName, instance: interrupted.instanceId, err: describeError(err) },
      'no standby taken; the ASG replaces the instance',
    );
    return undefined;
  });
}

/** The standby taken, or undefined once `untilMs` has passed (a slow standby never holds back the detach). */
function standbyInTime(
  ctx: HandlerContext,
  standby: Promise<TakenStandby | undefined>,
  untilMs: number,
): Promise<TakenStandby | undefined> {
  // At least a moment: a standby already taken when the margin is reached still counts.
  const ms = Math.max(1, untilMs - ctx.clock.now().getTime());
  return withDeadline(() => standby, { clock: ctx.clock, ms, what: 'taking a standby' }).catch((err) => {
    if (err instanceof DeadlineError) return undefined;
    throw err;
  });
}

/** How an interruption's handling ended, per group (InterruptionsHandled by Outcome). */
function handled(ctx: HandlerContext, groupName: string, outcome: string): void {
  ctx.cloud.metrics.record({
    name: MetricNames.InterruptionsHandled,
    value: 1,
    unit: 'Count',
    dimensions: { AutoScalingGroupName: groupName, Outcome: outcome },
  });
}
