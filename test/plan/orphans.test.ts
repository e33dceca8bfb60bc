import test from 'ava';
import { reconcileOnce } from '../../src/controllers/reconcile/pass.js';
import type { Action } from '../../src/domain/actions.js';
import { STANDBY_FOR_TAG } from '../../src/domain/tags.js';
import { planOrphanStandbys } from '../../src/plan/orphans.js';
import type { Cloud } from '../../src/ports/cloud.js';
import { silentLogger } from '../../src/ports/logger.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { GROUP, instance, NOW, planInput } from './factories.js';

const standby = (owner: string, ageMinutes: number, state: 'stopped' | 'terminated' = 'stopped') =>
  instance({ ageMinutes, state, market: 'on-demand', tags: { [STANDBY_FOR_TAG]: owner } });

test('standbys of a group that no longer exists are terminated; live groups and young standbys are kept', (t) => {
  const mine = standby(GROUP, 60);
  const orphan = standby('deleted-asg', 60);
  const young = standby('just-created-asg', 5);
  const gone = standby('deleted-asg', 60, 'terminated');
  const { observation } = planInput({ standbys: [mine, orphan, young, gone] });
  const actions = planOrphanStandbys(observation, NOW);
  t.deepEqual(
    actions.map((a) => [a.kind, a.target, a.group]),
    [['terminate-standby', orphan.instanceId, 'deleted-asg']],
  );
  t.is(actions[0]!.reason, `standby ${orphan.instanceId} belongs to deleted-asg, which no longer exists`);
});

test("a pass over some groups never calls the other groups' standbys orphans; a full pass acts on them", async (t) => {
  const orphan = standby('deleted-asg', 60);
  const { observation } = planInput({ standbys: [orphan] });
  const done: Action[] = [];
  const clock = new VirtualClock(NOW);
  const deps = {
    cloud: {} as Cloud,
    clock,
    logger: silentLogger,
    loadPolicies: () => undefined,
    resolve: () => [],
    dryRun: false,
    observe: async () => observation,
    handlers: { 'terminate-standby': async (a: Action) => void done.push(a) },
  };
  const partial = await reconcileOnce(deps, { execute: true, groupNames: [GROUP] });
  t.deepEqual(partial.orphans.actions, []);
  t.deepEqual(done, []);
  const full = await reconcileOnce(deps, { execute: true });
  t.is(full.orphans.actions.length, 1);
  t.deepEqual(
    full.orphans.results.map((r) => r.status),
    ['done'],
  );
  t.deepEqual(
    done.map((a) => a.target),
    [orphan.instanceId],
  );
});
