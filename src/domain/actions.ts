import type { NetworkInterfaceSpec } from '../ports/ec2.js';
import type { LaunchTemplateRef, Tags } from './types.js';

// Actions are plain data produced by pure planners and carried out by the executor. Every action says
// why (`reason`), so `plan` explains itself.

interface ActionBase {
  /** The group the action is for. */
  group: string;
  /** What it acts on: an instance id, a volume id, a snapshot id, the group name. */
  target: string;
  reason: string;
}

export interface TagInstanceAction extends ActionBase {
  kind: 'tag-instance';
  tags: Tags;
}

export interface TagGroupAction extends ActionBase {
  kind: 'tag-group';
  tags: { key: string; value: string; propagateAtLaunch: boolean }[];
}

/** Tags on any EC2 resource (volume, instance) that are not membership tags. */
export interface TagResourceAction extends ActionBase {
  kind: 'tag-resource';
  tags: Tags;
}

export interface UntagResourceAction extends ActionBase {
  kind: 'untag-resource';
  keys: string[];
}

/** Why a voluntary replacement happens; also the releasers' reason. */
export type ReplacementWhy = 'lifetime' | 'rebalance' | 'return-to-spot';

/**
 * Step 1 of launch-before-retire: desired + 1 (MaxSize + 1 when at MaxSize), recorded on the old
 * instance before and after, so a resumed pass never adds capacity twice.
 */
export interface ReplacementAddCapacityAction extends ActionBase {
  kind: 'replacement-add-capacity';
  why: ReplacementWhy;
  /** Set when resuming a step=adding record: the desired capacity seen before the first attempt. */
  resumeDesiredBefore?: number;
  resumeMaxBefore?: number;
  /** The `since` of the record being resumed, kept so readiness still counts from the first attempt. */
  resumeSince?: string;
}

export type RetireStep = 'releasing' | 'detaching' | 'restoring-max' | 'terminating';

/** Steps 2–5: release the old instance, detach it with decrement, restore MaxSize, terminate it. */
export interface ReplacementRetireAction extends ActionBase {
  kind: 'replacement-retire';
  why: ReplacementWhy;
  /** Where to start (a resumed pass starts at the recorded step). */
  fromStep: RetireStep;
  /** The new member that made this retirement safe; absent when forced (past durationHours). */
  newInstanceId?: string;
  /** Retire even though no new member is InService (past durationHours). */
  force: boolean;
  /**
   * The old instance was interrupted while its replacement was under way: the capacity added for it
   * stands in for the ASG's own replacement, so it is detached with decrement (or, when the fast path
   * detached it first, desired is lowered by one) without a release (the fast path released it).
   */
  interrupted?: boolean;
  /**
   * The old instance left the group by other hands (Auto Scaling terminating or detaching it): no
   * release and no detach, only the added capacity taken back (desired lowered by one, guarded).
   */
  gone?: boolean;
  /** The original record (since, desiredBefore, raisedMax, ...) carried through. */
  record: string;
  /** For the releasers. */
  availabilityZone: string;
  privateIp?: string;
  privateDnsName?: string;
}

export interface LaunchStandbyAction extends ActionBase {
  kind: 'launch-standby';
  launchTemplate: LaunchTemplateRef;
  /** The numeric template version the standby is built from (tagged, so stale ones are found). */
  templateVersion: number;
  instanceType?: string;
  subnetId?: string;
  availabilityZone?: string;
  hibernate: boolean;
  /** The group carries a standby-error tag from an earlier failure: remove it once a launch succeeds. */
  clearError?: boolean;
  /** The subnet inside the first network interface (the template defines NetworkInterfaces). */
  networkInterfaces?: NetworkInterfaceSpec[];
  /** The template asks for Spot: launch its data without the template, On-Demand (plan/standby-launch.ts). */
  dropTemplateMarket?: boolean;
}

export interface StopStandbyAction extends ActionBase {
  kind: 'stop-standby';
  hibernate: boolean;
}

export interface TerminateStandbyAction extends ActionBase {
  kind: 'terminate-standby';
}

/**
 * Finish a standby swap a process left half done (spotmax:standby-swap older than the swap can take):
 * MaxSize back to what it was before the swap raised it, desired within it, and the record removed.
 */
