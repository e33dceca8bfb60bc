import type { Group } from '../domain/types.js';
import type { LoadedPolicy, PolicySet } from './load.js';
import type { GroupPolicy } from './schema.js';
import { suggestion } from './suggest.js';

// Which policy a group follows: the one named by spotmax:policy, else the one whose `match` fits.
// Two candidates are an error for that group, never a guess.

export type Match = NonNullable<GroupPolicy['spec']['match']>;

/** `*` any run of characters, `?` one character; the whole name must match. */
export function globMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

/**
 * A policy matches when one of its name globs fits and all its tags are on the group with those
 * values. An empty `match` matches nothing: such a policy is only used by name.
 */
export function matches(match: Match | undefined, group: Group): boolean {
  if (!match || (!match.names?.length && !match.tags)) return false;
  if (match.names?.length && !match.names.some((p) => globMatch(p, group.name))) return false;
  for (const [k, v] of Object.entries(match.tags ?? {})) {
    if (!group.tags.some((t) => t.key === k && t.value === v)) return false;
  }
  return true;
}

const where = (p: LoadedPolicy) => `${p.file}:${p.at?.line ?? 1}`;

export interface Selection {
  policy?: LoadedPolicy;
  /** Why no policy could be chosen; the group must not be managed. */
  problems: string[];
}

export function selectPolicy(group: Group, named: string | undefined, set: PolicySet): Selection {
  if (named !== undefined) {
    const found = set.policies.filter((p) => p.name === named);
    if (found.length === 1) return { policy: found[0]!, problems: [] };
    const tag = `spotmax:policy=${named}`;
    if (found.length > 1) {
      return {
        problems: [
          `${tag}: policy "${named}" is defined ${found.length} times (${found.map(where).join(', ')})`,
        ],
      };
    }
    const broken = (set.rejected ?? []).find((r) => r.name === named);
    if (broken)
      return {
        problems: [
          `${tag}: policy "${named}" (${broken.file}:${broken.line}) has errors; run spotmax validate`,
        ],
      };
    const names = [...new Set(set.policies.map((p) => p.name))];
    return { problems: [`${tag}: no policy named "${named}"${suggestion(named, names)}`] };
  }
  const problems: string[] = [];
  const found = set.policies.filter((p) => matches(p.policy.spec.match, group));
  if (found.length > 1) {
    const list = found.map((p) => `"${p.name}" (${where(p)})`).join(' and ');
    problems.push(
      `policies ${list} all match this group; tag it spotmax:policy=<name> or narrow their match`,
    );
  }
  for (const r of set.rejected ?? []) {
    if (matches(r.match, group)) {
      problems.push(
        `policy "${r.name ?? '?'}" (${r.file}:${r.line}) matches this group but has errors; run spotmax validate`,
      );
    }
  }
  if (problems.length > 0) return { problems };
  return found.length === 1 ? { policy: found[0]!, problems } : { problems };
}
