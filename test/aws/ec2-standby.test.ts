import {
  CreateLaunchTemplateCommand,
  CreateLaunchTemplateVersionCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
} from '@aws-sdk/client-ec2';
import test from 'ava';
import type { CloudError } from '../../src/domain/errors.js';
import {
  createLaunchTemplate,
  createTestVolume,
  defaultSubnets,
  launchInstances,
  testAmi,
} from '../helpers/aws-fixtures.js';
import { useMotoEnv } from './moto-env.js';

// Issue 12.2 against moto: the EC2 adapter launches standbys from whatever the template says, and the
// reads standbys need. GetInstanceTypesFromInstanceRequirements is not in moto: it is tested on the
// simulated region (test/reconcile/standby-templates.test.ts).

const env = useMotoEnv();
const USER_DATA = Buffer.from('#!/bin/sh\necho bootstrap\n').toString('base64');

async function spotTemplate(name: string) {
  const out = await env.raw.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: {
        ImageId: await testAmi(env.raw.ec2),
        InstanceType: 't3.micro',
        UserData: USER_DATA,
        InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time' } },
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'team', Value: 'web' }] }],
        MetadataOptions: { HttpTokens: 'required' },
      },
    }),
  );
  return out.LaunchTemplate!.LaunchTemplateId!;
}

test.serial(
  'a Spot template is launched On-Demand from its data, without the template and its market options',
  async (t) => {
    await env.moto.reset();
    const id = await spotTemplate('spot-lt');
    const info = await env.cloud.ec2.describeLaunchTemplateVersion({ id, version: '$Latest' });
    t.true(info.spotMarket);
    t.is(info.instanceType, 't3.micro');
    t.is(info.imageId, await testAmi(env.raw.ec2));

    const [standby] = await env.cloud.ec2.runInstances({
      launchTemplate: { id, version: String(info.version) },
      market: 'on-demand',
      dropTemplateMarket: true,
      instanceType: 't3.small',
      availabilityZone: 'us-east-1b',
      tags: { 'spotmax:standby-for': 'web' },
    });
    const [d] = await env.cloud.ec2.describeInstances([standby!.instanceId]);
    t.is(d?.market, 'on-demand');
    t.is(d?.instanceType, 't3.small');
    t.is(d?.availabilityZone, 'us-east-1b');
    t.is(d?.imageId, info.imageId);
    t.is(d?.launchTemplate, undefined, 'not launched through the template (it would make it Spot on AWS)');
    t.is(d?.tags.team, 'web', "the template's instance tags come along");
    t.is(d?.tags['spotmax:standby-for'], 'web');
    const attr = await env.raw.ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: standby!.instanceId, Attribute: 'userData' }),
    );
    t.is(attr.UserData?.Value, USER_DATA, "the template's user data is sent");
  },
);

test.serial(
  'a template with NetworkInterfaces: the subnet goes in the first interface (a top-level SubnetId is refused)',
  async (t) => {
    await env.moto.reset();
    const subnets = await defaultSubnets(env.raw.ec2);
    const sg = (await env.raw.ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups![0]!.GroupId!;
    const lt = await env.raw.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'eni-lt',
        LaunchTemplateData: {
          ImageId: await testAmi(env.raw.ec2),
          InstanceType: 't3.micro',
          NetworkInterfaces: [
            { DeviceIndex: 0, Groups: [sg], AssociatePublicIpAddress: false, DeleteOnTermination: true },
          ],
        },
      }),
    );
    const id = lt.LaunchTemplate!.LaunchTemplateId!;
    const info = await env.cloud.ec2.describeLaunchTemplateVersion({ id });
    t.deepEqual(
      info.networkInterfaces?.map((n) => n.DeviceIndex),
      [0],
    );
    const err = await t.throwsAsync(
      env.cloud.ec2.runInstances({
        launchTemplate: { id },
        market: 'on-demand',
        subnetId: subnets['us-east-1b'],
        networkInterfaces: [{ DeviceIndex: 0, Groups: [sg], SubnetId: subnets['us-east-1c'] }],
        tags: { 'spotmax:standby-for': 'web' },
      }),
    );
    t.is((err as CloudError).code, 'InvalidParameterCombination');
    const [i] = await env.cloud.ec2.runInstances({
      launchTemplate: { id },
      market: 'on-demand',
      networkInterfaces: [{ ...info.networkInterfaces![0]!, SubnetId: subnets['us-east-1b'] }],
      tags: { 'spotmax:standby-for': 'web' },
    });
    const raw = await env.raw.ec2.send(new DescribeInstancesCommand({ InstanceIds: [i!.instanceId] }));
    const inst = raw.Reservations?.[0]?.Instances?.[0];
    t.is(inst?.SubnetId, subnets['us-east-1b']);
    t.is(inst?.Placement?.AvailabilityZone, 'us-east-1b');
  },
);

