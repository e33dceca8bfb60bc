import test from 'ava';
import {
  createStandbyHook,
  STANDBY_ATTACH_SECONDS,
  STANDBY_START_TIMEOUTS,
} from '../../src/controllers/reconcile/standby-hook.js';
import {
  GROUP_TAG,
  STANDBY_CLAIMED_TAG,
  STANDBY_FOR_TAG,
  STANDBY_TEMPLATE_VERSION_TAG,
} from '../../src/domain/tags.js';
import type { Instance } from '../../src/domain/types.js';
import { silentLogger } from '../../src/ports/logger.js';
import { settings } from '../plan/factories.js';
import { world } from './world.js';

const pool = settings({ standby: { size: 2, startTimeoutSeconds: 30 } });

async function filledPool(s = pool) {
  const w = world(s);
  w.cloud.addTemplate({ id: 'lt-0001', version: 3, hibernationReady: true });
  w.cloud.addGroup({ name: 'web', desired: 2, max: 4 });
  await w.pass(); // launch
  await w.wait(30);
  await w.pass(); // stop
  await w.wait(30);
  return w;
}

const standbys = (w: Awaited<ReturnType<typeof filledPool>>) =>
  [...w.cloud.instances.values()].filter(
    (i) => i.tags[STANDBY_FOR_TAG] === 'web' && i.state !== 'terminated',
  );

test('the pool is launched On-Demand from the template, spread over subnets, then stopped', async (t) => {
  const w = await filledPool();
  const s = standbys(w);
  t.is(s.length, 2);
  t.true(s.every((i) => i.state === 'stopped' && i.market === 'on-demand'));
  t.deepEqual(s.map((i) => i.subnetId).sort(), ['subnet-a', 'subnet-b']);
  t.deepEqual(s.map((i) => i.instanceType).sort(), ['m5.large', 'm5a.large']);
  t.true(s.every((i) => i.tags[STANDBY_TEMPLATE_VERSION_TAG] === '3' && i.launchTemplate?.version === '3'));
  t.true(
    s.every((i) => i.tags[GROUP_TAG] === undefined),
    'standbys are not members',
  );
  const again = await w.pass();
  t.deepEqual(again?.groups[0]?.actions, [], 'a full pool is left alone');
});

test('hibernated standbys when the template is hibernation-ready', async (t) => {
  const w = await filledPool(settings({ standby: { size: 1, state: 'hibernated' } }));
  t.true(w.cloud.calls.some((c) => c.startsWith('stopInstances') && c.endsWith('true')));
  t.true(standbys(w).every((i) => i.hibernationConfigured && i.state === 'stopped'));
});

test('a new template version replaces the pool: stale terminated, fresh launched', async (t) => {
  const w = await filledPool();
  const old = standbys(w).map((i) => i.instanceId);
  w.cloud.templates.get('lt-0001')!.version = 4;
  const r = await w.pass();
  t.deepEqual(
    r?.groups[0]?.actions
      .filter((a) => a.kind === 'terminate-standby')
      .map((a) => a.target)
      .sort(),
    old.sort(),
  );
  t.is(r?.groups[0]?.actions.filter((a) => a.kind === 'launch-standby').length, 2);
  await w.wait(30);
  await w.pass();
  await w.wait(30);
  t.true(standbys(w).every((i) => i.tags[STANDBY_TEMPLATE_VERSION_TAG] === '4' && i.state === 'stopped'));
});

async function take(
  w: Awaited<ReturnType<typeof filledPool>>,
  interrupted: Instance,
  opts: { tick: boolean; s?: typeof pool },
) {
  const hook = createStandbyHook({
    cloud: w.cloud,
    clock: w.clock,
    logger: silentLogger,
    standbysFor: () => standbys(w),
    pollMs: 2_000,
  });
  const deadline = new Date(w.clock.now().getTime() + 110_000); // the warning came 10 s ago
  const taking = hook.takeStandby({
    groupName: 'web',
    settings: opts.s ?? pool,
    interrupted,
    deadline,
    signal: new AbortController().signal,
  });
  let result: { instanceId: string } | undefined | 'pending' = 'pending';
  taking.then((r) => {
    result = r;
  });
  for (let n = 0; n < 40 && result === 'pending'; n++) {
    await w.clock.advance(2_000);
    if (opts.tick && n === 2) w.cloud.tick();
  }
  return taking;
}

