import { isNotFound } from './errors.js';

/**
 * Describes `ids` with `fetch`, leaving out the ones the cloud does not know. A describe by ids fails as a
 * whole when one id is unknown (an instance terminated an hour ago, a volume deleted between the tag
 * lookup and the describe, a member launched a second ago that EC2 does not know yet), and EC2's error
 * names the unknown ids: they are dropped and the rest asked again, one more call. When the error names
 * none of them, or every one (moto names every requested id), the request is halved until the unknown
 * ids are alone: about 2·log2(n) extra calls per unknown id, and only when one is unknown.
 */
export async function describeWithoutMissing<T>(
  ids: readonly string[],
  fetch: (ids: string[]) => Promise<T[]>,
  named: (err: unknown) => Iterable<string>,
): Promise<T[]> {
  const batch = [...ids];
  if (batch.length === 0) return [];
  try {
    return await fetch(batch);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const missing = new Set(named(err));
    const rest = batch.filter((id) => !missing.has(id));
    if (rest.length > 0 && rest.length < batch.length) return describeWithoutMissing(rest, fetch, named);
    if (batch.length === 1) return [];
    const half = Math.ceil(batch.length / 2);
    const [a, b] = await Promise.all([
      describeWithoutMissing(batch.slice(0, half), fetch, named),
      describeWithoutMissing(batch.slice(half), fetch, named),
    ]);
    return [...a, ...b];
  }
}
