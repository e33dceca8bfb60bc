import type { Action, ReplacementWhy, RetireStep } from '../domain/actions.js';
import {
  GROUP_TAG,
  INTERRUPTED_AT_TAG,
  REPLACEMENT_TAG,
  REPLACES_TAG,
  RETIRE_REQUESTED_TAG,
} from '../domain/tags.js';
import type { Instance } from '../domain/types.js';
import { emptyPart, type ManagedInput, type PlanPart, soonest } from './input.js';
import { activeInstanceRefresh, showRefresh } from './instance-refresh.js';
import {
  formatMinutes,
  isInService,
  isLeavingState,
  type MemberView,
  membersWithInstances,
  minutesBetween,
} from './members.js';
import {
  isRecordError,
  parseReplacementRecord,
  type ReplacementRecord,
  recordUnits,
} from './replacement-record.js';
import { memberUnits } from './units.js';

// Launch-before-retire, shared by lifetime, rebalance `replace` and return-to-Spot: add capacity,
// wait (by requeue) for a new member to be InService, then release, detach with decrement, restore
// MaxSize and terminate the old instance. The planner reads each replacement's recorded step and emits
// the next action; the handlers write the step before each effect.

/** How soon to look again while a replacement waits for its new member. */
export const WAIT_REQUEUE_SECONDS = 20;

export interface ReplacementCandidate {
  instanceId: string;
  why: ReplacementWhy;
  reason: string;
  /** Past a hard limit (durationHours): begins whatever the budget. */
  urgent?: boolean;
}

export interface InFlight {
  instance: Instance;
  /** Undefined when the tag could not be read; such an instance still counts against the budget. */
  record?: ReplacementRecord;
  member: boolean;
}

/** Replacements in progress: members and detached outsiders carrying a record, not yet gone. */
export function inFlightReplacements(input: ManagedInput, problems?: string[]): InFlight[] {
  const memberIds = new Set(input.group.members.map((m) => m.instanceId));
  const seen = new Set<string>();
  const out: InFlight[] = [];
  const consider = (instance: Instance, member: boolean) => {
    if (seen.has(instance.instanceId)) return;
    const value = instance.tags[REPLACEMENT_TAG];
    if (value === undefined) return;
    const parsed = parseReplacementRecord(value);
    // A terminated instance is done with, unless capacity was added for it and spotmax never began its
    // own detach (the record is still at waiting or releasing): Auto Scaling took it out (scale-in,
    // AZRebalance, health check), perhaps between two passes so that no pass saw it leaving, and the
    // capacity is still to take back. Terminated instances stay visible to DescribeInstances for about
    // an hour (TerminateInstances API reference); passes run every minute.
    if (instance.state === 'terminated' && !(!isRecordError(parsed) && capacityPending(parsed))) return;
    seen.add(instance.instanceId);
    if (isRecordError(parsed)) {
      problems?.push(
        `${instance.instanceId}: unreadable ${REPLACEMENT_TAG} "${value}" (${parsed.error}); not replacing it`,
      );
      out.push({ instance, member });
      return;
    }
    // A terminating instance whose record is at the last step is done.
    if (instance.state === 'shutting-down' && parsed.step === 'terminating') return;
    out.push({ instance, record: parsed, member });
  };
  for (const id of memberIds) {
    const instance = input.observation.instances.get(id);
    if (instance) consider(instance, true);
  }
  for (const instance of input.outsiders ?? []) {
    if (instance.tags[GROUP_TAG] === input.group.name && !memberIds.has(instance.instanceId))
      consider(instance, false);
  }
  return out;
}

/**
 * The record of a terminated old instance is read only while EC2 still lists it, about an hour after the
 * termination (TerminateInstances API reference), which came after the record's `since`: from 45 minutes
 * on, its capacity is taken back even while the group is short, or it would stay in desired for good.
 */
const TAKE_BACK_BY_MINUTES = 45;
function lastChance(flight: InFlight & { record: ReplacementRecord }, now: Date): boolean {
  return (
    flight.instance.state === 'terminated' && minutesBetween(flight.record.since, now) >= TAKE_BACK_BY_MINUTES
  );
}

/** Overdue members replaced at once: at most one in URGENT_SHARE of the group (or maxConcurrent). */
const URGENT_SHARE = 10;

const listIds = (ids: string[]) => (ids.length <= 5 ? ids.join(', ') : `${ids.slice(0, 5).join(', ')}, …`);

