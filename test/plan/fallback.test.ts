import test from 'ava';
import type { ActionOf } from '../../src/domain/actions.js';
import { FALLBACK_ORIGINAL_TAG, GROUP_TAG, REPLACEMENT_TAG } from '../../src/domain/tags.js';
import { returnIntervalMinutes } from '../../src/plan/fallback.js';
import { formatFallbackRecord, parseFallbackRecord } from '../../src/plan/fallback-record.js';
import { planGroup } from '../../src/plan/group.js';
import { formatReplacementRecord } from '../../src/plan/replacement-record.js';
import { activity, GROUP, instance, minutesAgo, mixedPolicy, planInput, settings } from './factories.js';

const ICE =
  'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.';
const on = settings({
  onDemandFallback: { enabled: true, afterSeconds: 120, returnCheckMinutes: 15, returnBatchSize: 1 },
  replacement: { maxConcurrent: 3 },
});
const four = () => [instance(), instance(), instance(), instance()];
const fallbackTag = (value: string) => [
  { key: GROUP_TAG, value: GROUP, propagateAtLaunch: true },
  { key: FALLBACK_ORIGINAL_TAG, value, propagateAtLaunch: false },
];

test('falls back after afterSeconds below desired with Spot capacity failures; whole policy sent', (t) => {
  const plan = planGroup(
    planInput({
      members: four(),
      group: { desired: 6 },
      settings: on,
      activities: [
        activity('Successful', 600),
        activity('Failed', 180, ICE),
        activity('Failed', 120, ICE),
        activity('Failed', 30, ICE),
      ],
    }),
  );
  const fb = plan.actions.find((a) => a.kind === 'fallback-on-demand') as ActionOf<'fallback-on-demand'>;
  t.is(fb.reason, 'fallback-on-demand: 4/6 InService for 180s, 3 failed Spot launches');
  t.is(fb.policy.instancesDistribution.onDemandPercentageAboveBaseCapacity, 100);
  t.deepEqual(fb.policy.overrides, mixedPolicy().overrides, 'overrides kept: the policy is sent whole');
  t.is(fb.policy.instancesDistribution.spotAllocationStrategy, 'price-capacity-optimized');
  const rec = parseFallbackRecord(fb.record);
  t.false('error' in rec);
  if (!('error' in rec)) {
    t.is(rec.original.onDemandPercentageAboveBaseCapacity, 0);
    t.is(rec.attempt, 1);
    t.is(rec.phase, 'fallback');
  }
});

test('not yet: failures for less than afterSeconds requeue at the window end', (t) => {
  const plan = planGroup(
    planInput({
      members: four(),
      group: { desired: 6 },
      settings: on,
      activities: [activity('Failed', 119, ICE)],
    }),
  );
  t.false(plan.actions.some((a) => a.kind === 'fallback-on-demand'));
  t.is(plan.requeueAfterSeconds, 1);
});

test('no fallback at desired, without capacity errors, or when failures predate a success', (t) => {
  const at = planGroup(
    planInput({
      members: four(),
      group: { desired: 4 },
      settings: on,
      activities: [activity('Failed', 300, ICE)],
    }),
  );
  const other = planGroup(
    planInput({
      members: four(),
      group: { desired: 6 },
      settings: on,
      activities: [activity('Failed', 300, 'InvalidParameterValue: bad AMI')],
    }),
  );
  const old = planGroup(
    planInput({
      members: four(),
      group: { desired: 6 },
      settings: on,
      activities: [activity('Failed', 300, ICE), activity('Successful', 200)],
    }),
  );
  for (const p of [at, other, old]) t.false(p.actions.some((a) => a.kind === 'fallback-on-demand'));
});

test('a group without a MixedInstancesPolicy cannot fall back: plan says so', (t) => {
  const plan = planGroup(
    planInput({
      members: four(),
      group: { desired: 6, mixedInstancesPolicy: undefined, launchTemplate: { id: 'lt-1' } },
      settings: on,
      activities: [activity('Failed', 300, ICE)],
    }),
  );
  t.false(plan.actions.some((a) => a.kind === 'fallback-on-demand'));
  t.true(plan.problems.some((p) => p.startsWith('cannot fall back to On-Demand')));
});

test('return interval grows with each attempt, capped at a day', (t) => {
  t.is(returnIntervalMinutes(15, 1), 15);
  t.is(returnIntervalMinutes(15, 2), 30);
  t.is(returnIntervalMinutes(15, 3), 60);
  t.is(returnIntervalMinutes(15, 20), 1440);
});

test('in fallback: restores the original after returnCheckMinutes, not before', (t) => {
  const record = formatFallbackRecord({
    original: { onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 20 },
    since: minutesAgo(30),
    attempt: 2,
    phase: 'fallback',
  });
  const policy = mixedPolicy({ onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 100 });
  const early = planGroup(
    planInput({
      members: four(),
      settings: on,
      group: { tags: fallbackTag(record), mixedInstancesPolicy: policy },
      now: minutesAgo(0.5),
    }),
  );
  t.false(
    early.actions.some((a) => a.kind === 'restore-spot'),
    'attempt 2 waits 30m',
  );
  const due = planGroup(
    planInput({
      members: four(),
      settings: on,
      group: { tags: fallbackTag(record), mixedInstancesPolicy: policy },
    }),
  );
  const restore = due.actions.find((a) => a.kind === 'restore-spot') as ActionOf<'restore-spot'>;
  t.is(restore.policy.instancesDistribution.onDemandPercentageAboveBaseCapacity, 20);
  t.is(restore.policy.instancesDistribution.onDemandBaseCapacity, 1);
  t.deepEqual(restore.policy.overrides, policy.overrides);
  const next = parseFallbackRecord(restore.record);
  t.true(!('error' in next) && next.phase === 'returning' && next.attempt === 2);
});

