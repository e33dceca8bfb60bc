import type { Action } from '../domain/actions.js';
import { FALLBACK_ORIGINAL_TAG } from '../domain/tags.js';
import type { MixedInstancesPolicy } from '../domain/types.js';
import { spotFailureStreak } from './activities.js';
import {
  type Distribution,
  type FallbackRecord,
  formatFallbackRecord,
  parseFallbackRecord,
} from './fallback-record.js';
import { emptyPart, type ManagedInput, type PlanPart, soonest } from './input.js';
import {
  formatMinutes,
  inServiceCount,
  isInService,
  membersWithInstances,
  minutesBetween,
} from './members.js';
import { inFlightReplacements, type ReplacementCandidate } from './replacement.js';

// On-demand fallback and return to Spot. Detect: below desired for afterSeconds while scaling
// activities fail for lack of Spot capacity. Act: On-Demand share to 100 %, the original kept in a
// group tag. Return: every returnCheckMinutes (doubling after each failed return) put the original
// back; then replace On-Demand instances above the original base with Spot, launch-before-retire.

/** The longest wait between return attempts. */
export const MAX_RETURN_INTERVAL_MINUTES = 24 * 60;

export interface FallbackPlan extends PlanPart {
  /** On-Demand members to replace with Spot (a batch), for the replacement planner. */
  candidates: ReplacementCandidate[];
}

export function returnIntervalMinutes(returnCheckMinutes: number, attempt: number): number {
  return Math.min(MAX_RETURN_INTERVAL_MINUTES, returnCheckMinutes * 2 ** Math.max(0, attempt - 1));
}

function withDistribution(policy: MixedInstancesPolicy, d: Distribution): MixedInstancesPolicy {
  return { ...policy, instancesDistribution: { ...d } };
}

function allOnDemand(d: Distribution): Distribution {
  return { ...d, onDemandPercentageAboveBaseCapacity: 100 };
}

function sameSplit(a: Distribution, b: Distribution): boolean {
  return (
    (a.onDemandBaseCapacity ?? 0) === (b.onDemandBaseCapacity ?? 0) &&
    (a.onDemandPercentageAboveBaseCapacity ?? 100) === (b.onDemandPercentageAboveBaseCapacity ?? 100)
  );
}

