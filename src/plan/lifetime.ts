import type { ManagedInput } from './input.js';
import { formatMinutes, isInService, membersWithInstances, minutesBetween } from './members.js';
import type { ReplacementCandidate } from './replacement.js';

// Lifetime (seed: instance_duration_hours, gurantee_living_mins). Native MaxInstanceLifetime cannot go
// below a day; this can. Boundaries are inclusive: an instance exactly guaranteeMinutes old is replaced.

export interface LifetimePlan {
  /** Oldest first; those past durationHours first of all and marked urgent. */
  candidates: ReplacementCandidate[];
  /** Instances past durationHours: retired even when their replacement is not ready. */
  overdue: Set<string>;
}

export function planLifetime(input: ManagedInput): LifetimePlan {
  const { durationHours, guaranteeMinutes, leadMinutes } = input.settings.lifetime;
  const overdue = new Set<string>();
  if (durationHours === undefined && guaranteeMinutes === undefined) return { candidates: [], overdue };
  const limit = durationHours === undefined ? undefined : durationHours * 60;

  const aged: { candidate: ReplacementCandidate; age: number }[] = [];
  const consider = (instanceId: string, launchTime: Date, inService: boolean) => {
    const age = minutesBetween(launchTime, input.now);
    // The age is formatted only in a candidate's reason: a full pass looks at 50,000 members, few of them due.
    if (limit !== undefined && age >= limit) {
      overdue.add(instanceId);
      if (inService) {
        aged.push({
          age,
          candidate: {
            instanceId,
            why: 'lifetime',
            urgent: true,
            reason: `replace ${instanceId}: age ${formatMinutes(age)} past durationHours ${durationHours} (${formatMinutes(limit)})`,
          },
        });
      }
      return;
    }
    if (!inService) return;
    if (guaranteeMinutes !== undefined) {
      if (age >= guaranteeMinutes) {
        const cmp = Math.floor(age) > guaranteeMinutes ? '>' : '>=';
        aged.push({
          age,
          candidate: {
            instanceId,
            why: 'lifetime',
            reason: `replace ${instanceId}: age ${formatMinutes(age)} ${cmp} guaranteeMinutes ${guaranteeMinutes}`,
          },
        });
      }
      return;
    }
    if (limit !== undefined && age >= limit - leadMinutes) {
      aged.push({
        age,
        candidate: {
          instanceId,
          why: 'lifetime',
          reason: `replace ${instanceId}: age ${formatMinutes(age)} within leadMinutes ${leadMinutes} of durationHours ${durationHours}`,
        },
      });
    }
  };
  for (const v of membersWithInstances(input))
    consider(v.member.instanceId, v.instance.launchTime, isInService(v));
  // Detached instances still in a replacement can be overdue too (a forced retire resumes them).
  for (const o of input.outsiders ?? []) consider(o.instanceId, o.launchTime, false);

  aged.sort((a, b) => Number(!!b.candidate.urgent) - Number(!!a.candidate.urgent) || b.age - a.age);
  return { candidates: aged.map((a) => a.candidate), overdue };
}
