import type { Group, LaunchTemplateRef, MixedInstancesPolicy, ScalingActivity } from '../domain/types.js';

export interface GroupUpdate {
  desired?: number;
  min?: number;
  max?: number;
  /** Always the whole policy: a partial one would erase the rest. */
  mixedInstancesPolicy?: MixedInstancesPolicy;
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
  completeLifecycleAction(ref: LifecycleActionRef, result: 'CONTINUE' | 'ABANDON'): Promise<void>;
  recordLifecycleActionHeartbeat(ref: LifecycleActionRef): Promise<void>;
  /** Heartbeat timeout of a hook in seconds, or undefined when the hook is unknown. */
  describeHookHeartbeatSeconds(groupName: string, hookName: string): Promise<number | undefined>;
}

export type { LaunchTemplateRef };
