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
}

export interface LaunchTemplateVersionInfo {
  id: string;
  name?: string;
  version: number;
  isDefault: boolean;
  isLatest: boolean;
  /** True when the template configures hibernation and an encrypted root volume. */
  hibernationReady: boolean;
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
}
