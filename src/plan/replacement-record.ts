import type { ReplacementWhy } from '../domain/actions.js';

// The progress of one launch-before-retire, kept in the spotmax:replacement tag on the OLD instance:
// `step=waiting;since=2026-11-22T15:00:00.000Z;why=lifetime;desiredBefore=6;maxBefore=6;raisedMax=0`.
// AWS is the only store, so every step is written here before its effect; a restarted process reads
// it back and resumes at the recorded step.

export type ReplacementStep =
  | 'adding'
  | 'waiting'
  | 'releasing'
  | 'detaching'
  | 'restoring-max'
  | 'terminating';

const STEPS: readonly ReplacementStep[] = [
  'adding',
  'waiting',
  'releasing',
  'detaching',
  'restoring-max',
  'terminating',
];
const WHYS: readonly ReplacementWhy[] = ['lifetime', 'rebalance', 'return-to-spot'];

export interface ReplacementRecord {
  step: ReplacementStep;
  /** When the replacement began (before capacity was added): new members launched after it count. */
  since: Date;
  why: ReplacementWhy;
  /** Desired capacity and MaxSize seen right before capacity was added. */
  desiredBefore?: number;
  maxBefore?: number;
  /** 1 when capacity was added (desired + 1) and is now the group's. */
  addedCapacity?: boolean;
  /** True when MaxSize was raised by one and must be restored after the detach. */
  raisedMax?: boolean;
  /** The new member this replacement waited for. */
  newInstanceId?: string;
  /** For step=restoring-max: MaxSize right before lowering it, so a resumed pass never lowers twice. */
  maxExpected?: number;
  /** Set when the old instance was retired without a ready replacement (past durationHours). */
  forced?: boolean;
  /** The old instance was interrupted mid-replacement; the added capacity replaces it. */
  interrupted?: boolean;
  /**
   * The old instance left the group by other hands (Auto Scaling's health check, Capacity Rebalancing,
   * scale-in, a user) while capacity was added for it: the added capacity is taken back, once.
   */
  gone?: boolean;
  /** Desired capacity right before lowering it for an interrupted instance someone else detached. */
  desiredExpected?: number;
  /**
   * Capacity units the old instance counts for in a weighted group (plan/units.ts): what was added to
   * desired (and MaxSize) and is taken back. Absent = 1, as in a group without weights.
   */
  units?: number;
}

/** The units a replacement adds and takes back. */
export const recordUnits = (r: Pick<ReplacementRecord, 'units'>): number => r.units ?? 1;

export function formatReplacementRecord(r: ReplacementRecord): string {
  const parts = [`step=${r.step}`, `since=${r.since.toISOString()}`, `why=${r.why}`];
  if (r.desiredBefore !== undefined) parts.push(`desiredBefore=${r.desiredBefore}`);
  if (r.maxBefore !== undefined) parts.push(`maxBefore=${r.maxBefore}`);
  if (r.addedCapacity !== undefined) parts.push(`addedCapacity=${r.addedCapacity ? 1 : 0}`);
  if (r.raisedMax !== undefined) parts.push(`raisedMax=${r.raisedMax ? 1 : 0}`);
  if (r.newInstanceId) parts.push(`new=${r.newInstanceId}`);
  if (r.maxExpected !== undefined) parts.push(`maxExpected=${r.maxExpected}`);
  if (r.forced) parts.push('forced=1');
  if (r.interrupted) parts.push('interrupted=1');
  if (r.gone) parts.push('gone=1');
  if (r.desiredExpected !== undefined) parts.push(`desiredExpected=${r.desiredExpected}`);
  if (r.units !== undefined && r.units !== 1) parts.push(`units=${r.units}`);
  return parts.join(';');
}

/** Parses a record; a value spotmax did not write gives an error message instead of a guess. */
export function parseReplacementRecord(value: string): ReplacementRecord | { error: string } {
  const fields = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const step = fields.get('step') as ReplacementStep | undefined;
  if (!step || !STEPS.includes(step)) return { error: `unknown step "${fields.get('step') ?? ''}"` };
  const since = new Date(fields.get('since') ?? '');
  if (Number.isNaN(since.getTime())) return { error: `bad since "${fields.get('since') ?? ''}"` };
  const why = (fields.get('why') ?? 'lifetime') as ReplacementWhy;
  if (!WHYS.includes(why)) return { error: `unknown why "${why}"` };
  const int = (key: string): number | undefined => {
    const raw = fields.get(key);
    if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
    return Number(raw);
  };
  const flag = (key: string): boolean | undefined => (fields.has(key) ? fields.get(key) === '1' : undefined);
  const record: ReplacementRecord = { step, since, why };
  const desiredBefore = int('desiredBefore');
  if (desiredBefore !== undefined) record.desiredBefore = desiredBefore;
  const maxBefore = int('maxBefore');
  if (maxBefore !== undefined) record.maxBefore = maxBefore;
  const added = flag('addedCapacity');
  if (added !== undefined) record.addedCapacity = added;
  const raised = flag('raisedMax');
  if (raised !== undefined) record.raisedMax = raised;
  const newId = fields.get('new');
  if (newId) record.newInstanceId = newId;
  const maxExpected = int('maxExpected');
  if (maxExpected !== undefined) record.maxExpected = maxExpected;
  if (flag('forced')) record.forced = true;
  if (flag('interrupted')) record.interrupted = true;
  if (flag('gone')) record.gone = true;
  const desiredExpected = int('desiredExpected');
  if (desiredExpected !== undefined) record.desiredExpected = desiredExpected;
  const units = int('units');
  if (units !== undefined && units > 0) record.units = units;
  return record;
}

export function isRecordError(r: ReplacementRecord | { error: string }): r is { error: string } {
  return 'error' in r;
}
