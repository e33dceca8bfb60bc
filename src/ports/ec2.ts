import type { Instance, LaunchTemplateRef, Snapshot, Tags, Volume } from '../domain/types.js';

export interface RunFromTemplateRequest {
  launchTemplate: LaunchTemplateRef;
  instanceType?: string;
  subnetId?: string;
  availabilityZone?: string;
  market: 'spot' | 'on-demand';
  hibernate?: boolean;
  tags: Tags;
  count?: number;
  /** Idempotency token: a retried launch with the same token launches nothing new. */
  clientToken?: string;
  /**
   * The network interfaces to launch with, replacing the template's (the subnet goes in the first one
   * when the template defines NetworkInterfaces: RunInstances refuses a top-level SubnetId then, with
   * InvalidParameterCombination). Built by plan/standby-launch.ts from the template's own list.
   */
  networkInterfaces?: NetworkInterfaceSpec[];
  /**
   * The template asks for Spot (InstanceMarketOptions) and this launch must be On-Demand: RunInstances
   * has no On-Demand market type to override it with, so the template's data is sent without the
   * template and without its market options.
   */
  dropTemplateMarket?: boolean;
}

/** One network interface as the launch template / RunInstances API spell it (kept opaque beyond these). */
export interface NetworkInterfaceSpec {
  DeviceIndex?: number;
  SubnetId?: string;
  [field: string]: unknown;
}

/** One EBS mapping of a template or an image, as far as hibernation cares. */
export interface BlockDeviceInfo {
  deviceName: string;
  encrypted?: boolean;
  sizeGiB?: number;
  /** An image's mapping: the snapshot its volume is created from. */
  snapshotId?: string;
}

export interface ImageInfo {
  imageId: string;
  /** available, pending, deregistered, ... (DescribeImages lists a deregistered image for a while). */
  state: string;
  /** The device the root volume is at (DescribeImages RootDeviceName): the only reliable way to find it. */
  rootDeviceName?: string;
  rootDeviceType?: string;
  architecture?: string;
  blockDevices: BlockDeviceInfo[];
}

export interface InstanceTypeInfo {
  instanceType: string;
  memoryMiB: number;
  vcpus: number;
  architectures: string[];
  hibernationSupported: boolean;
}

/** What GetInstanceTypesFromInstanceRequirements needs besides the requirements themselves. */
export interface InstanceRequirementsQuery {
  architectureTypes: string[];
  virtualizationTypes: string[];
  /** The API's InstanceRequirements (kept opaque, as the group or template reports it). */
  instanceRequirements: Record<string, unknown>;
}

export interface InstanceStatusInfo {
  instanceId: string;
  /** ok, impaired, initializing, insufficient-data, not-applicable */
  instanceStatus: string;
  systemStatus: string;
}

export interface LaunchTemplateVersionInfo {
  id: string;
  name?: string;
  version: number;
  isDefault: boolean;
  isLatest: boolean;
  /** True when the template configures hibernation and an encrypted root volume. */
  hibernationReady: boolean;
  /** The template's AMI (may be `resolve:ssm:...`), instance type and attribute-based selection. */
  imageId?: string;
  instanceType?: string;
  instanceRequirements?: Record<string, unknown>;
  /** InstanceMarketOptions asks for Spot: a standby launched from it must drop that. */
  spotMarket?: boolean;
  /** The template's NetworkInterfaces: a launch into a subnet puts it in the first one. */
  networkInterfaces?: NetworkInterfaceSpec[];
  hibernationConfigured?: boolean;
  blockDevices?: BlockDeviceInfo[];
}

/** A new EBS volume; a copy from a snapshot keeps the original's type, performance and encryption key. */
export interface CreateVolumeSpec {
  availabilityZone: string;
  snapshotId?: string;
  sizeGiB?: number;
  volumeType?: string;
  iops?: number;
  throughput?: number;
  encrypted?: boolean;
  kmsKeyId?: string;
  tags: Tags;
}

/** The EC2 calls spotmax makes, and only those. */
export interface Ec2Port {
  /**
   * Follows NextToken always (MaxResults counts reservations in some implementations). Ids that do
   * not exist (any more) are left out of the result, not an error: one vanished instance must not hide
   * the others. The AWS adapter does so; the simulator should too.
   */
  describeInstances(instanceIds: string[]): Promise<Instance[]>;
  createTags(resourceIds: string[], tags: Tags): Promise<void>;
  deleteTags(resourceIds: string[], keys: string[]): Promise<void>;
  runInstances(req: RunFromTemplateRequest): Promise<Instance[]>;
  startInstances(instanceIds: string[]): Promise<void>;
  stopInstances(instanceIds: string[], hibernate: boolean): Promise<void>;
  terminateInstances(instanceIds: string[]): Promise<void>;
  describeVolumes(volumeIds: string[]): Promise<Volume[]>;
  attachVolume(volumeId: string, instanceId: string, device: string): Promise<void>;
  /** The instance is required (some implementations refuse a detach without it). */
  detachVolume(volumeId: string, instanceId: string): Promise<void>;
  createVolume(req: CreateVolumeSpec): Promise<Volume>;
  /**
   * ModifyInstanceAttribute BlockDeviceMappings: whether EC2 deletes the volume at `device` with the
   * instance. Mappings given at launch default to true, so an adopted persistent volume is set to false.
   */
  setDeleteOnTermination(instanceId: string, device: string, deleteOnTermination: boolean): Promise<void>;
  createSnapshot(volumeId: string, tags: Tags): Promise<Snapshot>;
  describeSnapshots(filterTags: Tags): Promise<Snapshot[]>;
  deleteSnapshot(snapshotId: string): Promise<void>;
  describeLaunchTemplateVersion(ref: LaunchTemplateRef): Promise<LaunchTemplateVersionInfo>;
  /** Ids EC2 does not know (any more) are left out, like describeInstances. */
  describeImages(imageIds: string[]): Promise<ImageInfo[]>;
  describeInstanceTypes(instanceTypes: string[]): Promise<InstanceTypeInfo[]>;
  getInstanceTypesFromInstanceRequirements(query: InstanceRequirementsQuery): Promise<string[]>;
  /** Status checks of running instances (DescribeInstanceStatus); others are left out. */
  describeInstanceStatus(instanceIds: string[]): Promise<InstanceStatusInfo[]>;
  /**
   * Ids of the instances (not terminated) carrying tag `key`, through DescribeInstances' tag-key filter:
   * authoritative, where the Resource Groups Tagging API is eventually consistent and can list deleted
   * resources. Terminated instances are left out unless `terminated` asks for them (they stay visible
   * for about an hour: TerminateInstances API reference).
   */
  findInstanceIdsByTag(key: string, where?: TagValues, opts?: { terminated?: boolean }): Promise<string[]>;
  /** Ids of the volumes carrying tag `key` (DescribeVolumes' tag-key filter), for the same reason. */
  findVolumeIdsByTag(key: string, where?: TagValues): Promise<string[]>;
}

/**
 * Narrows a tag lookup (`tag:<key>` filters, all of them): only resources whose tag `key` has one of
 * the values, compared literally. A one-group pass reads its group's standbys and volumes this way, not
 * the region's.
 */
export type TagValues = Record<string, readonly string[]>;
