import test from 'ava';
import {
  attachVolumeForLaunch,
  volumeLaunchPreparer,
} from '../../src/controllers/reconcile/launch-volume.js';
import { reconcileOnce } from '../../src/controllers/reconcile/pass.js';
import {
  GROUP_TAG,
  INTERRUPTED_AT_TAG,
  RECREATED_FROM_TAG,
  SNAPSHOT_OF_TAG,
  VOLUME_TAG,
  VOLUME_UNPLACED_SINCE_TAG,
} from '../../src/domain/tags.js';
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

// The seed's way (max_group's persistence_dev): the launch template maps a second EBS volume at
// /dev/sdf, so every member launches with its own, which EC2 deletes with it by default.
const seedPv = (extra: Partial<GroupInput> = {}) => ({
  groups: [
    webGroup({
      azs: ['us-east-1a'],
      persistentVolume: { sizeGiB: 20, device: '/dev/sdf', inTemplate: true },
      ...extra,
    }),
  ],
});

/** The volume EC2 created for `instanceId` from its template at /dev/sdf. */
function templateVolume(w: World, instanceId: string): Volume | undefined {
  const bd = w.instance(instanceId).blockDevices?.find((b) => b.device === '/dev/sdf');
  return bd ? w.region.volumes.volumes.get(bd.volumeId)?.volume : undefined;
}

test('sim: a template data volume is deleted with its instance unless DeleteOnTermination is false', async (t) => {
  const w = await world(settings(), seedPv());
  const [a, b] = w.members().map((m) => m.instanceId) as [string, string];
  const va = templateVolume(w, a)!;
  const vb = templateVolume(w, b)!;
  t.like(va.attachments[0], { instanceId: a, device: '/dev/sdf', deleteOnTermination: true });
  t.deepEqual(va.tags, {}, 'the ASG tags instances, not their volumes');
  await w.cloud.ec2.setDeleteOnTermination(b, '/dev/sdf', false);
  t.false(w.instance(b).blockDevices?.[0]?.deleteOnTermination);
  await t.throwsAsync(w.cloud.ec2.setDeleteOnTermination(b, '/dev/sdg', false), {
    message: /No device is currently mapped at \/dev\/sdg/,
  });
  await w.cloud.autoscaling.detachInstances('web', [a, b], false);
  await w.cloud.ec2.terminateInstances([a, b]);
  await w.wait(30);
  t.false(w.region.volumes.volumes.has(va.volumeId), 'DeleteOnTermination true: gone with its instance');
  t.is(w.region.volumes.volumes.get(vb.volumeId)?.volume.state, 'available', 'false: it survives');
});

test('the seed data disk: adopted on first sight, survives a Spot reclaim and moves to the replacement', async (t) => {
  const w = await world(pv, seedPv());
  const before = w.members().map((m) => m.instanceId);
  const first = await w.pass();
  const adopted = first!.groups[0]!.actions.filter((a) => a.kind === 'adopt-volume');
  t.is(adopted.length, 2, JSON.stringify(first!.groups[0]!.problems));
  t.deepEqual(first!.groups[0]!.problems, []);
  for (const id of before) {
    const v = templateVolume(w, id)!;
    t.false(v.attachments[0]?.deleteOnTermination, `${v.volumeId} kept past ${id}`);
    t.false(w.instance(id).blockDevices?.find((b) => b.volumeId === v.volumeId)?.deleteOnTermination);
    t.is(v.tags[GROUP_TAG], 'web');
    t.is(v.tags[VOLUME_TAG], v.volumeId);
    t.is(w.instance(id).tags[VOLUME_TAG], v.volumeId, 'the in-instance helper reads it');
  }
  // IAM scopes ModifyInstanceAttribute by spotmax:group: the tags come before the change.
  const order = w.rec.calls
    .filter((c) => c.method === 'createTags' || c.method === 'setDeleteOnTermination')
    .map((c) => c.method);
  t.deepEqual(order.slice(0, 3), ['createTags', 'createTags', 'setDeleteOnTermination']);
  const again = await w.pass();
  t.false(
    again!.groups[0]!.actions.some((a) => a.kind === 'adopt-volume'),
    'adopted once',
  );

  // The reclaim: the fast path marks and detaches (the ASG launches a replacement); EC2 terminates at 2 min.
  const holder = before[0]!;
  const data = templateVolume(w, holder)!;
  await w.cloud.ec2.createTags([holder], { [INTERRUPTED_AT_TAG]: w.clock.now().toISOString() });
  w.region.market.reclaim(w.instance(holder));
  await w.cloud.autoscaling.detachInstances('web', [holder], false);
  await w.wait(100);
  const replacement = w.members().find((m) => !before.includes(m.instanceId))!.instanceId;
  t.is(w.instance(replacement).state, 'running');
  const waiting = await w.pass();
  t.false(
    waiting!.groups[0]!.actions.some((a) => a.kind === 'adopt-volume'),
    'the replacement waits for the volume on its way instead of adopting its own',
  );
  await w.wait(60);
  t.is(w.instance(holder).state, 'terminated');
  t.is(data.state, 'available', 'the data volume outlived the reclaimed instance');
  const moved = await w.pass();
  t.true(
    moved!.groups[0]!.actions.some(
      (a) => a.kind === 'attach-volume' && a.target === data.volumeId && a.instanceId === replacement,
    ),
  );
  await w.wait(5);
  await w.pass();
  t.is(data.attachments[0]?.instanceId, replacement);
  t.is(w.instance(replacement).tags[VOLUME_TAG], data.volumeId);
  // Its own template volume is surplus: neither adopted nor deleted, EC2 deletes it with its instance.
  const own = templateVolume(w, replacement)!;
  t.true(own.attachments[0]?.deleteOnTermination);
  t.is(own.tags[GROUP_TAG], undefined);
  t.deepEqual(w.rec.callsOf('createVolume'), []);
  const ours = [...w.region.volumes.volumes.values()].filter((v) => v.volume.tags[GROUP_TAG] === 'web');
  t.is(ours.length, 2, 'two members, two persistent volumes');
});

