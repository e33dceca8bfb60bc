import {
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  PutLifecycleHookCommand,
} from '@aws-sdk/client-auto-scaling';
import test from 'ava';
import {
  addSpotMembers,
  createLaunchTemplate,
  MIXED_INSTANCE_TYPES,
  seedGroup,
} from '../helpers/aws-fixtures.js';
import { unlistedPermissions, useMotoEnv } from './moto-env.js';

const env = useMotoEnv();

async function rawGroup(name: string) {
  const out = await env.raw.autoscaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }),
  );
  return out.AutoScalingGroups?.[0];
}

test.serial(
  'describeGroups translates templates, mixed policies, launch configurations, tags and subnets',
  async (t) => {
    await env.moto.reset();
    await seedGroup(env.raw, {
      name: 'web',
      desired: 2,
      tags: { 'spotmax:enabled': 'true' },
      azs: ['us-east-1a', 'us-east-1b'],
    });
    await seedGroup(env.raw, {
      name: 'mixed',
      desired: 1,
      mixed: true,
      tags: [{ key: 'team', value: 'x', propagateAtLaunch: true }],
    });
    await seedGroup(env.raw, { name: 'legacy', desired: 0, launchConfiguration: 'legacy-lc' });

    const groups = await env.cloud.autoscaling.describeGroups();
    const byName = new Map(groups.map((g) => [g.name, g]));
    t.deepEqual([...byName.keys()].sort(), ['legacy', 'mixed', 'web']);

    const web = byName.get('web')!;
    t.is(web.desired, 2);
    t.is(web.members.length, 2);
    t.is(web.launchTemplate?.name, 'web-lt');
    t.regex(web.launchTemplate?.id ?? '', /^lt-/);
    t.is(web.subnetIds.length, 2);
    t.deepEqual(web.tags, [{ key: 'spotmax:enabled', value: 'true', propagateAtLaunch: false }]);
    t.true(web.members.every((m) => m.lifecycleState === 'InService' && /^i-/.test(m.instanceId)));

    const mixed = byName.get('mixed')!;
    t.is(mixed.launchTemplate, undefined);
    t.is(mixed.mixedInstancesPolicy?.launchTemplate.name, 'mixed-lt');
    t.deepEqual(
      mixed.mixedInstancesPolicy?.overrides.map((o) => o.instanceType),
      MIXED_INSTANCE_TYPES,
    );
    t.is(mixed.mixedInstancesPolicy?.instancesDistribution.onDemandPercentageAboveBaseCapacity, 0);
    t.deepEqual(mixed.tags, [{ key: 'team', value: 'x', propagateAtLaunch: true }]);

    const legacy = byName.get('legacy')!;
    t.is(legacy.launchConfigurationName, 'legacy-lc');
    t.is(legacy.launchTemplate, undefined);

    t.deepEqual(
      (await env.cloud.autoscaling.describeGroups(['web', 'missing'])).map((g) => g.name),
      ['web'],
    );
    t.deepEqual(await env.cloud.autoscaling.describeGroups([]), []);
  },
);

test.serial('describeGroups follows NextToken across 100-group pages', async (t) => {
  await env.moto.reset();
  await seedGroup(env.raw, { name: 'g-000', desired: 0 });
  for (let i = 1; i < 205; i++) {
    await env.raw.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: `g-${String(i).padStart(3, '0')}`,
        MinSize: 0,
        MaxSize: 1,
        LaunchTemplate: { LaunchTemplateName: 'g-000-lt' },
        AvailabilityZones: ['us-east-1a'],
      }),
    );
  }
  env.calls.reset();
  const groups = await env.cloud.autoscaling.describeGroups();
  t.is(groups.length, 205);
  t.is(new Set(groups.map((g) => g.name)).size, 205);
  t.is(env.calls.get('autoscaling:DescribeAutoScalingGroups'), 3);

  env.calls.reset();
  const names = Array.from({ length: 150 }, (_, i) => `g-${String(i).padStart(3, '0')}`);
  t.is((await env.cloud.autoscaling.describeGroups(names)).length, 150);
  t.is(env.calls.get('autoscaling:DescribeAutoScalingGroups'), 2);
});

test.serial(
  'detach without decrement keeps desired (a replacement launches); with decrement lowers it',
  async (t) => {
    await env.moto.reset();
    await seedGroup(env.raw, { name: 'web', desired: 1, max: 10 });
    const spot = await addSpotMembers(env.raw.ec2, env.raw.autoscaling, 'web', 3);
    t.is((await rawGroup('web'))?.DesiredCapacity, 4, 'AttachInstances raises desired');

    await env.cloud.autoscaling.detachInstances('web', [spot[0]!], false);
    let g = await rawGroup('web');
    t.is(g?.DesiredCapacity, 4);
    t.false(g?.Instances?.some((i) => i.InstanceId === spot[0]));
    t.is(g?.Instances?.length, 4, 'the group replaced the detached instance');

    await env.cloud.autoscaling.detachInstances('web', [spot[1]!, spot[2]!], true);
    g = await rawGroup('web');
    t.is(g?.DesiredCapacity, 2);
    t.is(g?.Instances?.length, 2);

    await env.cloud.autoscaling.attachInstances('web', [spot[1]!]);
    g = await rawGroup('web');
    t.is(g?.DesiredCapacity, 3);
    t.true(g?.Instances?.some((i) => i.InstanceId === spot[1]));
  },
);

