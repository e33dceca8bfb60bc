import {
  type Tag as AsgTag,
  AttachInstancesCommand,
  type AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  type _InstanceType,
  CreateLaunchTemplateCommand,
  CreateVolumeCommand,
  DescribeImagesCommand,
  DescribeSubnetsCommand,
  type EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type AwsClients, createAwsClients } from '../../src/aws/clients.js';
import { createAwsCloud } from '../../src/aws/cloud.js';
import type { Tags } from '../../src/domain/types.js';
import type { Cloud } from '../../src/ports/cloud.js';
import { iamCheckedOnCall } from './iam-check.js';
import { TEST_CREDENTIALS, TEST_REGION } from './moto.js';

// Helpers that build AWS resources in moto through the raw SDK (not through spotmax's adapters, so a
// test of an adapter never depends on the adapter to set itself up). Moto gaps they work around:
// ASG-launched instances are never Spot (addSpotMembers launches Spot instances and attaches them),
// and groups placed by AvailabilityZones get no subnets (createGroup uses the default subnets).

/**
 * Raw SDK clients pointed at `endpoint`; `onCall` sees every command. One attempt by default, so a test
 * sees every answer; `maxAttempts` for observers that poll moto while other processes write to it.
 */
export function testClients(
  endpoint: string,
  onCall?: (service: string, command: string) => void,
  maxAttempts = 1,
): AwsClients {
  return createAwsClients({
    region: TEST_REGION,
    endpoint,
    credentials: TEST_CREDENTIALS,
    maxAttempts,
    onCall,
  });
}

/**
 * spotmax's AWS ports pointed at `endpoint`. Against a moto of the harness, every request is also
 * checked against the IAM policy when the test file ends (iam-check.ts).
 */
export function testCloud(endpoint: string, onCall?: (service: string, command: string) => void): Cloud {
  return createAwsCloud({
    region: TEST_REGION,
    endpoint,
    credentials: TEST_CREDENTIALS,
    onCall: iamCheckedOnCall(endpoint, TEST_REGION, onCall),
  });
}

const amiByClient = new WeakMap<EC2Client, Promise<string>>();

/** An AMI moto knows (moto refuses launches from unknown AMIs); looked up once per client. */
export function testAmi(ec2: EC2Client): Promise<string> {
  let ami = amiByClient.get(ec2);
  if (!ami) {
    ami = ec2.send(new DescribeImagesCommand({})).then((out) => {
      const id = out.Images?.find((i) => i.ImageId)?.ImageId;
      if (!id) throw new Error('moto lists no AMI');
      return id;
    });
    amiByClient.set(ec2, ami);
  }
  return ami;
}

/** The default subnet of each AZ of the region: `{ 'us-east-1a': 'subnet-…', … }`. */
export async function defaultSubnets(ec2: EC2Client): Promise<Record<string, string>> {
  const out = await ec2.send(
    new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }),
  );
  const byAz: Record<string, string> = {};
  for (const s of out.Subnets ?? [])
    if (s.AvailabilityZone && s.SubnetId) byAz[s.AvailabilityZone] = s.SubnetId;
  return byAz;
}

export interface LaunchTemplateOptions {
  instanceType?: string;
  /** Configures hibernation; with encryptedRoot, standbys can hibernate. */
  hibernation?: boolean;
  /** Adds an encrypted root EBS mapping (/dev/xvda). */
  encryptedRoot?: boolean;
}

/** Creates a launch template; returns its id and name. */
export async function createLaunchTemplate(
  ec2: EC2Client,
  name: string,
  opts: LaunchTemplateOptions = {},
): Promise<{ id: string; name: string }> {
  const out = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name,
      LaunchTemplateData: {
        ImageId: await testAmi(ec2),
        InstanceType: (opts.instanceType ?? 't3.micro') as _InstanceType,
        HibernationOptions: opts.hibernation ? { Configured: true } : undefined,
        BlockDeviceMappings: opts.encryptedRoot
          ? [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 8, VolumeType: 'gp3' } }]
          : undefined,
      },
    }),
  );
  return { id: out.LaunchTemplate?.LaunchTemplateId ?? '', name };
}

