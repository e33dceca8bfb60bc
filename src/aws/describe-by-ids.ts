import { isNotFound } from '../domain/errors.js';
import { chunks, mapLimit } from './batch.js';

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
  let remaining = batch;
  // Each retry removes at least one id, so this ends; the bound only guards against a pathological loop.
  for (let attempt = 0; attempt <= batch.length; attempt++) {
    if (remaining.length === 0) return [];
    try {
      return await opts.fetch(remaining);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const named = new Set((err instanceof Error ? err.message : String(err)).match(opts.idPattern) ?? []);
      const next = remaining.filter((id) => !named.has(id));
      if (next.length === remaining.length) throw err;
      remaining = next;
    }
  }
  return [];
}
