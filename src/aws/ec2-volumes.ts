import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DeleteSnapshotCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  DetachVolumeCommand,
  type EC2Client,
  ModifyInstanceAttributeCommand,
  type VolumeType,
} from '@aws-sdk/client-ec2';
import { CloudError } from '../domain/errors.js';
import type { Instance, Snapshot, Tags, Volume } from '../domain/types.js';
import type { CreateVolumeSpec } from '../ports/ec2.js';
import { allPages } from './batch.js';
import { awsCall } from './call.js';
import { describeByIds } from './describe-by-ids.js';
import { tagSpec, toSnapshot, toVolume } from './ec2-shapes.js';

// EBS volumes and snapshots: the persistent volumes of a group and their backups.

const VOLUMES_PER_CALL = 500;

export async function describeVolumes(client: EC2Client, volumeIds: string[]): Promise<Volume[]> {
  return describeByIds({
    ids: volumeIds,
    batchSize: VOLUMES_PER_CALL,
    idPattern: /\bvol-[0-9a-f]+\b/g,
    fetch: (ids) =>
      allPages(
        (token) =>
          awsCall('ec2', 'DescribeVolumes', `describing ${ids.length} volumes`, () =>
            client.send(new DescribeVolumesCommand({ VolumeIds: ids, NextToken: token })),
          ),
        (page) => (page.Volumes ?? []).map(toVolume),
        (page) => page.NextToken,
      ),
  });
}

/**
 * Refuses an attach AWS would refuse (other AZ, volume in use) before sending it, with a message that
 * names both resources. Not every EC2 implementation enforces the AZ rule, and the planner relies on it.
 */
export async function attachVolume(
  client: EC2Client,
  describeInstance: (id: string) => Promise<Instance | undefined>,
  volumeId: string,
  instanceId: string,
  device: string,
): Promise<void> {
  const context = `attaching ${volumeId} to ${instanceId} as ${device}`;
  const [volume, instance] = await Promise.all([
    describeVolumes(client, [volumeId]).then((v) => v[0]),
    describeInstance(instanceId),
  ]);
  if (!volume)
    throw new CloudError(
      'AttachVolume',
      context,
      'InvalidVolume.NotFound',
      false,
      new Error(`volume ${volumeId} does not exist`),
    );
  if (!instance) {
    throw new CloudError(
      'AttachVolume',
      context,
      'InvalidInstanceID.NotFound',
      false,
      new Error(`instance ${instanceId} does not exist`),
    );
  }
  if (volume.availabilityZone !== instance.availabilityZone) {
    throw new CloudError(
      'AttachVolume',
      context,
      'InvalidVolume.ZoneMismatch',
      false,
      new Error(
        `volume ${volumeId} is in ${volume.availabilityZone}, instance ${instanceId} in ${instance.availabilityZone}`,
      ),
    );
  }
  const attachedTo = volume.attachments.find((a) => a.state !== 'detached');
  if (attachedTo?.instanceId === instanceId) return;
  if (attachedTo || volume.state !== 'available') {
    throw new CloudError(
      'AttachVolume',
      context,
      'VolumeInUse',
      false,
      new Error(
        `volume ${volumeId} is ${volume.state}${attachedTo ? `, attached to ${attachedTo.instanceId}` : ''}`,
      ),
    );
  }
  await awsCall('ec2', 'AttachVolume', context, () =>
    client.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: device })),
  );
}

export async function detachVolume(client: EC2Client, volumeId: string, instanceId: string): Promise<void> {
  await awsCall('ec2', 'DetachVolume', `detaching ${volumeId} from ${instanceId}`, () =>
    client.send(new DetachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId })),
  );
}

export async function createVolume(client: EC2Client, req: CreateVolumeSpec): Promise<Volume> {
  const from = req.snapshotId ? `from ${req.snapshotId}` : `of ${req.sizeGiB ?? '?'} GiB`;
  const context = `creating a volume ${from} in ${req.availabilityZone}`;
  if (!req.snapshotId && !req.sizeGiB) {
    throw new CloudError(
      'CreateVolume',
      context,
      'InvalidParameter',
      false,
      new Error('a size or a snapshot is required'),
    );
  }
  const out = await awsCall('ec2', 'CreateVolume', context, () =>
    client.send(
      new CreateVolumeCommand({
        AvailabilityZone: req.availabilityZone,
        SnapshotId: req.snapshotId,
        Size: req.sizeGiB,
        VolumeType: (req.volumeType ?? 'gp3') as VolumeType,
        // CreateVolume API reference: Iops only for io1/io2/gp3, Throughput only for gp3; a volume from
        // an encrypted snapshot is encrypted, with the snapshot's key unless KmsKeyId names another.
        Iops: req.iops,
        Throughput: req.throughput,
        Encrypted: req.encrypted || undefined,
        KmsKeyId: req.kmsKeyId,
        TagSpecifications: tagSpec('volume', req.tags),
      }),
    ),
  );
  return toVolume({
    ...out,
    Tags: out.Tags ?? Object.entries(req.tags).map(([Key, Value]) => ({ Key, Value })),
  });
}

/**
 * ModifyInstanceAttribute with one BlockDeviceMappings entry: "Modifies the DeleteOnTermination attribute
 * for volumes that are currently attached" (ModifyInstanceAttribute API reference). Works on a running
 * instance, Spot included.
 */
export async function setDeleteOnTermination(
  client: EC2Client,
  instanceId: string,
  device: string,
  deleteOnTermination: boolean,
): Promise<void> {
  await awsCall(
    'ec2',
    'ModifyInstanceAttribute',
    `setting DeleteOnTermination=${deleteOnTermination} for ${device} of ${instanceId}`,
    () =>
      client.send(
        new ModifyInstanceAttributeCommand({
          InstanceId: instanceId,
          BlockDeviceMappings: [{ DeviceName: device, Ebs: { DeleteOnTermination: deleteOnTermination } }],
        }),
      ),
  );
}

export async function createSnapshot(client: EC2Client, volumeId: string, tags: Tags): Promise<Snapshot> {
  const out = await awsCall('ec2', 'CreateSnapshot', `snapshotting ${volumeId}`, () =>
    client.send(
      new CreateSnapshotCommand({ VolumeId: volumeId, TagSpecifications: tagSpec('snapshot', tags) }),
    ),
  );
  return toSnapshot({
    ...out,
    Tags: out.Tags?.length ? out.Tags : Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  });
}

export async function describeSnapshots(client: EC2Client, filterTags: Tags): Promise<Snapshot[]> {
  const filters = Object.entries(filterTags).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] }));
  const what = Object.entries(filterTags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return allPages(
    (token) =>
      awsCall('ec2', 'DescribeSnapshots', `listing snapshots tagged ${what}`, () =>
        client.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: filters, NextToken: token })),
      ),
    (page) => (page.Snapshots ?? []).map(toSnapshot),
    (page) => page.NextToken,
  );
}

export async function deleteSnapshot(client: EC2Client, snapshotId: string): Promise<void> {
  await awsCall('ec2', 'DeleteSnapshot', `deleting snapshot ${snapshotId}`, () =>
    client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })),
  );
}
