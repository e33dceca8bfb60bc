import type { MixedInstancesPolicy } from '../domain/types.js';

// The state of an on-demand fallback, kept as JSON in the group tag spotmax:fallback-original (tags
// hold at most 256 characters, so only the distribution and a few fields are kept).

export type Distribution = MixedInstancesPolicy['instancesDistribution'];

export interface FallbackRecord {
  /** The instances distribution before the fallback. */
  original: Distribution;
  /** When this fallback (or the latest fall back again) happened. */
  since: Date;
  /** 1 for the first fallback; each failed return adds one and doubles the wait before the next. */
  attempt: number;
  phase: 'fallback' | 'returning';
  /** When the original distribution was put back (phase returning). */
  returnedAt?: Date;
}

interface Wire {
  o: Distribution;
  s: string;
  a: number;
  p: 'f' | 'r';
  r?: string;
}

export function formatFallbackRecord(r: FallbackRecord): string {
  const wire: Wire = {
    o: r.original,
    s: r.since.toISOString(),
    a: r.attempt,
    p: r.phase === 'fallback' ? 'f' : 'r',
  };
  if (r.returnedAt) wire.r = r.returnedAt.toISOString();
  return JSON.stringify(wire);
}

export function parseFallbackRecord(value: string): FallbackRecord | { error: string } {
  let wire: Partial<Wire>;
  try {
    wire = JSON.parse(value) as Partial<Wire>;
  } catch (err) {
    return { error: `not JSON (${(err as Error).message})` };
  }
  if (!wire || typeof wire !== 'object' || typeof wire.o !== 'object' || wire.o === null)
    return { error: 'no original distribution' };
  const since = new Date(wire.s ?? '');
  if (Number.isNaN(since.getTime())) return { error: `bad time "${wire.s}"` };
  const attempt = typeof wire.a === 'number' && wire.a >= 1 ? Math.floor(wire.a) : 1;
  const record: FallbackRecord = {
    original: wire.o,
    since,
    attempt,
    phase: wire.p === 'r' ? 'returning' : 'fallback',
  };
  if (wire.r) {
    const returnedAt = new Date(wire.r);
    if (!Number.isNaN(returnedAt.getTime())) record.returnedAt = returnedAt;
  }
  return record;
}
