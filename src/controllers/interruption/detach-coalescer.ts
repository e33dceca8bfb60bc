import { describeError, SpotmaxError } from '../../domain/errors.js';
import type { AutoScalingPort } from '../../ports/autoscaling.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import { withRetry } from '../../timing/retry.js';

/** DetachInstances takes at most 20 ids a call. */
export const MAX_DETACH_BATCH = 20;

export interface DetachResult {
  status: 'detached' | 'already-gone' | 'dry-run';
  /** When the DetachInstances call carrying this instance was sent (undefined when none was needed). */
  sentAt?: Date;
}

interface Pending {
  instanceId: string;
  deadline: Date;
  resolve: (r: DetachResult) => void;
  reject: (err: unknown) => void;
}

interface Bucket {
  groupName: string;
  decrement: boolean;
  items: Pending[];
  timer?: AbortController;
}

export interface DetachCoalescerOptions {
  autoscaling: AutoScalingPort;
  clock: Clock;
  logger: Logger;
  dryRun: boolean;
  /** How long the first id of a batch waits for company; capped at 100 ms. */
  windowMs?: number;
}

/** Member states in which the instance is already on its way out of the group: nothing left to do. */
export const LEAVING_LIFECYCLE = /^(Terminating|Terminated|Detaching|Detached)/;

/**
 * Gathers the detaches of one group (and one decrement choice) for a short window and sends them in
 * calls of at most 20 ids, so a storm of warnings costs a few calls per group instead of one each.
 * An instance that is no longer a member (already detached, terminating, gone) counts as success.
 */
export class DetachCoalescer {
  private readonly buckets = new Map<string, Bucket>();
  private readonly windowMs: number;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly opts: DetachCoalescerOptions) {
    this.windowMs = Math.min(100, Math.max(0, opts.windowMs ?? 20));
  }

  detach(groupName: string, instanceId: string, decrement: boolean, deadline: Date): Promise<DetachResult> {
    const key = `${groupName}\u0000${decrement}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { groupName, decrement, items: [] };
      this.buckets.set(key, bucket);
    }
    const b = bucket;
    const result = new Promise<DetachResult>((resolve, reject) =>
      b.items.push({ instanceId, deadline, resolve, reject }),
    );
    if (b.items.length >= MAX_DETACH_BATCH) {
      this.flush(key);
    } else if (!b.timer) {
      const timer = new AbortController();
      b.timer = timer;
      this.opts.clock.sleep(this.windowMs, timer.signal).then(
        () => this.flush(key),
        () => undefined,
      );
    }
    return result;
  }

  /** Sends everything gathered so far at once (used on shutdown). */
  async drain(): Promise<void> {
    for (const key of [...this.buckets.keys()]) this.flush(key);
    await Promise.allSettled([...this.inFlight]);
  }

  private flush(key: string): void {
    const bucket = this.buckets.get(key);
    if (!bucket) return;
    this.buckets.delete(key);
    bucket.timer?.abort();
    for (let i = 0; i < bucket.items.length; i += MAX_DETACH_BATCH) {
      const chunk = bucket.items.slice(i, i + MAX_DETACH_BATCH);
      const p = this.send(bucket.groupName, bucket.decrement, chunk).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }

  private async send(groupName: string, decrement: boolean, items: Pending[]): Promise<void> {
    const ids = [...new Set(items.map((i) => i.instanceId))];
    const deadline = new Date(Math.max(...items.map((i) => i.deadline.getTime())));
    const log = this.opts.logger.child({ group: groupName, instances: ids, decrement });
    const settle = (fn: (p: Pending) => void) => items.forEach(fn);
    if (this.opts.dryRun) {
      log.info({ dryRun: true }, `would detach ${ids.length} instance(s) from ${groupName}`);
      settle((p) => p.resolve({ status: 'dry-run' }));
      return;
    }
    const firstAttempt = this.opts.clock.now();
    try {
      const sentAt = await this.call(groupName, ids, decrement, deadline);
      log.info({}, `detached ${ids.length} instance(s) from ${groupName}`);
      settle((p) => p.resolve({ status: 'detached', sentAt }));
    } catch (err) {
      const fail = (cause: unknown) => {
        const wrapped = new SpotmaxError(`detaching ${ids.join(', ')} from ${groupName}`, { cause });
        log.error({ err: describeError(cause) }, wrapped.message);
        settle((p) => p.reject(wrapped));
      };
      // A whole call fails when one id is no longer a member: find out which ids still need a detach.
      let members: { still: Set<string>; detaching: Set<string> };
      try {
        members = await this.membership(groupName, ids);
      } catch {
        return fail(err);
      }
      const { still, detaching } = members;
      const remaining = ids.filter((id) => still.has(id));
      if (remaining.length === ids.length) return fail(err);
      try {
        const sentAt =
          remaining.length > 0 ? await this.call(groupName, remaining, decrement, deadline) : undefined;
        log.info({ remaining }, `detached ${remaining.length}; the others had already left ${groupName}`);
        // An id now Detaching was detached by a call of ours whose answer was lost (the SDK sent it again
        // and got a refusal): it counts as detached, at the first attempt, not as gone by other hands.
        settle((p) =>
          p.resolve(
            still.has(p.instanceId)
              ? { status: 'detached', sentAt }
              : detaching.has(p.instanceId)
                ? { status: 'detached', sentAt: firstAttempt }
                : { status: 'already-gone' },
          ),
        );
      } catch (final) {
        fail(final);
      }
    }
  }

  private async call(groupName: string, ids: string[], decrement: boolean, deadline: Date): Promise<Date> {
    let sentAt = this.opts.clock.now();
    await withRetry(
      () => {
        sentAt = this.opts.clock.now();
        return this.opts.autoscaling.detachInstances(groupName, ids, decrement);
      },
      {
        clock: this.opts.clock,
        deadline,
        onRetry: (e, attempt) =>
          this.opts.logger.warn(
            { group: groupName, attempt, err: describeError(e) },
            'DetachInstances throttled; retrying',
          ),
      },
    );
    return sentAt;
  }

  /** Which ids are still members to detach, and which are already Detaching. */
  private async membership(
    groupName: string,
    ids: string[],
  ): Promise<{ still: Set<string>; detaching: Set<string> }> {
    const [group] = await this.opts.autoscaling.describeGroups([groupName]);
    const wanted = new Set(ids);
    const still = new Set<string>();
    const detaching = new Set<string>();
    for (const m of group?.members ?? []) {
      if (!wanted.has(m.instanceId)) continue;
      if (!LEAVING_LIFECYCLE.test(m.lifecycleState)) still.add(m.instanceId);
      else if (m.lifecycleState.startsWith('Detach')) detaching.add(m.instanceId);
    }
    return { still, detaching };
  }
}
