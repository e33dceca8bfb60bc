import type { MixedInstancesPolicy } from '../domain/types.js';

// The state of an On-Demand fallback, kept as JSON in the group tag spotmax:fallback-original. A tag
// value holds at most 256 characters ("Tag your Auto Scaling groups and instances", tag restrictions),
// so the record holds times and counts only: the On-Demand instances themselves carry
// spotmax:fallback-for, and the group's distribution is never changed, so there is none to remember.

export type Distribution = MixedInstancesPolicy['instancesDistribution'];

/** The longest value Auto Scaling accepts for a tag. */
export const MAX_TAG_VALUE = 256;

export interface FallbackRecord {
  /** When this fallback (or the latest fall back again) happened. */
  since: Date;
  /** 1 for the first fallback; each failed return adds one and doubles the wait before the next. */
  attempt: number;
  phase: 'fallback' | 'returning';
  /** When the return to Spot began (phase returning). */
  returnedAt?: Date;
}

/**
 * A record written by spotmax before 0.9, which set the On-Demand percentage to 100 % and kept the
 * original distribution in the tag. spotmax no longer changes distributions, so it reports this record
 * for a person to restore the distribution through their infrastructure code.
 */
export interface LegacyFallbackRecord {
  legacy: Distribution;
}

interface Wire {
  s: string;
  a: number;
  p: 'f' | 'r';
  /** Records before 0.1 carried the desired capacity to keep; the attach now keeps the current one. */
  d?: number;
  r?: string;
  /** Legacy only: the original distribution. */
  o?: Distribution;
}

export function formatFallbackRecord(r: FallbackRecord): string {
  const wire: Wire = { s: r.since.toISOString(), a: r.attempt, p: r.phase === 'fallback' ? 'f' : 'r' };
  if (r.returnedAt) wire.r = r.returnedAt.toISOString();
  const value = JSON.stringify(wire);
  if (value.length > MAX_TAG_VALUE) {
    throw new Error(
      `fallback record is ${value.length} characters, a tag value holds at most ${MAX_TAG_VALUE}: ${value}`,
    );
  }
  return value;
}

export function parseFallbackRecord(
  value: string,
): FallbackRecord | LegacyFallbackRecord | { error: string } {
  let wire: Partial<Wire>;
  try {
    wire = JSON.parse(value) as Partial<Wire>;
  } catch (err) {
    return { error: `not JSON (${(err as Error).message})` };
  }
  if (!wire || typeof wire !== 'object') return { error: 'not a JSON object' };
  if (typeof wire.o === 'object' && wire.o !== null) return { legacy: wire.o };
  const since = new Date(wire.s ?? '');
  if (Number.isNaN(since.getTime())) return { error: `bad time "${wire.s}"` };
  const attempt = typeof wire.a === 'number' && wire.a >= 1 ? Math.floor(wire.a) : 1;
  const record: FallbackRecord = { since, attempt, phase: wire.p === 'r' ? 'returning' : 'fallback' };
  if (wire.r) {
    const returnedAt = new Date(wire.r);
    if (!Number.isNaN(returnedAt.getTime())) record.returnedAt = returnedAt;
  }
  return record;
}
