import type { Action } from '../domain/actions.js';
import { FALLBACK_FOR_TAG, FALLBACK_ORIGINAL_TAG } from '../domain/tags.js';
import type { Instance } from '../domain/types.js';
import { spotFailureStreak } from './activities.js';
import { planFallbackLaunch } from './fallback-launch.js';
import { type FallbackRecord, formatFallbackRecord, parseFallbackRecord } from './fallback-record.js';
import { emptyPart, type ManagedInput, type PlanPart, soonest } from './input.js';
import {
  formatMinutes,
  isInService,
  isLeavingState,
  membersWithInstances,
  minutesBetween,
} from './members.js';
import { inFlightReplacements, type ReplacementCandidate } from './replacement.js';
import { showUnits, sumUnits, unitsOfType } from './units.js';

// On-Demand fallback and return to Spot, covering the shortfall only.
//
// Detect: the group is below desired for afterSeconds while its launches fail for lack of *Spot*
// capacity (plan/activities.ts). Act: launch exactly the missing count On-Demand from the group's
// launch template (RunInstances, tagged spotmax:fallback-for) and attach it, keeping the desired
// capacity. The group's distribution is never touched: a change of OnDemandBaseCapacity or
// OnDemandPercentageAboveBaseCapacity makes Auto Scaling gradually replace running instances to reach
// the new split (CloudFormation AWS::AutoScaling::AutoScalingGroup InstancesDistribution, "an update to
// this setting means a gradual replacement of instances"), which would replace healthy Spot instances
// without a drain, and undoing it would make the group and spotmax replace the same instances.
// Return: every returnCheckMinutes (doubling after each failed return) the attached On-Demand
// instances are replaced with Spot by spotmax's launch-before-retire, returnBatchSize at a time: the
// one mechanism that returns to Spot (the group sees no distribution change, so it replaces nothing).

/** The longest wait between return attempts. */
export const MAX_RETURN_INTERVAL_MINUTES = 24 * 60;
/** How soon to look again while launched On-Demand instances boot before they can be attached. */
export const FALLBACK_BOOT_REQUEUE_SECONDS = 15;

export interface FallbackPlan extends PlanPart {
  /** Fallback On-Demand members to replace with Spot (a batch), for the replacement planner. */
  candidates: ReplacementCandidate[];
}

export function returnIntervalMinutes(returnCheckMinutes: number, attempt: number): number {
  return Math.min(MAX_RETURN_INTERVAL_MINUTES, returnCheckMinutes * 2 ** Math.max(0, attempt - 1));
}

/** On-Demand instances spotmax launched for this group that are not members (yet). */
function launchedOutside(input: ManagedInput): Instance[] {
  // Most groups have no outsider: no set of their members is built for nothing, 500 times a pass.
  if (!input.outsiders?.length) return [];
  const members = new Set(input.group.members.map((m) => m.instanceId));
  return (input.outsiders ?? []).filter(
    (i) =>
      i.tags[FALLBACK_FOR_TAG] === input.group.name &&
      !members.has(i.instanceId) &&
      (i.state === 'pending' || i.state === 'running'),
  );
}

