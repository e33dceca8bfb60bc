import test from 'ava';
import { defaultSettings } from '../../src/config/schema.js';
import { createStandbyHook } from '../../src/controllers/reconcile/standby-hook.js';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import {
  INTERRUPTED_AT_TAG,
  STANDBY_FOR_TAG,
  STANDBY_SWAP_TAG,
  SWAPPED_IN_TAG,
  VOLUME_TAG,
} from '../../src/domain/tags.js';
import { silentLogger } from '../../src/ports/logger.js';
import { toInstance } from '../../src/sim/ec2-port.js';
import { captureLogger, makeController, msg } from './helpers/setup.js';
import { eventually, simWorld } from './helpers/sim-world.js';

// The fast path under Auto Scaling's bounds, end to end on the simulated region: a Spot warning in a
// fixed-size group (min = max = desired) is bridged by a standby (AttachInstances needs MaxSize headroom,
// DetachInstances with decrement may not go below MinSize); with Launch suspended a detach without
// decrement would get no replacement; an attached standby gets no launch hook, so the swap moves the
// persistent volume itself.

const warning = (instanceId: string, time: Date) =>
  msg(buildSampleEvent({ type: 'spot-interruption', instanceId, region: 'us-east-1', time }));

async function fixedWorld(opts: { min: number; max: number; size: number; suspended?: string[] }) {
  const w = await simWorld([{ name: 'web', size: opts.size }]);
  const g = w.region.asg.mustGet('web');
  w.region.asg.update('web', { min: opts.min, max: opts.max });
  for (const p of opts.suspended ?? []) g.suspendedProcesses.add(p);
  g.snapshot = undefined;
  return w;
}

/** A stopped On-Demand standby of `web` in us-east-1a. */
async function stoppedStandby(w: Awaited<ReturnType<typeof simWorld>>) {
  const s = await w.standalone('on-demand');
  w.region.ec2.setTags(s.instanceId, { [STANDBY_FOR_TAG]: 'web' });
  w.region.ec2.stop(s, false);
  await eventually(w.clock, `${s.instanceId} stopped`, () => s.state === 'stopped');
  return s;
}

/** A group setting with a pool, as the run that took the standby had. */
const settingsWithPool = () => {
  const s = defaultSettings();
  s.standby.size = 1;
  return s;
};

function controllerWith(w: Awaited<ReturnType<typeof simWorld>>, standbyIds: string[], volume = false) {
  const standby = createStandbyHook({
    cloud: w.cloud,
    clock: w.clock,
    logger: silentLogger,
    standbysFor: () => standbyIds.map((id) => toInstance(w.instance(id))),
    pollMs: 2_000,
  });
  return makeController({
    cloud: w.cloud,
    clock: w.clock,
    logger: captureLogger(),
    overrides: {
      web: (s) => {
        s.standby.size = standbyIds.length;
        if (volume) s.persistentVolume.device = '/dev/sdf';
      },
    },
    deps: { standby },
  }).controller;
}

test('fixed-size group: the warning is bridged by a standby; MaxSize is raised for the attach and restored', async (t) => {
  const w = await fixedWorld({ min: 2, max: 2, size: 2 });
  const standby = await stoppedStandby(w);
  const controller = controllerWith(w, [standby.instanceId]);
  const victim = w.members('web')[0]!;
  t.is(await w.clock.drive(controller.handleMessage(warning(victim, w.clock.now()), 'q1')), 'delete');
  t.deepEqual(
    w.okCalls('attachInstances').map((c) => c.args[1]),
    [[standby.instanceId]],
  );
  t.deepEqual(
    w.detaches().map((d) => [d.ids, d.decrement]),
    [[[victim], true]],
  );
  const g = w.region.asg.mustGet('web');
  t.like(g, { desired: 2, min: 2, max: 2 });
  t.false(g.tags.has(STANDBY_SWAP_TAG));
  await w.clock.advanceBy(10_000);
  t.is(g.members.get(standby.instanceId)?.lifecycleState, 'InService');
  t.false(w.members('web').includes(victim));
});

