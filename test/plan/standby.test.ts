import test from 'ava';
import type { ActionOf } from '../../src/domain/actions.js';
import {
  STANDBY_CLAIMED_TAG,
  STANDBY_FOR_TAG,
  STANDBY_TEMPLATE_TAG,
  STANDBY_TEMPLATE_VERSION_TAG,
  STANDBY_UNSTARTABLE_TAG,
} from '../../src/domain/tags.js';
import type { Instance } from '../../src/domain/types.js';
import { planGroup } from '../../src/plan/group.js';
import { GROUP, instance, minutesAgo, planInput, settings, template } from './factories.js';

const standby = (o: Partial<Instance> = {}) =>
  instance({
    state: 'stopped',
    market: 'on-demand',
    ...o,
    tags: { [STANDBY_FOR_TAG]: GROUP, [STANDBY_TEMPLATE_VERSION_TAG]: '4', ...o.tags },
  });
const launches = (actions: { kind: string }[]) =>
  actions.filter((a) => a.kind === 'launch-standby') as ActionOf<'launch-standby'>[];
const kinds = (actions: { kind: string; target: string }[], kind: string) =>
  actions.filter((a) => a.kind === kind).map((a) => a.target);

test('an empty pool is filled, spread over subnets and override instance types, from the numeric template version', (t) => {
  const plan = planGroup(planInput({ members: [instance()], settings: settings({ standby: { size: 3 } }) }));
  const l = launches(plan.actions);
  t.is(l.length, 3);
  t.deepEqual(
    l.map((a) => a.subnetId),
    ['subnet-a', 'subnet-b', 'subnet-a'],
  );
  t.deepEqual(
    l.map((a) => a.instanceType),
    ['m5.large', 'm5a.large', 'm6i.large'],
  );
  t.deepEqual(l[0]?.launchTemplate, { id: 'lt-0123', version: '4' });
  t.is(l[0]?.templateVersion, 4);
  t.is(l[0]?.availabilityZone, 'us-east-1a', 'zone learnt from an instance in that subnet');
  t.false(l[0]!.hibernate);
  t.regex(l[0]!.reason, /standby pool 0\/3: launch one in subnet-a \(us-east-1a\) as m5.large/);
});

test('existing standbys count for the spread; a full pool launches nothing', (t) => {
  const a = standby({ subnetId: 'subnet-a', instanceType: 'm5.large' });
  const one = planGroup(planInput({ standbys: [a], settings: settings({ standby: { size: 2 } }) }));
  t.deepEqual(
    launches(one.actions).map((x) => [x.subnetId, x.instanceType]),
    [['subnet-b', 'm5a.large']],
  );
  const full = planGroup(
    planInput({
      standbys: [a, standby({ subnetId: 'subnet-b' })],
      settings: settings({ standby: { size: 2 } }),
    }),
  );
  t.deepEqual(full.actions, []);
});

test('a running standby (just launched) is stopped; hibernated when asked and the template allows it', (t) => {
  const fresh = standby({ state: 'running', hibernationConfigured: true });
  const hib = planGroup(
    planInput({
      standbys: [fresh],
      settings: settings({ standby: { size: 1, state: 'hibernated' } }),
      launchTemplate: template({ hibernationReady: true }),
    }),
  );
  const stop = hib.actions.find((a) => a.kind === 'stop-standby') as ActionOf<'stop-standby'>;
  t.is(stop.target, fresh.instanceId);
  t.true(stop.hibernate);
  const not = planGroup(
    planInput({ standbys: [fresh], settings: settings({ standby: { size: 1, state: 'hibernated' } }) }),
  );
  t.false((not.actions.find((a) => a.kind === 'stop-standby') as ActionOf<'stop-standby'>).hibernate);
  t.true(not.problems.some((p) => p.includes('not hibernation-ready')));
});

test('stale (older template version) and excess standbys are terminated; the pool is refilled', (t) => {
  const stale = standby({ tags: { [STANDBY_TEMPLATE_VERSION_TAG]: '3' } });
  const keepNew = standby({ launchTime: minutesAgo(1) });
  const extra = standby({ launchTime: minutesAgo(100) });
  const plan = planGroup(
    planInput({ standbys: [stale, keepNew, extra], settings: settings({ standby: { size: 1 } }) }),
  );
  t.deepEqual(kinds(plan.actions, 'terminate-standby').sort(), [stale.instanceId, extra.instanceId].sort());
  t.is(launches(plan.actions).length, 0);
  t.true(plan.actions.some((a) => a.reason.includes('current 4')));
  const refill = planGroup(planInput({ standbys: [stale], settings: settings({ standby: { size: 1 } }) }));
  t.is(launches(refill.actions).length, 1);
});

test('size 0 with standbys left: all terminated', (t) => {
  const plan = planGroup(planInput({ standbys: [standby(), standby()] }));
  t.is(kinds(plan.actions, 'terminate-standby').length, 2);
});

test('a claimed standby is left to the fast path, until the claim expires', (t) => {
  const claimed = standby({
    state: 'running',
    tags: { [STANDBY_CLAIMED_TAG]: `i-old@${minutesAgo(2).toISOString()}` },
  });
  const fresh = planGroup(planInput({ standbys: [claimed], settings: settings({ standby: { size: 1 } }) }));
  t.false(fresh.actions.some((a) => a.target === claimed.instanceId));
  t.is(launches(fresh.actions).length, 1, 'a claimed standby is spoken for: the pool is refilled');
  const expired = standby({
    state: 'running',
    tags: { [STANDBY_CLAIMED_TAG]: `i-old@${minutesAgo(10).toISOString()}` },
  });
  const late = planGroup(planInput({ standbys: [expired], settings: settings({ standby: { size: 1 } }) }));
  t.deepEqual(kinds(late.actions, 'terminate-standby'), [expired.instanceId]);
});

test('a standby that became a member loses its standby tags', (t) => {
  const attached = standby({ state: 'running' });
  // observe() lists it as a member only, never among the standbys.
  const plan = planGroup(planInput({ members: [attached], settings: settings({ standby: { size: 0 } }) }));
  const untag = plan.actions.find((a) => a.kind === 'untag-resource') as ActionOf<'untag-resource'>;
  t.is(untag.target, attached.instanceId);
  t.deepEqual(untag.keys, [
    STANDBY_FOR_TAG,
    STANDBY_CLAIMED_TAG,
    STANDBY_TEMPLATE_VERSION_TAG,
    STANDBY_TEMPLATE_TAG,
    STANDBY_UNSTARTABLE_TAG,
  ]);
  t.false(plan.actions.some((a) => a.kind === 'terminate-standby'));
});

test('no resolvable launch template: a problem, no launch', (t) => {
  const plan = planGroup(planInput({ settings: settings({ standby: { size: 2 } }), launchTemplate: null }));
  t.is(launches(plan.actions).length, 0);
  t.true(plan.problems.some((p) => p.includes('launch template could not be resolved')));
});
