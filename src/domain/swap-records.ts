// The two records a standby swap writes before it changes a group, so a process that dies mid-swap
// leaves enough for the reconciler to finish it (plan/swap-settle.ts, plan/standby.ts). Written by the
// fast path (controllers/reconcile/standby-swap.ts), read by the planner; both import them from here.
//
// - On the group, `spotmax:standby-swap` = `max=<n> since=<iso>`: MaxSize before a swap raised it (only
//   in a group at desired = MaxSize, where AttachInstances would be refused).
// - On the swapped-in standby, `spotmax:swapped-in` = `for=<interrupted id> desired=<n> units=<u>
//   since=<iso>`: the attach added `units` to desired, leaving it at `desired`; the interrupted
//   instance's detach with decrement takes them out again. Written before the attach, removed once the
//   detach (or a take-back) is done: one left behind means the units may still be in desired.

/** A swap takes the two-minute warning at most; a record this old was left by a process that died. */
export const SWAP_EXPIRY_MINUTES = 10;

export interface GroupSwapRecord {
  originalMax: number;
  since?: Date;
}

export interface MemberSwapRecord {
  /** The interrupted instance the standby stands in for. */
  interrupted: string;
  /** Desired capacity right after the attach. */
  desiredAfter: number;
  /** What the attach added to desired: 1, or the standby's weight in a weighted group. */
  units: number;
  since?: Date;
}

const field = (value: string, name: string): string | undefined =>
  value.match(new RegExp(`(?:^|\\s)${name}=(\\S+)`))?.[1];

const time = (value: string): Date | undefined => {
  const at = field(value, 'since');
  const d = at ? new Date(at) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : undefined;
};

const count = (value: string, name: string): number | undefined => {
  const raw = field(value, name);
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
};

export function formatGroupSwap(r: GroupSwapRecord): string {
  return `max=${r.originalMax}${r.since ? ` since=${r.since.toISOString()}` : ''}`;
}

export function parseGroupSwap(value: string | undefined): GroupSwapRecord | undefined {
  const originalMax = value === undefined ? undefined : count(value, 'max');
  if (originalMax === undefined) return undefined;
  const since = time(value!);
  return { originalMax, ...(since ? { since } : {}) };
}

export function formatMemberSwap(r: MemberSwapRecord): string {
  return `for=${r.interrupted} desired=${r.desiredAfter} units=${r.units}${r.since ? ` since=${r.since.toISOString()}` : ''}`;
}

export function parseMemberSwap(value: string | undefined): MemberSwapRecord | undefined {
  if (value === undefined) return undefined;
  const interrupted = field(value, 'for');
  const desiredAfter = count(value, 'desired');
  const units = count(value, 'units');
  if (!interrupted?.startsWith('i-') || desiredAfter === undefined || !units) return undefined;
  const since = time(value);
  return { interrupted, desiredAfter, units, ...(since ? { since } : {}) };
}
