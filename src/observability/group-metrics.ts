import type { MetricsPort } from '../ports/metrics.js';
import type { MetricName } from './metric-names.js';

// Per-group metrics: the dimension AutoScalingGroupName the dashboard splits by.

export function countForGroup(metrics: MetricsPort, name: MetricName, groupName: string, value = 1): void {
  metrics.record({ name, value, unit: 'Count', dimensions: { AutoScalingGroupName: groupName } });
}

export function secondsForGroup(
  metrics: MetricsPort,
  name: MetricName,
  groupName: string,
  seconds: number,
): void {
  metrics.record({ name, value: seconds, unit: 'Seconds', dimensions: { AutoScalingGroupName: groupName } });
}
