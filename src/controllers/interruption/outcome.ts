import type { ResolvedGroup } from '../../config/resolved.js';
import type { GroupSettings } from '../../config/schema.js';
import { isNotFound, SpotmaxError } from '../../domain/errors.js';
import type { DiscardReason } from '../../domain/events.js';
import type { Instance, Tags } from '../../domain/types.js';
import { withRetry } from '../../timing/retry.js';
import type { HandlerContext } from './context.js';

export type EventOutcome =
  | { status: 'done'; detail?: string }
  | { status: 'discard'; reason: DiscardReason; detail: string };

export const done = (detail?: string): EventOutcome => ({ status: 'done', detail });
export const discard = (reason: DiscardReason, detail: string): EventOutcome => ({
  status: 'discard',
  reason,
  detail,
});

/** A fresh view of one instance (tags included), or undefined when EC2 no longer knows it. */
export async function freshInstance(
  ctx: HandlerContext,
  instanceId: string,
  deadline: Date,
  signal: AbortSignal,
): Promise<Instance | undefined> {
  try {
    const [instance] = await withRetry(() => ctx.cloud.ec2.describeInstances([instanceId]), {
      clock: ctx.clock,
      deadline,
      signal,
    });
    return instance;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw new SpotmaxError(`describing ${instanceId}`, { cause: err });
  }
}

/** Tags an instance; false when it is gone. */
export async function tagInstance(
  ctx: HandlerContext,
  instanceId: string,
  tags: Tags,
  deadline: Date,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    await withRetry(() => ctx.cloud.ec2.createTags([instanceId], tags), {
      clock: ctx.clock,
      deadline,
      signal,
    });
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw new SpotmaxError(`tagging ${instanceId} with ${Object.keys(tags).join(', ')}`, { cause: err });
  }
}

export const isGone = (instance: Instance | undefined) => !instance || instance.state === 'terminated';

/** Name and settings of a managed group (the directory only returns managed groups, which have settings). */
export function groupOf(resolved: ResolvedGroup): { groupName: string; settings: GroupSettings } {
  return { groupName: resolved.group.name, settings: resolved.settings as GroupSettings };
}
