import type { ResolvedGroup } from '../../config/resolved.js';
import { STANDBY_FOR_TAG } from '../../domain/tags.js';
import type { Instance, Observation } from '../../domain/types.js';

/**
 * What the loop keeps of the region between passes, per group: its resolution (the group with its
 * members) and its standbys; nothing else of an observation outlives its pass. A one-group pass
 * replaces that group's entries only, so it costs the group's size, never the region's.
 */
export class RegionView {
  private readonly resolved = new Map<string, ResolvedGroup>();
  private readonly standbys = new Map<string, Instance[]>();
  private fullPassSeen = false;
  private passSeen = false;

  /**
   * Takes in a pass's observation and resolutions: a full pass (`groupNames` undefined) replaces every
   * entry and drops the groups that are gone; a one-group pass replaces the entries of `groupNames`.
   */
  apply(observation: Observation, resolved: readonly ResolvedGroup[], groupNames?: readonly string[]): void {
    this.passSeen = true;
    if (groupNames) {
      for (const name of groupNames) {
        this.resolved.delete(name);
        this.standbys.delete(name);
      }
    } else {
      this.fullPassSeen = true;
      this.resolved.clear();
      this.standbys.clear();
    }
    // A one-group observation holds only the standbys of its groups (observe filters them).
    for (const s of observation.standbys) {
      const owner = s.tags[STANDBY_FOR_TAG];
      if (!owner) continue;
      const list = this.standbys.get(owner);
      if (list) list.push(s);
      else this.standbys.set(owner, [s]);
    }
    for (const r of resolved) this.resolved.set(r.group.name, r);
  }

  /** Once a full pass has succeeded; before that the view holds only the groups of one-group passes. */
  get complete(): boolean {
    return this.fullPassSeen;
  }

  /** No pass has succeeded yet. */
  get empty(): boolean {
    return !this.passSeen;
  }

  standbysFor(groupName: string): readonly Instance[] {
    return this.standbys.get(groupName) ?? [];
  }

  /** Every group's resolution: a copy, O(groups); for readers outside the passes, not for each pass. */
  groups(): ResolvedGroup[] {
    return [...this.resolved.values()];
  }
}
