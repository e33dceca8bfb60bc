import {
  type _InstanceType,
  type ArchitectureType,
  DescribeImagesCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeVolumesCommand,
  type EC2Client,
  GetInstanceTypesFromInstanceRequirementsCommand,
  type Image,
  type InstanceRequirementsRequest,
  type VirtualizationType,
} from '@aws-sdk/client-ec2';
import type {
  ImageInfo,
  InstanceRequirementsQuery,
  InstanceStatusInfo,
  InstanceTypeInfo,
  TagValues,
} from '../ports/ec2.js';
import { allPages } from './batch.js';
import { awsCall } from './call.js';
import { describeByIds } from './describe-by-ids.js';

// The EC2 reads standbys need beyond DescribeInstances: images (root device, deregistration), instance
// types (memory, hibernation support), attribute-based type selection, status checks, and the tag-key
// filters that find standbys and volumes authoritatively.

function toImage(i: Image): ImageInfo {
  return {
    imageId: i.ImageId ?? '',
    state: i.State ?? 'unknown',
    ...(i.RootDeviceName ? { rootDeviceName: i.RootDeviceName } : {}),
    ...(i.RootDeviceType ? { rootDeviceType: i.RootDeviceType } : {}),
    ...(i.Architecture ? { architecture: i.Architecture } : {}),
    blockDevices: (i.BlockDeviceMappings ?? [])
      .filter((m) => m.DeviceName && m.Ebs)
      .map((m) => ({
        deviceName: m.DeviceName!,
        ...(m.Ebs?.Encrypted !== undefined ? { encrypted: m.Ebs.Encrypted } : {}),
        ...(m.Ebs?.VolumeSize !== undefined ? { sizeGiB: m.Ebs.VolumeSize } : {}),
        ...(m.Ebs?.SnapshotId ? { snapshotId: m.Ebs.SnapshotId } : {}),
      })),
  };
}

/** DescribeImages; unknown ids are dropped (InvalidAMIID.NotFound names them). */
export function describeImages(client: EC2Client, imageIds: string[]): Promise<ImageInfo[]> {
  // resolve:ssm: names are not image ids: DescribeImages would refuse them.
  const ids = imageIds.filter((id) => id.startsWith('ami-'));
  return describeByIds({
    ids,
    batchSize: 200,
    idPattern: /\bami-[0-9a-f]+\b/g,
    fetch: (batch) =>
      awsCall('ec2', 'DescribeImages', `describing images ${batch.join(', ')}`, () =>
        // "Deregistered images are included in the returned results for an unspecified interval after
        // deregistration" (DescribeImages API reference): state tells them apart; later they are gone.
        client.send(new DescribeImagesCommand({ ImageIds: batch, IncludeDeprecated: true })),
      ).then((out) => (out.Images ?? []).map(toImage)),
  });
}

/** DescribeInstanceTypes (at most 100 types a call); unknown types are dropped. */
export function describeInstanceTypes(client: EC2Client, types: string[]): Promise<InstanceTypeInfo[]> {
  return describeByIds({
    ids: types,
    batchSize: 100,
    idPattern: /\b[a-z][a-z0-9-]*\.[a-z0-9]+\b/g,
    fetch: (batch) =>
      allPages(
        (token) =>
          awsCall('ec2', 'DescribeInstanceTypes', `describing instance types ${batch.join(', ')}`, () =>
            client.send(
              new DescribeInstanceTypesCommand({ InstanceTypes: batch as _InstanceType[], NextToken: token }),
            ),
          ),
        (page) =>
          (page.InstanceTypes ?? []).map((t) => ({
            instanceType: t.InstanceType ?? '',
            memoryMiB: t.MemoryInfo?.SizeInMiB ?? 0,
            vcpus: t.VCpuInfo?.DefaultVCpus ?? 0,
            architectures: t.ProcessorInfo?.SupportedArchitectures ?? [],
            hibernationSupported: t.HibernationSupported ?? false,
          })),
        (page) => page.NextToken,
      ),
  });
}

/**
 * GetInstanceTypesFromInstanceRequirements: the concrete types an attribute-based group may launch
 * (RunInstances takes an InstanceType, never InstanceRequirements).
 */