export interface StandbySwapRestoreAction extends ActionBase {
  kind: 'standby-swap-restore';
  max: number;
  /** Set when desired is above `max` (the swap's detach never lowered it): the group gives one back. */
  desired?: number;
}

/**
 * Settle a standby swap whose `spotmax:swapped-in` record outlived the swap (domain/swap-records.ts):
 * with `takeBack`, the interrupted instance left without the detach with decrement and desired is still
 * what the attach left, so the attach's units come out of desired (checked again against a fresh read);
 * then the record goes from the standby (`target`).
 */
export interface StandbySwapSettleAction extends ActionBase {
  kind: 'standby-swap-settle';
  interrupted: string;
  desiredAfter: number;
  units: number;
  takeBack: boolean;
}

/**
 * Cover a Spot shortfall: launch On-Demand from the group's launch template, one instance a placement,
 * tagged spotmax:fallback-for. The group's distribution is left alone (a change would make the group
 * replace running instances).
 */
export interface FallbackLaunchAction extends ActionBase {
  kind: 'fallback-launch';
  launchTemplate: LaunchTemplateRef;
  placements: { instanceType?: string; subnetId?: string; availabilityZone?: string }[];
  /** Value of spotmax:fallback-original, written before the launch. */
  record: string;
}

/** Attach running fallback instances without changing the desired capacity (AttachInstances adds them). */
export interface FallbackAttachAction extends ActionBase {
  kind: 'fallback-attach';
  /** At most 20 (the API limit). The group's desired capacity is the same before and after. */
  instanceIds: string[];
}

/** Begin the return to Spot: the record's phase becomes `returning`. */
export interface FallbackReturnAction extends ActionBase {
  kind: 'fallback-return';
  record: string;
}

/** Fallback is over: Spot launches work and no On-Demand instance of the fallback is left. */
export interface FallbackClearAction extends ActionBase {
  kind: 'fallback-clear';
}

export interface AttachVolumeAction extends ActionBase {
  kind: 'attach-volume';
  instanceId: string;
  device: string;
}

export interface DetachVolumeAction extends ActionBase {
  kind: 'detach-volume';
  instanceId: string;
}

export interface SnapshotVolumeAction extends ActionBase {
  kind: 'snapshot-volume';
  tags: Tags;
}

export interface DeleteSnapshotAction extends ActionBase {
  kind: 'delete-snapshot';
}

/**
 * Adopt a member's own volume at `persistentVolume.device` (from its launch template) as the group's
 * persistent volume: tag the volume and the instance, then DeleteOnTermination=false so it outlives a
 * Spot reclaim. `target` is the volume id.
 */
export interface AdoptVolumeAction extends ActionBase {
  kind: 'adopt-volume';
  instanceId: string;
  device: string;
  /** Only DeleteOnTermination is left to set (the tags are there). */
  tagged: boolean;
}

/** A copy of a stranded volume, from its latest snapshot, in an AZ that has members. Never deletes the old. */
export interface RecreateVolumeAction extends ActionBase {
  kind: 'recreate-volume';
  snapshotId: string;
  availabilityZone: string;
  sizeGiB: number;
  /** Type, performance and encryption key of the original: the copy is the same disk, not a default one. */
  volumeType?: string;
  iops?: number;
  throughput?: number;
  encrypted?: boolean;
  kmsKeyId?: string;
  tags: Tags;
}

export type Action =
  | TagInstanceAction
  | TagGroupAction
  | TagResourceAction
  | UntagResourceAction
  | ReplacementAddCapacityAction
  | ReplacementRetireAction
  | LaunchStandbyAction
  | StopStandbyAction
  | TerminateStandbyAction
  | StandbySwapRestoreAction
  | StandbySwapSettleAction
  | FallbackLaunchAction
  | FallbackAttachAction
  | FallbackReturnAction
  | FallbackClearAction
  | AttachVolumeAction
  | AdoptVolumeAction
  | DetachVolumeAction
  | SnapshotVolumeAction
  | DeleteSnapshotAction
  | RecreateVolumeAction;
export type ActionKind = Action['kind'];
export type ActionOf<K extends ActionKind> = Extract<Action, { kind: K }>;