/** Creates a launch configuration (groups using one are unsuitable for spotmax). */
export async function createLaunchConfiguration(
  asg: AutoScalingClient,
  ec2: EC2Client,
  name: string,
): Promise<void> {
  await asg.send(
    new CreateLaunchConfigurationCommand({
      LaunchConfigurationName: name,
      ImageId: await testAmi(ec2),
      InstanceType: 't3.micro',
    }),
  );
}

export interface GroupSpec {
  name: string;
  /** Plain key/value (not propagated at launch) or full ASG tags. */
  tags?: Tags | { key: string; value: string; propagateAtLaunch: boolean }[];
  desired?: number;
  min?: number;
  max?: number;
  /** Launch template name; default `<name>-lt`, which must exist (see seedGroup). */
  launchTemplate?: string;
  /** Use this launch configuration instead of a template. */
  launchConfiguration?: string;
  /** A MixedInstancesPolicy around the template: all Spot, three instance types. */
  mixed?: boolean;
  /** Default ['us-east-1a']; the group uses the default subnet of each. */
  azs?: string[];
  /** Needed to find the default subnets; without it the group is placed by AvailabilityZones. */
  ec2?: EC2Client;
}

function asgTags(name: string, tags: GroupSpec['tags']): AsgTag[] {
  const list = Array.isArray(tags)
    ? tags
    : Object.entries(tags ?? {}).map(([key, value]) => ({ key, value, propagateAtLaunch: false }));
  return list.map((t) => ({
    ResourceId: name,
    ResourceType: 'auto-scaling-group',
    Key: t.key,
    Value: t.value,
    PropagateAtLaunch: t.propagateAtLaunch,
  }));
}

export const MIXED_INSTANCE_TYPES = ['t3.micro', 't3.small', 'm5.large'];

/** Creates an ASG. moto launches `desired` On-Demand members at once. */
export async function createGroup(asg: AutoScalingClient, spec: GroupSpec): Promise<void> {
  const azs = spec.azs ?? ['us-east-1a'];
  const subnets = spec.ec2 ? await defaultSubnets(spec.ec2) : undefined;
  const template = { LaunchTemplateName: spec.launchTemplate ?? `${spec.name}-lt`, Version: '$Latest' };
  await asg.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: spec.name,
      MinSize: spec.min ?? 0,
      MaxSize: spec.max ?? Math.max(10, spec.desired ?? 0),
      DesiredCapacity: spec.desired ?? 0,
      ...(spec.launchConfiguration
        ? { LaunchConfigurationName: spec.launchConfiguration }
        : spec.mixed
          ? {
              MixedInstancesPolicy: {
                LaunchTemplate: {
                  LaunchTemplateSpecification: template,
                  Overrides: MIXED_INSTANCE_TYPES.map((t) => ({ InstanceType: t })),
                },
                InstancesDistribution: {
                  OnDemandBaseCapacity: 0,
                  OnDemandPercentageAboveBaseCapacity: 0,
                  SpotAllocationStrategy: 'capacity-optimized',
                },
              },
            }
          : { LaunchTemplate: template }),
      ...(subnets
        ? {
            VPCZoneIdentifier: azs
              .map((az) => subnets[az] ?? '')
              .filter(Boolean)
              .join(','),
          }
        : { AvailabilityZones: azs }),
      Tags: asgTags(spec.name, spec.tags),
    }),
  );
}

/** Creates `<name>-lt` and the group in one go; returns the template. */
export async function seedGroup(
  clients: Pick<AwsClients, 'ec2' | 'autoscaling'>,
  spec: Omit<GroupSpec, 'ec2'>,
  template: LaunchTemplateOptions = {},
): Promise<{ id: string; name: string }> {
  const lt = spec.launchConfiguration
    ? { id: '', name: '' }
    : await createLaunchTemplate(clients.ec2, spec.launchTemplate ?? `${spec.name}-lt`, template);
  if (spec.launchConfiguration)
    await createLaunchConfiguration(clients.autoscaling, clients.ec2, spec.launchConfiguration);
  await createGroup(clients.autoscaling, { ...spec, ec2: clients.ec2 });
  return lt;
}