test('in fallback with the policy not yet at 100 %: the fallback is applied again (crash between tag and update)', (t) => {
  const record = formatFallbackRecord({
    original: { onDemandPercentageAboveBaseCapacity: 0 },
    since: minutesAgo(1),
    attempt: 1,
    phase: 'fallback',
  });
  const plan = planGroup(planInput({ members: four(), settings: on, group: { tags: fallbackTag(record) } }));
  const fb = plan.actions.find((a) => a.kind === 'fallback-on-demand') as ActionOf<'fallback-on-demand'>;
  t.is(fb.policy.instancesDistribution.onDemandPercentageAboveBaseCapacity, 100);
});

test('returning: Spot fails again -> fall back again with attempt + 1', (t) => {
  const record = formatFallbackRecord({
    original: { onDemandPercentageAboveBaseCapacity: 0 },
    since: minutesAgo(40),
    attempt: 1,
    phase: 'returning',
    returnedAt: minutesAgo(5),
  });
  const plan = planGroup(
    planInput({
      members: four(),
      settings: on,
      group: { desired: 5, tags: fallbackTag(record) },
      activities: [activity('Failed', 60, ICE)],
    }),
  );
  const fb = plan.actions.find((a) => a.kind === 'fallback-on-demand') as ActionOf<'fallback-on-demand'>;
  t.regex(fb.reason, /failed again.*next return in 30m/);
  const next = parseFallbackRecord(fb.record);
  t.true(!('error' in next) && next.attempt === 2 && next.phase === 'fallback');
});

test('returning: On-Demand members above the original base are replaced, returnBatchSize at a time', (t) => {
  const record = formatFallbackRecord({
    original: { onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 0 },
    since: minutesAgo(40),
    attempt: 1,
    phase: 'returning',
    returnedAt: minutesAgo(2),
  });
  const od = [
    instance({ market: 'on-demand', ageMinutes: 30 }),
    instance({ market: 'on-demand', ageMinutes: 20 }),
    instance({ market: 'on-demand', ageMinutes: 10 }),
  ];
  const policy = mixedPolicy({ onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 0 });
  const plan = planGroup(
    planInput({
      members: [...od, instance()],
      settings: on,
      group: { tags: fallbackTag(record), mixedInstancesPolicy: policy },
    }),
  );
  const adds = plan.actions.filter(
    (a) => a.kind === 'replacement-add-capacity',
  ) as ActionOf<'replacement-add-capacity'>[];
  t.deepEqual(
    adds.map((a) => [a.target, a.why]),
    [[od[0]!.instanceId, 'return-to-spot']],
  );
  t.false(plan.actions.some((a) => a.kind === 'fallback-clear'));
});

test('returning: a return-to-spot replacement in flight uses the batch; none begins', (t) => {
  const record = formatFallbackRecord({
    original: { onDemandPercentageAboveBaseCapacity: 0 },
    since: minutesAgo(40),
    attempt: 1,
    phase: 'returning',
    returnedAt: minutesAgo(2),
  });
  const inflight = instance({
    market: 'on-demand',
    tags: {
      [GROUP_TAG]: GROUP,
      [REPLACEMENT_TAG]: formatReplacementRecord({
        step: 'waiting',
        since: minutesAgo(1),
        why: 'return-to-spot',
      }),
    },
  });
  const plan = planGroup(
    planInput({
      members: [inflight, instance({ market: 'on-demand' }), instance()],
      settings: on,
      group: { desired: 4, tags: fallbackTag(record) },
    }),
  );
  t.false(plan.actions.some((a) => a.kind === 'replacement-add-capacity'));
});

test('returning: done when no On-Demand above the split and the group is at desired', (t) => {
  const record = formatFallbackRecord({
    original: { onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 0 },
    since: minutesAgo(40),
    attempt: 1,
    phase: 'returning',
    returnedAt: minutesAgo(10),
  });
  const policy = mixedPolicy({ onDemandBaseCapacity: 1, onDemandPercentageAboveBaseCapacity: 0 });
  const plan = planGroup(
    planInput({
      members: [instance({ market: 'on-demand' }), instance(), instance()],
      settings: on,
      group: { tags: fallbackTag(record), mixedInstancesPolicy: policy },
    }),
  );
  t.true(plan.actions.some((a) => a.kind === 'fallback-clear'));
});

test('an unreadable fallback tag is a problem, never a guess', (t) => {
  const plan = planGroup(planInput({ members: four(), settings: on, group: { tags: fallbackTag('{oops') } }));
  t.false(plan.actions.some((a) => a.kind === 'restore-spot' || a.kind === 'fallback-on-demand'));
  t.true(plan.problems.some((p) => p.includes('unreadable spotmax:fallback-original')));
});
