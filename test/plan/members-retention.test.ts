import test from 'ava';
import type { ManagedInput } from '../../src/plan/input.js';
import { membersWithInstances } from '../../src/plan/members.js';
import { collected } from '../helpers/collect.js';
import { instance, planInput } from './factories.js';

// The planners' shared member/instance join is cached per group (plan/members.ts). A group's members
// array outlives its pass (the simulated region reuses a group's described shape until it changes; the
// resolution cache holds groups): the cache must not make it keep the pass's whole-region instances map
// alive, or every group pins the map of the last pass that planned it (issue 16: 24 simulated hours of
// 500 groups x 100 instances grew the heap floor 180 -> 615 MB).

function managed(members = [instance(), instance()]): ManagedInput {
  const input = planInput({ members });
  return { ...input, group: input.resolved.group, settings: input.resolved.settings! };
}

test('a members array that outlives its pass does not keep the pass instances map alive', async (t) => {
  let pass: ManagedInput | undefined = managed();
  const members = pass.group.members;
  t.is(membersWithInstances(pass).length, 2);
  const map = new WeakRef(pass.observation.instances);
  pass = undefined;
  t.true(await collected(map));
  // The group (and its members array) is still here, as a cache holding it would keep it.
  t.is(members.length, 2);
});

test('the join is shared within one pass and made again for the next pass instances map', (t) => {
  const input = managed();
  const views = membersWithInstances(input);
  t.is(membersWithInstances(input), views);
  const [gone, kept] = input.group.members;
  const next = new Map(input.observation.instances);
  next.delete(gone!.instanceId);
  const again = membersWithInstances({ ...input, observation: { ...input.observation, instances: next } });
  t.not(again, views);
  t.deepEqual(
    again.map((v) => v.member.instanceId),
    [kept!.instanceId],
  );
});