test('StandbyHook: same AZ first, started, attached to the group, retagged, time from warning recorded', async (t) => {
  const w = await filledPool();
  const g = w.cloud.group('web');
  const interrupted = w.cloud.instances.get(
    g.members.find((m) => m.availabilityZone === 'us-east-1b')!.instanceId,
  )!;
  const got = await take(w, interrupted, { tick: true });
  t.truthy(got);
  const standby = w.cloud.instances.get(got!.instanceId)!;
  t.is(standby.availabilityZone, 'us-east-1b');
  t.true(g.members.some((m) => m.instanceId === got!.instanceId && m.lifecycleState === 'InService'));
  t.is(g.desired, 3, 'attach raised desired; the fast path detaches the interrupted one with decrement');
  t.is(standby.tags[GROUP_TAG], 'web');
  t.is(standby.tags[STANDBY_FOR_TAG], undefined);
  t.is(standby.tags[STANDBY_CLAIMED_TAG], undefined);
  const metric = w.cloud.metricData.find((d) => d.name === STANDBY_ATTACH_SECONDS);
  // The warning came 10 s before the call; the standby ran after a few polls of 2 s.
  t.true(metric !== undefined && metric.value >= 12 && metric.value <= 20, `attach after ${metric?.value}s`);
  t.deepEqual(metric?.dimensions, { AutoScalingGroupName: 'web' });
  // The pool is refilled by the reconciler.
  const r = await w.pass();
  t.is(r?.groups[0]?.actions.filter((a) => a.kind === 'launch-standby').length, 1);
});

test('StandbyHook: a standby that does not run within startTimeoutSeconds is given back; the plain detach follows', async (t) => {
  const w = await filledPool();
  const g = w.cloud.group('web');
  const interrupted = w.cloud.instances.get(g.members[0]!.instanceId)!;
  const before = w.clock.now().getTime();
  const got = await take(w, interrupted, { tick: false });
  t.is(got, undefined);
  const waited = w.clock.now().getTime() - before;
  t.true(waited >= 30_000 && waited <= 32_000, `gave up after ${waited} ms (startTimeoutSeconds 30)`);
  t.is(g.desired, 2);
  t.true(w.cloud.metricData.some((d) => d.name === STANDBY_START_TIMEOUTS));
  const started = standbys(w).find((i) => i.state === 'pending')!;
  t.is(started.tags[STANDBY_CLAIMED_TAG], undefined, 'claim released');
  // Once it runs, the reconciler puts it back to sleep.
  w.cloud.tick();
  const r = await w.pass();
  t.true(r?.groups[0]?.actions.some((a) => a.kind === 'stop-standby' && a.target === started.instanceId));
});

test('StandbyHook: with a persistent volume only a standby in the same AZ will do', async (t) => {
  const s = settings({
    standby: { size: 1, startTimeoutSeconds: 30 },
    persistentVolume: { device: '/dev/sdf' },
  });
  const w = await filledPool(s);
  const only = standbys(w)[0]!;
  const elsewhere: Instance = {
    ...w.cloud.instances.get(w.cloud.group('web').members[0]!.instanceId)!,
    availabilityZone: only.availabilityZone === 'us-east-1a' ? 'us-east-1b' : 'us-east-1a',
  };
  t.is(await take(w, elsewhere, { tick: true, s }), undefined);
  t.false(w.cloud.calls.some((c) => c.startsWith('startInstances')));
});

test('StandbyHook: no standby when the pool is empty or the observation is stale', async (t) => {
  const w = await filledPool();
  for (const s of standbys(w)) s.state = 'pending';
  const interrupted = w.cloud.instances.get(w.cloud.group('web').members[0]!.instanceId)!;
  t.is(await take(w, interrupted, { tick: false }), undefined);
  t.false(w.cloud.calls.some((c) => c.startsWith('startInstances')));
});

test('a launch template that cannot launch standbys is a problem in plan, cleared by the next launch that works', async (t) => {
  const w = world(pool);
  w.cloud.addTemplate({ id: 'lt-0001', version: 3, hibernationReady: true });
  w.cloud.addGroup({ name: 'web', desired: 2, max: 4 });
  const refusal = Object.assign(new Error('The image id [ami-gone] does not exist'), {
    name: 'InvalidAMIID.NotFound',
  });
  w.cloud.failNext('runInstances', refusal);
  w.cloud.failNext('runInstances', refusal);
  const failed = await w.pass();
  t.true(failed!.groups[0]!.results.some((r) => r.action.kind === 'launch-standby' && r.status === 'failed'));

  // The next pass (a `plan` in another process would see the same) names the failure and why.
  const shown = await w.pass();
  const problem = shown!.groups[0]!.problems.find((p) => p.startsWith('standby launches are failing'));
  t.truthy(problem, JSON.stringify(shown!.groups[0]!.problems));
  t.regex(problem!, /launch template lt-0001 version 3.*ami-gone/);

  // That pass launched successfully and removed the mark.
  const after = await w.pass();
  t.false(after!.groups[0]!.problems.some((p) => p.startsWith('standby launches are failing')));
  t.is(standbys(w).length, 2);
});
