import test from 'ava';
import type { ActionOf } from '../../src/domain/actions.js';
import { GROUP_TAG, REPLACEMENT_TAG, REPLACES_TAG } from '../../src/domain/tags.js';
import { planGroup } from '../../src/plan/group.js';
import {
  formatReplacementRecord,
  parseReplacementRecord,
  type ReplacementRecord,
} from '../../src/plan/replacement-record.js';
import { GROUP, instance, minutesAgo, planInput, settings } from './factories.js';

const rec = (r: Partial<ReplacementRecord>) =>
  formatReplacementRecord({ step: 'waiting', since: minutesAgo(5), why: 'lifetime', ...r });
const tagged = (r: Partial<ReplacementRecord>, age = 60) =>
  instance({ ageMinutes: age, tags: { [GROUP_TAG]: GROUP, [REPLACEMENT_TAG]: rec(r) } });
const s = settings({
  lifetime: { guaranteeMinutes: 50 },
  replacement: { maxConcurrent: 2, readyTimeoutMinutes: 15 },
});

test('record round-trips and refuses what spotmax did not write', (t) => {
  const r: ReplacementRecord = {
    step: 'restoring-max',
    since: minutesAgo(3),
    why: 'return-to-spot',
    desiredBefore: 6,
    maxBefore: 6,
    addedCapacity: true,
    raisedMax: true,
    newInstanceId: 'i-new',
    maxExpected: 7,
  };
  t.deepEqual(parseReplacementRecord(formatReplacementRecord(r)), r);
  t.deepEqual(parseReplacementRecord('step=flying;since=2026-01-01T00:00:00Z'), {
    error: 'unknown step "flying"',
  });
  t.true('error' in parseReplacementRecord('step=waiting;since=yesterday'));
});

test('waiting: retires the old one once a member launched after `since` is InService', (t) => {
  const old = tagged({ since: minutesAgo(5) });
  const before = instance({ ageMinutes: 6 });
  const fresh = instance({ ageMinutes: 3 });
  const plan = planGroup(planInput({ members: [old, before, fresh], settings: s }));
  const retire = plan.actions.find((a) => a.kind === 'replacement-retire') as ActionOf<'replacement-retire'>;
  t.is(retire.target, old.instanceId);
  t.is(retire.newInstanceId, fresh.instanceId);
  t.is(retire.fromStep, 'releasing');
  t.false(retire.force);
  t.is(retire.reason, `retire ${old.instanceId}: replacement ${fresh.instanceId} is InService (lifetime)`);
});

test('waiting: no retirement while the group serves less than desired, even with a newcomer InService', (t) => {
  // The newcomer may be Auto Scaling's replacement of an interrupted member (or a weighted overage already
  // counted): retiring now would take the group further below desired.
  const old = tagged({ since: minutesAgo(5) });
  const before = instance({ ageMinutes: 6 });
  const fresh = instance({ ageMinutes: 3 });
  const pending = { ...instance({ ageMinutes: 1 }), lifecycle: 'Pending' };
  const short = planGroup(planInput({ members: [old, before, fresh, pending], settings: s }));
  t.false(short.actions.some((a) => a.kind === 'replacement-retire'));
  t.is(short.requeueAfterSeconds, 20);
  // The same group once every member serves: the retirement goes ahead.
  const full = planGroup(
    planInput({ members: [old, before, fresh, { ...pending, lifecycle: 'InService' }], settings: s }),
  );
  t.true(full.actions.some((a) => a.kind === 'replacement-retire' && a.target === old.instanceId));
});

test('waiting: past readyTimeoutMinutes while the group is short, the problem says so', (t) => {
  const old = tagged({ since: minutesAgo(20) });
  const fresh = instance({ ageMinutes: 3 });
  const pending = { ...instance({ ageMinutes: 1 }), lifecycle: 'Pending' };
  const plan = planGroup(planInput({ members: [old, fresh, pending], settings: s }));
  t.false(plan.actions.some((a) => a.kind === 'replacement-retire'));
  t.true(
    plan.problems.some((p) =>
      p.includes('for the group to serve its desired capacity (2 of 3 units InService)'),
    ),
    plan.problems.join('\n'),
  );
});