export function planFallback(input: ManagedInput): FallbackPlan {
  const out: FallbackPlan = { ...emptyPart(), candidates: [] };
  const { group, settings, now } = input;
  const cfg = settings.onDemandFallback;
  const policy = group.mixedInstancesPolicy;
  const tag = group.tags.find((t) => t.key === FALLBACK_ORIGINAL_TAG);
  const activities = input.activities ?? [];
  const inService = inServiceCount(input);
  const below = inService < group.desired;

  if (!tag) {
    if (!cfg.enabled) return out;
    if (!policy) {
      out.problems.push(
        'cannot fall back to On-Demand: the group has no MixedInstancesPolicy (it uses a single launch template)',
      );
      return out;
    }
    if ((policy.instancesDistribution.onDemandPercentageAboveBaseCapacity ?? 100) >= 100) return out;
    if (!below) return out;
    const streak = spotFailureStreak(activities);
    const first = streak[0];
    if (!first) return out;
    const forSeconds = Math.floor((now.getTime() - first.startTime.getTime()) / 1000);
    if (forSeconds < cfg.afterSeconds) {
      out.requeueAfterSeconds = cfg.afterSeconds - forSeconds;
      return out;
    }
    const record: FallbackRecord = {
      original: policy.instancesDistribution,
      since: now,
      attempt: 1,
      phase: 'fallback',
    };
    out.actions.push(
      fallbackAction(
        input,
        policy,
        record,
        `fallback-on-demand: ${inService}/${group.desired} InService for ${forSeconds}s, ${streak.length} failed Spot launches`,
      ),
    );
    return out;
  }

  const parsed = parseFallbackRecord(tag.value);
  if ('error' in parsed) {
    out.problems.push(
      `unreadable ${FALLBACK_ORIGINAL_TAG} on the group (${parsed.error}); fix or remove the tag: spotmax will not guess the original distribution`,
    );
    return out;
  }
  if (!policy) {
    out.problems.push(
      `${FALLBACK_ORIGINAL_TAG} is set but the group has no MixedInstancesPolicy any more; remove the tag`,
    );
    return out;
  }
  const record = parsed;
  const current = policy.instancesDistribution;

  if (record.phase === 'fallback') {
    if ((current.onDemandPercentageAboveBaseCapacity ?? 100) < 100) {
      out.actions.push(
        fallbackAction(
          input,
          policy,
          record,
          'fallback-on-demand: resume (the policy is not at 100 % On-Demand yet)',
        ),
      );
      return out;
    }
    const interval = returnIntervalMinutes(cfg.returnCheckMinutes, record.attempt);
    const onDemandFor = minutesBetween(record.since, now);
    if (!cfg.enabled || cfg.returnToSpot) {
      if (!cfg.enabled || onDemandFor >= interval) {
        const next: FallbackRecord = { ...record, phase: 'returning', returnedAt: now };
        const why = !cfg.enabled
          ? 'onDemandFallback is disabled'
          : `On-Demand for ${formatMinutes(onDemandFor)} >= ${interval}m (attempt ${record.attempt})`;
        out.actions.push({
          kind: 'restore-spot',
          group: group.name,
          target: group.name,
          policy: withDistribution(policy, record.original),
          record: formatFallbackRecord(next),
          reason: `return-to-spot: ${why}; restoring On-Demand ${record.original.onDemandPercentageAboveBaseCapacity ?? 100}% above base ${record.original.onDemandBaseCapacity ?? 0}`,
        });
      } else {
        out.requeueAfterSeconds = Math.ceil((interval - onDemandFor) * 60);
      }
    }
    return out;
  }

  // Returning: the original split should be in force; watch whether Spot launches work.
  if (!sameSplit(current, record.original)) {
    out.actions.push({
      kind: 'restore-spot',
      group: group.name,
      target: group.name,
      policy: withDistribution(policy, record.original),
      record: tag.value,
      reason: 'return-to-spot: resume (the original distribution is not in force yet)',
    });
    return out;
  }
  const returnedAt = record.returnedAt ?? record.since;
  const failedAgain = spotFailureStreak(activities, returnedAt);
  if (cfg.enabled && below && failedAgain.length > 0) {
    const next: FallbackRecord = {
      original: record.original,
      since: now,
      attempt: record.attempt + 1,
      phase: 'fallback',
    };
    const wait = returnIntervalMinutes(cfg.returnCheckMinutes, next.attempt);
    out.actions.push(
      fallbackAction(
        input,
        policy,
        next,
        `fallback-on-demand: Spot launches failed again after the return (${failedAgain.length} failed, ${inService}/${group.desired} InService); next return in ${wait}m`,
      ),
    );
    return out;
  }

  const flights = inFlightReplacements(input);
  const returning = flights.filter((f) => f.record?.why === 'return-to-spot');
  const replacedIds = new Set(flights.map((f) => f.instance.instanceId));
  const onDemand = membersWithInstances(input).filter(
    (v) => isInService(v) && v.instance.market === 'on-demand' && !replacedIds.has(v.member.instanceId),
  );
  const steadyCapacity =
    group.desired - flights.filter((f) => f.member && f.record?.step !== 'adding').length;
  const base = record.original.onDemandBaseCapacity ?? 0;
  const pct = record.original.onDemandPercentageAboveBaseCapacity ?? 100;
  const allowed =
    Math.min(steadyCapacity, base) + Math.ceil((Math.max(0, steadyCapacity - base) * pct) / 100);
  const excess = onDemand.length - allowed;
  if (excess > 0) {
    const room = Math.max(0, cfg.returnBatchSize - returning.length);
    const batch = onDemand
      .sort((a, b) => a.instance.launchTime.getTime() - b.instance.launchTime.getTime())
      .slice(0, Math.min(room, excess));
    for (const v of batch) {
      out.candidates.push({
        instanceId: v.member.instanceId,
        why: 'return-to-spot',
        reason: `replace ${v.member.instanceId}: On-Demand above the original split (${onDemand.length} On-Demand, ${allowed} allowed), returning to Spot`,
      });
    }
    out.requeueAfterSeconds = soonest(out.requeueAfterSeconds, 60);
    return out;
  }
  if (returning.length === 0 && !below) {
    out.actions.push({
      kind: 'fallback-clear',
      group: group.name,
      target: group.name,
      reason: `return-to-spot complete: ${onDemand.length} On-Demand within the original split (${allowed} allowed), ${inService}/${group.desired} InService`,
    });
  }
  return out;
}

function fallbackAction(
  input: ManagedInput,
  policy: MixedInstancesPolicy,
  record: FallbackRecord,
  reason: string,
): Action {
  return {
    kind: 'fallback-on-demand',
    group: input.group.name,
    target: input.group.name,
    policy: withDistribution(policy, allOnDemand(record.original)),
    record: formatFallbackRecord(record),
    reason,
  };
}
