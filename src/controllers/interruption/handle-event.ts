import type { InterruptionEvent } from '../../domain/events.js';
import { INTERRUPTED_AT_TAG } from '../../domain/tags.js';
import { claimWork } from './claims.js';
import type { HandlerContext } from './context.js';
import { WARNING_MS } from './context.js';
import type { DirectoryEntry } from './directory.js';
import { gaveUpNotice } from './failure-notices.js';
import { handleInterruption, LEAVING_STATES, releaseKey } from './handle-interruption.js';
import { handleLifecycle } from './handle-lifecycle.js';
import { handleRebalance, rebalanceKey } from './handle-rebalance.js';
import { discard, done, type EventOutcome } from './outcome.js';

/** Per-instance serializer shared by all events (so a warning and a state-change never act at once). */
export interface Serializer {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** The group an event turned out to be about, once known (for the notice of a failure). */
interface Found {
  group?: string;
}

/**
 * One event: serialized per instance, deduplicated by a deterministic key, routed to its handler.
 * Throws when the work failed and should be retried through redelivery. When that was the message's
 * last delivery (the controller gives it up), the failure is published as the event's action, failed.
 */
export async function handleEvent(
  ev: InterruptionEvent,
  ctx: HandlerContext,
  serializer: Serializer,
  signal: AbortSignal,
): Promise<EventOutcome> {
  const found: Found = {};
  try {
    return await serializer.run(ev.instanceId, () => route(ev, ctx, signal, found));
  } catch (err) {
    // Shutting down is no failure: the message goes back to the queue and is not given up.
    if (ctx.attempt?.last && !signal.aborted && !ctx.dryRun)
      ctx.notify?.(gaveUpNotice({ ev, group: found.group, err, attempt: ctx.attempt.count }));
    throw err;
  }
}

async function route(
  ev: InterruptionEvent,
  ctx: HandlerContext,
  signal: AbortSignal,
  found: Found,
): Promise<EventOutcome> {
  switch (ev.kind) {
    case 'lifecycle-launch':
    case 'lifecycle-terminate': {
      found.group = ev.groupName;
      const resolved = await ctx.directory.lookupGroup(ev.groupName);
      if (!resolved)
        return discard('not-managed', `group ${ev.groupName} of ${ev.instanceId} is not managed by spotmax`);
      return handleLifecycle(ev, resolved, ctx, signal);
    }
    case 'state-change':
      if (!LEAVING_STATES.has(ev.state))
        return discard('irrelevant', `${ev.instanceId} changed to ${ev.state}`);
      return once(releaseKey(ev.instanceId), ev, ctx, signal, found, (entry) =>
        handleInterruption(ev, entry, ctx, signal),
      );
    case 'spot-interruption': {
      const ahead = ev.time.getTime() - ctx.clock.now().getTime();
      if (ahead > FUTURE_TOLERANCE_MS)
        return discard(
          'future-dated',
          `warning for ${ev.instanceId} dated ${ev.time.toISOString()}, ${Math.round(ahead / 1000)} s ahead of this clock`,
        );
      return once(releaseKey(ev.instanceId), ev, ctx, signal, found, async (entry) => {
        const stale = await staleWarning(ev, ctx);
        if (stale) return discard('stale', stale);
        return handleInterruption(ev, entry, ctx, signal);
      });
    }
    case 'rebalance':
    case 'scheduled-change':
      return once(rebalanceKey(ev.instanceId), ev, ctx, signal, found, (entry) =>
        handleRebalance(ev, entry, ctx, signal),
      );
  }
}

/**
 * Events lie about time (a replayed message, a clock that is off): a warning dated more than this far in
 * the future is discarded rather than held, since holding it would detach a healthy instance later.
 */
export const FUTURE_TOLERANCE_MS = 60_000;
/** A warning whose deadline passed longer ago than this is checked against the instance before acting. */
export const STALE_AFTER_MS = 60_000;

/**
 * Why a warning is stale (its deadline passed more than a minute ago, yet the instance still runs and
 * spotmax never marked it: EC2 did not reclaim it, so detaching it would remove a healthy instance), or
 * undefined when it must be acted on (a marked instance is finished: that is recovery after a crash).
 */
async function staleWarning(ev: InterruptionEvent, ctx: HandlerContext): Promise<string | undefined> {
  const late = ctx.clock.now().getTime() - (ev.time.getTime() + WARNING_MS);
  if (late <= STALE_AFTER_MS) return undefined;
  const [instance] = await ctx.cloud.ec2.describeInstances([ev.instanceId]);
  if (instance?.state !== 'running' || instance.tags[INTERRUPTED_AT_TAG]) return undefined;
  return `warning for ${ev.instanceId} dated ${ev.time.toISOString()}: its deadline passed ${Math.round(late / 1000)} s ago and the instance still runs unmarked`;
}

async function once(
  key: string,
  ev: InterruptionEvent,
  ctx: HandlerContext,
  signal: AbortSignal,
  found: Found,
  act: (entry: DirectoryEntry) => Promise<EventOutcome>,
): Promise<EventOutcome> {
  if (ctx.done.has(key)) return done(`duplicate of work already done (${key})`);
  const entry = await ctx.directory.lookup(ev.instanceId);
  found.group = entry?.resolved.group.name;
  if (!entry) {
    const pastDeadline = ctx.clock.now().getTime() > ev.time.getTime() + WARNING_MS;
    if (pastDeadline)
      return discard('too-old', `${ev.instanceId} is in no managed group and its deadline has passed`);
    const group = ctx.directory.unmanagedGroupOf(ev.instanceId);
    return group
      ? discard('not-managed', `${ev.instanceId} belongs to ${group}, which spotmax does not manage`)
      : discard('unknown-instance', `${ev.instanceId} is in no Auto Scaling group spotmax knows`);
  }
  // Across replicas, one acts on the instance; the others wait for its outcome (claims.ts).
  const claim = await claimWork(ctx.claims, key, new Date(ev.time.getTime() + WARNING_MS), {
    clock: ctx.clock,
    logger: ctx.logger,
    signal,
  });
  if (claim.kind === 'done') {
    ctx.done.set(key, claim.outcome);
    return done(`handled by ${claim.holder}: ${claim.outcome}`);
  }
  let outcome: EventOutcome | undefined;
  try {
    outcome = await act(entry);
  } finally {
    if (claim.kind === 'mine')
      await claim.finish(outcome?.status === 'done' ? (outcome.detail ?? 'done') : undefined);
  }
  if (outcome.status === 'done') ctx.done.set(key, outcome.detail ?? 'done');
  return outcome;
}
