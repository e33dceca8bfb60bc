import type { LifecycleEventFields } from '../domain/sample-events.js';
import type {
  Group,
  LaunchTemplateRef,
  Market,
  MixedInstancesPolicy,
  ScalingActivity,
} from '../domain/types.js';
import type { SimRefresh } from './asg-refresh.js';
import type { TimerHandle } from './clock.js';

// The Auto Scaling model's data: groups, members, hooks, timings. The behaviour is in asg-state.ts.

export interface AsgTimings {
  /** From an instance's death to the group noticing (EC2 status checks). */
  healthCheckSeconds: number;
  /** After a failed launch, the next attempt. */
  launchRetrySeconds: number;
  attachSeconds: number;
  detachSeconds: number;
}

export const DEFAULT_ASG_TIMINGS: AsgTimings = {
  healthCheckSeconds: 30,
  launchRetrySeconds: 60,
  attachSeconds: 3,
  detachSeconds: 3,
};

export type HookTransition = LifecycleEventFields['transition'];

export interface SimHook {
  name: string;
  transition: HookTransition;
  heartbeatTimeoutSeconds: number;
  defaultResult: 'CONTINUE' | 'ABANDON';
}

export interface PendingAction {
  hook: SimHook;
  token: string;
  timer: TimerHandle;
}

export interface SimMember {
  instanceId: string;
  az: string;
  instanceType: string;
  market: Market;
  lifecycleState: string;
  healthStatus: 'Healthy' | 'Unhealthy';
  launchTemplate?: LaunchTemplateRef;
  protectedFromScaleIn: boolean;
  /** Units this member counts for in a weighted group (1 otherwise). */
  weight: number;
  launchedAt: number;
  /** One per hook of the transition the member waits in (Pending:Wait, Terminating:Wait). */
  actions?: PendingAction[];
  /** Capacity Rebalancing launched this member's replacement; it is terminated once that one serves. */
  replacedBy?: string;
}

export interface SimGroup {
  name: string;
  min: number;
  max: number;
  desired: number;
  launchTemplate?: LaunchTemplateRef;
  mixedInstancesPolicy?: MixedInstancesPolicy;
  azs: string[];
  tags: Map<string, { value: string; propagateAtLaunch: boolean }>;
  members: Map<string, SimMember>;
  activities: ScalingActivity[];
  hooks: SimHook[];
  createdTime: number;
  capacityRebalance: boolean;
  suspendedProcesses: Set<string>;
  desiredCapacityType?: string;
  maxInstanceLifetime?: number;
  inService: number;
  checkScheduled: boolean;
  retryAt?: number;
  /** An AZRebalance in flight: the new instance in the short AZ, and the AZ to take one from once it serves. */
  rebalancing?: { instanceId: string; longAz: string };
  /** No rebalancing launch before this (the short AZ had no capacity). */
  rebalanceRetryAt?: number;
  /** The On-Demand base or percentage changed: the group replaces members until the split matches. */
  distributionChanged?: boolean;
  /** The member launched to replace one of `surplus` (asg-distribution.ts); extra until it serves. */
  distributionSwap?: { instanceId: string; surplus: Market };
  /** Instance refreshes, most recent first (sim/asg-refresh.ts). */
  refreshes?: SimRefresh[];
  /** The last described shape, reused until something about the group changes. */
  snapshot?: Group;
}

export const LEAVING = new Set([
  'Terminating',
  'Terminating:Wait',
  'Terminating:Proceed',
  'Detaching',
  'Terminated',
  'Detached',
]);
export const MAX_ACTIVITIES = 100;

export interface AsgHooks {
  lifecycleEvent(fields: LifecycleEventFields): void;
}
