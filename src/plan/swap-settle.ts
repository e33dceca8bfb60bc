import type { Action } from '../domain/actions.js';
import { type MemberSwapRecord, parseMemberSwap, SWAP_EXPIRY_MINUTES } from '../domain/swap-records.js';
import { SWAPPED_IN_TAG } from '../domain/tags.js';
import { type ManagedInput, type PlanPart, soonest } from './input.js';
import { formatMinutes, isLeavingState, minutesBetween } from './members.js';

// A standby swap adds the standby's units to desired with the attach, and the interrupted instance's
// detach with decrement takes them out again. A process that died between the two (or whose detach
// failed) leaves the units in desired for good: the interrupted instance is reclaimed, Auto Scaling
// replaces it, and the group runs one above what its owner asked for. The swapped-in standby's record
// (domain/swap-records.ts) says so; once it is older than a swap can take, the units are taken back
// exactly once: only while desired is still what the attach left (a lower one means the detach did it; a
// different one means someone else decided since), and never below MinSize.

export interface SwapSettlement {
  part: PlanPart;
  /** Desired capacity once the planned take-backs are done (the group's swap record restores from it). */
  desired: number;
}

interface Stale {
  standby: string;
  record: MemberSwapRecord;
  age: number;
}

export function planSwapSettlements(input: ManagedInput): SwapSettlement {
  const { group, observation, now } = input;
  const part: PlanPart = { actions: [], problems: [] };
  const stale: Stale[] = [];
  for (const m of group.members) {
    const value = observation.instances.get(m.instanceId)?.tags[SWAPPED_IN_TAG];
    if (value === undefined) continue;
    const record = parseMemberSwap(value);
    if (!record) {
      part.problems.push(
        `${SWAPPED_IN_TAG}=${value} on ${m.instanceId} is not a swap record (for=<instance> desired=<n> units=<n> since=<time>); left alone`,
      );
      continue;
    }
    const age = record.since ? minutesBetween(record.since, now) : Number.POSITIVE_INFINITY;
    if (age < SWAP_EXPIRY_MINUTES) {
      part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 60);
      continue;
    }
    const interrupted = group.members.find((x) => x.instanceId === record.interrupted);
    if (interrupted && !isLeavingState(interrupted.lifecycleState)) {
      // Its detach never happened and it is still here: taking the units back now would make Auto Scaling
      // terminate some member of its choosing. Once it leaves (the reclaim), the record is settled.
      part.problems.push(
        `standby ${m.instanceId} was swapped in for ${record.interrupted} ${formatMinutes(age)} ago, and ${record.interrupted} is still a member (${interrupted.lifecycleState}): desired stays ${record.units} above until it leaves`,
      );
      part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 60);
      continue;
    }
    stale.push({ standby: m.instanceId, record, age });
  }

  // Several swaps of one group that all died: each attach left desired one step higher, so the latest
  // (highest) is settled first and each take-back brings desired to the next one's value.
  stale.sort((a, b) => b.record.desiredAfter - a.record.desiredAfter);
  let desired = group.desired;
  const actions: Action[] = [];
  for (const { standby, record, age } of stale) {
    const { interrupted, desiredAfter, units } = record;
    const takeBack = desired === desiredAfter && desired - units >= group.min;
    const why = takeBack
      ? `${interrupted} left ${group.name} without the detach with decrement: desired ${desired} → ${desired - units}`
      : desired !== desiredAfter
        ? `desired is ${desired}, not the ${desiredAfter} the attach left (the detach took its units back, or desired was changed since): nothing to take back`
        : `desired ${desired} is at MinSize ${group.min}: nothing to take back`;
    actions.push({
      kind: 'standby-swap-settle',
      group: group.name,
      target: standby,
      interrupted,
      desiredAfter,
      units,
      takeBack,
      reason: `standby ${standby} was swapped in for ${interrupted} ${record.since ? `${formatMinutes(age)} ago` : '(no time)'} and the swap never finished; ${why}; the record goes`,
    });
    if (takeBack) desired -= units;
  }
  part.actions.push(...actions);
  return { part, desired };
}
