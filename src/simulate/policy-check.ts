import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { memoizedResolve } from '../app/resolve.js';
import type { PolicySet } from '../config/load.js';
import { locate, positionOf } from '../config/yaml-positions.js';
import type { SimRegion } from '../sim/region.js';
import { expandGroups, type Scenario } from '../sim/scenario.js';

/**
 * Each opted-in group of the scenario's region resolved against the policies: the problems that would
 * make spotmax leave a group alone or run it on the wrong settings (a named policy the folder lacks, a bad
 * tag value), as "file:line:col: group NAME: problem" lines pointing at the tag (or the group) in the
 * scenario file. A simulation with any of them would be a silent wrong answer.
 */
export async function scenarioPolicyProblems(region: SimRegion, policies: PolicySet): Promise<string[]> {
  const groups = await region.clock.drive(region.cloud.autoscaling.describeGroups());
  const where = scenarioPositions(region.scenario);
  return memoizedResolve()(groups, policies).flatMap((r) =>
    r.problems.map((p) => `${where(r.group.name, p)}group ${r.group.name}: ${p}`),
  );
}

/**
 * "file:line:col: " of a group's problem in the scenario file: the tag the problem names
 * (`spotmax:policy=...`, `tag spotmax:...`) when the group sets it, else the group's name. A scenario
 * not read from a file (built in a test) gives its name only.
 */
function scenarioPositions(scenario: Scenario): (group: string, problem: string) => string {
  const file = scenario.file;
  let text: string | undefined;
  try {
    text = file ? readFileSync(file, 'utf8') : undefined;
  } catch {
    text = undefined;
  }
  if (!file || text === undefined) return () => `${scenario.name}: `;
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const index = new Map<string, number>();
  const bases = scenario.groups.map((g) => g.name);
  for (const g of expandGroups(scenario)) index.set(g.name, bases.indexOf(g.baseName));
  return (group, problem) => {
    const i = index.get(group);
    if (i === undefined || i < 0) return `${file}: `;
    const tag = /spotmax:[\w-]+/.exec(problem)?.[0];
    const at = (tag && locate(doc, ['groups', i, 'tags', tag])) || locate(doc, ['groups', i, 'name']);
    const node = at?.exact ? (at.key ?? at.node) : at?.node;
    const pos = positionOf(node, lc);
    return `${file}:${pos.line}:${pos.col}: `;
  };
}
