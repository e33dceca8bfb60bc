import test from 'ava';
import type { ActionOf } from '../../src/domain/actions.js';
import { REPLACEMENT_TAG, RETIRE_REQUESTED_TAG } from '../../src/domain/tags.js';
import { planGroup } from '../../src/plan/group.js';
import { formatReplacementRecord } from '../../src/plan/replacement-record.js';
import { GROUP, instance, minutesAgo, NOW, planInput, settings } from './factories.js';

const adds = (actions: { kind: string }[]) =>
  actions.filter((a) => a.kind === 'replacement-add-capacity') as ActionOf<'replacement-add-capacity'>[];

test('guaranteeMinutes: replaced at the boundary, not a minute before', (t) => {
  const young = instance({ ageMinutes: 49.99 });
  const exact = instance({ ageMinutes: 50 });
  const old = instance({ ageMinutes: 52.5 });
  const plan = planGroup(
    planInput({
      members: [young, exact, old],
      settings: settings({ lifetime: { guaranteeMinutes: 50 }, replacement: { maxConcurrent: 5 } }),
    }),
  );
  const targets = adds(plan.actions).map((a) => a.target);
  t.deepEqual(targets, [old.instanceId, exact.instanceId]);
  t.is(adds(plan.actions)[0]?.reason, `replace ${old.instanceId}: age 52m > guaranteeMinutes 50`);
  t.is(adds(plan.actions)[1]?.reason, `replace ${exact.instanceId}: age 50m >= guaranteeMinutes 50`);
  t.true(adds(plan.actions).every((a) => a.why === 'lifetime'));
});

test('durationHours only: replacement starts leadMinutes before the limit', (t) => {
  const s = settings({ lifetime: { durationHours: 1, leadMinutes: 10 }, replacement: { maxConcurrent: 5 } });
  const before = instance({ ageMinutes: 49.9 });
  const atLead = instance({ ageMinutes: 50 });
  const plan = planGroup(planInput({ members: [before, atLead], settings: s }));
  t.deepEqual(
    adds(plan.actions).map((a) => a.target),
    [atLead.instanceId],
  );
  t.regex(adds(plan.actions)[0]!.reason, /within leadMinutes 10 of durationHours 1/);
});

test('past durationHours: begins even when the budget is used up, and first', (t) => {
  const s = settings({
    lifetime: { durationHours: 1, guaranteeMinutes: 30 },
    replacement: { maxConcurrent: 1 },
  });
  const busy = instance({
    ageMinutes: 40,
    tags: {
      'spotmax:group': GROUP,
      [REPLACEMENT_TAG]: formatReplacementRecord({ step: 'waiting', since: minutesAgo(1), why: 'lifetime' }),
    },
  });
  const overdue = instance({ ageMinutes: 61 });
  const aged = instance({ ageMinutes: 45 });
  const plan = planGroup(planInput({ members: [busy, overdue, aged], settings: s }));
  t.deepEqual(
    adds(plan.actions).map((a) => a.target),
    [overdue.instanceId],
  );
  t.regex(adds(plan.actions)[0]!.reason, /past durationHours 1 \(61m\)|past durationHours 1/);
  t.true(plan.problems.some((p) => p.includes('held back') && p.includes(aged.instanceId)));
});

test('an overdue instance whose replacement is not ready is retired anyway (forced)', (t) => {
  const s = settings({ lifetime: { durationHours: 1 } });
  const old = instance({
    ageMinutes: 60,
    tags: {
      'spotmax:group': GROUP,
      [REPLACEMENT_TAG]: formatReplacementRecord({
        step: 'waiting',
        since: minutesAgo(10),
        why: 'lifetime',
        addedCapacity: true,
        raisedMax: false,
      }),
    },
  });
  const plan = planGroup(planInput({ members: [old], settings: s }));
  const retire = plan.actions.find((a) => a.kind === 'replacement-retire') as ActionOf<'replacement-retire'>;
  t.truthy(retire);
  t.true(retire.force);
  t.is(retire.fromStep, 'releasing');
  t.is(retire.newInstanceId, undefined);
});

test('no lifetime settings: nothing is replaced however old', (t) => {
  const plan = planGroup(planInput({ members: [instance({ ageMinutes: 10_000 })] }));
  t.is(adds(plan.actions).length, 0);
});

test('only InService, running, uninterrupted members are replaced', (t) => {
  const s = settings({ lifetime: { guaranteeMinutes: 10 }, replacement: { maxConcurrent: 10 } });
  const pending = { ...instance({ ageMinutes: 60 }), lifecycle: 'Pending' };
  const interrupted = instance({
    ageMinutes: 60,
    tags: { 'spotmax:group': GROUP, 'spotmax:interrupted-at': NOW.toISOString() },
  });
  const stopping = instance({ ageMinutes: 60, state: 'stopping' });
  const ok = instance({ ageMinutes: 60 });
  const plan = planGroup(planInput({ members: [pending, interrupted, stopping, ok], settings: s }));
  t.deepEqual(
    adds(plan.actions).map((a) => a.target),
    [ok.instanceId],
  );
});

test('rebalance: retire-requested instances are replaced before aged ones, within the budget', (t) => {
  const s = settings({ lifetime: { guaranteeMinutes: 10 }, replacement: { maxConcurrent: 1 } });
  const aged = instance({ ageMinutes: 60 });
  const risky = instance({
    ageMinutes: 2,
    tags: { 'spotmax:group': GROUP, [RETIRE_REQUESTED_TAG]: '2026-11-22T11:59:00Z' },
  });
  const plan = planGroup(planInput({ members: [aged, risky], settings: s }));
  const a = adds(plan.actions);
  t.is(a.length, 1);
  t.is(a[0]?.target, risky.instanceId);
  t.is(a[0]?.why, 'rebalance');
  t.regex(a[0]!.reason, /rebalance recommendation/);
});

test('a fleet past durationHours all at once: a tenth of the group is replaced at a time, the rest wait and are named', (t) => {
  const members = Array.from({ length: 30 }, () => instance({ ageMinutes: 5 * 60 }));
  const plan = planGroup(
    planInput({
      members,
      settings: settings({ lifetime: { durationHours: 4 }, replacement: { maxConcurrent: 1 } }),
    }),
  );
  const adds = plan.actions.filter((a) => a.kind === 'replacement-add-capacity');
  t.is(adds.length, 3, 'ceil(30 / 10), beyond maxConcurrent 1');
  t.true(
    plan.problems.some((p) =>
      p.startsWith('27 member(s) past durationHours wait for the replacements in flight (at most 3 at once'),
    ),
  );
});