test('Launch suspended, no standby: the interrupted member is detached with decrement', async (t) => {
  const w = await fixedWorld({ min: 0, max: 10, size: 3, suspended: ['Launch'] });
  const controller = controllerWith(w, []);
  const victim = w.members('web')[0]!;
  await w.clock.drive(controller.handleMessage(warning(victim, w.clock.now()), 'q1'));
  t.deepEqual(
    w.detaches().map((d) => [d.ids, d.decrement]),
    [[[victim], true]],
  );
  t.is(w.region.asg.mustGet('web').desired, 2, 'desired says what the group really has');
});

test('Launch suspended at MinSize: detached without decrement (the only way the API allows)', async (t) => {
  const w = await fixedWorld({ min: 3, max: 10, size: 3, suspended: ['Launch'] });
  const controller = controllerWith(w, []);
  const victim = w.members('web')[0]!;
  await w.clock.drive(controller.handleMessage(warning(victim, w.clock.now()), 'q1'));
  t.deepEqual(
    w.detaches().map((d) => d.decrement),
    [false],
  );
});

test('the swapped-in standby gets the persistent volume once the interrupted instance is gone', async (t) => {
  const w = await fixedWorld({ min: 1, max: 1, size: 1 });
  const victim = w.members('web')[0]!;
  const vol = w.region.volumes.create({
    availabilityZone: 'us-east-1a',
    sizeGiB: 10,
    tags: { 'spotmax:group': 'web' },
  });
  await w.clock.advanceBy(30_000); // created
  w.region.volumes.attach(vol.volumeId, victim, '/dev/xvdz');
  const standby = await stoppedStandby(w);
  const controller = controllerWith(w, [standby.instanceId], true);
  const time = w.clock.now();
  await w.clock.drive(controller.handleMessage(warning(victim, time), 'q1'));
  t.true(w.members('web').includes(standby.instanceId));
  // No launch hook runs for an attached instance; the Spot reclaim ends the interrupted one at the deadline.
  w.region.ec2.terminate(w.instance(victim));
  await eventually(w.clock, `${vol.volumeId} attached to the standby`, () =>
    w.region.volumes
      .describe([vol.volumeId])[0]!
      .attachments.some((a) => a.instanceId === standby.instanceId),
  );
  t.is(w.instance(standby.instanceId).tags[VOLUME_TAG], vol.volumeId);
});

test('a run that died between the standby attach and the detach: the run that finds the marker detaches with decrement and settles the swap', async (t) => {
  const w = await fixedWorld({ min: 1, max: 6, size: 3 });
  const standby = await stoppedStandby(w);
  const victim = w.members('web')[0]!;
  const warnedAt = w.clock.now();
  // The first run: marker, standby started and attached (its record written), then it died.
  await w.clock.drive(w.cloud.ec2.createTags([victim], { [INTERRUPTED_AT_TAG]: warnedAt.toISOString() }));
  const hook = createStandbyHook({
    cloud: w.cloud,
    clock: w.clock,
    logger: silentLogger,
    standbysFor: () => [toInstance(w.instance(standby.instanceId))],
    pollMs: 2_000,
  });
  const taken = await w.clock.drive(
    hook.takeStandby({
      groupName: 'web',
      settings: settingsWithPool(),
      interrupted: toInstance(w.instance(victim)),
      deadline: new Date(warnedAt.getTime() + 120_000),
      signal: new AbortController().signal,
    }),
  );
  t.is(taken?.instanceId, standby.instanceId);
  const g = w.region.asg.mustGet('web');
  t.is(g.desired, 4, 'the attach added the standby');
  // The message comes back to a run with no standby of its own.
  const controller = controllerWith(w, []);
  t.is(await w.clock.drive(controller.handleMessage(warning(victim, warnedAt), 'q1')), 'delete');
  t.deepEqual(
    w.detaches().map((d) => [d.ids, d.decrement]),
    [[[victim], true]],
  );
  t.is(g.desired, 3, 'back to what the group had before the warning');
  t.is(w.instance(standby.instanceId).tags[SWAPPED_IN_TAG], undefined, 'swap settled');
});
