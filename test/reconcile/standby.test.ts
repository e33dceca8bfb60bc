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
import type { MetricDatum } from '../../src/ports/metrics.js';
import { toInstance } from '../../src/sim/ec2-port.js';
import { subnetFor } from '../../src/sim/ec2-state.js';
import type { ScenarioInput } from '../../src/sim/scenario.js';
import { settings } from '../plan/factories.js';
import { type World, webGroup, world } from './world.js';

const pool = settings({ standby: { size: 2, startTimeoutSeconds: 30 } });

/** The group's launch template, with versions up to `latest` (CreateLaunchTemplateVersion, copied from 1). */
function templateAt(w: World, latest: number) {
  const tpl = [...w.region.ec2.templates.values()].find((x) => x.name === 'web-lt')!;
  const first = tpl.versions[0]!;
  for (let v = tpl.versions.length + 1; v <= latest; v++) tpl.versions.push({ ...first, version: v });
  return tpl;
}

/**
 * `web` (2 members, MaxSize 4, hibernation-ready template at version 3) with its pool launched, booted
 * (60 s) and stopped (30 s; hibernating 45 s). `timings` sets how long a standby takes to start.
 */
async function filledPool(s = pool, timings?: ScenarioInput['timings']) {
  const w = await world(s, {
    groups: [webGroup({ desired: 2, max: 4, hibernation: true })],
    ...(timings ? { timings } : {}),
  });
  templateAt(w, 3);
  await w.pass(); // launch
  await w.wait(61);
  await w.pass(); // stop
  await w.wait(46);
  return w;
}

const standbys = (w: World) =>
  w.instances().filter((i) => i.tags[STANDBY_FOR_TAG] === 'web' && i.state !== 'terminated');

const metric = (w: World, name: string): MetricDatum | undefined =>
  w.rec
    .callsOf('record')
    .map((c) => c.args[0] as MetricDatum)
    .find((d) => d.name === name);

test('the pool is launched On-Demand from the template, spread over subnets, then stopped', async (t) => {
  const w = await filledPool();
  const s = standbys(w);
  t.is(s.length, 2);
  t.true(s.every((i) => i.state === 'stopped' && i.market === 'on-demand'));
  t.deepEqual(s.map((i) => i.subnetId).sort(), [subnetFor('us-east-1a'), subnetFor('us-east-1b')].sort());
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
  t.true(w.rec.callsOf('stopInstances').some((c) => c.args[1] === true));
  t.true(standbys(w).every((i) => i.hibernationConfigured && i.state === 'stopped'));
});

test('a new template version replaces the pool: stale terminated, fresh launched', async (t) => {
  const w = await filledPool();
  const old = standbys(w).map((i) => i.instanceId);
  templateAt(w, 4);
  const r = await w.pass();
  t.deepEqual(
    r?.groups[0]?.actions
      .filter((a) => a.kind === 'terminate-standby')
      .map((a) => a.target)
      .sort(),
    old.sort(),
  );
  t.is(r?.groups[0]?.actions.filter((a) => a.kind === 'launch-standby').length, 2);
  await w.wait(61);
  await w.pass();
  await w.wait(46);
  t.is(standbys(w).length, 2);
  t.true(standbys(w).every((i) => i.tags[STANDBY_TEMPLATE_VERSION_TAG] === '4' && i.state === 'stopped'));
});

/** The fast path's call: a warning came 10 s ago for `interrupted`; the hook runs on virtual time. */
function take(w: World, interrupted: Instance, s = pool, pool_ = () => standbys(w).map(toInstance)) {
  const hook = createStandbyHook({
    cloud: w.cloud,
    clock: w.clock,
    logger: silentLogger,
    standbysFor: pool_,
    pollMs: 2_000,
  });
  const deadline = new Date(w.clock.now().getTime() + 110_000);
  return w.clock.drive(
    hook.takeStandby({
      groupName: 'web',
      settings: s,
      interrupted,
      deadline,
      signal: new AbortController().signal,
    }),
  );
}

const memberIn = (w: World, az: string) =>
  toInstance(w.instance(w.members().find((m) => m.az === az)!.instanceId));

