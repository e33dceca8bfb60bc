import type { MetricsPort } from '../../ports/metrics.js';

// Metric names of the fast path (CloudWatch namespace SpotMax, dimension AutoScalingGroupName).
export const METRIC = {
  warnings: 'InterruptionWarnings',
  detached: 'InstancesDetached',
  detachLag: 'DetachLagSeconds',
  release: 'ReleaseSeconds',
  discarded: 'EventsDiscarded',
  lifecycleCompleted: 'LifecycleActionsCompleted',
} as const;

export function countForGroup(metrics: MetricsPort, name: string, groupName: string, value = 1): void {
  metrics.record({ name, value, unit: 'Count', dimensions: { AutoScalingGroupName: groupName } });
}

export function secondsForGroup(
  metrics: MetricsPort,
  name: string,
  groupName: string,
  seconds: number,
): void {
  metrics.record({ name, value: seconds, unit: 'Seconds', dimensions: { AutoScalingGroupName: groupName } });
}