export function getInstanceTypesFromInstanceRequirements(
  client: EC2Client,
  query: InstanceRequirementsQuery,
): Promise<string[]> {
  return allPages(
    (token) =>
      awsCall(
        'ec2',
        'GetInstanceTypesFromInstanceRequirements',
        `listing instance types for ${JSON.stringify(query.instanceRequirements).slice(0, 120)}`,
        () =>
          client.send(
            new GetInstanceTypesFromInstanceRequirementsCommand({
              ArchitectureTypes: query.architectureTypes as ArchitectureType[],
              VirtualizationTypes: query.virtualizationTypes as VirtualizationType[],
              InstanceRequirements: query.instanceRequirements as unknown as InstanceRequirementsRequest,
              NextToken: token,
            }),
          ),
      ),
    (page) => (page.InstanceTypes ?? []).map((t) => t.InstanceType ?? '').filter((t) => t !== ''),
    (page) => page.NextToken,
  );
}

/** DescribeInstanceStatus of running instances (IncludeAllInstances false: others are not listed). */
export function describeInstanceStatus(client: EC2Client, ids: string[]): Promise<InstanceStatusInfo[]> {
  return describeByIds({
    ids,
    batchSize: 100,
    idPattern: /\bi-[0-9a-f]+\b/g,
    fetch: (batch) =>
      allPages(
        (token) =>
          awsCall(
            'ec2',
            'DescribeInstanceStatus',
            `reading status checks of ${batch.length} instance(s)`,
            () => client.send(new DescribeInstanceStatusCommand({ InstanceIds: batch, NextToken: token })),
          ),
        (page) =>
          (page.InstanceStatuses ?? []).map((s) => ({
            instanceId: s.InstanceId ?? '',
            instanceStatus: s.InstanceStatus?.Status ?? 'insufficient-data',
            systemStatus: s.SystemStatus?.Status ?? 'insufficient-data',
          })),
        (page) => page.NextToken,
      ),
  });
}

/**
 * `tag:<key>` filters for `where`: "tag:<key> - The key/value combination of a tag assigned to the
 * resource" (DescribeInstances / DescribeVolumes API reference, Filters); a resource must match every
 * filter and one of each filter's values. Filter values take wildcards (`*`, `?`) and "use a backslash
 * to escape special characters" (EC2 API reference, Filter): group names are escaped so that a name
 * holding `*` or `?` matches itself only.
 */
export function tagValueFilters(where: TagValues | undefined): { Name: string; Values: string[] }[] {
  return Object.entries(where ?? {}).map(([key, values]) => ({
    Name: `tag:${key}`,
    Values: values.map((v) => v.replace(/[\\*?]/g, (c) => `\\${c}`)),
  }));
}

/**
 * Ids of instances carrying `key`, by DescribeInstances' `tag-key` filter (terminated ones only on request).
 * "tag-key - The key of a tag assigned to the resource" (DescribeInstances API reference, Filters).
 */
export function findInstanceIdsByTag(
  client: EC2Client,
  key: string,
  where?: TagValues,
  opts?: { terminated?: boolean },
): Promise<string[]> {
  return allPages(
    (token) =>
      awsCall('ec2', 'DescribeInstances', `finding instances tagged ${key}`, () =>
        client.send(
          new DescribeInstancesCommand({
            Filters: [
              { Name: 'tag-key', Values: [key] },
              ...tagValueFilters(where),
              {
                Name: 'instance-state-name',
                Values: [
                  'pending',
                  'running',
                  'stopping',
                  'stopped',
                  'shutting-down',
                  ...(opts?.terminated ? ['terminated'] : []),
                ],
              },
            ],
            MaxResults: 1000,
            NextToken: token,
          }),
        ),
      ),
    (page) => (page.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId ?? '')),
    (page) => page.NextToken,
  ).then((ids) => ids.filter((id) => id !== ''));
}

/** Ids of volumes carrying `key`, by DescribeVolumes' `tag-key` filter. */
export function findVolumeIdsByTag(client: EC2Client, key: string, where?: TagValues): Promise<string[]> {
  return allPages(
    (token) =>
      awsCall('ec2', 'DescribeVolumes', `finding volumes tagged ${key}`, () =>
        client.send(
          new DescribeVolumesCommand({
            Filters: [{ Name: 'tag-key', Values: [key] }, ...tagValueFilters(where)],
            MaxResults: 500,
            NextToken: token,
          }),
        ),
      ),
    (page) => (page.Volumes ?? []).map((v) => v.VolumeId ?? ''),
    (page) => page.NextToken,
  ).then((ids) => ids.filter((id) => id !== ''));
}