test('plan: a device set where no member has a volume is a problem', async (t) => {
  const w = await world(pv, { groups: [webGroup({ azs: ['us-east-1a'] })] });
  const plan = await w.clock.drive(reconcileOnce(w.deps, { execute: false }));
  t.true(
    plan.groups[0]!.problems.some((p) =>
      /persistentVolume.device is \/dev\/sdf, but none of the 2 running member\(s\) has an EBS volume there/.test(
        p,
      ),
    ),
    JSON.stringify(plan.groups[0]!.problems),
  );
  t.false(plan.groups[0]!.actions.some((a) => a.kind === 'adopt-volume'));
});

test('volumes beyond the desired count are kept, tagged and reported, never deleted', async (t) => {
  const w = await world(pv, seedPv({ desired: 3 }));
  await w.pass();
  await w.cloud.autoscaling.updateGroup('web', { desired: 1 });
  await w.wait(60);
  t.is(w.members().length, 1);
  const plan = await w.pass();
  const ours = [...w.region.volumes.volumes.values()].filter((v) => v.volume.tags[GROUP_TAG] === 'web');
  t.is(ours.length, 3, 'the two scaled-in members left their volumes behind');
  t.true(
    plan!.groups[0]!.problems.some((p) =>
      /has 3 persistent volumes for 1 desired; spotmax keeps them all/.test(p),
    ),
    JSON.stringify(plan!.groups[0]!.problems),
  );
  t.deepEqual(w.rec.callsOf('deleteVolume'), []);
  // Surplus, not stranded: no unplaced mark, no copy elsewhere, one problem however long it waits.
  await w.wait(31 * 60);
  const later = await w.pass();
  t.deepEqual(
    later!.groups[0]!.problems.filter((p) => p.includes('vol-')).length,
    1,
    JSON.stringify(later!.groups[0]!.problems),
  );
  t.false(later!.groups[0]!.actions.some((a) => a.kind === 'recreate-volume'));
  t.true(ours.every((v) => v.volume.tags[VOLUME_UNPLACED_SINCE_TAG] === undefined));
});

