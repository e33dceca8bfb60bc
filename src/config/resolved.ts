import type { Group } from '../domain/types.js';
import type { GroupSettings } from './schema.js';

/** Where an effective value came from: `default`, `policy:<file>:<line>` or `tag:<key>`. */
export type Source = string;

export interface Provenanced {
  value: unknown;
  source: Source;
}

/** A group with its effective configuration, or the reason it is not managed. */
export interface ResolvedGroup {
  group: Group;
  managed: boolean;
  /** Why the group is not managed (opted out, unsuitable, bad tag, ambiguous policy, ...). */
  unmanagedReason?: string;
  /** Everything wrong with this group; a non-empty list on a managed group is a warning. */
  problems: string[];
  policyName?: string;
  /** Present when managed. */
  settings?: GroupSettings;
  /** Dotted schema path -> effective value with its source, for every leaf setting. */
  provenance: Record<string, Provenanced>;
}
