import { readFileSync } from 'node:fs';
import test from 'ava';
import type { ActionOf } from '../../src/domain/actions.js';
import {
  FALLBACK_FOR_TAG,
  FALLBACK_ORIGINAL_TAG,
  GROUP_TAG,
  REPLACEMENT_TAG,
} from '../../src/domain/tags.js';
import type { ScalingActivity } from '../../src/domain/types.js';
import { isSpotCapacityFailure } from '../../src/plan/activities.js';
import { returnIntervalMinutes } from '../../src/plan/fallback.js';
import { formatFallbackRecord, parseFallbackRecord } from '../../src/plan/fallback-record.js';
import { planGroup } from '../../src/plan/group.js';
import { formatReplacementRecord } from '../../src/plan/replacement-record.js';
import { activity, GROUP, instance, minutesAgo, planInput, settings } from './factories.js';

const samples = JSON.parse(
  readFileSync(new URL('../fixtures/scaling-activities/failed-launches.json', import.meta.url), 'utf8'),
) as { activities: { name: string; spotShortage: boolean; statusMessage: string }[] };
const sample = (name: string) => samples.activities.find((a) => a.name === name)!.statusMessage;
const ICE = sample('spot-insufficient-capacity');
const OD_ICE = sample('on-demand-insufficient-capacity');

const on = settings({
  onDemandFallback: { enabled: true, afterSeconds: 120, returnCheckMinutes: 15, returnBatchSize: 1 },
  replacement: { maxConcurrent: 3 },
});
const four = () => [instance(), instance(), instance(), instance()];
const fallbackTag = (value: string) => [
  { key: GROUP_TAG, value: GROUP, propagateAtLaunch: true },
  { key: FALLBACK_ORIGINAL_TAG, value, propagateAtLaunch: false },
];
const kinds = (p: { actions: { kind: string }[] }) => p.actions.map((a) => a.kind);

test('every sample activity from the AWS documentation is classified as its fixture says', (t) => {
  for (const s of samples.activities) {
    const a: ScalingActivity = {
      activityId: s.name,
      groupName: GROUP,
      statusCode: 'Failed',
      statusMessage: s.statusMessage,
      description: `Launching a new EC2 instance.  Status Reason: ${s.statusMessage}`,
      startTime: minutesAgo(1),
    };
    t.is(isSpotCapacityFailure(a), s.spotShortage, s.name);
  }
});

test('falls back after afterSeconds of Spot failures: launches exactly the shortfall On-Demand, no policy change', (t) => {
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
  const fb = plan.actions.find((a) => a.kind === 'fallback-launch') as ActionOf<'fallback-launch'>;
  t.is(
    fb.reason,
    'fallback-on-demand: 4/6 InService for 180s, 3 failed Spot launches; launch 2 On-Demand to cover the shortfall',
  );
  t.is(fb.placements.length, 2, 'the missing count, not the whole group');
  t.false('policy' in fb, 'the distribution is not sent');
  const rec = parseFallbackRecord(fb.record);
  t.true(!('error' in rec) && !('legacy' in rec) && rec.attempt === 1 && rec.phase === 'fallback');
});

