import { describeWithoutMissing } from '../domain/missing-ids.js';
import { mapLimit } from '../timing/pool.js';
import { chunks } from './batch.js';

// Describe calls that take a list of ids fail as a whole when one id does not exist: the ports leave such
// ids out instead (domain/missing-ids.ts), so one vanished resource never hides all the others.

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

function fetchDroppingMissing<T>(batch: string[], opts: DescribeByIdsOptions<T>): Promise<T[]> {
  return describeWithoutMissing(
    batch,
    opts.fetch,
    (err) => (err instanceof Error ? err.message : String(err)).match(opts.idPattern) ?? [],
  );
}
