import {
  type _InstanceType,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  type EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Instance, LaunchTemplateRef, Snapshot, Tags, Volume } from '../domain/types.js';
import type {
  CreateVolumeSpec,
  Ec2Port,
  ImageInfo,
  InstanceRequirementsQuery,
  InstanceStatusInfo,
  InstanceTypeInfo,
  LaunchTemplateVersionInfo,
  RunFromTemplateRequest,
  TagValues,
} from '../ports/ec2.js';
import { fromTemplateRef } from './asg-shapes.js';
import { allPages, chunks } from './batch.js';
import { awsCall } from './call.js';
import { describeByIds } from './describe-by-ids.js';
import { LaunchTemplateReader, mergeTagSpecifications, templateDataLaunch } from './ec2-launch-templates.js';
import { fromTags, tagSpec, toInstance } from './ec2-shapes.js';
import * as reads from './ec2-standby-reads.js';
import * as volumes from './ec2-volumes.js';

/** Ids per DescribeInstances call: 2,000 instances take two calls. */
export const INSTANCES_PER_DESCRIBE = 1000;
/** Ids per CreateTags/DeleteTags/Start/Stop/Terminate call. */
const IDS_PER_MUTATION = 1000;

function list(ids: string[]): string {
  return ids.length <= 5 ? ids.join(', ') : `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more`;
}

export class AwsEc2 implements Ec2Port {
  private readonly templates: LaunchTemplateReader;

  constructor(private readonly client: EC2Client) {
    this.templates = new LaunchTemplateReader(client);
  }

  async describeInstances(instanceIds: string[]): Promise<Instance[]> {
    return describeByIds({
      ids: instanceIds,
      batchSize: INSTANCES_PER_DESCRIBE,
      idPattern: /\bi-[0-9a-f]+\b/g,
      // Always follow NextToken: some implementations page by reservation even when ids are given.
      fetch: (ids) =>
        allPages(
          (token) =>
            awsCall('ec2', 'DescribeInstances', `describing ${ids.length} instances`, () =>
              this.client.send(new DescribeInstancesCommand({ InstanceIds: ids, NextToken: token })),
            ),
          (page) => (page.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map(toInstance)),
          (page) => page.NextToken,
        ),
    });
  }

  async createTags(resourceIds: string[], tags: Tags): Promise<void> {
    if (resourceIds.length === 0 || Object.keys(tags).length === 0) return;
    for (const batch of chunks(resourceIds, IDS_PER_MUTATION)) {
      await awsCall('ec2', 'CreateTags', `tagging ${list(batch)} with ${Object.keys(tags).join(', ')}`, () =>
        this.client.send(new CreateTagsCommand({ Resources: batch, Tags: fromTags(tags) })),
      );
    }
  }

  async deleteTags(resourceIds: string[], keys: string[]): Promise<void> {
    if (resourceIds.length === 0 || keys.length === 0) return;
    for (const batch of chunks(resourceIds, IDS_PER_MUTATION)) {
      await awsCall('ec2', 'DeleteTags', `removing tags ${keys.join(', ')} from ${list(batch)}`, () =>
        this.client.send(new DeleteTagsCommand({ Resources: batch, Tags: keys.map((Key) => ({ Key })) })),
      );
    }
  }

  async runInstances(req: RunFromTemplateRequest): Promise<Instance[]> {
    const count = req.count ?? 1;
    const template = req.launchTemplate.name ?? req.launchTemplate.id;
    const context = `launching ${count} ${req.market} instance(s) from ${template}${req.dropTemplateMarket ? "'s data (its Spot market options dropped)" : ''}${req.instanceType ? ` as ${req.instanceType}` : ''}`;
    // Only the instance: tagging root volumes with spotmax:group would make them look persistent.
    const ours = tagSpec('instance', req.tags);
    const source: Partial<RunInstancesCommandInput> = req.dropTemplateMarket
      ? await this.templates.data(req.launchTemplate).then(templateDataLaunch)
      : { LaunchTemplate: fromTemplateRef(req.launchTemplate) };
    const input: RunInstancesCommandInput = {
      ...source,
      MinCount: count,
      MaxCount: count,
      ...(req.instanceType ? { InstanceType: req.instanceType as _InstanceType } : {}),
      ...(req.subnetId ? { SubnetId: req.subnetId } : {}),
      ...(req.networkInterfaces
        ? { NetworkInterfaces: req.networkInterfaces as RunInstancesCommandInput['NetworkInterfaces'] }
        : {}),
      ...(!req.subnetId && !req.networkInterfaces && req.availabilityZone
        ? { Placement: { ...source.Placement, AvailabilityZone: req.availabilityZone } }
        : {}),
      ...(req.market === 'spot'
        ? {
            InstanceMarketOptions: {
              MarketType: 'spot',
              SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' },
            },
          }
        : {}),
      ...(req.hibernate ? { HibernationOptions: { Configured: true } } : {}),
      TagSpecifications: req.dropTemplateMarket
        ? mergeTagSpecifications(source.TagSpecifications, ours)
        : ours,
      ClientToken: req.clientToken,
    };
    if (req.networkInterfaces) {
      // Interfaces given: security groups belong inside them, not beside (InvalidParameterCombination).
      delete input.SecurityGroupIds;
      delete input.SecurityGroups;
    }
    const out = await awsCall('ec2', 'RunInstances', context, () =>
      this.client.send(new RunInstancesCommand(input)),
    );
    return (out.Instances ?? []).map(toInstance);
  }