test('On-Demand shortages and other failures never trigger the fallback', (t) => {
  for (const message of [OD_ICE, sample('unsupported-configuration'), sample('vcpu-limit')]) {
    const plan = planGroup(
      planInput({
        members: four(),
        group: { desired: 6 },
        settings: on,
        activities: [activity('Failed', 300, message)],
      }),
    );
    t.deepEqual(
      kinds(plan).filter((k) => k.startsWith('fallback')),
      [],
      message.slice(0, 40),
    );
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
  t.false(kinds(plan).includes('fallback-launch'));
  t.is(plan.requeueAfterSeconds, 1);
});

test('no fallback at desired, or when failures predate a success', (t) => {
  const at = planGroup(
    planInput({
      members: four(),
      group: { desired: 4 },
      settings: on,
      activities: [activity('Failed', 300, ICE)],
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
  for (const p of [at, old]) t.false(kinds(p).includes('fallback-launch'));
});

test('launched On-Demand instances count toward the shortfall; running ones are attached keeping desired', (t) => {
  const record = formatFallbackRecord({ since: minutesAgo(2), attempt: 1, phase: 'fallback' });
  const booting = instance({ market: 'on-demand', state: 'pending', tags: { [FALLBACK_FOR_TAG]: GROUP } });
  const running = instance({ market: 'on-demand', tags: { [FALLBACK_FOR_TAG]: GROUP } });
  const plan = planGroup(
    planInput({
      members: four(),
      group: { desired: 6, tags: fallbackTag(record) },
      settings: on,
      activities: [activity('Failed', 30, ICE)],
      outsiders: [booting, running],
    }),
  );
  t.false(kinds(plan).includes('fallback-launch'), 'nothing launched twice');
  const attach = plan.actions.find((a) => a.kind === 'fallback-attach') as ActionOf<'fallback-attach'>;
  t.deepEqual(attach.instanceIds, [running.instanceId]);
});

test('return interval grows with each attempt, capped at a day', (t) => {
  t.is(returnIntervalMinutes(15, 1), 15);
  t.is(returnIntervalMinutes(15, 2), 30);
  t.is(returnIntervalMinutes(15, 3), 60);
  t.is(returnIntervalMinutes(15, 20), 1440);
});

test('in fallback: the return begins after returnCheckMinutes, not before, and changes only the record', (t) => {
  const record = formatFallbackRecord({ since: minutesAgo(30), attempt: 2, phase: 'fallback' });
  const early = planGroup(
    planInput({ members: four(), settings: on, group: { tags: fallbackTag(record) }, now: minutesAgo(0.5) }),
  );
  t.false(kinds(early).includes('fallback-return'), 'attempt 2 waits 30m');
  const due = planGroup(planInput({ members: four(), settings: on, group: { tags: fallbackTag(record) } }));
  const back = due.actions.find((a) => a.kind === 'fallback-return') as ActionOf<'fallback-return'>;
  const next = parseFallbackRecord(back.record);
  t.true(!('error' in next) && !('legacy' in next) && next.phase === 'returning' && next.attempt === 2);
});

test('returning: Spot fails again -> launch the shortfall On-Demand again with attempt + 1', (t) => {
  const record = formatFallbackRecord({
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
  const fb = plan.actions.find((a) => a.kind === 'fallback-launch') as ActionOf<'fallback-launch'>;
  t.regex(fb.reason, /failed again.*next return in 30m/);
  t.is(fb.placements.length, 1);
  const next = parseFallbackRecord(fb.record);
  t.true(!('error' in next) && !('legacy' in next) && next.attempt === 2 && next.phase === 'fallback');
});

test('returning: only the fallback On-Demand members are replaced, returnBatchSize at a time', (t) => {
  const record = formatFallbackRecord({
    since: minutesAgo(40),
    attempt: 1,
    phase: 'returning',
    returnedAt: minutesAgo(2),
  });
  const base = instance({ market: 'on-demand', ageMinutes: 300 }); // the group's own On-Demand base
  const fb = [
    instance({
      market: 'on-demand',
      ageMinutes: 30,
      tags: { [GROUP_TAG]: GROUP, [FALLBACK_FOR_TAG]: GROUP },
    }),
    instance({
      market: 'on-demand',
      ageMinutes: 20,
      tags: { [GROUP_TAG]: GROUP, [FALLBACK_FOR_TAG]: GROUP },
    }),
  ];
  const plan = planGroup(
    planInput({ members: [base, ...fb, instance()], settings: on, group: { tags: fallbackTag(record) } }),
  );
  const adds = plan.actions.filter(
    (a) => a.kind === 'replacement-add-capacity',
  ) as ActionOf<'replacement-add-capacity'>[];
  t.deepEqual(
    adds.map((a) => [a.target, a.why]),
    [[fb[0]!.instanceId, 'return-to-spot']],
  );
  t.false(kinds(plan).includes('fallback-clear'));
});

test('returning: a return-to-spot replacement in flight uses the batch; none begins', (t) => {
  const record = formatFallbackRecord({
    since: minutesAgo(40),
    attempt: 1,
    phase: 'returning',
    returnedAt: minutesAgo(2),
  });
  const inflight = instance({
    market: 'on-demand',
    tags: {
      [GROUP_TAG]: GROUP,
      [FALLBACK_FOR_TAG]: GROUP,
      [REPLACEMENT_TAG]: formatReplacementRecord({
        step: 'waiting',
        since: minutesAgo(1),
        why: 'return-to-spot',
      }),
    },
  });
  const other = instance({ market: 'on-demand', tags: { [GROUP_TAG]: GROUP, [FALLBACK_FOR_TAG]: GROUP } });
  const plan = planGroup(
    planInput({
      members: [inflight, other, instance()],
      settings: on,
      group: { desired: 4, tags: fallbackTag(record) },
    }),
  );
  t.false(kinds(plan).includes('replacement-add-capacity'));
});

test('returning: done when no fallback On-Demand member is left and the group is at desired', (t) => {
  const record = formatFallbackRecord({
    since: minutesAgo(40),
    attempt: 1,
    phase: 'returning',
    returnedAt: minutesAgo(10),
  });
  const plan = planGroup(
    planInput({
      members: [instance({ market: 'on-demand' }), instance(), instance()],
      settings: on,
      group: { desired: 3, tags: fallbackTag(record) },
    }),
  );
  t.true(kinds(plan).includes('fallback-clear'));
});

test('an unreadable fallback tag is a problem, never a guess; a legacy record asks for the distribution back', (t) => {
  const bad = planGroup(planInput({ members: four(), settings: on, group: { tags: fallbackTag('{oops') } }));
  t.deepEqual(
    kinds(bad).filter((k) => k.startsWith('fallback')),
    [],
  );
  t.true(bad.problems.some((p) => p.includes('unreadable spotmax:fallback-original')));
  const legacy = planGroup(
    planInput({
      members: four(),
      settings: on,
      group: {
        tags: fallbackTag(
          '{"o":{"onDemandPercentageAboveBaseCapacity":20},"s":"2026-01-01T00:00:00.000Z","a":1,"p":"f"}',
        ),
      },
    }),
  );
  t.true(legacy.problems.some((p) => p.includes('OnDemandPercentageAboveBaseCapacity=20')));
});
