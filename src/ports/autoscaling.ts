import type { Group, LaunchTemplateRef, ScalingActivity } from '../domain/types.js';

/**
 * What UpdateAutoScalingGroup changes: only the fields given are sent, and AWS leaves the rest as it is
 * ("Any properties that you don't specify are not changed by this update request", UpdateAutoScalingGroup
 * API reference). spotmax never sends the MixedInstancesPolicy: re-sending it with a size change could
 * revert a concurrent Terraform edit, drop fields this code does not know (DistributionSegments ...) and
 * needs RunInstances permission on the launch template; and a change of the On-Demand base or
 * percentage makes the group replace running instances (InstancesDistribution), which fallback avoids.
 */
export interface GroupUpdate {
  desired?: number;
  min?: number;
  max?: number;
}

/**
 * One instance refresh of a group (DescribeInstanceRefreshes, InstanceRefresh in the API reference):
 * Pending, InProgress, Successful, Failed, Cancelling, Cancelled, RollbackInProgress, RollbackFailed,
 * RollbackSuccessful or Baking.
 */
export interface InstanceRefresh {
  id: string;
  status: string;
  statusReason?: string;
  startTime?: Date;
  endTime?: Date;
  percentageComplete?: number;
  instancesToUpdate?: number;
}

export interface LifecycleActionRef {
  groupName: string;
  hookName: string;
  instanceId: string;
  token?: string;
}

/** The Auto Scaling calls spotmax makes, and only those. */
export interface AutoScalingPort {
  /** All groups of the region, or the named ones; follows pagination (100 a page). */
  describeGroups(names?: string[]): Promise<Group[]>;
  /** At most 20 ids a call (the API limit); callers batch. */
  detachInstances(groupName: string, instanceIds: string[], decrementDesired: boolean): Promise<void>;
  attachInstances(groupName: string, instanceIds: string[]): Promise<void>;
  updateGroup(groupName: string, update: GroupUpdate): Promise<void>;
  /** Creates or updates group tags; `propagateAtLaunch` as given. */
  putGroupTags(
    groupName: string,
    tags: { key: string; value: string; propagateAtLaunch: boolean }[],
  ): Promise<void>;
  deleteGroupTags(groupName: string, keys: string[]): Promise<void>;
  describeScalingActivities(groupName: string, maxRecords?: number): Promise<ScalingActivity[]>;
  /** The group's instance refreshes, most recent first (one page: the latest few are all that matter). */
  describeInstanceRefreshes(groupName: string): Promise<InstanceRefresh[]>;
  completeLifecycleAction(ref: LifecycleActionRef, result: 'CONTINUE' | 'ABANDON'): Promise<void>;
  recordLifecycleActionHeartbeat(ref: LifecycleActionRef): Promise<void>;
  /** Heartbeat timeout of a hook in seconds, or undefined when the hook is unknown. */
  describeHookHeartbeatSeconds(groupName: string, hookName: string): Promise<number | undefined>;
}

export type { LaunchTemplateRef };