test('StandbyHook: same AZ first, started, attached to the group, retagged, time from warning recorded', async (t) => {
  // Standbys start in 6 s here, well within startTimeoutSeconds.
  const w = await filledPool(pool, { start: { median: 6, p99: 6 } });
  const g = w.group();
  const interrupted = memberIn(w, 'us-east-1b');
  const got = await take(w, interrupted);
  t.truthy(got);
  const standby = w.instance(got!.instanceId);
  t.is(standby.availabilityZone, 'us-east-1b');
  t.is(g.desired, 3, 'attach raised desired; the fast path detaches the interrupted one with decrement');
  // AttachInstances: the instance is Pending in the group for a moment, then InService.
  await w.wait(5);
  t.is(g.members.get(got!.instanceId)?.lifecycleState, 'InService');
  t.is(standby.tags[GROUP_TAG], 'web');
  t.is(standby.tags[STANDBY_FOR_TAG], undefined);
  t.is(standby.tags[STANDBY_CLAIMED_TAG], undefined);
  const m = metric(w, STANDBY_ATTACH_SECONDS);
  // The warning came 10 s before the call; the standby ran after 6 s, seen by the third poll of 2 s.
  t.true(m !== undefined && m.value >= 12 && m.value <= 20, `attach after ${m?.value}s`);
  t.deepEqual(m?.dimensions, { AutoScalingGroupName: 'web' });
  // The pool is refilled by the reconciler.
  const r = await w.pass();
  t.is(r?.groups[0]?.actions.filter((a) => a.kind === 'launch-standby').length, 1);
});

test('StandbyHook: a standby that does not run within startTimeoutSeconds is given back; the plain detach follows', async (t) => {
  // Standbys take 40 s to start here: more than startTimeoutSeconds 30.
  const w = await filledPool();
  const g = w.group();
  const interrupted = toInstance(w.instance(w.members()[0]!.instanceId));
  const before = w.clock.nowMs();
  const got = await take(w, interrupted);
  t.is(got, undefined);
  const waited = w.clock.nowMs() - before;
  t.true(waited >= 30_000 && waited <= 32_000, `gave up after ${waited} ms (startTimeoutSeconds 30)`);
  t.is(g.desired, 2);
  t.truthy(metric(w, STANDBY_START_TIMEOUTS));
  const started = standbys(w).find((i) => i.state === 'pending')!;
  t.truthy(started);
  t.is(started.tags[STANDBY_CLAIMED_TAG], undefined, 'claim released');
  // Once it runs, the reconciler puts it back to sleep.
  await w.wait(11);
  t.is(started.state, 'running');
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
  const elsewhere = memberIn(w, only.availabilityZone === 'us-east-1a' ? 'us-east-1b' : 'us-east-1a');
  t.is(await take(w, elsewhere, s), undefined);
  t.deepEqual(w.rec.callsOf('startInstances'), []);
});

test('StandbyHook: no standby when the pool is empty or the observation is stale', async (t) => {
  const w = await filledPool();
  const interrupted = toInstance(w.instance(w.members()[0]!.instanceId));
  // Empty: the observation lists no standby.
  t.is(await take(w, interrupted, pool, () => []), undefined);
  // Stale: the observation still lists the standbys, but someone started them since.
  for (const s of standbys(w)) w.region.ec2.start(s);
  t.is(await take(w, interrupted), undefined);
  t.deepEqual(w.rec.callsOf('startInstances'), []);
  t.deepEqual(w.rec.callsOf('attachInstances'), []);
});

test('a launch template that cannot launch standbys is a problem in plan, cleared by the next launch that works', async (t) => {
  const w = await world(pool, { groups: [webGroup({ desired: 2, max: 4, hibernation: true })] });
  const tpl = templateAt(w, 3);
  // What EC2 answers when the template's AMI was deregistered.
  w.rec.failNext('runInstances', 'InvalidAMIID.NotFound', 2, 'The image id [ami-gone] does not exist');
  const failed = await w.pass();
  t.true(failed!.groups[0]!.results.some((r) => r.action.kind === 'launch-standby' && r.status === 'failed'));

  // The next pass (a `plan` in another process would see the same) names the failure and why.
  const shown = await w.pass();
  const problem = shown!.groups[0]!.problems.find((p) => p.startsWith('standby launches are failing'));
  t.truthy(problem, JSON.stringify(shown!.groups[0]!.problems));
  t.regex(problem!, new RegExp(`launch template ${tpl.id} version 3.*ami-gone`));

  // That pass launched successfully and removed the mark.
  const after = await w.pass();
  t.false(after!.groups[0]!.problems.some((p) => p.startsWith('standby launches are failing')));
  t.is(standbys(w).length, 2);
});
