import { isNotFound, notFoundInstanceIds, SpotmaxError } from '../../domain/errors.js';
import type { Instance } from '../../domain/types.js';
import type { Clock } from '../../ports/clock.js';
import type { Ec2Port } from '../../ports/ec2.js';

// "Eventual consistency in the Amazon EC2 API": right after RunInstances (ours, or the ASG's launch of
// a new member) DescribeInstances may answer InvalidInstanceID.NotFound for the new id, and EC2 refuses
// a whole DescribeInstances when one id is unknown. These two reads keep such a lag from failing a step.

/**
 * Describes `ids`, leaving out the ones EC2 does not know (yet, or any more). EC2 refuses the whole
 * request and names the unknown ids in its message: they are left out and the rest asked again, one more
 * call. When the message names none of them, the request is split in halves until the unknown ids are
 * alone (about k·log2 n calls). Halving alone, after a storm's 50 replacements were launched, cost about
 * 20 calls per page holding a new member and emptied EC2's DescribeInstances bucket under the fast path
 * (bench/reconcile.ts: 378 throttled attempts).
 */
export async function describeKnown(ec2: Ec2Port, ids: string[]): Promise<Instance[]> {
  if (ids.length === 0) return [];
  try {
    return await ec2.describeInstances(ids);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    if (ids.length === 1) return [];
    const named = new Set(notFoundInstanceIds(err));
    const rest = ids.filter((id) => !named.has(id));
    if (rest.length < ids.length) return describeKnown(ec2, rest);
    const mid = Math.ceil(ids.length / 2);
    const [a, b] = await Promise.all([
      describeKnown(ec2, ids.slice(0, mid)),
      describeKnown(ec2, ids.slice(mid)),
    ]);
    return [...a, ...b];
  }
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
      const [instance] = await ec2.describeInstances([id]);
      return instance;
    } catch (err) {
      if (!isNotFound(err)) throw new SpotmaxError(`describing ${id} (${what})`, { cause: err });
      const wait = LAUNCH_WAITS_MS[attempt];
      if (wait === undefined) return undefined;
      await clock.sleep(wait);
    }
  }
}
