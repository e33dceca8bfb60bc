import { isNotFound } from '../domain/errors.js';
import { mapLimit } from '../timing/pool.js';
import { chunks } from './batch.js';

// Describe calls that take a list of ids fail as a whole when one id does not exist (an instance
// terminated an hour ago, a volume deleted between the tag lookup and the describe). Dropping the ids
// the error names and asking again keeps one vanished resource from hiding all the others.

export interface DescribeByIdsOptions<T> {
  ids: readonly string[];
  batchSize: number;
  /** Matches the ids an error message names, e.g. /\bi-[0-9a-f]+\b/g. */
  idPattern: RegExp;
  /** Describes one batch, following NextToken itself. */
  fetch: (ids: string[]) => Promise<T[]>;
  concurrency?: number;
}

export async function describeByIds<T>(opts: DescribeByIdsOptions<T>): Promise<T[]> {
  const unique = [...new Set(opts.ids)];
  const results = await mapLimit(chunks(unique, opts.batchSize), opts.concurrency ?? 4, (batch) =>
    fetchDroppingMissing(batch, opts),
  );
  return results.flat();
}

async function fetchDroppingMissing<T>(batch: string[], opts: DescribeByIdsOptions<T>): Promise<T[]> {
  if (batch.length === 0) return [];
  try {
    return await opts.fetch(batch);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const named = new Set((err instanceof Error ? err.message : String(err)).match(opts.idPattern) ?? []);
    const rest = batch.filter((id) => !named.has(id));
    // AWS names only the missing ids: drop them and ask again.
    if (rest.length > 0 && rest.length < batch.length) return fetchDroppingMissing(rest, opts);
    // Some implementations (moto) name every requested id; halve the batch until the missing ones are
    // isolated. That costs about 2·log2(n) extra calls per missing id, and only when one is missing.
    if (batch.length === 1) return [];
    const half = Math.ceil(batch.length / 2);
    const [a, b] = await Promise.all([
      fetchDroppingMissing(batch.slice(0, half), opts),
      fetchDroppingMissing(batch.slice(half), opts),
    ]);
    return [...a, ...b];
  }
}
