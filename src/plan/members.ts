import { INTERRUPTED_AT_TAG, REPLACEMENT_TAG, RETIRE_REQUESTED_TAG } from '../domain/tags.js';
import type { AsgMember, Instance } from '../domain/types.js';
import type { ManagedInput } from './input.js';

// Shared views of a group's members for the planners.

export interface MemberView {
  member: AsgMember;
  instance: Instance;
}

/**
 * Each group's views, kept while both its observation's instances map and its members array live: the
 * planners ask for a group's views about ten times in one plan (and the replacement planner once per
 * flight); joining 50,000 members that often cost a full pass tens of ms (issue 16). Keyed by the
 * instances map first, so a members array that outlives its pass (a group the simulated region or the
 * resolution cache still holds) never keeps that pass's whole-region map alive: keyed by members alone,
 * each group pinned the map of the last pass that planned it, and 24 simulated hours of 500 groups kept
 * hundreds of 50,000-instance maps (heap 180 -> 615 MB after GC in 3-4 hours).
 * Same input, same answer: the planners stay pure.
 */
const joined = new WeakMap<
  ReadonlyMap<string, Instance>,
  WeakMap<readonly AsgMember[], readonly MemberView[]>
>();

/** Members the observation could describe, with their instance. Shared: never change the array. */
export function membersWithInstances(input: ManagedInput): readonly MemberView[] {
  const { members } = input.group;
  const { instances } = input.observation;
  let byMembers = joined.get(instances);
  if (!byMembers) {
    byMembers = new WeakMap();
    joined.set(instances, byMembers);
  }
  const hit = byMembers.get(members);
  if (hit) return hit;
  const out: MemberView[] = [];
  for (const member of members) {
    const instance = instances.get(member.instanceId);
    if (instance) out.push({ member, instance });
  }
  byMembers.set(members, out);
  return out;
}

/**
 * Lifecycle states of a member on its way out: Auto Scaling is terminating or detaching it (the same
 * list as the sim's LEAVING, from "Amazon EC2 Auto Scaling instance lifecycle"). Such a member cannot
 * be detached ("not in InService or Standby") and needs no detach.
 */
export function isLeavingState(lifecycleState: string): boolean {
  return /^(Terminating|Terminated|Detaching|Detached)/.test(lifecycleState);
}

export function isInService(v: MemberView): boolean {
  return v.member.lifecycleState === 'InService' && v.instance.state === 'running';
}

/**
 * Marked by spotmax to leave while still running, often still an InService member: interrupted (the
 * fast path's marker), being replaced launch-before-retire (lifetime, rebalance `replace`, return to
 * Spot), or asked to retire. Its persistent volume is on its way to a newcomer.
 */
export function isMarkedToLeave(instance: Instance): boolean {
  const t = instance.tags;
  return (
    t[INTERRUPTED_AT_TAG] !== undefined ||
    t[REPLACEMENT_TAG] !== undefined ||
    t[RETIRE_REQUESTED_TAG] !== undefined
  );
}

/** InService, running, and not on its way out (interrupted, being replaced, asked to retire). */
export function isSettled(v: MemberView): boolean {
  return isInService(v) && !isMarkedToLeave(v.instance);
}

export function inServiceCount(input: ManagedInput): number {
  return membersWithInstances(input).filter(isInService).length;
}

/** Any instance of the group by id: members, standbys, outsiders. */
export function findInstance(input: ManagedInput, id: string): Instance | undefined {
  return input.observation.instances.get(id) ?? input.outsiders?.find((i) => i.instanceId === id);
}

export function minutesBetween(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / 60_000;
}

/** `52m`, `3h05m`: ages in reasons, rounded down to the minute. */
export function formatMinutes(minutes: number): string {
  const m = Math.floor(minutes);
  if (m < 120) return `${m}m`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