export function planFallback(input: ManagedInput): FallbackPlan {
  const out: FallbackPlan = { ...emptyPart(), candidates: [] };
  const { group, settings, now } = input;
  const cfg = settings.onDemandFallback;
  const tag = group.tags.find((t) => t.key === FALLBACK_ORIGINAL_TAG);
  const activities = input.activities ?? [];
  // Counted in units, as desired is (plan/units.ts): in a group without weights, instances.
  const inService = sumUnits(
    membersWithInstances(input)
      .filter(isInService)
      .map((v) => v.member),
  );
  const active = sumUnits(group.members.filter((m) => !isLeavingState(m.lifecycleState)));
  const outside = launchedOutside(input);
  const outsideUnits = outside.reduce((n, i) => n + (unitsOfType(group, i.instanceType) ?? 1), 0);
  const missing = Math.max(0, group.desired - active - outsideUnits);

  let record: FallbackRecord | undefined;
  if (tag) {
    const parsed = parseFallbackRecord(tag.value);
    if ('error' in parsed) {
      out.problems.push(
        `unreadable ${FALLBACK_ORIGINAL_TAG} on the group (${parsed.error}); fix or remove the tag: spotmax will not guess the fallback state`,
      );
      return out;
    }
    if ('legacy' in parsed) {
      const d = parsed.legacy;
      out.problems.push(
        `${FALLBACK_ORIGINAL_TAG} was written by an older spotmax that set the On-Demand share to 100 %: restore OnDemandBaseCapacity=${d.onDemandBaseCapacity ?? 0} and OnDemandPercentageAboveBaseCapacity=${d.onDemandPercentageAboveBaseCapacity ?? 100} where the group is defined (Terraform, CloudFormation), then remove the tag`,
      );
      return out;
    }
    record = parsed;
  }

  // Launched On-Demand instances join the group once running (AttachInstances takes running instances only).
  if (outside.length > 0) {
    const running = outside.filter((i) => i.state === 'running').slice(0, 20);
    if (running.length > 0) {
      out.actions.push({
        kind: 'fallback-attach',
        group: group.name,
        target: group.name,
        instanceIds: running.map((i) => i.instanceId),
        reason: `fallback-on-demand: attach ${running.map((i) => i.instanceId).join(', ')}, keeping desired as it is`,
      });
    }
    out.requeueAfterSeconds = FALLBACK_BOOT_REQUEUE_SECONDS;
    return out;
  }

  // Failures that count: since the fallback began (or the return did), so those already covered do not.
  const since = record ? (record.returnedAt ?? record.since) : undefined;
  const streak = spotFailureStreak(activities, since);
  const first = streak[0];
  if (cfg.enabled && missing > 0 && first) {
    const forSeconds = Math.floor((now.getTime() - first.startTime.getTime()) / 1000);
    // Only the first shortfall waits afterSeconds: once in fallback (or after a failed return) Spot is
    // known to be short, and every minute without the capacity counts.
    const returning = record?.phase === 'returning';
    if (!record && forSeconds < cfg.afterSeconds) {
      out.requeueAfterSeconds = cfg.afterSeconds - forSeconds;
      return out;
    }
    const next: FallbackRecord = returning
      ? { since: now, attempt: record!.attempt + 1, phase: 'fallback' }
      : {
          since: record?.since ?? now,
          attempt: record?.attempt ?? 1,
          phase: 'fallback',
        };
    const why = returning
      ? `Spot launches failed again after the return (${streak.length} failed); next return in ${returnIntervalMinutes(cfg.returnCheckMinutes, next.attempt)}m`
      : `${showUnits(group, inService)}/${group.desired} InService for ${forSeconds}s, ${streak.length} failed Spot launches`;
    const launch = planFallbackLaunch(input, missing, formatFallbackRecord(next), why);
    if ('problem' in launch) out.problems.push(launch.problem);
    else out.actions.push(launch.action);
    return out;
  }
  if (!record) return out;

  if (record.phase === 'fallback') {
    if (cfg.enabled && !cfg.returnToSpot) return out;
    const interval = returnIntervalMinutes(cfg.returnCheckMinutes, record.attempt);
    const onDemandFor = minutesBetween(record.since, now);
    if (cfg.enabled && onDemandFor < interval) {
      out.requeueAfterSeconds = Math.ceil((interval - onDemandFor) * 60);
      return out;
    }
    const why = !cfg.enabled
      ? 'onDemandFallback is disabled'
      : `On-Demand for ${formatMinutes(onDemandFor)} >= ${interval}m (attempt ${record.attempt})`;
    out.actions.push(returnAction(input, { ...record, phase: 'returning', returnedAt: now }, why));
    return out;
  }

  // Returning: replace the fallback's On-Demand members with Spot, a batch at a time.
  const flights = inFlightReplacements(input);
  const returning = flights.filter((f) => f.record?.why === 'return-to-spot');
  const inFlight = new Set(flights.map((f) => f.instance.instanceId));
  const left = membersWithInstances(input).filter(
    (v) => v.instance.tags[FALLBACK_FOR_TAG] === group.name && !isLeavingState(v.member.lifecycleState),
  );
  const ready = left.filter((v) => isInService(v) && !inFlight.has(v.member.instanceId));
  const room = Math.max(0, cfg.returnBatchSize - returning.length);
  for (const v of ready
    .sort((a, b) => a.instance.launchTime.getTime() - b.instance.launchTime.getTime())
    .slice(0, room)) {
    out.candidates.push({
      instanceId: v.member.instanceId,
      why: 'return-to-spot',
      reason: `replace ${v.member.instanceId}: On-Demand launched for the fallback (${left.length} left), returning to Spot`,
    });
  }
  if (left.length > 0 || returning.length > 0) {
    out.requeueAfterSeconds = soonest(out.requeueAfterSeconds, 60);
    return out;
  }
  if (inService >= group.desired) {
    out.actions.push({
      kind: 'fallback-clear',
      group: group.name,
      target: group.name,
      reason: `return-to-spot complete: no On-Demand instance of the fallback left, ${showUnits(group, inService)}/${group.desired} InService`,
    });
  }
  return out;
}

function returnAction(input: ManagedInput, record: FallbackRecord, why: string): Action {
  return {
    kind: 'fallback-return',
    group: input.group.name,
    target: input.group.name,
    record: formatFallbackRecord(record),
    reason: `return-to-spot: ${why}; replacing the fallback's On-Demand instances with Spot`,
  };
}
