import type {
  ResourceType,
  Instance as SdkInstance,
  Snapshot as SdkSnapshot,
  Volume as SdkVolume,
  Tag,
  TagSpecification,
} from '@aws-sdk/client-ec2';
import type { Instance, InstanceState, Snapshot, Tags, Volume } from '../domain/types.js';

// Translation from EC2 SDK shapes to the domain types.

/** EC2 stamps these on instances launched from a template; DescribeInstances has no other field for it. */
const LT_ID_TAG = 'aws:ec2launchtemplate:id';
const LT_VERSION_TAG = 'aws:ec2launchtemplate:version';

export function toTags(tags: Tag[] | undefined): Tags {
  const out: Tags = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

export function fromTags(tags: Tags): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function tagSpec(resourceType: ResourceType, tags: Tags): TagSpecification[] | undefined {
  return Object.keys(tags).length ? [{ ResourceType: resourceType, Tags: fromTags(tags) }] : undefined;
}

export function toInstance(i: SdkInstance): Instance {
  const tags = toTags(i.Tags);
  const ltId = tags[LT_ID_TAG];
  return {
    instanceId: i.InstanceId ?? '',
    state: (i.State?.Name ?? 'pending') as InstanceState,
    market: i.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand',
    instanceType: i.InstanceType ?? 'unknown',
    availabilityZone: i.Placement?.AvailabilityZone ?? '',
    subnetId: i.SubnetId,
    privateIp: i.PrivateIpAddress,
    privateDnsName: i.PrivateDnsName,
    launchTime: i.LaunchTime ?? new Date(0),
    tags,
    launchTemplate: ltId ? { id: ltId, version: tags[LT_VERSION_TAG] } : undefined,
    hibernationConfigured: i.HibernationOptions?.Configured ?? false,
    imageId: i.ImageId,
    blockDevices: (i.BlockDeviceMappings ?? []).flatMap((m) =>
      m.Ebs?.VolumeId && m.DeviceName
        ? [
            {
              device: m.DeviceName,
              volumeId: m.Ebs.VolumeId,
              deleteOnTermination: m.Ebs.DeleteOnTermination ?? false,
              status: m.Ebs.Status,
            },
          ]
        : [],
    ),
  };
}

export function toVolume(v: SdkVolume): Volume {
  return {
    volumeId: v.VolumeId ?? '',
    availabilityZone: v.AvailabilityZone ?? '',
    state: v.State ?? 'unknown',
    sizeGiB: v.Size ?? 0,
    volumeType: v.VolumeType,
    iops: v.Iops,
    throughput: v.Throughput,
    encrypted: v.Encrypted,
    kmsKeyId: v.KmsKeyId,
    snapshotId: v.SnapshotId || undefined,
    createTime: v.CreateTime,
    attachments: (v.Attachments ?? []).map((a) => ({
      instanceId: a.InstanceId ?? '',
      device: a.Device ?? '',
      state: a.State ?? 'unknown',
      deleteOnTermination: a.DeleteOnTermination,
    })),
    tags: toTags(v.Tags),
  };
}

export function toSnapshot(s: SdkSnapshot): Snapshot {
  return {
    snapshotId: s.SnapshotId ?? '',
    volumeId: s.VolumeId ?? '',
    state: s.State ?? 'unknown',
    startTime: s.StartTime ?? new Date(0),
    tags: toTags(s.Tags),
  };
}
