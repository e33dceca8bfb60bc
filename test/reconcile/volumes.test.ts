import test from 'ava';
import { attachVolumeForLaunch } from '../../src/controllers/reconcile/launch-volume.js';
import { GROUP_TAG, INTERRUPTED_AT_TAG, SNAPSHOT_OF_TAG, VOLUME_TAG } from '../../src/domain/tags.js';
import type { Volume } from '../../src/domain/types.js';
import { silentLogger } from '../../src/ports/logger.js';
import { settings } from '../plan/factories.js';
import { type GroupInput, type World, webGroup, world } from './world.js';

const pv = settings({
  persistentVolume: {
    device: '/dev/sdf',
    attachAs: '/dev/xvdz',
    snapshotIntervalMinutes: 20,
    snapshotRetain: 2,
  },
});

/** `web` in us-east-1a only, with its persistent volume there (the scenario creates it in the warm-up). */
function inOneAz(extra: Partial<GroupInput> = {}) {
  return { groups: [webGroup({ azs: ['us-east-1a'], persistentVolume: { sizeGiB: 20 }, ...extra })] };
}

/** The group's volume as EC2 has it now. */
function volumesOf(w: World): Volume[] {
  return [...w.region.volumes.volumes.values()]
    .map((v) => v.volume)
    .filter((v) => v.tags[GROUP_TAG] === 'web');
}

// An On-Demand group: EC2 refuses to stop a Spot instance of an Auto Scaling group (a one-time Spot
// request), so a holder that is stopped, not terminated, is an On-Demand one.
test('the volume is attached to a member in its AZ, moves after an interruption once the old holder stopped', async (t) => {
  const w = await world(pv, inOneAz({ onDemandPercentage: 100 }));
  const [v] = volumesOf(w) as [Volume];
  await w.pass();
  const holder = v.attachments[0]?.instanceId;
  t.truthy(holder);
  t.is(v.attachments[0]?.device, '/dev/xvdz');
  t.is(w.instance(holder!).tags[VOLUME_TAG], v.volumeId);
  const other = w.members().find((m) => m.instanceId !== holder)!.instanceId;

  // Interrupted: marked, detached from the group (ASG launches a replacement), then stopped.
  await w.cloud.ec2.createTags([holder!], { [INTERRUPTED_AT_TAG]: w.clock.now().toISOString() });
  await w.cloud.autoscaling.detachInstances('web', [holder!], false);
  await w.wait(5);
  const waiting = await w.pass();
  t.false(
    waiting?.groups[0]?.actions.some((a) => a.kind === 'detach-volume'),
    'still running: the volume waits',
  );
  await w.cloud.ec2.stopInstances([holder!], false);
  await w.wait(61);
  t.is(w.instance(holder!).state, 'stopped');
  const moved = await w.pass();
  t.true(moved?.groups[0]?.actions.some((a) => a.kind === 'detach-volume' && a.target === v.volumeId));
  // DetachVolume is asynchronous: the volume is "detaching", then "available".
  await w.wait(6);
  const again = await w.pass();
  const attach = again?.groups[0]?.actions.find((a) => a.kind === 'attach-volume');
  t.truthy(attach);
  t.not(v.attachments[0]?.instanceId, holder);
  t.true([other, ...w.members().map((m) => m.instanceId)].includes(v.attachments[0]!.instanceId));
  t.is(volumesOf(w).length, 1, 'no volume created or deleted');
  t.deepEqual(w.rec.callsOf('createVolume'), []);
});

test('a Spot holder reclaimed by EC2: the volume waits through the shutdown, then goes to a member', async (t) => {
  const w = await world(pv, inOneAz());
  const [v] = volumesOf(w) as [Volume];
  await w.pass();
  const holder = v.attachments[0]!.instanceId;
  // The fast path's part: mark and detach without decrement; EC2 terminates at the 2-minute deadline.
  await w.cloud.ec2.createTags([holder], { [INTERRUPTED_AT_TAG]: w.clock.now().toISOString() });
  w.region.market.reclaim(w.instance(holder));
  await w.cloud.autoscaling.detachInstances('web', [holder], false);
  await w.wait(121);
  t.is(w.instance(holder).state, 'shutting-down');
  const waiting = await w.pass();
  t.false(waiting?.groups[0]?.actions.some((a) => a.kind === 'detach-volume' || a.kind === 'attach-volume'));
  t.is(v.attachments[0]?.instanceId, holder, 'still attached while the holder shuts down');
  // Terminated: EC2 detached the volume itself; it goes to the member that has none.
  await w.wait(30);
  const moved = await w.pass();
  t.true(moved?.groups[0]?.actions.some((a) => a.kind === 'attach-volume' && a.target === v.volumeId));
  const now = v.attachments[0]?.instanceId;
  t.true(now !== undefined && now !== holder && w.group().members.has(now));
  t.is(volumesOf(w).length, 1, 'no volume created or deleted');
});

test('snapshots every interval, keeping the last snapshotRetain', async (t) => {
  const w = await world(pv, inOneAz({ desired: 1 }));
  const [v] = volumesOf(w) as [Volume];
  for (let n = 0; n < 4; n++) {
    await w.pass();
    await w.wait(20 * 60);
  }
  await w.pass();
  const snaps = [...w.region.volumes.snapshots.values()].filter(
    (s) => s.tags[SNAPSHOT_OF_TAG] === v.volumeId,
  );
  // Five taken 20 minutes apart; each pass keeps the last two completed ones plus the one it just took.
  t.is(w.rec.callsOf('createSnapshot').length, 5);
  t.is(w.rec.callsOf('deleteSnapshot').length, 2);
  t.is(snaps.length, 3);
  t.true(snaps.every((s) => s.tags[GROUP_TAG] === 'web'));
});

test('attachVolumeForLaunch: a free volume in the instance AZ, or one freed from a stopped holder', async (t) => {
  // On-Demand members, so the old holder can be stopped (see the first test).
  const w = await world(pv, inOneAz({ onDemandPercentage: 100 }));
  const [a, b] = w.members().map((m) => m.instanceId) as [string, string];
  const [v] = volumesOf(w) as [Volume];
  w.region.volumes.create({ availabilityZone: 'us-east-1b', sizeGiB: 20, tags: { [GROUP_TAG]: 'web' } });
  await w.wait(5);
  const ctx = { cloud: w.cloud, clock: w.clock, logger: silentLogger, attachAs: '/dev/xvdz' };
  const attach = (id: string) => w.clock.drive(attachVolumeForLaunch(ctx, 'web', id));
  t.deepEqual(await attach(a), { volumeId: v.volumeId });
  t.is(w.instance(a).tags[VOLUME_TAG], v.volumeId);
  t.deepEqual(await attach(a), { volumeId: v.volumeId }, 'idempotent');
  t.is(await attach(b), undefined, 'the only volume in us-east-1a is held by a running member');
  // a is interrupted: detached from the group and stopped.
  await w.cloud.autoscaling.detachInstances('web', [a], false);
  await w.cloud.ec2.stopInstances([a], false);
  await w.wait(31);
  t.is(w.instance(a).state, 'stopped');
  t.deepEqual(await attach(b), { volumeId: v.volumeId });
  t.is(v.attachments[0]?.instanceId, b);
  t.deepEqual(
    w.rec.callsOf('detachVolume').map((c) => c.args),
    [[v.volumeId, a]],
  );
});
