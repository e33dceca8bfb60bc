import { z } from 'zod';
import type { InterruptionEvent } from '../../../domain/events.js';
import { type EventBridgeEnvelope, instanceId } from './common.js';

// Launch and terminate lifecycle actions share one detail shape; the transition tells them apart.
// The same fields arrive without an EventBridge envelope when the hook's notification target is the
// queue itself (see asg-notification.ts).

export const LIFECYCLE_TERMINATE = {
  source: 'aws.autoscaling',
  detailType: 'EC2 Instance-terminate Lifecycle Action',
} as const;
export const LIFECYCLE_LAUNCH = {
  source: 'aws.autoscaling',
  detailType: 'EC2 Instance-launch Lifecycle Action',
} as const;

export const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';
export const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING';

export const lifecycleDetail = z.object({
  AutoScalingGroupName: z.string().min(1),
  EC2InstanceId: instanceId,
  LifecycleHookName: z.string().min(1),
  LifecycleActionToken: z.string().min(1).optional(),
  LifecycleTransition: z.enum([TERMINATING, LAUNCHING]),
  Origin: z.string().optional(),
  Destination: z.string().optional(),
});
export type LifecycleDetail = z.infer<typeof lifecycleDetail>;

export function lifecycleEvent(d: LifecycleDetail, eventId: string, time: Date): InterruptionEvent {
  return {
    kind: d.LifecycleTransition === TERMINATING ? 'lifecycle-terminate' : 'lifecycle-launch',
    eventId,
    instanceId: d.EC2InstanceId,
    time,
    groupName: d.AutoScalingGroupName,
    hookName: d.LifecycleHookName,
    token: d.LifecycleActionToken,
  };
}

export function parseLifecycleAction(env: EventBridgeEnvelope): InterruptionEvent[] {
  return [lifecycleEvent(lifecycleDetail.parse(env.detail), env.id, new Date(env.time))];
}
