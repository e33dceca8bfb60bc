// Plain data the core works on. Adapters (aws/, sim/) translate SDK shapes into these, so the
// planners and controllers never see an SDK type.

export type Tags = Record<string, string>;

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
export type Market = 'spot' | 'on-demand';

export interface LaunchTemplateRef {
  id?: string;
  name?: string;
  /** '$Latest', '$Default' or a number as a string, as the ASG API reports it. */
  version?: string;
}

/** The ASG's MixedInstancesPolicy, kept whole: UpdateAutoScalingGroup must always receive all of it. */
export interface MixedInstancesPolicy {
  launchTemplate: LaunchTemplateRef;
  overrides: {
    instanceType?: string;
    weightedCapacity?: string;
    launchTemplate?: LaunchTemplateRef;
    /** Attribute-based selection, kept opaque (the API's InstanceRequirements) so an update sends it back. */
    instanceRequirements?: Record<string, unknown>;
  }[];
  instancesDistribution: {
    onDemandAllocationStrategy?: string;
    onDemandBaseCapacity?: number;
    onDemandPercentageAboveBaseCapacity?: number;
    spotAllocationStrategy?: string;
    spotInstancePools?: number;
    spotMaxPrice?: string;
  };
}

export interface AsgMember {
  instanceId: string;
  availabilityZone: string;
  /** InService, Pending, Terminating, Detaching, Standby, ... as the ASG API reports it. */
  lifecycleState: string;
  healthStatus: string;
  instanceType?: string;
  launchTemplate?: LaunchTemplateRef;
  protectedFromScaleIn?: boolean;
  /**
   * Capacity units this member counts for (the override's WeightedCapacity, or its vCPUs / MiB with a
   * DesiredCapacityType other than units); undefined = 1. Desired, min and max are in these units.
   */
  weightedCapacity?: number;
}

export interface GroupTag {
  key: string;
  value: string;
  propagateAtLaunch: boolean;
}

export interface Group {
  name: string;
  arn?: string;
  desired: number;
  min: number;
  max: number;
  launchTemplate?: LaunchTemplateRef;
  launchConfigurationName?: string;
  mixedInstancesPolicy?: MixedInstancesPolicy;
  availabilityZones: string[];
  subnetIds: string[];
  tags: GroupTag[];
  members: AsgMember[];
  createdTime?: Date;
  /** Capacity Rebalancing on: the ASG itself replaces an instance that gets a rebalance recommendation. */
  capacityRebalance?: boolean;
  /** Suspended scaling processes (Launch, Terminate, AZRebalance, ReplaceUnhealthy, ...). */
  suspendedProcesses?: string[];
  /** units (default), vcpu or memory-mib: what desired, min and max count. */
  desiredCapacityType?: string;
  /** The ASG's own instance lifetime limit in seconds (at least one day), when set. */
  maxInstanceLifetime?: number;
  /** A warm pool is configured (native warm pools cannot be used with Spot or mixed-instances groups). */
  warmPool?: boolean;
  /** The group's status: "Delete in progress" while it is being deleted. */
  status?: string;
}

export interface Instance {
  instanceId: string;
  state: InstanceState;
  market: Market;
  instanceType: string;
  availabilityZone: string;
  subnetId?: string;
  privateIp?: string;
  privateDnsName?: string;
  launchTime: Date;
  tags: Tags;
  launchTemplate?: LaunchTemplateRef;
  /** Set when the instance was launched with hibernation enabled. */
  hibernationConfigured?: boolean;
  /** The AMI it was launched from (a standby whose AMI was deregistered is replaced). */
  imageId?: string;
  /**
   * Its EBS volumes as DescribeInstances reports them (BlockDeviceMappings: the template's and those
   * attached later), so the persistent volume at `persistentVolume.device` can be adopted.
   */
  blockDevices?: BlockDevice[];
}

/** One EBS volume of an instance (DescribeInstances BlockDeviceMappings[].Ebs). */
export interface BlockDevice {
  device: string;
  volumeId: string;
  /** EC2 deletes the volume with the instance (the default for mappings given at launch). */
  deleteOnTermination: boolean;
  /** attaching, attached, detaching, detached */
  status?: string;
}

export interface VolumeAttachment {
  instanceId: string;
  device: string;
  state: string;
  deleteOnTermination?: boolean;
}

export interface Volume {
  volumeId: string;
  availabilityZone: string;
  /** creating, available, in-use, deleting, deleted, error */
  state: string;
  sizeGiB: number;
  volumeType?: string;
  /** Provisioned IOPS and throughput (MiB/s) where the type has them (io1/io2/gp3): a copy keeps them. */
  iops?: number;
  throughput?: number;
  encrypted?: boolean;
  kmsKeyId?: string;
  snapshotId?: string;
  createTime?: Date;
  attachments: VolumeAttachment[];
  tags: Tags;
}

export interface Snapshot {
  snapshotId: string;
  volumeId: string;
  state: string;
  startTime: Date;
  tags: Tags;
}

export interface ScalingActivity {
  activityId: string;
  groupName: string;
  statusCode: string;
  statusMessage?: string;
  description?: string;
  startTime: Date;
  endTime?: Date;
}

/** One observation of a region: what AWS (or the simulator) reported at `observedAt`. */
export interface Observation {
  region: string;
  observedAt: Date;
  groups: Group[];
  /** Members of the groups plus standbys, by id. */
  instances: Map<string, Instance>;
  /** Instances tagged spotmax:standby-for=<asg>, outside any group. */
  standbys: Instance[];
  /** Volumes tagged spotmax:group=<asg>. */
  volumes: Volume[];
}