test('an old instance Auto Scaling terminated: its capacity waits while the group is short, but not past the visibility window', (t) => {
  // The old one is terminated and out of the group (only EC2 still lists it); a member is still booting.
  const members = [instance({ ageMinutes: 30 }), { ...instance({ ageMinutes: 1 }), lifecycle: 'Pending' }];
  const gone = (sinceMinutes: number) => ({
    ...tagged({ since: minutesAgo(sinceMinutes), addedCapacity: true }),
    state: 'terminated' as const,
  });
  const takeBack = (sinceMinutes: number) =>
    planGroup(planInput({ members, outsiders: [gone(sinceMinutes)], settings: s })).actions.find(
      (a) => a.kind === 'replacement-retire',
    );
  t.is(takeBack(10), undefined, 'short: the units stay for now');
  const late = takeBack(46);
  t.truthy(late, 'EC2 lists a terminated instance for about an hour: taken back before it is forgotten');
  t.regex(late!.reason, /take back the capacity added to replace .*left the group without spotmax/);
  // Not short: taken back at once.
  const full = planGroup(
    planInput({
      members: [members[0]!, { ...members[1]!, lifecycle: 'InService' }],
      outsiders: [gone(10)],
      settings: s,
    }),
  );
  t.true(full.actions.some((a) => a.kind === 'replacement-retire'));
});

test('waiting: a Pending new member is not enough; requeue soon, no retire', (t) => {
  const old = tagged({ since: minutesAgo(2) });
  const pending = { ...instance({ ageMinutes: 1 }), lifecycle: 'Pending' };
  const plan = planGroup(planInput({ members: [old, pending], settings: s }));
  t.false(plan.actions.some((a) => a.kind === 'replacement-retire'));
  t.false(
    plan.actions.some((a) => a.kind === 'replacement-add-capacity'),
    'never adds capacity twice',
  );
  t.is(plan.requeueAfterSeconds, 20);
  t.deepEqual(plan.problems, []);
});

test('two waiting replacements never claim the same new member', (t) => {
  const a = tagged({ since: minutesAgo(6) });
  const b = tagged({ since: minutesAgo(5) });
  const fresh = instance({ ageMinutes: 2 });
  const plan = planGroup(planInput({ members: [a, b, fresh], settings: s }));
  const retires = plan.actions.filter(
    (x) => x.kind === 'replacement-retire',
  ) as ActionOf<'replacement-retire'>[];
  t.is(retires.length, 1);
  t.is(retires[0]?.target, a.instanceId);
});

test('a new member already named by another record is not claimed again', (t) => {
  const fresh = instance({ ageMinutes: 2 });
  const a = tagged({ step: 'detaching', since: minutesAgo(6), newInstanceId: fresh.instanceId });
  const b = tagged({ since: minutesAgo(5) });
  const plan = planGroup(planInput({ members: [a, b, fresh], settings: s }));
  const retires = plan.actions.filter(
    (x) => x.kind === 'replacement-retire',
  ) as ActionOf<'replacement-retire'>[];
  t.deepEqual(
    retires.map((r) => [r.target, r.fromStep]),
    [[a.instanceId, 'detaching']],
  );
});

test('a new member that already replaced an instance now gone is never claimed again', (t) => {
  // The first replacement finished: its old instance left the group and took its record along. Only the
  // mark on the new member says it is spoken for; without it, b would retire on a's capacity.
  const used = instance({ ageMinutes: 2, tags: { [GROUP_TAG]: GROUP, [REPLACES_TAG]: 'i-gone' } });
  const b = tagged({ since: minutesAgo(5) });
  const plan = planGroup(planInput({ members: [b, used], settings: s }));
  t.false(plan.actions.some((a) => a.kind === 'replacement-retire'));
  t.is(plan.requeueAfterSeconds, 20);
});

test("a member marked as this instance's replacement is taken even if older than since (resume after a stop)", (t) => {
  const b = tagged({ since: minutesAgo(5) });
  const marked = instance({ ageMinutes: 8, tags: { [GROUP_TAG]: GROUP, [REPLACES_TAG]: b.instanceId } });
  const plan = planGroup(planInput({ members: [b, marked], settings: s }));
  const retire = plan.actions.find((a) => a.kind === 'replacement-retire') as ActionOf<'replacement-retire'>;
  t.is(retire?.newInstanceId, marked.instanceId);
});