test.serial('launch template versions are cached by id and number; $Latest is read every time', async (t) => {
  await env.moto.reset();
  const { id } = await createLaunchTemplate(env.raw.ec2, 'cached-lt');
  await env.raw.ec2.send(
    new CreateLaunchTemplateVersionCommand({
      LaunchTemplateId: id,
      SourceVersion: '1',
      LaunchTemplateData: { InstanceType: 't3.small' },
    }),
  );
  env.calls.reset();
  const latest = await env.cloud.ec2.describeLaunchTemplateVersion({ id, version: '$Latest' });
  t.is(latest.version, 2);
  t.is(latest.instanceType, 't3.small');
  const v1 = await env.cloud.ec2.describeLaunchTemplateVersion({ id, version: '1' });
  const again = await env.cloud.ec2.describeLaunchTemplateVersion({ id, version: '1' });
  const v2 = await env.cloud.ec2.describeLaunchTemplateVersion({ id, version: '2' });
  t.is(v1.instanceType, 't3.micro');
  t.deepEqual(again, v1);
  t.is(v2.version, 2);
  // $Latest, then version 1 once; version 2 came with the $Latest read.
  t.is(env.calls.get('ec2:DescribeLaunchTemplateVersions'), 2);
  await env.cloud.ec2.describeLaunchTemplateVersion({ id, version: '$Latest' });
  t.is(env.calls.get('ec2:DescribeLaunchTemplateVersions'), 3);
});

test.serial('the reads standbys need: images, instance types, status checks, tag-key lookups', async (t) => {
  await env.moto.reset();
  const ami = await testAmi(env.raw.ec2);
  const images = await env.cloud.ec2.describeImages([ami, 'ami-0123456789abcdef0', 'resolve:ssm:/x']);
  t.deepEqual(
    images.map((i) => i.imageId),
    [ami],
    'unknown ids and SSM names are left out',
  );
  t.is(images[0]?.state, 'available');
  t.truthy(images[0]?.rootDeviceName);

  const types = await env.cloud.ec2.describeInstanceTypes(['m5.large', 'r5.8xlarge']);
  const m5 = types.find((x) => x.instanceType === 'm5.large');
  t.is(m5?.memoryMiB, 8192);
  t.is(m5?.vcpus, 2);
  t.true(m5?.hibernationSupported);
  t.is(types.find((x) => x.instanceType === 'r5.8xlarge')?.memoryMiB, 262144);

  await createLaunchTemplate(env.raw.ec2, 'lt');
  const [a, b] = await launchInstances(env.raw.ec2, { launchTemplate: 'lt', n: 2 });
  await env.cloud.ec2.createTags([a!, b!], { 'spotmax:standby-for': 'web' });
  await env.cloud.ec2.terminateInstances([b!]);
  t.deepEqual(
    await env.cloud.ec2.findInstanceIdsByTag('spotmax:standby-for'),
    [a],
    'terminated ones are left out',
  );
  const statuses = await env.cloud.ec2.describeInstanceStatus([a!]);
  t.is(statuses[0]?.instanceId, a);
  t.truthy(statuses[0]?.instanceStatus);

  const vol = await createTestVolume(env.raw.ec2, { az: 'us-east-1a', tags: { 'spotmax:group': 'web' } });
  await createTestVolume(env.raw.ec2, { az: 'us-east-1a', tags: { other: 'x' } });
  t.deepEqual(await env.cloud.ec2.findVolumeIdsByTag('spotmax:group'), [vol]);
});
