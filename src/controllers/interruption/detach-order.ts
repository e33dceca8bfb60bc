import type { Group } from '../../domain/types.js';
import { unitsOfMember } from '../../plan/units.js';

// Whether the interrupted instance is detached with ShouldDecrementDesiredCapacity.
//
// - A standby took its place (attached, desired + 1): with decrement, so desired comes back to where it
//   was. The attach came first, so the decrement never goes below MinSize (DetachInstances API reference).
// - No standby: without decrement, so the group launches a replacement at once. Except with the Launch
//   process suspended ("Suspend and resume Amazon EC2 Auto Scaling processes"): then nothing would be
//   launched and desired would claim a member that does not exist, so spotmax decrements when MinSize
//   allows it, and says so.

export interface DetachChoice {
  decrement: boolean;
  /** Why the choice differs from the usual one, for the log. */
  note?: string;
}

export function launchSuspended(group: Group | undefined): boolean {
  return (group?.suspendedProcesses ?? []).includes('Launch');
}

export function detachDecrement(
  group: Group | undefined,
  standbyAttached: boolean,
  instanceId?: string,
): DetachChoice {
  if (standbyAttached) return { decrement: true };
  if (!group || !launchSuspended(group)) return { decrement: false };
  // The decrement is the member's units in a weighted group (plan/units.ts).
  const units = instanceId === undefined ? 1 : unitsOfMember(group, instanceId);
  if (group.desired - units >= group.min)
    return {
      decrement: true,
      note: `${group.name} has Launch suspended: no replacement would come, so the detach lowers desired capacity`,
    };
  return {
    decrement: false,
    note: `${group.name} has Launch suspended and desired = MinSize (${group.min}): detached without decrement; no replacement comes until Launch is resumed`,
  };
}
