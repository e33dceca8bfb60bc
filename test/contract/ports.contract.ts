import test, { type ExecutionContext } from 'ava';
import type { Cloud } from '../../src/ports/cloud.js';
import type { ContractBackend, ContractSeeder } from './seeder.js';

// Port behaviours both the AWS adapters (against moto) and the simulated region must show. Each test
// gets a fresh backend from `makeCloud` and tears it down; tests run serially because a backend may be
// one shared emulator that makeCloud resets.

type Body = (t: ExecutionContext, cloud: Cloud, seed: ContractSeeder) => Promise<void>;

export function contractSuite(name: string, makeCloud: () => Promise<ContractBackend>): void {
  const it = (title: string, body: Body) =>
    test.serial(`${name}: ${title}`, async (t) => {
      const backend = await makeCloud();
      try {
        await body(t, backend.cloud, backend.seed);
      } finally {
        await backend.teardown();
      }
    });

  it('describeGroups returns every group across pages, and only the named ones when asked', async (t, cloud, seed) => {
    const names = Array.from({ length: 105 }, (_, i) => `page-${String(i).padStart(3, '0')}`);
    for (const n of names) await seed.createGroup({ name: n, desired: 0 });
    const all = await cloud.autoscaling.describeGroups();
    t.deepEqual(all.map((g) => g.name).sort(), names);
    const some = await cloud.autoscaling.describeGroups(['page-003', 'page-101', 'missing']);
    t.deepEqual(some.map((g) => g.name).sort(), ['page-003', 'page-101']);
  });

  it('a group reports its size, template, members and tags', async (t, cloud, seed) => {
    const g = await seed.createGroup({
      name: 'web',
      desired: 2,
      max: 6,
      tags: { 'spotmax:enabled': 'true' },
    });
    const [group] = await cloud.autoscaling.describeGroups(['web']);
    t.like(group, { name: 'web', desired: 2, max: 6 });
    t.is(group!.members.length, 2);
    t.is((group!.launchTemplate ?? group!.mixedInstancesPolicy?.launchTemplate)?.name, g.launchTemplate.name);
    t.true(group!.tags.some((x) => x.key === 'spotmax:enabled' && x.value === 'true'));
    const instances = await cloud.ec2.describeInstances(group!.members.map((m) => m.instanceId));
    t.is(instances.length, 2);
  });

  it('detach without decrement keeps desired capacity; with decrement lowers it', async (t, cloud, seed) => {
    await seed.createGroup({ name: 'web', desired: 0, max: 10 });
    const spot = await seed.addSpotMembers('web', 3);
    let [g] = await cloud.autoscaling.describeGroups(['web']);
    t.is(g!.desired, 3);

    await cloud.autoscaling.detachInstances('web', [spot[0]!], false);
    await seed.settle();
    [g] = await cloud.autoscaling.describeGroups(['web']);
    t.is(g!.desired, 3);
    t.false(g!.members.some((m) => m.instanceId === spot[0]));
    const [detached] = await cloud.ec2.describeInstances([spot[0]!]);
    t.is(detached?.state, 'running', 'a detached instance keeps running');
    t.is(detached?.market, 'spot');

    await cloud.autoscaling.detachInstances('web', [spot[1]!, spot[2]!], true);
    await seed.settle();
    [g] = await cloud.autoscaling.describeGroups(['web']);
    t.is(g!.desired, 1);
    t.false(g!.members.some((m) => m.instanceId === spot[1] || m.instanceId === spot[2]));

    await cloud.autoscaling.attachInstances('web', [spot[1]!]);
    await seed.settle();
    [g] = await cloud.autoscaling.describeGroups(['web']);
    t.is(g!.desired, 2);
    t.true(g!.members.some((m) => m.instanceId === spot[1]));
    await t.throwsAsync(
      cloud.autoscaling.detachInstances(
        'web',
        Array.from({ length: 21 }, (_, i) => `i-${i}`),
        false,
      ),
    );
  });

  // AttachInstances API reference: the attached instances raise desired capacity, which may not exceed
  // MaxSize. spotmax's standby swap in a group at max = desired raises MaxSize first (standby-hook.ts).
  it('attach is refused when desired + attached would exceed MaxSize, and allowed once MaxSize is raised', async (t, cloud, seed) => {
    await seed.createGroup({ name: 'fixed', desired: 0, max: 2 });
    await seed.addSpotMembers('fixed', 2);
    const extra = await seed.launchInstance({ az: seed.azs[0]! });
    await t.throwsAsync(cloud.autoscaling.attachInstances('fixed', [extra]));
    let [g] = await cloud.autoscaling.describeGroups(['fixed']);
    t.is(g!.desired, 2);
    t.false(g!.members.some((m) => m.instanceId === extra));
    await cloud.autoscaling.updateGroup('fixed', { max: 3 });
    await cloud.autoscaling.attachInstances('fixed', [extra]);
    await seed.settle();
    [g] = await cloud.autoscaling.describeGroups(['fixed']);
    t.like(g, { desired: 3, max: 3 });
    t.true(g!.members.some((m) => m.instanceId === extra));
  });

  // Whether the MixedInstancesPolicy survives is not in the contract: AWS keeps it (the sim's test in
  // test/sim/distribution.test.ts), moto erases it (its gap, test/aws/autoscaling.test.ts).
  it('updateGroup changes the sizes given and leaves desired alone', async (t, cloud, seed) => {
    await seed.createGroup({ name: 'mixed', desired: 1, max: 4, mixed: true });
    await cloud.autoscaling.updateGroup('mixed', { max: 5 });
    const [after] = await cloud.autoscaling.describeGroups(['mixed']);
    t.is(after!.max, 5);
    t.is(after!.desired, 1);
  });

  it('instance and group tags round-trip; a tag CreateTags wrote is found by key', async (t, cloud, seed) => {
    await seed.createGroup({ name: 'web', desired: 0 });
    const id = await seed.launchInstance({ az: seed.azs[0]!, tags: { 'spotmax:standby-for': 'web' } });
    await cloud.ec2.createTags([id], { 'spotmax:group': 'web', extra: '1' });
    await cloud.ec2.deleteTags([id], ['extra']);
    const [inst] = await cloud.ec2.describeInstances([id]);
    t.is(inst?.tags['spotmax:group'], 'web');
    t.is(inst?.tags['spotmax:standby-for'], 'web');
    t.false('extra' in (inst?.tags ?? {}));
    t.deepEqual(await cloud.ec2.findInstanceIdsByTag('spotmax:group'), [id]);

    await cloud.autoscaling.putGroupTags('web', [
      { key: 'spotmax:group', value: 'web', propagateAtLaunch: true },
    ]);
    let [g] = await cloud.autoscaling.describeGroups(['web']);
    t.deepEqual(
      g!.tags.find((x) => x.key === 'spotmax:group'),
      { key: 'spotmax:group', value: 'web', propagateAtLaunch: true },
    );
    await cloud.autoscaling.deleteGroupTags('web', ['spotmax:group']);
    [g] = await cloud.autoscaling.describeGroups(['web']);
    t.false(g!.tags.some((x) => x.key === 'spotmax:group'));
  });

  it('runInstances launches from the group template with the asked market and tags', async (t, cloud, seed) => {
    const g = await seed.createGroup({ name: 'web', desired: 0 });
    const [spot] = await cloud.ec2.runInstances({
      launchTemplate: g.launchTemplate,
      market: 'spot',
      availabilityZone: seed.azs[1],
      tags: { 'spotmax:standby-for': 'web' },
    });
    await seed.settle();
    const [inst] = await cloud.ec2.describeInstances([spot!.instanceId]);
    t.like(inst, { market: 'spot', availabilityZone: seed.azs[1], state: 'running' });
    t.is(inst?.tags['spotmax:standby-for'], 'web');
  });

  it('stop, start and terminate move an instance through its states', async (t, cloud, seed) => {
    const id = await seed.launchInstance({ az: seed.azs[0]! });
    const state = async () => (await cloud.ec2.describeInstances([id]))[0]?.state;
    await cloud.ec2.stopInstances([id], false);
    await seed.settle();
    t.is(await state(), 'stopped');
    await cloud.ec2.startInstances([id]);
    await seed.settle();
    t.is(await state(), 'running');
    await cloud.ec2.terminateInstances([id]);
    await seed.settle();
    t.true(['terminated', undefined].includes(await state()));
  });

  it('a volume attaches only in its own AZ, and detaches', async (t, cloud, seed) => {
    const [azA, azB] = seed.azs as [string, string];
    const inA = await seed.launchInstance({ az: azA });
    const inB = await seed.launchInstance({ az: azB });
    const vol = await seed.createVolume({ az: azA, tags: { 'spotmax:group': 'web' } });

    await t.throwsAsync(cloud.ec2.attachVolume(vol, inB, '/dev/sdf'), { message: new RegExp(vol) });
    await cloud.ec2.attachVolume(vol, inA, '/dev/sdf');
    await seed.settle();
    let [v] = await cloud.ec2.describeVolumes([vol]);
    t.is(v?.state, 'in-use');
    t.deepEqual(
      v?.attachments.map((a) => a.instanceId),
      [inA],
    );
    await cloud.ec2.detachVolume(vol, inA);
    await seed.settle();
    [v] = await cloud.ec2.describeVolumes([vol]);
    t.is(v?.state, 'available');
    t.deepEqual(v?.attachments, []);
  });

  it('a volume in use elsewhere is refused; snapshots restore into another AZ', async (t, cloud, seed) => {
    const [azA, azB] = seed.azs as [string, string];
    const first = await seed.launchInstance({ az: azA });
    const second = await seed.launchInstance({ az: azA });
    const vol = await seed.createVolume({ az: azA, tags: { 'spotmax:group': 'web' } });
    await cloud.ec2.attachVolume(vol, first, '/dev/sdf');
    await seed.settle();
    await t.throwsAsync(cloud.ec2.attachVolume(vol, second, '/dev/sdf'));

    const snap = await cloud.ec2.createSnapshot(vol, { 'spotmax:group': 'web', 'spotmax:volume': vol });
    await seed.settle();
    const found = await cloud.ec2.describeSnapshots({ 'spotmax:group': 'web' });
    t.deepEqual(
      found.map((s) => [s.snapshotId, s.volumeId]),
      [[snap.snapshotId, vol]],
    );
    const restored = await cloud.ec2.createVolume({
      availabilityZone: azB,
      snapshotId: snap.snapshotId,
      tags: { 'spotmax:group': 'web' },
    });
    t.is(restored.availabilityZone, azB);
    await cloud.ec2.deleteSnapshot(snap.snapshotId);
    t.deepEqual(await cloud.ec2.describeSnapshots({ 'spotmax:group': 'web' }), []);
  });

  it('the launch template of a group resolves to a version', async (t, cloud, seed) => {
    const g = await seed.createGroup({ name: 'web', desired: 0 });
    const info = await cloud.ec2.describeLaunchTemplateVersion(g.launchTemplate);
    t.true(info.version >= 1);
    t.is(info.name ?? g.launchTemplate.name, g.launchTemplate.name);
    if (g.launchTemplate.version === '$Latest') t.true(info.isLatest);
  });

  it('tag-key lookups find tagged instances (terminated ones only on request) and volumes; images and instance types read alike', async (t, cloud, seed) => {
    const [azA] = seed.azs;
    const tagged = await seed.launchInstance({ az: azA!, tags: { 'spotmax:standby-for': 'web' } });
    const gone = await seed.launchInstance({ az: azA!, tags: { 'spotmax:standby-for': 'web' } });
    await seed.launchInstance({ az: azA!, tags: { other: 'x' } });
    const vol = await seed.createVolume({ az: azA!, tags: { 'spotmax:group': 'web' } });
    await seed.createVolume({ az: azA!, tags: { other: 'x' } });
    await seed.settle();
    await cloud.ec2.terminateInstances([gone]);
    await seed.settle();
    t.deepEqual(await cloud.ec2.findInstanceIdsByTag('spotmax:standby-for'), [tagged]);
    // On request, terminated ones too: they stay visible for about an hour (TerminateInstances).
    t.deepEqual(
      (await cloud.ec2.findInstanceIdsByTag('spotmax:standby-for', undefined, { terminated: true })).sort(),
      [tagged, gone].sort(),
    );
    t.deepEqual(await cloud.ec2.findVolumeIdsByTag('spotmax:group'), [vol]);

    const [instance] = await cloud.ec2.describeInstances([tagged]);
    t.truthy(instance?.imageId);
    const [image] = await cloud.ec2.describeImages([instance!.imageId!, 'ami-0123456789abcdef0']);
    t.is(image?.imageId, instance!.imageId);
    t.is(image?.state, 'available');
    t.truthy(image?.rootDeviceName);
    const [m5] = await cloud.ec2.describeInstanceTypes(['m5.large']);
    t.like(m5, { instanceType: 'm5.large', memoryMiB: 8192, vcpus: 2, hibernationSupported: true });
    const statuses = await cloud.ec2.describeInstanceStatus([tagged, gone]);
    t.deepEqual(
      statuses.map((s) => s.instanceId),
      [tagged],
      'running instances only',
    );
  });

  it('a received message stays hidden until its visibility ends, and is gone once deleted', async (t, cloud, seed) => {
    const url = await seed.createQueue('contract-events', 30);
    await cloud.queue.send(url, 'one');
    const [m] = await cloud.queue.receive(url, { maxMessages: 10, waitSeconds: 0 });
    t.is(m?.body, 'one');
    t.is(m?.receiveCount, 1);
    t.deepEqual(await cloud.queue.receive(url, { maxMessages: 10, waitSeconds: 0 }), []);
    await cloud.queue.changeVisibility(url, m!.receiptHandle, 0);
    const [again] = await cloud.queue.receive(url, { maxMessages: 10, waitSeconds: 0 });
    t.is(again?.messageId, m?.messageId);
    t.is(again?.receiveCount, 2);
    await cloud.queue.delete(url, again!.receiptHandle);
    await cloud.queue.changeVisibility(url, again!.receiptHandle, 0).catch(() => undefined);
    t.deepEqual(await cloud.queue.receive(url, { maxMessages: 10, waitSeconds: 0 }), []);
  });
}
