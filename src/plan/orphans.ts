import type { Action } from '../domain/actions.js';
import { STANDBY_FOR_TAG } from '../domain/tags.js';
import type { Observation } from '../domain/types.js';

/** A standby younger than this is never called orphaned: a group's listing may lag its creation. */
const ORPHAN_MIN_AGE_MS = 15 * 60_000;

/**
 * Standbys whose group no longer exists: nothing will ever start them, yet they keep their volumes (and
 * a hibernated one its RAM image) on the bill. Only meaningful on an observation of the whole region:
 * a pass over some groups sees every other group's standbys as orphans.
 */
export function planOrphanStandbys(observation: Observation, now: Date): Action[] {
  const groups = new Set(observation.groups.map((g) => g.name));
  const actions: Action[] = [];
  for (const s of observation.standbys) {
    const owner = s.tags[STANDBY_FOR_TAG];
    if (!owner || groups.has(owner)) continue;
    if (s.state === 'terminated' || s.state === 'shutting-down') continue;
    if (now.getTime() - s.launchTime.getTime() < ORPHAN_MIN_AGE_MS) continue;
    actions.push({
      kind: 'terminate-standby',
      group: owner,
      target: s.instanceId,
      reason: `standby ${s.instanceId} belongs to ${owner}, which no longer exists`,
    });
  }
  return actions;
}
