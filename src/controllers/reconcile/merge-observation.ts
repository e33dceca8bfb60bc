import { GROUP_TAG, STANDBY_FOR_TAG } from '../../domain/tags.js';
import type { Observation } from '../../domain/types.js';

/**
 * The region as last seen, after a pass that observed only `groups`: their entries (groups, members,
 * standbys, volumes) come from `partial`, everything else stays as it was in `full`.
 */
export function mergeObservation(
  full: Observation | undefined,
  partial: Observation,
  groups: readonly string[],
): Observation {
  if (!full) return partial;
  const names = new Set(groups);
  const instances = new Map(full.instances);
  for (const g of full.groups)
    if (names.has(g.name)) for (const m of g.members) instances.delete(m.instanceId);
  for (const s of full.standbys) if (names.has(s.tags[STANDBY_FOR_TAG] ?? '')) instances.delete(s.instanceId);
  for (const [id, i] of partial.instances) instances.set(id, i);
  return {
    region: partial.region,
    observedAt: partial.observedAt,
    groups: [...full.groups.filter((g) => !names.has(g.name)), ...partial.groups],
    instances,
    standbys: [
      ...full.standbys.filter((s) => !names.has(s.tags[STANDBY_FOR_TAG] ?? '')),
      ...partial.standbys,
    ],
    volumes: [...full.volumes.filter((v) => !names.has(v.tags[GROUP_TAG] ?? '')), ...partial.volumes],
  };
}
