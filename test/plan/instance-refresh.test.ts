import test from 'ava';
import { RETIRE_REQUESTED_TAG } from '../../src/domain/tags.js';
import { planGroup } from '../../src/plan/group.js';
import type { InstanceRefresh } from '../../src/ports/autoscaling.js';
import { instance, planInput, settings } from './factories.js';

// Issue 11 rule 9: an instance refresh in progress replaces the group's instances itself; voluntary
// replacements (lifetime, rebalance, return to Spot) wait until it ends, and plan says why.

const refresh = (status: string, extra: Partial<InstanceRefresh> = {}): InstanceRefresh => ({
  id: 'a1b2c3d4-0000-4000-8000-000000000001',
  status,
  percentageComplete: 40,
  instancesToUpdate: 3,
  ...extra,
});

const aged = () => instance({ ageMinutes: 55 });
const lifetime = settings({ lifetime: { guaranteeMinutes: 50 }, replacement: { maxConcurrent: 5 } });
const kinds = (actions: { kind: string }[]) => actions.map((a) => a.kind);

for (const status of ['Pending', 'InProgress', 'Cancelling', 'RollbackInProgress', 'Baking']) {
  test(`a refresh ${status}: no lifetime replacement begins, and plan says why`, (t) => {
    const old = aged();
    const plan = planGroup({
      ...planInput({ members: [old], settings: lifetime }),
      instanceRefreshes: [refresh(status)],
    });
    t.false(kinds(plan.actions).includes('replacement-add-capacity'));
    t.true(
      plan.problems.some((p) =>
        p.startsWith(
          `instance refresh a1b2c3d4-0000-4000-8000-000000000001 ${status} (40 % complete, 3 to update)`,
        ),
      ),
      plan.problems.join('\n'),
    );
    t.true(plan.problems.some((p) => p.includes(`${old.instanceId} (lifetime)`)));
    t.is(plan.requeueAfterSeconds, 60);
  });
}

test('a finished refresh (the latest Successful, an older one Failed) holds nothing back', (t) => {
  const old = aged();
  const plan = planGroup({
    ...planInput({ members: [old], settings: lifetime }),
    instanceRefreshes: [refresh('Successful'), refresh('Failed', { id: 'older' })],
  });
  t.deepEqual(kinds(plan.actions), ['replacement-add-capacity']);
  t.false(plan.problems.some((p) => p.includes('instance refresh')));
});

test('a rebalance replacement waits for the refresh too', (t) => {
  const risky = instance({ tags: { [RETIRE_REQUESTED_TAG]: '2026-11-22T11:58:00.000Z' } });
  const s = settings({ rebalance: { action: 'replace' } });
  const during = planGroup({
    ...planInput({ members: [risky], settings: s }),
    instanceRefreshes: [refresh('InProgress')],
  });
  t.false(kinds(during.actions).includes('replacement-add-capacity'));
  t.true(during.problems.some((p) => p.includes(`${risky.instanceId} (rebalance)`)));
  const after = planGroup(planInput({ members: [risky], settings: s }));
  t.true(kinds(after.actions).includes('replacement-add-capacity'));
});