/** Launches instances from a template outside any group; `spot` sets Spot market options. */
export async function launchInstances(
  ec2: EC2Client,
  opts: { launchTemplate: string; n: number; spot?: boolean; az?: string; tags?: Tags },
): Promise<string[]> {
  const subnet = opts.az ? (await defaultSubnets(ec2))[opts.az] : undefined;
  const out = await ec2.send(
    new RunInstancesCommand({
      MinCount: opts.n,
      MaxCount: opts.n,
      LaunchTemplate: { LaunchTemplateName: opts.launchTemplate, Version: '$Latest' },
      SubnetId: subnet,
      InstanceMarketOptions: opts.spot
        ? { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time' } }
        : undefined,
      TagSpecifications: opts.tags
        ? [
            {
              ResourceType: 'instance',
              Tags: Object.entries(opts.tags).map(([Key, Value]) => ({ Key, Value })),
            },
          ]
        : undefined,
    }),
  );
  return (out.Instances ?? []).map((i) => i.InstanceId ?? '');
}

/**
 * Adds `n` Spot members to `group` (moto never launches Spot members itself): RunInstances with Spot
 * market options from the group's template, in its first AZ unless `az` is given, then AttachInstances,
 * which raises the group's desired capacity by `n`. Returns the new ids.
 */
export async function addSpotMembers(
  ec2: EC2Client,
  asg: AutoScalingClient,
  group: string,
  n: number,
  opts: { az?: string; tags?: Tags } = {},
): Promise<string[]> {
  const g = (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] })))
    .AutoScalingGroups?.[0];
  if (!g) throw new Error(`addSpotMembers: no group ${group}`);
  const lt = g.LaunchTemplate ?? g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  if (!lt?.LaunchTemplateName) throw new Error(`addSpotMembers: group ${group} has no launch template`);
  const az = opts.az ?? g.AvailabilityZones?.[0];
  const ids = await launchInstances(ec2, {
    launchTemplate: lt.LaunchTemplateName,
    n,
    spot: true,
    az,
    tags: opts.tags,
  });
  for (let i = 0; i < ids.length; i += 20) {
    await asg.send(
      new AttachInstancesCommand({ AutoScalingGroupName: group, InstanceIds: ids.slice(i, i + 20) }),
    );
  }
  return ids;
}

/** Creates an EBS volume (1 GiB unless told) in `az` with `tags`; returns its id. */
export async function createTestVolume(
  ec2: EC2Client,
  opts: { az: string; tags?: Tags; sizeGiB?: number },
): Promise<string> {
  const out = await ec2.send(
    new CreateVolumeCommand({
      AvailabilityZone: opts.az,
      Size: opts.sizeGiB ?? 1,
      TagSpecifications: opts.tags
        ? [
            {
              ResourceType: 'volume',
              Tags: Object.entries(opts.tags).map(([Key, Value]) => ({ Key, Value })),
            },
          ]
        : undefined,
    }),
  );
  return out.VolumeId ?? '';
}

/** Creates an SQS queue; returns its URL. */
export async function createTestQueue(
  sqs: SQSClient,
  name: string,
  visibilityTimeoutSeconds = 30,
): Promise<string> {
  const out = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { VisibilityTimeout: String(visibilityTimeoutSeconds) },
    }),
  );
  return out.QueueUrl ?? '';
}

/** Counts SDK commands as `service:Command`; pass `counter.onCall` to testCloud/testClients. */
export function callCounter() {
  const counts = new Map<string, number>();
  return {
    onCall: (service: string, command: string) => {
      const key = `${service}:${command}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
    get: (key: string) => counts.get(key) ?? 0,
    keys: () => [...counts.keys()],
    reset: () => counts.clear(),
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
  };
}
