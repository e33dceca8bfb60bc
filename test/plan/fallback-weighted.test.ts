import test from 'ava';
import type { ActionOf } from '../../src/domain/actions.js';
import type { Group } from '../../src/domain/types.js';
import { planGroup } from '../../src/plan/group.js';
import { activity, instance, mixedPolicy, planInput, settings } from './factories.js';

// Issue 11 rule 6 for the On-Demand fallback: in a weighted group the shortfall is in units, and the
// fallback launches as many instances of its type as cover them (not "desired - members" instances).

const on = settings({ onDemandFallback: { enabled: true, afterSeconds: 120 } });
const ICE =
  'Could not launch Spot Instances. InsufficientInstanceCapacity - There is no Spot capacity available that matches your request. Launching EC2 instance failed.';
const failing = [activity('Failed', 300, ICE), activity('Failed', 200, ICE), activity('Failed', 30, ICE)];

/** Members of 4 units each (m5.xlarge), weights m5.large 2 / m5.xlarge 4, desired in units. */
function weighted(desired: number, members: number) {
  const input = planInput({
    members: Array.from({ length: members }, () => instance({ instanceType: 'm5.xlarge' })),
    settings: on,
    activities: failing,
  });
  const policy = mixedPolicy();
  policy.overrides = [
    { instanceType: 'm5.large', weightedCapacity: '2' },
    { instanceType: 'm5.xlarge', weightedCapacity: '4' },
  ];
  const group: Group = {
    ...input.resolved.group,
    desired,
    max: desired + 8,
    mixedInstancesPolicy: policy,
    members: input.resolved.group.members.map((m) => ({ ...m, weightedCapacity: 4 })),
  };
  return {
    ...input,
    resolved: { ...input.resolved, group },
    observation: { ...input.observation, groups: [group] },
  };
}

const launch = (desired: number, members: number) =>
  planGroup(weighted(desired, members)).actions.find((a) => a.kind === 'fallback-launch') as
    | ActionOf<'fallback-launch'>
    | undefined;

test('a shortfall of 6 units is 3 On-Demand m5.large (2 units each), not desired - members instances', (t) => {
  // 3 members x 4 units = 12 of 18 desired units: 6 missing. Counting instances would say 18 - 3 = 15.
  const fb = launch(18, 3);
  t.truthy(fb);
  t.is(fb!.placements.length, 3);
  t.true(fb!.placements.every((p) => p.instanceType === 'm5.large'));
  t.regex(fb!.reason, /12 units\/18 InService/);
  t.regex(fb!.reason, /shortfall of 6 units \(2 each\)/);
});

test('an odd shortfall rounds up to whole instances (5 units: 3 of 2 units)', (t) => {
  t.is(launch(17, 3)!.placements.length, 3);
});

test('no shortfall in units, no fallback, however few instances there are', (t) => {
  // 4 members x 4 units = 16 units for desired 16: nothing missing although 4 < 16 instances.
  t.is(launch(16, 4), undefined);
});