/** Capacity was added for this replacement and our own detach (which takes it back) has not begun. */
function capacityPending(r: ReplacementRecord): boolean {
  return r.step === 'waiting' || r.step === 'releasing';
}

/**
 * Why the old instance is leaving the group without spotmax, or undefined: Auto Scaling terminating or
 * detaching it (health check replacement, Capacity Rebalancing, AZRebalance, scale-in, instance
 * refresh, a user), its instance stopping or gone, or it is no longer a member at all.
 */
function leftByOthers(input: ManagedInput, flight: InFlight): string | undefined {
  const { instance } = flight;
  const member = input.group.members.find((m) => m.instanceId === instance.instanceId);
  if (!member) return 'it left the group without spotmax';
  if (isLeavingState(member.lifecycleState))
    return `Auto Scaling is taking it out of the group (${member.lifecycleState})`;
  if (instance.state !== 'running' && instance.state !== 'pending')
    return `its instance is ${instance.state}`;
  return undefined;
}

/** The ASG's Capacity Rebalancing replaces members with a rebalance recommendation itself. */
export function asgRebalancing(input: ManagedInput, v: MemberView): boolean {
  return input.group.capacityRebalance === true && v.instance.tags[RETIRE_REQUESTED_TAG] !== undefined;
}

function retireAction(
  input: ManagedInput,
  flight: InFlight & { record: ReplacementRecord },
  fromStep: RetireStep,
  reason: string,
  extra: { newInstanceId?: string; force?: boolean },
): Action {
  const i = flight.instance;
  const action: Action = {
    kind: 'replacement-retire',
    group: input.group.name,
    target: i.instanceId,
    why: flight.record.why,
    fromStep,
    force: extra.force ?? false,
    record: (i.tags[REPLACEMENT_TAG] as string) ?? '',
    availabilityZone: i.availabilityZone,
    reason,
  };
  const newId = extra.newInstanceId ?? flight.record.newInstanceId;
  if (newId) action.newInstanceId = newId;
  if (i.privateIp) action.privateIp = i.privateIp;
  if (i.privateDnsName) action.privateDnsName = i.privateDnsName;
  return action;
}

/**
 * Advances in-flight replacements and begins new ones for `candidates` (in priority order) within
 * `replacement.maxConcurrent`. `overdue` holds instances past a hard limit: a waiting replacement of
 * one of them retires the old instance without waiting for the new one.
 */