test.serial('detachInstances and attachInstances refuse more than 20 ids and send nothing', async (t) => {
  const ids = Array.from({ length: 21 }, (_, i) => `i-${String(i).padStart(17, '0')}`);
  env.calls.reset();
  await t.throwsAsync(env.cloud.autoscaling.detachInstances('web', ids, false), {
    message: /21 instances.*at most 20/,
  });
  await t.throwsAsync(env.cloud.autoscaling.attachInstances('web', ids), { message: /at most 20/ });
  t.is(env.calls.total(), 0);
});

test.serial('updateGroup sends the sizes only; the error names the group', async (t) => {
  await env.moto.reset();
  await seedGroup(env.raw, { name: 'mixed', desired: 1, max: 5, mixed: true });
  await env.cloud.autoscaling.updateGroup('mixed', { desired: 2, max: 6 });
  const g = await rawGroup('mixed');
  t.is(g?.DesiredCapacity, 2);
  t.is(g?.MaxSize, 6);
  await t.throwsAsync(env.cloud.autoscaling.updateGroup('nope', { desired: 1 }), {
    message: /updating desired of nope/,
  });
});

// moto's gap (DESIGN §4), kept apart from what AWS does: AWS leaves every property an
// UpdateAutoScalingGroup request omits as it is (UpdateAutoScalingGroup API reference; the sim does so,
// test/sim/distribution.test.ts), moto drops the MixedInstancesPolicy. spotmax does not work around it
// by re-sending the policy (that reverts concurrent edits and drops fields), so on moto a size change
// erases the policy. When this test fails, moto has closed the gap: delete it and the note in DESIGN §4.
test.serial(
  'moto gap: a size-only UpdateAutoScalingGroup erases the MixedInstancesPolicy (AWS keeps it)',
  async (t) => {
    await env.moto.reset();
    await seedGroup(env.raw, { name: 'mixed', desired: 1, max: 5, mixed: true });
    t.truthy((await rawGroup('mixed'))?.MixedInstancesPolicy);
    await env.cloud.autoscaling.updateGroup('mixed', { max: 6 });
    const g = await rawGroup('mixed');
    t.is(g?.MaxSize, 6);
    t.is(g?.MixedInstancesPolicy, undefined, 'moto, unlike AWS, dropped the policy');
  },
);

test.serial('attribute-based overrides (InstanceRequirements) are read', async (t) => {
  await env.moto.reset();
  await createLaunchTemplate(env.raw.ec2, 'abs-lt');
  await env.raw.autoscaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: 'abs',
      MinSize: 0,
      MaxSize: 4,
      DesiredCapacity: 0,
      AvailabilityZones: ['us-east-1a'],
      MixedInstancesPolicy: {
        LaunchTemplate: {
          LaunchTemplateSpecification: { LaunchTemplateName: 'abs-lt', Version: '$Latest' },
          Overrides: [{ InstanceRequirements: { VCpuCount: { Min: 2, Max: 8 }, MemoryMiB: { Min: 4096 } } }],
        },
        InstancesDistribution: { OnDemandPercentageAboveBaseCapacity: 0 },
      },
    }),
  );
  const [before] = await env.cloud.autoscaling.describeGroups(['abs']);
  t.deepEqual(before!.mixedInstancesPolicy?.overrides[0]?.instanceRequirements, {
    VCpuCount: { Min: 2, Max: 8 },
    MemoryMiB: { Min: 4096 },
  });
});

test.serial('group tags: put with propagateAtLaunch, overwrite, delete', async (t) => {
  await env.moto.reset();
  await seedGroup(env.raw, { name: 'web', desired: 0, tags: { keep: 'me' } });
  await env.cloud.autoscaling.putGroupTags('web', [
    { key: 'spotmax:group', value: 'web', propagateAtLaunch: true },
    { key: 'spotmax:standby_size', value: '2', propagateAtLaunch: false },
  ]);
  await env.cloud.autoscaling.putGroupTags('web', [
    { key: 'spotmax:standby_size', value: '3', propagateAtLaunch: false },
  ]);
  let [g] = await env.cloud.autoscaling.describeGroups(['web']);
  const tags = Object.fromEntries(g!.tags.map((x) => [x.key, x]));
  t.deepEqual(tags['spotmax:group'], { key: 'spotmax:group', value: 'web', propagateAtLaunch: true });
  t.is(tags['spotmax:standby_size']?.value, '3');
  t.is(tags.keep?.value, 'me');

  await env.cloud.autoscaling.deleteGroupTags('web', ['spotmax:standby_size']);
  [g] = await env.cloud.autoscaling.describeGroups(['web']);
  t.deepEqual(g!.tags.map((x) => x.key).sort(), ['keep', 'spotmax:group']);
});

test.serial('lifecycle hook heartbeat timeout and scaling activities are read', async (t) => {
  await env.moto.reset();
  await seedGroup(env.raw, { name: 'web', desired: 0 });
  await env.raw.autoscaling.send(
    new PutLifecycleHookCommand({
      AutoScalingGroupName: 'web',
      LifecycleHookName: 'drain',
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      HeartbeatTimeout: 240,
    }),
  );
  t.is(await env.cloud.autoscaling.describeHookHeartbeatSeconds('web', 'drain'), 240);
  t.is(await env.cloud.autoscaling.describeHookHeartbeatSeconds('web', 'other'), undefined);
  t.true(Array.isArray(await env.cloud.autoscaling.describeScalingActivities('web', 10)));
});

test.serial('every Auto Scaling action called is in the IAM permission list', (t) => {
  t.true(env.calls.keys().length > 0);
  t.deepEqual(unlistedPermissions(env.calls.keys()), []);
});
