import { setMaxListeners } from 'node:events';
import { CloudError, NOT_LEADER } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import type { Cloud } from '../ports/cloud.js';
import type { Logger } from '../ports/logger.js';
import { type BucketSpec, TokenBucket } from '../timing/token-bucket.js';
import type { Leadership } from './leadership.js';

// One mechanism for "this cloud may not change anything unless …": every call outside an allowlist of
// reads first passes a guard, which throws to refuse it or waits to hold it back. Three guards use it:
// - --dry-run refuses every change, by construction. The controllers still branch on dryRun to log
//   "would …" with their reasons and to skip waits that only make sense after a change; the guard is the
//   net under them, so a branch that forgets dry-run logs a refused call instead of detaching,
//   terminating or deleting in a live account.
// - Leader fencing: the reconciler of a replica changes the region only while it holds the leader lease
//   at the epoch it acquired, checked before each change (app/leadership.ts), so a paused leader whose
//   lease was taken over cannot act after waking up.
// - Write pacing: the reconciler's EC2 writes wait for a token of its budget (RECONCILER_EC2_WRITES), so a
//   replacement wave never spends the account's EC2 write rate the fast path needs.

/**
 * The calls that never need the guard: reads, and the queue's receive and visibility (a dry run leaves
 * every message on the queue for the service that acts). Anything else, including a call added to a port
 * later, is guarded: an allowlist fails safe.
 */
const READS: Record<'autoscaling' | 'ec2' | 'queue', readonly string[]> = {
  autoscaling: [
    'describeGroups',
    'describeScalingActivities',
    'describeInstanceRefreshes',
    'describeHookHeartbeatSeconds',
  ],
  ec2: [
    'describeInstances',
    'describeVolumes',
    'describeSnapshots',
    'describeLaunchTemplateVersion',
    'describeImages',
    'describeInstanceTypes',
    'getInstanceTypesFromInstanceRequirements',
    'describeInstanceStatus',
    'findInstanceIdsByTag',
    'findVolumeIdsByTag',
  ],
  queue: ['receive', 'changeVisibility', 'check'],
};

/** Refuses a call (throws) or lets it through (resolves); `call` is "port.method". */
export type ChangeGuard = (call: string, args: unknown[]) => Promise<void>;

export function guardChanges(cloud: Cloud, guard: ChangeGuard): Cloud {
  const wrap = <T extends object>(port: keyof typeof READS, target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver);
        if (typeof prop !== 'string' || typeof value !== 'function') return value;
        // Bound to the adapter: its own calls through `this` (helpers, private methods) are not guarded.
        if (READS[port].includes(prop)) return (value as (...a: unknown[]) => unknown).bind(obj);
        return async (...args: unknown[]) => {
          await guard(`${port}.${prop}`, args);
          return (value as (...a: unknown[]) => unknown).apply(obj, args);
        };
      },
    });
  return {
    ...cloud,
    autoscaling: wrap('autoscaling', cloud.autoscaling),
    ec2: wrap('ec2', cloud.ec2),
    queue: wrap('queue', cloud.queue),
  };
}

/** The cloud of a dry run: every change is logged and refused. */
export function dryRunCloud(cloud: Cloud, logger: Logger): Cloud {
  return guardChanges(cloud, async (call, args) => {
    logger.warn({ dryRun: true, call, args: JSON.stringify(args).slice(0, 300) }, `dry run: refused ${call}`);
    const method = call.split('.')[1] ?? call;
    throw new CloudError(method, `dry run: ${call} not sent`, 'DryRun', false);
  });
}

/**
 * The reconciler's cloud under leader fencing: a change goes out only when the store still says this
 * replica holds the lease at its epoch; else it is refused with NOT_LEADER, the lease's state as the cause
 * (the executor reports such an action as refused, at warn: the new leader does it).
 */
export function fencedCloud(
  cloud: Cloud,
  leadership: Pick<Leadership, 'stillLeader' | 'refusalReason'>,
): Cloud {
  return guardChanges(cloud, async (call) => {
    if (!(await leadership.stillLeader()))
      throw new CloudError(call, `${call} refused`, NOT_LEADER, false, new Error(leadership.refusalReason()));
  });
}

/**
 * The reconciler's share of EC2's request rate for writes. EC2 throttles per account and region with a
 * token bucket per API, sized by the API's category ("Request throttling for the Amazon EC2 API"): a
 * mutating action's holds 50, refilled at 5 a second (RunInstances, StartInstances and TerminateInstances
 * have their own sizes and a resource bucket beside). CreateTags is the reconciler's busiest write, and
 * the fast path's interrupted-at marker and a standby's tags are CreateTags too: the same bucket. Left
 * unpaced, a region-wide lifetime wave (500 groups each starting replacements, every one writing its
 * record with CreateTags) sent far more than 5 a second: on scale-large 30 % of all calls were throttled,
 * nearly all of them CreateTags, and each throttled write came back with the SDK's retries and the next
 * pass. Paced at 3 a second with a burst of 20, the reconciler leaves 2 a second and 30 of burst to the
 * fast path and to the account's other tools; a write over the budget waits for its token instead of
 * being sent to be refused.
 */
export const RECONCILER_EC2_WRITES: BucketSpec = { capacity: 20, refillPerSecond: 3 };
/** EC2 writes with buckets of their own (not paced here). */
const OWN_BUCKET = new Set(['ec2.runInstances', 'ec2.startInstances', 'ec2.terminateInstances']);

/**
 * The reconciler's cloud with its EC2 writes paced by `budget` (reads and other services are not). A write
 * waiting for its token when `stop` aborts is refused with the abort's reason instead of sent.
 */
export function pacedWrites(
  cloud: Cloud,
  clock: Clock,
  stop?: AbortSignal,
  budget = new TokenBucket(RECONCILER_EC2_WRITES, clock.now().getTime()),
): Cloud {
  // Every write waiting for its token listens on `stop`, and a wave has many waiting at once (each wait
  // removes its listener when it ends): not the leak Node's default limit of 10 listeners warns about.
  if (stop) setMaxListeners(0, stop);
  return guardChanges(cloud, async (call) => {
    if (call.startsWith('ec2.') && !OWN_BUCKET.has(call)) await budget.takeWhenReady(clock, stop);
  });
}