  async startInstances(instanceIds: string[]): Promise<void> {
    for (const batch of chunks(instanceIds, IDS_PER_MUTATION)) {
      await awsCall('ec2', 'StartInstances', `starting ${list(batch)}`, () =>
        this.client.send(new StartInstancesCommand({ InstanceIds: batch })),
      );
    }
  }

  async stopInstances(instanceIds: string[], hibernate: boolean): Promise<void> {
    for (const batch of chunks(instanceIds, IDS_PER_MUTATION)) {
      await awsCall('ec2', 'StopInstances', `${hibernate ? 'hibernating' : 'stopping'} ${list(batch)}`, () =>
        this.client.send(new StopInstancesCommand({ InstanceIds: batch, Hibernate: hibernate || undefined })),
      );
    }
  }

  async terminateInstances(instanceIds: string[]): Promise<void> {
    for (const batch of chunks(instanceIds, IDS_PER_MUTATION)) {
      await awsCall('ec2', 'TerminateInstances', `terminating ${list(batch)}`, () =>
        this.client.send(new TerminateInstancesCommand({ InstanceIds: batch })),
      );
    }
  }

  describeVolumes(volumeIds: string[]): Promise<Volume[]> {
    return volumes.describeVolumes(this.client, volumeIds);
  }

  attachVolume(volumeId: string, instanceId: string, device: string): Promise<void> {
    const one = async (id: string) => (await this.describeInstances([id]))[0];
    return volumes.attachVolume(this.client, one, volumeId, instanceId, device);
  }

  detachVolume(volumeId: string, instanceId: string): Promise<void> {
    return volumes.detachVolume(this.client, volumeId, instanceId);
  }

  createVolume(req: CreateVolumeSpec): Promise<Volume> {
    return volumes.createVolume(this.client, req);
  }

  setDeleteOnTermination(instanceId: string, device: string, deleteOnTermination: boolean): Promise<void> {
    return volumes.setDeleteOnTermination(this.client, instanceId, device, deleteOnTermination);
  }

  createSnapshot(volumeId: string, tags: Tags): Promise<Snapshot> {
    return volumes.createSnapshot(this.client, volumeId, tags);
  }

  describeSnapshots(filterTags: Tags): Promise<Snapshot[]> {
    return volumes.describeSnapshots(this.client, filterTags);
  }

  deleteSnapshot(snapshotId: string): Promise<void> {
    return volumes.deleteSnapshot(this.client, snapshotId);
  }

  describeLaunchTemplateVersion(ref: LaunchTemplateRef): Promise<LaunchTemplateVersionInfo> {
    return this.templates.describe(ref);
  }

  describeImages(imageIds: string[]): Promise<ImageInfo[]> {
    return reads.describeImages(this.client, imageIds);
  }

  describeInstanceTypes(instanceTypes: string[]): Promise<InstanceTypeInfo[]> {
    return reads.describeInstanceTypes(this.client, instanceTypes);
  }

  getInstanceTypesFromInstanceRequirements(query: InstanceRequirementsQuery): Promise<string[]> {
    return reads.getInstanceTypesFromInstanceRequirements(this.client, query);
  }

  describeInstanceStatus(instanceIds: string[]): Promise<InstanceStatusInfo[]> {
    return reads.describeInstanceStatus(this.client, instanceIds);
  }

  findInstanceIdsByTag(key: string, where?: TagValues, opts?: { terminated?: boolean }): Promise<string[]> {
    return reads.findInstanceIdsByTag(this.client, key, where, opts);
  }

  findVolumeIdsByTag(key: string, where?: TagValues): Promise<string[]> {
    return reads.findVolumeIdsByTag(this.client, key, where);
  }
}
