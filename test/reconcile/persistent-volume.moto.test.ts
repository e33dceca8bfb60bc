import {
  CreateLaunchTemplateCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  type Instance,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import test from 'ava';
import { memoizedResolve } from '../../src/app/resolve.js';
import type { PolicySet } from '../../src/config/load.js';
import { type ReconcileDeps, reconcileOnce } from '../../src/controllers/reconcile/pass.js';
import { GROUP_TAG, VOLUME_TAG } from '../../src/domain/tags.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import { unlistedPermissions, useMotoEnv } from '../aws/moto-env.js';
import { createGroup, testAmi } from '../helpers/aws-fixtures.js';

// The seed's persistent disk end to end on moto, through the real AWS adapters and the real policy
// resolution (the group's tags, no policy file): a launch template with a second EBS volume at /dev/sdf,
// the group tagged spotmax:persistence_dev=/dev/sdf. moto deletes a volume whose mapping has
// DeleteOnTermination true when its instance terminates, as EC2 does; its own default for a template
// mapping is false where EC2's is true, so the template says true, as an AWS user's template means.

const env = useMotoEnv();
const NO_POLICIES: PolicySet = { policies: [], issues: [] };

function deps(): ReconcileDeps<PolicySet> {
  const resolve = memoizedResolve();
  return {
    cloud: env.cloud,
    clock: systemClock,
    logger: silentLogger,
    loadPolicies: () => NO_POLICIES,
    resolve: (groups, policies) => resolve(groups, policies),
    dryRun: false,
  };
}

async function rawInstance(id: string): Promise<Instance | undefined> {
  const out = await env.raw.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations?.[0]?.Instances?.[0];
}

async function rawVolume(id: string) {
  const out = await env.raw.ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] }));
  return out.Volumes?.[0];
}

const tagOf = (tags: { Key?: string; Value?: string }[] | undefined, key: string) =>
  tags?.find((t) => t.Key === key)?.Value;
const sdf = (i: Instance | undefined) => i?.BlockDeviceMappings?.find((b) => b.DeviceName === '/dev/sdf');

test.serial(
  'the seed data disk on moto: adopted by apply (DeleteOnTermination=false, tags), survives its instance, attached to the replacement',
  async (t) => {
    await env.moto.reset();
    await env.raw.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'web-lt',
        LaunchTemplateData: {
          ImageId: await testAmi(env.raw.ec2),
          InstanceType: 't3.micro',
          BlockDeviceMappings: [
            {
              DeviceName: '/dev/sdf',
              Ebs: { VolumeSize: 10, VolumeType: 'gp3', DeleteOnTermination: true },
            },
          ],
        },
      }),
    );
    await createGroup(env.raw.autoscaling, {
      name: 'web',
      desired: 1,
      max: 3,
      azs: ['us-east-1a'],
      ec2: env.raw.ec2,
      tags: [
        { key: GROUP_TAG, value: 'web', propagateAtLaunch: true },
        { key: 'spotmax:persistence_dev', value: '/dev/sdf', propagateAtLaunch: false },
      ],
    });

    const first = await reconcileOnce(deps(), { execute: true });
    const group = first.groups[0]!;
    t.is(group.resolved.settings?.persistentVolume.device, '/dev/sdf', 'from the tag');
    const holder = first.observation.groups[0]!.members[0]!.instanceId;
    const before = sdf(await rawInstance(holder));
    t.true(before?.Ebs?.VolumeId?.startsWith('vol-'));
    t.deepEqual(
      group.results.filter((r) => r.action.kind === 'adopt-volume').map((r) => [r.status, r.error]),
      [['done', undefined]],
      JSON.stringify(group.problems),
    );
    const data = before!.Ebs!.VolumeId!;
    t.false(sdf(await rawInstance(holder))?.Ebs?.DeleteOnTermination, 'DeleteOnTermination=false');
    const tagged = await rawVolume(data);
    t.is(tagOf(tagged?.Tags, GROUP_TAG), 'web');
    t.is(tagOf(tagged?.Tags, VOLUME_TAG), data);
    t.is(tagOf((await rawInstance(holder))?.Tags, VOLUME_TAG), data);
    t.deepEqual(group.problems, []);

    // The reclaim: the fast path detaches without decrement (the group launches a replacement), then
    // EC2 terminates the instance.
    await env.cloud.autoscaling.detachInstances('web', [holder], false);
    await env.raw.ec2.send(new TerminateInstancesCommand({ InstanceIds: [holder] }));
    const survived = await rawVolume(data);
    t.is(survived?.State, 'available', 'the data volume outlived its instance');

    const second = await reconcileOnce(deps(), { execute: true });
    const replacement = second.observation.groups[0]!.members[0]!.instanceId;
    t.not(replacement, holder);
    const moved = second.groups[0]!.results.filter((r) => r.action.kind === 'attach-volume');
    t.deepEqual(
      moved.map((r) => [r.action.target, r.status, r.error]),
      [[data, 'done', undefined]],
    );
    t.false(second.groups[0]!.results.some((r) => r.action.kind === 'adopt-volume'));
    const after = await rawVolume(data);
    t.is(after?.Attachments?.[0]?.InstanceId, replacement);
    t.is(tagOf((await rawInstance(replacement))?.Tags, VOLUME_TAG), data);
    // The replacement's own template volume is neither adopted nor deleted: EC2 deletes it with its instance.
    const own = sdf(await rawInstance(replacement));
    t.not(own?.Ebs?.VolumeId, data);
    t.true(own?.Ebs?.DeleteOnTermination);
    t.is(tagOf((await rawVolume(own!.Ebs!.VolumeId!))?.Tags, GROUP_TAG), undefined);
    t.deepEqual(unlistedPermissions(env.calls.keys()), []);
  },
);

test.serial(
  'plan on moto: a persistence_dev the template does not map is a problem, not silence',
  async (t) => {
    await env.moto.reset();
    await env.raw.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'web-lt',
        LaunchTemplateData: { ImageId: await testAmi(env.raw.ec2), InstanceType: 't3.micro' },
      }),
    );
    await createGroup(env.raw.autoscaling, {
      name: 'web',
      desired: 1,
      azs: ['us-east-1a'],
      ec2: env.raw.ec2,
      tags: [
        { key: GROUP_TAG, value: 'web', propagateAtLaunch: true },
        { key: 'spotmax:persistence_dev', value: '/dev/sdf', propagateAtLaunch: false },
      ],
    });
    const plan = await reconcileOnce(deps(), { execute: false });
    t.true(
      plan.groups[0]!.problems.some((p) =>
        p.includes('none of the 1 running member(s) has an EBS volume there'),
      ),
      JSON.stringify(plan.groups[0]!.problems),
    );
  },
);
