import { isNotFound, notFoundInstanceIds, SpotmaxError } from '../../domain/errors.js';
import { describeWithoutMissing } from '../../domain/missing-ids.js';
import type { Instance } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import type { Ec2Port } from '../../ports/ec2.js';

// "Eventual consistency in the Amazon EC2 API": right after RunInstances (ours, or the ASG's launch of
// a new member) DescribeInstances may answer InvalidInstanceID.NotFound for the new id, and EC2 refuses
// a whole DescribeInstances when one id is unknown. These two reads keep such a lag from failing a step.

/**
 * Describes `ids`, leaving out the ones EC2 does not know (yet, or any more), for a port that answers
 * InvalidInstanceID.NotFound (the simulated region; the AWS adapter leaves them out itself): the same
 * drop-the-named-ids-then-halve as the adapter's (domain/missing-ids.ts). Halving alone, after a storm's
 * 50 replacements were launched, cost about 20 calls per page holding a new member and emptied EC2's
 * DescribeInstances bucket under the fast path (bench/reconcile.ts: 378 throttled attempts).
 */
export function describeKnown(ec2: Ec2Port, ids: string[]): Promise<Instance[]> {
  return describeWithoutMissing(ids, (some) => ec2.describeInstances(some), notFoundInstanceIds);
}

/** Waits for 2, 4, 8 ... s (about 30 s in all): the lag EC2 documents is "a couple of seconds". */
const LAUNCH_WAITS_MS = [2_000, 4_000, 8_000, 16_000];

/**
 * Describes an instance that was just launched and so exists: NotFound is retried with backoff
 * rather than taken as "gone". Undefined only when it is still not found after the waits.
 */
export async function describeLaunched(
  ec2: Ec2Port,
  clock: Clock,
  id: string,
  what: string,
): Promise<Instance | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      // Not known yet comes two ways: NotFound (the simulated region), or left out of the answer (the
      // AWS adapter leaves unknown ids out, as the port says). Both are waited for; the second used to
      // return at once, so on AWS a standby launched seconds ago was not waited for.
      const [instance] = await ec2.describeInstances([id]);
      if (instance) return instance;
    } catch (err) {
      if (!isNotFound(err)) throw new SpotmaxError(`describing ${id} (${what})`, { cause: err });
    }
    const wait = LAUNCH_WAITS_MS[attempt];
    if (wait === undefined) return undefined;
    await clock.sleep(wait);
  }
}
