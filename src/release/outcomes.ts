import type { MetricsPort } from '../ports/metrics.js';
import type { ReleaseOutcome } from '../ports/releaser.js';

// What a release did, for the handler's one log line and for metrics. Metric names (CloudWatch
// namespace SpotMax, dimension AutoScalingGroupName):
//   DrainSeconds        Kubernetes step duration (not recorded when the step was skipped)
//   PodsEvicted         pods moved off the node
//   DrainIncomplete     1 per Kubernetes step that ended partial or failed
//   NodeNotFound        1 per instance without a Kubernetes node
//   ConsulDeregistered  services deregistered at the agent, or 1 for a node removed from the catalog
//   ConsulFailures      1 per Consul step that ended partial or failed
export const RELEASE_METRICS = {
  drainSeconds: 'DrainSeconds',
  podsEvicted: 'PodsEvicted',
  drainIncomplete: 'DrainIncomplete',
  nodeNotFound: 'NodeNotFound',
  consulDeregistered: 'ConsulDeregistered',
  consulFailures: 'ConsulFailures',
} as const;

const DETAIL_MAX = 300;

/** One line: `kubernetes=partial 88.2s podsEvicted=10 podsLeft=1 (…detail…); consul=done 0.1s servicesDeregistered=2`. */
export function summarizeOutcomes(outcomes: readonly ReleaseOutcome[]): string {
  if (outcomes.length === 0) return 'no release steps';
  return outcomes
    .map((o) => {
      const counts = Object.entries(o.counts ?? {})
        .filter(([, v]) => v !== 0)
        .map(([k, v]) => `${k}=${v}`);
      const head = [`${o.step}=${o.status}`, `${(o.durationMs / 1000).toFixed(1)}s`, ...counts].join(' ');
      if (!o.detail || o.status === 'done') return head;
      const detail = o.detail.length > DETAIL_MAX ? `${o.detail.slice(0, DETAIL_MAX)}…` : o.detail;
      return `${head} (${detail})`;
    })
    .join('; ');
}

export function recordReleaseMetrics(
  metrics: MetricsPort,
  groupName: string,
  outcomes: readonly ReleaseOutcome[],
): void {
  const dimensions = { AutoScalingGroupName: groupName };
  const count = (name: string, value: number) => metrics.record({ name, value, unit: 'Count', dimensions });
  for (const o of outcomes) {
    const incomplete = o.status === 'partial' || o.status === 'failed';
    if (o.step === 'kubernetes') {
      if (o.counts?.nodeNotFound) count(RELEASE_METRICS.nodeNotFound, o.counts.nodeNotFound);
      if (o.status === 'skipped') continue;
      metrics.record({
        name: RELEASE_METRICS.drainSeconds,
        value: o.durationMs / 1000,
        unit: 'Seconds',
        dimensions,
      });
      count(RELEASE_METRICS.podsEvicted, o.counts?.podsEvicted ?? 0);
      count(RELEASE_METRICS.drainIncomplete, incomplete ? 1 : 0);
    } else if (o.step === 'consul') {
      if (o.status === 'skipped') continue;
      count(
        RELEASE_METRICS.consulDeregistered,
        (o.counts?.servicesDeregistered ?? 0) + (o.counts?.catalogDeregistered ?? 0),
      );
      count(RELEASE_METRICS.consulFailures, incomplete ? 1 : 0);
    }
  }
}
