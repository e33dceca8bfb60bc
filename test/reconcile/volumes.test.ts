import test from 'ava';
import { attachVolumeForLaunch } from '../../src/controllers/reconcile/launch-volume.js';
import { GROUP_TAG, INTERRUPTED_AT_TAG, SNAPSHOT_OF_TAG, VOLUME_TAG } from '../../src/domain/tags.js';
import type { Volume } from '../../src/domain/types.js';
import { silentLogger } from '../../src/ports/logger.js';
import { settings } from '../plan/factories.js';
import { world } from './world.js';

const pv = settings({
  persistentVolume: {
    device: '/dev/sdf',
    attachAs: '/dev/xvdz',
    snapshotIntervalMinutes: 20,
    snapshotRetain: 2,
  },
});

function addVolume(w: ReturnType<typeof world>, az: string): Volume {
  const v: Volume = {
    volumeId: `vol-${az.slice(-1)}0000001`,
    availabilityZone: az,
    state: 'available',
    sizeGiB: 20,
    volumeType: 'gp3',
    attachments: [],
    tags: { [GROUP_TAG]: 'web' },
  };
  w.cloud.volumes.set(v.volumeId, v);
  return v;
}

test('the volume is attached to a member in its AZ, moves after an interruption once the old holder stopped', async (t) => {
  const w = world(pv);
  const g = w.cloud.addGroup({ name: 'web', desired: 2, subnets: [{ id: 'subnet-a', az: 'us-east-1a' }] });
  const v = addVolume(w, 'us-east-1a');
  await w.pass();
  const holder = v.attachments[0]?.instanceId;
  t.truthy(holder);
  t.is(v.attachments[0]?.device, '/dev/xvdz');
  t.is(w.cloud.instances.get(holder!)!.tags[VOLUME_TAG], v.volumeId);
  const other = g.members.find((m) => m.instanceId !== holder)!.instanceId;

  // Interrupted: marked, detached from the group (ASG launches a replacement), then stopped by EC2.
  const old = w.cloud.instances.get(holder!)!;
  old.tags[INTERRUPTED_AT_TAG] = w.clock.now().toISOString();
  await w.cloud.autoscaling.detachInstances('web', [holder!], false);
  const waiting = await w.pass();
  t.false(
    waiting?.groups[0]?.actions.some((a) => a.kind === 'detach-volume'),
    'still running: the volume waits',
  );
  old.state = 'stopped';
  await w.wait(61);
  const moved = await w.pass();
  t.true(moved?.groups[0]?.actions.some((a) => a.kind === 'detach-volume' && a.target === v.volumeId));
  const again = await w.pass();
  const attach = again?.groups[0]?.actions.find((a) => a.kind === 'attach-volume');
  t.truthy(attach);
  t.not(v.attachments[0]?.instanceId, holder);
  t.true([other, ...g.members.map((m) => m.instanceId)].includes(v.attachments[0]!.instanceId));
  t.is(w.cloud.volumes.size, 1, 'no volume created or deleted');
});

test('snapshots every interval, keeping the last snapshotRetain', async (t) => {
  const w = world(pv);
  w.cloud.addGroup({ name: 'web', desired: 1, subnets: [{ id: 'subnet-a', az: 'us-east-1a' }] });
  const v = addVolume(w, 'us-east-1a');
  for (let n = 0; n < 4; n++) {
    await w.pass();
    await w.wait(20 * 60);
  }
  await w.pass();
  w.cloud.tick();
  const snaps = [...w.cloud.snapshots.values()].filter((s) => s.tags[SNAPSHOT_OF_TAG] === v.volumeId);
  // Five taken 20 minutes apart; each pass keeps the last two completed ones plus the one it just took.
  t.is(w.cloud.calls.filter((c) => c.startsWith('createSnapshot')).length, 5);
  t.is(w.cloud.calls.filter((c) => c.startsWith('deleteSnapshot')).length, 2);
  t.is(snaps.length, 3);
  t.true(snaps.every((s) => s.tags[GROUP_TAG] === 'web'));
});

test('attachVolumeForLaunch: a free volume in the instance AZ, or one freed from a stopped holder', async (t) => {
  const w = world(pv);
  const g = w.cloud.addGroup({ name: 'web', desired: 2, subnets: [{ id: 'subnet-a', az: 'us-east-1a' }] });
  const [a, b] = g.members.map((m) => m.instanceId) as [string, string];
  const v = addVolume(w, 'us-east-1a');
  addVolume(w, 'us-east-1b');
  const ctx = { cloud: w.cloud, clock: w.clock, logger: silentLogger, attachAs: '/dev/xvdz' };
  t.deepEqual(await attachVolumeForLaunch(ctx, 'web', a), { volumeId: v.volumeId });
  t.is(w.cloud.instances.get(a)!.tags[VOLUME_TAG], v.volumeId);
  t.deepEqual(await attachVolumeForLaunch(ctx, 'web', a), { volumeId: v.volumeId }, 'idempotent');
  t.is(
    await attachVolumeForLaunch(ctx, 'web', b),
    undefined,
    'the only volume in us-east-1a is held by a running member',
  );
  w.cloud.instances.get(a)!.state = 'stopped';
  t.deepEqual(await attachVolumeForLaunch(ctx, 'web', b), { volumeId: v.volumeId });
  t.is(v.attachments[0]?.instanceId, b);
});