test('recreate from snapshot keeps VolumeType, Iops, Throughput, KmsKeyId and tags', async (t) => {
  const cfg = settings({
    persistentVolume: { device: '/dev/sdf', attachAs: '/dev/xvdz', crossAzAfterMinutes: 30 },
  });
  const w = await world(cfg, { groups: [webGroup({ azs: ['us-east-1a'], desired: 3 })] });
  const key = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const since = new Date(w.clock.now().getTime() - 31 * 60_000).toISOString();
  const stranded = [
    w.region.volumes.create({
      availabilityZone: 'us-east-1c',
      sizeGiB: 50,
      volumeType: 'gp3',
      iops: 6000,
      throughput: 500,
      encrypted: true,
      kmsKeyId: key,
      tags: { [GROUP_TAG]: 'web', team: 'data', [VOLUME_UNPLACED_SINCE_TAG]: since },
    }),
    // gp2: DescribeVolumes reports its baseline IOPS, which CreateVolume would refuse.
    w.region.volumes.create({
      availabilityZone: 'us-east-1c',
      sizeGiB: 40,
      volumeType: 'gp2',
      tags: { [GROUP_TAG]: 'web', [VOLUME_UNPLACED_SINCE_TAG]: since },
    }),
  ];
  await w.wait(5);
  for (const v of stranded)
    w.region.volumes.snapshot(v.volumeId, { [GROUP_TAG]: 'web', [SNAPSHOT_OF_TAG]: v.volumeId });
  await w.wait(61);
  const result = await w.pass();
  const recreated = result!.groups[0]!.results.filter((r) => r.action.kind === 'recreate-volume');
  t.deepEqual(
    recreated.map((r) => r.status),
    ['done', 'done'],
    JSON.stringify(recreated.map((r) => r.error)),
  );
  const copyOf = (id: string) =>
    [...w.region.volumes.volumes.values()].find((v) => v.volume.tags[RECREATED_FROM_TAG] === id)!.volume;
  const gp3 = copyOf(stranded[0]!.volumeId);
  t.like(gp3, {
    availabilityZone: 'us-east-1a',
    sizeGiB: 50,
    volumeType: 'gp3',
    iops: 6000,
    throughput: 500,
    encrypted: true,
    kmsKeyId: key,
  });
  // Named in the request, not left to defaults (EC2 picks the account's default key when none is named).
  const sent = w.rec
    .callsOf('createVolume')
    .map((c) => c.args[0] as Record<string, unknown>)
    .find((r) => r.sizeGiB === 50);
  t.like(sent, { volumeType: 'gp3', iops: 6000, throughput: 500, encrypted: true, kmsKeyId: key });
  t.like(gp3.tags, { [GROUP_TAG]: 'web', team: 'data' });
  t.is(gp3.tags[VOLUME_UNPLACED_SINCE_TAG], undefined);
  const gp2 = copyOf(stranded[1]!.volumeId);
  t.like(gp2, { volumeType: 'gp2', sizeGiB: 40, iops: 120 });
  t.is(gp2.throughput, undefined);
});

test('launch hook: a new member adopts its own disk at once, unless a volume of the group is on its way to it', async (t) => {
  const w = await world(pv, seedPv());
  await w.pass();
  const before = w.members().map((m) => m.instanceId);
  const prepare = volumeLaunchPreparer({ cloud: w.cloud, clock: w.clock, logger: silentLogger });
  const launchHook = (instanceId: string) =>
    w.clock.drive(
      prepare({
        groupName: 'web',
        settings: pv,
        instanceId,
        deadline: new Date(w.clock.now().getTime() + 60_000),
        signal: new AbortController().signal,
      }),
    );

  // Scale-out: nothing of the group is free, so the new member's own volume is adopted before InService.
  await w.cloud.autoscaling.updateGroup('web', { desired: 3 });
  await w.wait(5);
  const grown = w.members().find((m) => !before.includes(m.instanceId))!.instanceId;
  await launchHook(grown);
  const own = templateVolume(w, grown)!;
  t.false(own.attachments[0]?.deleteOnTermination);
  t.is(own.tags[GROUP_TAG], 'web');
  t.is(w.instance(grown).tags[VOLUME_TAG], own.volumeId);

  // An interrupted member still holds its volume through the warning: its replacement waits for it.
  const holder = before[0]!;
  const data = templateVolume(w, holder)!;
  await w.cloud.ec2.createTags([holder], { [INTERRUPTED_AT_TAG]: w.clock.now().toISOString() });
  await w.cloud.autoscaling.detachInstances('web', [holder], false);
  await w.wait(5);
  const replacement = w.members().find((m) => ![...before, grown].includes(m.instanceId))!.instanceId;
  w.rec.clear();
  await launchHook(replacement);
  t.deepEqual(w.rec.callsOf('setDeleteOnTermination'), [], 'not adopted');
  t.true(templateVolume(w, replacement)!.attachments[0]?.deleteOnTermination);
  t.is(data.attachments[0]?.instanceId, holder);
});
