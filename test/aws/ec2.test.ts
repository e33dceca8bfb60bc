import { CreateLaunchTemplateVersionCommand, DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import test from 'ava';
import { CloudError, isNotFound } from '../../src/domain/errors.js';
import { createLaunchTemplate, createTestVolume, launchInstances, testAmi } from '../helpers/aws-fixtures.js';
import { unlistedPermissions, useMotoEnv } from './moto-env.js';

const env = useMotoEnv();

test.serial('runInstances from a launch template: Spot and On-Demand, tags, AZ, template ref', async (t) => {
  await env.moto.reset();
  const lt = await createLaunchTemplate(env.raw.ec2, 'web-lt');
  const spot = await env.cloud.ec2.runInstances({
    launchTemplate: { name: 'web-lt', version: '$Latest' },
    market: 'spot',
    instanceType: 't3.small',
    availabilityZone: 'us-east-1c',
    tags: { 'spotmax:group': 'web' },
    count: 2,
  });
  t.is(spot.length, 2);
  const ondemand = await env.cloud.ec2.runInstances({
    launchTemplate: { id: lt.id },
    market: 'on-demand',
    tags: { 'spotmax:standby-for': 'web' },
  });

  const described = await env.cloud.ec2.describeInstances([...spot, ...ondemand].map((i) => i.instanceId));
  const byId = new Map(described.map((i) => [i.instanceId, i]));
  for (const i of spot) {
    const d = byId.get(i.instanceId)!;
    t.is(d.market, 'spot');
    t.is(d.instanceType, 't3.small');
    t.is(d.availabilityZone, 'us-east-1c');
    t.is(d.tags['spotmax:group'], 'web');
    t.is(d.launchTemplate?.id, lt.id);
    t.is(d.state, 'running');
    t.true(d.launchTime instanceof Date);
  }
  const od = byId.get(ondemand[0]!.instanceId)!;
  t.is(od.market, 'on-demand');
  t.is(od.instanceType, 't3.micro');
  t.is(od.tags['spotmax:standby-for'], 'web');
});

test.serial('describeInstances drops ids that no longer exist instead of failing the batch', async (t) => {
  await env.moto.reset();
  await createLaunchTemplate(env.raw.ec2, 'lt');
  const ids = await launchInstances(env.raw.ec2, { launchTemplate: 'lt', n: 3 });
  const ghosts = ['i-0123456789abcdef0', 'i-0123456789abcdef1'];
  const got = await env.cloud.ec2.describeInstances([ghosts[0]!, ...ids, ghosts[1]!, ids[0]!]);
  t.deepEqual(got.map((i) => i.instanceId).sort(), [...ids].sort());
  t.deepEqual(await env.cloud.ec2.describeInstances([]), []);
});

test.serial('stop, hibernate, start and terminate move instances through their states', async (t) => {
  await env.moto.reset();
  await createLaunchTemplate(env.raw.ec2, 'lt');
  const [a, b] = await launchInstances(env.raw.ec2, { launchTemplate: 'lt', n: 2 });
  const state = async (id: string) => (await env.cloud.ec2.describeInstances([id]))[0]?.state;

  await env.cloud.ec2.stopInstances([a!], false);
  await env.cloud.ec2.stopInstances([b!], true);
  t.regex((await state(a!)) ?? '', /^(stopping|stopped)$/);
  t.regex((await state(b!)) ?? '', /^(stopping|stopped)$/);
  await env.cloud.ec2.startInstances([a!, b!]);
  t.regex((await state(a!)) ?? '', /^(pending|running)$/);
  await env.cloud.ec2.terminateInstances([a!]);
  t.regex((await state(a!)) ?? '', /^(shutting-down|terminated)$/);
});

test.serial('createTags and deleteTags round-trip on instances', async (t) => {
  await env.moto.reset();
  await createLaunchTemplate(env.raw.ec2, 'lt');
  const ids = await launchInstances(env.raw.ec2, { launchTemplate: 'lt', n: 2 });
  await env.cloud.ec2.createTags(ids, {
    'spotmax:group': 'web',
    'spotmax:interrupted-at': '2026-01-01T00:00:00Z',
  });
  let got = await env.cloud.ec2.describeInstances(ids);
  t.true(
    got.every(
      (i) => i.tags['spotmax:group'] === 'web' && i.tags['spotmax:interrupted-at'] === '2026-01-01T00:00:00Z',
    ),
  );
  await env.cloud.ec2.deleteTags(ids, ['spotmax:interrupted-at']);
  got = await env.cloud.ec2.describeInstances(ids);
  t.true(got.every((i) => i.tags['spotmax:group'] === 'web' && !('spotmax:interrupted-at' in i.tags)));
});

test.serial('volumes: create, attach in the same AZ, refuse another AZ, detach, snapshot', async (t) => {
  await env.moto.reset();
  await createLaunchTemplate(env.raw.ec2, 'lt');
  const [inA] = await launchInstances(env.raw.ec2, { launchTemplate: 'lt', n: 1, az: 'us-east-1a' });
  const [inB] = await launchInstances(env.raw.ec2, { launchTemplate: 'lt', n: 1, az: 'us-east-1b' });

  const vol = await env.cloud.ec2.createVolume({
    availabilityZone: 'us-east-1a',
    sizeGiB: 5,
    tags: { 'spotmax:group': 'web' },
  });
  t.regex(vol.volumeId, /^vol-/);
  t.is(vol.availabilityZone, 'us-east-1a');
  t.is(vol.sizeGiB, 5);
  t.is(vol.tags['spotmax:group'], 'web');

  const crossAz = await t.throwsAsync(env.cloud.ec2.attachVolume(vol.volumeId, inB!, '/dev/sdf'), {
    instanceOf: CloudError,
  });
  t.is((crossAz as CloudError).code, 'InvalidVolume.ZoneMismatch');
  t.regex(crossAz!.message, new RegExp(`attaching ${vol.volumeId} to ${inB}.*us-east-1a.*us-east-1b`));

  await env.cloud.ec2.attachVolume(vol.volumeId, inA!, '/dev/sdf');
  let [v] = await env.cloud.ec2.describeVolumes([vol.volumeId]);
  t.is(v?.state, 'in-use');
  t.deepEqual(
    v?.attachments.map((a) => [a.instanceId, a.device]),
    [[inA, '/dev/sdf']],
  );
  await env.cloud.ec2.attachVolume(vol.volumeId, inA!, '/dev/sdf'); // already there: a no-op, not an error

  const [otherA] = await launchInstances(env.raw.ec2, { launchTemplate: 'lt', n: 1, az: 'us-east-1a' });
  const inUse = await t.throwsAsync(env.cloud.ec2.attachVolume(vol.volumeId, otherA!, '/dev/sdf'), {
    instanceOf: CloudError,
  });
  t.is((inUse as CloudError).code, 'VolumeInUse');

  await env.cloud.ec2.detachVolume(vol.volumeId, inA!);
  [v] = await env.cloud.ec2.describeVolumes([vol.volumeId]);
  t.is(v?.state, 'available');
  t.deepEqual(v?.attachments, []);

  const snap = await env.cloud.ec2.createSnapshot(vol.volumeId, {
    'spotmax:group': 'web',
    'spotmax:volume': vol.volumeId,
  });
  t.regex(snap.snapshotId, /^snap-/);
  t.is(snap.volumeId, vol.volumeId);
  const snaps = await env.cloud.ec2.describeSnapshots({ 'spotmax:group': 'web' });
  t.deepEqual(
    snaps.map((s) => s.snapshotId),
    [snap.snapshotId],
  );
  t.is(snaps[0]?.tags['spotmax:volume'], vol.volumeId);

  const restored = await env.cloud.ec2.createVolume({
    availabilityZone: 'us-east-1b',
    snapshotId: snap.snapshotId,
    tags: {},
  });
  t.is(restored.snapshotId, snap.snapshotId);
  t.is(restored.availabilityZone, 'us-east-1b');

  await env.cloud.ec2.deleteSnapshot(snap.snapshotId);
  t.deepEqual(await env.cloud.ec2.describeSnapshots({ 'spotmax:group': 'web' }), []);
});

test.serial(
  'describeVolumes skips volumes that do not exist; a missing resource is classified NotFound',
  async (t) => {
    await env.moto.reset();
    const vol = await createTestVolume(env.raw.ec2, { az: 'us-east-1a' });
    const got = await env.cloud.ec2.describeVolumes(['vol-0123456789abcdef0', vol]);
    t.deepEqual(
      got.map((v) => v.volumeId),
      [vol],
    );
    t.is((await env.raw.ec2.send(new DescribeVolumesCommand({ VolumeIds: [vol] }))).Volumes?.length, 1);

    const err = await t.throwsAsync(env.cloud.ec2.terminateInstances(['i-0123456789abcdef0']), {
      instanceOf: CloudError,
    });
    t.true(isNotFound(err));
    t.is((err as CloudError).code, 'InvalidInstanceID.NotFound');
    t.is((err as CloudError).action, 'TerminateInstances');
    t.false((err as CloudError).retryable);
    t.regex(
      err!.message,
      /^terminating i-0123456789abcdef0: TerminateInstances failed \(InvalidInstanceID\.NotFound\)/,
    );

    const attach = await t.throwsAsync(
      env.cloud.ec2.attachVolume('vol-0123456789abcdef0', 'i-0123456789abcdef0', '/dev/sdf'),
    );
    t.true(isNotFound(attach));
  },
);

test.serial('describeLaunchTemplateVersion: default/latest and whether standbys can hibernate', async (t) => {
  await env.moto.reset();
  const ready = await createLaunchTemplate(env.raw.ec2, 'hib', { hibernation: true, encryptedRoot: true });
  await createLaunchTemplate(env.raw.ec2, 'hib-plain', { hibernation: true });
  await createLaunchTemplate(env.raw.ec2, 'plain');
  await env.raw.ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateName: 'hib',
      LaunchTemplateData: { ImageId: await testAmi(env.raw.ec2), InstanceType: 't3.small' },
    }),
  );

  const v1 = await env.cloud.ec2.describeLaunchTemplateVersion({ name: 'hib', version: '1' });
  t.like(v1, {
    id: ready.id,
    name: 'hib',
    version: 1,
    isDefault: true,
    isLatest: false,
    hibernationReady: true,
  });
  const latest = await env.cloud.ec2.describeLaunchTemplateVersion({ id: ready.id, version: '$Latest' });
  t.like(latest, { version: 2, isDefault: false, isLatest: true, hibernationReady: false });
  const def = await env.cloud.ec2.describeLaunchTemplateVersion({ name: 'hib' });
  t.is(def.version, 1);

  t.false(
    (await env.cloud.ec2.describeLaunchTemplateVersion({ name: 'hib-plain' })).hibernationReady,
    'root not encrypted',
  );
  t.false((await env.cloud.ec2.describeLaunchTemplateVersion({ name: 'plain' })).hibernationReady);
  const missing = await t.throwsAsync(
    env.cloud.ec2.describeLaunchTemplateVersion({ name: 'nope', version: '1' }),
  );
  t.true(isNotFound(missing), missing?.message);
});

test.serial('every EC2 action called is in the IAM permission list', (t) => {
  t.true(env.calls.keys().length > 0);
  t.deepEqual(unlistedPermissions(env.calls.keys()), []);
});