export function planReplacements(
  input: ManagedInput,
  candidates: readonly ReplacementCandidate[],
  overdue: ReadonlySet<string> = new Set(),
): PlanPart {
  const part = emptyPart();
  const { group, settings, now } = input;
  const flights = inFlightReplacements(input, part.problems);

  // New members already promised to a replacement are not counted twice.
  const claimed = new Set(flights.map((f) => f.record?.newInstanceId).filter((x): x is string => !!x));
  const fresh = membersWithInstances(input)
    .filter((v) => isInService(v) && v.member.healthStatus !== 'Unhealthy')
    .filter(
      (v) =>
        !v.instance.tags[REPLACEMENT_TAG] &&
        !v.instance.tags[INTERRUPTED_AT_TAG] &&
        !v.instance.tags[REPLACES_TAG],
    )
    .sort((a, b) => a.instance.launchTime.getTime() - b.instance.launchTime.getTime());

  // Capacity serving now, in units: InService, running, healthy, and not on its way out after a Spot
  // warning. A replacement retires its old instance only while this covers desired (which includes the
  // units every replacement in flight added): the newcomer a replacement would claim may be Auto Scaling's
  // own replacement of an interrupted member, or the overage of a weighted launch already counted, and
  // retiring then would leave the group short. Detaching with decrement takes the same units from both
  // sides, so the check holds for every retirement of one pass.
  const serving = membersWithInstances(input)
    .filter(
      (v) => isInService(v) && v.member.healthStatus !== 'Unhealthy' && !v.instance.tags[INTERRUPTED_AT_TAG],
    )
    .reduce((sum, v) => sum + memberUnits(v.member), 0);
  const short = serving < group.desired;

  const ordered = [...flights].sort(
    (a, b) => (a.record?.since.getTime() ?? 0) - (b.record?.since.getTime() ?? 0),
  );
  for (const flight of ordered) {
    const { record, instance } = flight;
    if (!record) continue;
    const f = { ...flight, record };
    const id = instance.instanceId;
    if (
      instance.tags[INTERRUPTED_AT_TAG] !== undefined &&
      (record.step === 'waiting' || record.step === 'releasing')
    ) {
      // Interrupted mid-replacement: the capacity already added is its replacement; no second one.
      const action = retireAction(
        input,
        f,
        'detaching',
        `retire ${id}: interrupted during its replacement (${record.why}); the capacity added for it stands in`,
        {},
      );
      if (action.kind === 'replacement-retire') action.interrupted = true;
      part.actions.push(action);
      continue;
    }
    const away = capacityPending(record) ? leftByOthers(input, flight) : undefined;
    if (away && short && !lastChance(f, now)) {
      // Lowering desired now would have Auto Scaling terminate a member of its choosing while the group
      // is still short (a newcomer booting, a replacement launching): the units stay until it serves
      // its desired capacity, then come out of the surplus.
      part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, WAIT_REQUEUE_SECONDS);
      continue;
    }
    if (away) {
      // Capacity was added for an instance that is gone by other hands: take it back, exactly once.
      const action = retireAction(
        input,
        f,
        'detaching',
        `take back the capacity added to replace ${id} (${record.why}): ${away}`,
        {},
      );
      if (action.kind === 'replacement-retire') action.gone = true;
      part.actions.push(action);
      continue;
    }
    switch (record.step) {
      case 'adding': {
        const action: Action = {
          kind: 'replacement-add-capacity',
          group: group.name,
          target: id,
          why: record.why,
          resumeSince: record.since.toISOString(),
          reason: `resume replace ${id}: the capacity step did not finish (${record.why})`,
        };
        if (record.desiredBefore !== undefined) action.resumeDesiredBefore = record.desiredBefore;
        if (record.maxBefore !== undefined) action.resumeMaxBefore = record.maxBefore;
        part.actions.push(action);
        part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, WAIT_REQUEUE_SECONDS);
        break;
      }
      case 'waiting': {
        const self = membersWithInstances(input).find((v) => v.member.instanceId === id);
        if (self && asgRebalancing(input, self)) {
          // Never detach an instance the ASG is replacing: it terminates it once its own new one serves,
          // and the capacity added for it is taken back then.
          part.problems.push(
            `replacement of ${id} (${record.why}) waits: the group's Capacity Rebalancing is replacing it (rebalance recommendation), so spotmax does not detach it`,
          );
          part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, WAIT_REQUEUE_SECONDS);
          break;
        }
        // EC2 reports launch times to the second; the ASG launches after `since`, in the same second at the earliest.
        const after = Math.floor(record.since.getTime() / 1000) * 1000;
        // A member already marked as this instance's replacement (a pass stopped between marking it and
        // recording the step) comes first; otherwise the oldest unclaimed member launched since.
        const marked = membersWithInstances(input).find(
          (v) => isInService(v) && v.instance.tags[REPLACES_TAG] === id,
        );
        // In a weighted group the units added may come as several smaller members: all of them serve
        // before the old one goes (plan/units.ts); the first is the one recorded.
        const newcomers: MemberView[] = [];
        let covered = 0;
        for (const v of fresh) {
          if (marked || covered >= recordUnits(record)) break;
          if (v.instance.launchTime.getTime() < after || claimed.has(v.member.instanceId)) continue;
          newcomers.push(v);
          covered += memberUnits(v.member);
        }
        const ready = short
          ? undefined
          : (marked ?? (covered >= recordUnits(record) ? newcomers[0] : undefined));
        if (ready) {
          for (const v of marked ? [marked] : newcomers) claimed.add(v.member.instanceId);
          part.actions.push(
            retireAction(
              input,
              f,
              'releasing',
              `retire ${id}: replacement ${ready.member.instanceId} is InService (${record.why})`,
              {
                newInstanceId: ready.member.instanceId,
              },
            ),
          );
          break;
        }
        const waited = minutesBetween(record.since, now);
        if (overdue.has(id)) {
          part.actions.push(
            retireAction(
              input,
              f,
              'releasing',
              `retire ${id}: past durationHours ${settings.lifetime.durationHours}, replacement not InService after ${formatMinutes(waited)}`,
              { force: true },
            ),
          );
          break;
        }
        if (waited >= settings.replacement.readyTimeoutMinutes) {
          part.problems.push(
            `replacement of ${id} (${record.why}) has waited ${formatMinutes(waited)} for ${short ? `the group to serve its desired capacity (${serving} of ${group.desired} units InService)` : 'a new InService member'} (readyTimeoutMinutes ${settings.replacement.readyTimeoutMinutes}); ${id} stays until then`,
          );
        }
        part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, WAIT_REQUEUE_SECONDS);
        break;
      }
      default:
        part.actions.push(
          retireAction(input, f, record.step, `resume retire ${id} at step ${record.step} (${record.why})`, {
            force: record.forced ?? false,
          }),
        );
    }
  }

  // New replacements: the rest within maxConcurrent; urgent ones (past durationHours) beyond it, but
  // at most a tenth of the group of them in flight. A fleet launched together ages together: starting every overdue
  // member's replacement at once raised desired by the group's size, and at region scale the writes each
  // needs (records, detaches) outran EC2's request rate, so replacements started faster than they
  // finished (17,106 in flight and desired 68,269 for 50,000 after 8 simulated hours of scale-large).
  // An overdue member's replacement retires it without waiting for its newcomer, so a tenth a pass
  // still gets through the group in minutes.
  let budget = settings.replacement.maxConcurrent - flights.length;
  const urgentCap = Math.max(
    settings.replacement.maxConcurrent,
    Math.ceil(group.members.length / URGENT_SHARE),
  );
  let urgentBudget = urgentCap - flights.filter((f) => overdue.has(f.instance.instanceId)).length;
  const urgentHeld: string[] = [];
  const busy = new Set(flights.map((f) => f.instance.instanceId));
  const eligible = new Map(
    membersWithInstances(input)
      .filter(
        (v) => isInService(v) && !v.instance.tags[INTERRUPTED_AT_TAG] && !v.instance.tags[REPLACEMENT_TAG],
      )
      .map((v) => [v.member.instanceId, v] as const),
  );
  const held: string[] = [];
  const refresh = activeInstanceRefresh(input.instanceRefreshes);
  const refreshHeld: string[] = [];
  if (refresh)
    part.problems.push(
      `${showRefresh(refresh)}: it replaces the group's instances itself, so voluntary replacements (lifetime, rebalance, return to Spot) wait until it ends`,
    );
  for (const c of candidates) {
    if (busy.has(c.instanceId) || !eligible.has(c.instanceId)) continue;
    busy.add(c.instanceId);
    if (refresh) {
      refreshHeld.push(`${c.instanceId} (${c.why})`);
      continue;
    }
    const skip = notVoluntarily(input, eligible.get(c.instanceId)!);
    if (skip) {
      part.problems.push(`not replacing ${c.instanceId} (${c.why}): ${skip}`);
      continue;
    }
    if (!c.urgent && budget <= 0) {
      held.push(c.instanceId);
      continue;
    }
    if (c.urgent && urgentBudget <= 0) {
      urgentHeld.push(c.instanceId);
      continue;
    }
    budget--;
    urgentBudget--;
    part.actions.push({
      kind: 'replacement-add-capacity',
      group: group.name,
      target: c.instanceId,
      why: c.why,
      reason: c.reason,
    });
    part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, WAIT_REQUEUE_SECONDS);
  }
  for (const v of eligible.values()) {
    if (!busy.has(v.member.instanceId) && asgRebalancing(input, v))
      part.problems.push(
        `not replacing ${v.member.instanceId} on its rebalance recommendation: the group's Capacity Rebalancing replaces it (CapacityRebalance=true)`,
      );
  }
  if (urgentHeld.length > 0) {
    part.problems.push(
      `${urgentHeld.length} member(s) past durationHours wait for the replacements in flight (at most ${urgentCap} at once, a tenth of the group): ${listIds(urgentHeld)}`,
    );
    part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, WAIT_REQUEUE_SECONDS);
  }
  if (refreshHeld.length > 0) {
    part.problems.push(`not replacing during the instance refresh: ${refreshHeld.join(', ')}`);
    part.requeueAfterSeconds = soonest(part.requeueAfterSeconds, 60);
  }
  if (held.length > 0) {
    part.problems.push(
      `${held.length} replacement(s) held back by replacement.maxConcurrent ${settings.replacement.maxConcurrent} (${held.join(', ')}): next when one in flight finishes`,
    );
  }
  return part;
}

/**
 * Why a voluntary replacement (lifetime, rebalance, return to Spot) must leave this member alone:
 * scale-in protection (the owner said Auto Scaling may not take it, so neither do we), or the ASG's
 * own Capacity Rebalancing already replacing it.
 */
function notVoluntarily(input: ManagedInput, v: MemberView): string | undefined {
  if (v.member.protectedFromScaleIn) return 'it is protected from scale-in (ProtectedFromScaleIn)';
  if (asgRebalancing(input, v))
    return "the group's Capacity Rebalancing replaces it (CapacityRebalance=true, rebalance recommendation received)";
  return undefined;
}