test('waiting past readyTimeoutMinutes is a problem, and the old instance stays', (t) => {
  const old = tagged({ since: minutesAgo(15) }, 70);
  const plan = planGroup(planInput({ members: [old], settings: s }));
  t.false(plan.actions.some((a) => a.kind === 'replacement-retire'));
  t.true(plan.problems.some((p) => p.includes(old.instanceId) && p.includes('readyTimeoutMinutes 15')));
});

test('budget: in-flight replacements count, so only maxConcurrent minus in-flight begin', (t) => {
  const inflight = tagged({ since: minutesAgo(1) });
  const aged = [instance({ ageMinutes: 70 }), instance({ ageMinutes: 65 }), instance({ ageMinutes: 60 })];
  const plan = planGroup(planInput({ members: [inflight, ...aged], settings: s }));
  const begins = plan.actions.filter((a) => a.kind === 'replacement-add-capacity').map((a) => a.target);
  t.deepEqual(begins, [aged[0]!.instanceId], 'oldest first, one slot left');
});

test('resume: a record left at step=adding resumes the capacity step with what it saw', (t) => {
  const old = tagged({ step: 'adding', since: minutesAgo(1), desiredBefore: 3, maxBefore: 3 });
  const plan = planGroup(planInput({ members: [old, instance({ ageMinutes: 2 })], settings: s }));
  const add = plan.actions.filter(
    (a) => a.kind === 'replacement-add-capacity',
  ) as ActionOf<'replacement-add-capacity'>[];
  t.is(add.length, 1);
  t.is(add[0]?.target, old.instanceId);
  t.is(add[0]?.resumeDesiredBefore, 3);
  t.is(add[0]?.resumeMaxBefore, 3);
});

test('resume: a detached instance (outside the group) with a record is retired from its step', (t) => {
  const gone = tagged({ step: 'restoring-max', raisedMax: true, maxExpected: 4 });
  const plan = planGroup(planInput({ members: [instance()], outsiders: [gone], settings: s }));
  const retire = plan.actions.find((a) => a.kind === 'replacement-retire') as ActionOf<'replacement-retire'>;
  t.is(retire.target, gone.instanceId);
  t.is(retire.fromStep, 'restoring-max');
});

test('a terminated or shutting-down last step is finished: nothing to do, no budget used', (t) => {
  const done = { ...tagged({ step: 'terminating' }), state: 'shutting-down' as const };
  const aged = instance({ ageMinutes: 70 });
  const plan = planGroup(
    planInput({
      members: [aged],
      outsiders: [done],
      settings: settings({ lifetime: { guaranteeMinutes: 50 }, replacement: { maxConcurrent: 1 } }),
    }),
  );
  t.deepEqual(
    plan.actions.filter((a) => a.kind.startsWith('replacement')).map((a) => [a.kind, a.target]),
    [['replacement-add-capacity', aged.instanceId]],
  );
});

test('an unreadable record is a problem and blocks a second replacement of that instance', (t) => {
  const odd = instance({ ageMinutes: 70, tags: { [GROUP_TAG]: GROUP, [REPLACEMENT_TAG]: 'hello' } });
  const plan = planGroup(planInput({ members: [odd], settings: s }));
  t.false(plan.actions.some((a) => a.kind.startsWith('replacement')));
  t.true(plan.problems.some((p) => p.includes(odd.instanceId) && p.includes('unreadable')));
});

test('an instance interrupted mid-replacement is retired at once from the detach, without waiting for a new member', (t) => {
  const old = instance({
    ageMinutes: 60,
    tags: {
      [GROUP_TAG]: GROUP,
      [REPLACEMENT_TAG]: rec({ since: minutesAgo(1) }),
      'spotmax:interrupted-at': minutesAgo(0.5).toISOString(),
    },
  });
  const plan = planGroup(planInput({ members: [old], settings: s }));
  const retire = plan.actions.find((a) => a.kind === 'replacement-retire') as ActionOf<'replacement-retire'>;
  t.is(retire.fromStep, 'detaching');
  t.true(retire.interrupted);
  t.false(plan.actions.some((a) => a.kind === 'replacement-add-capacity'));
});
