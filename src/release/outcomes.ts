import { countForGroup, secondsForGroup } from '../observability/group-metrics.js';
import { type MetricName, MetricNames } from '../observability/metric-names.js';
import type { MetricsPort } from '../ports/metrics.js';
import type { ReleaseOutcome } from '../ports/releaser.js';

// What a release did, for the handler's one log line and for the per-group metrics (their meaning is
// documented in observability/metric-names.ts).

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
  const count = (name: MetricName, value: number) => countForGroup(metrics, name, groupName, value);
  for (const o of outcomes) {
    const incomplete = o.status === 'partial' || o.status === 'failed';
    if (o.step === 'kubernetes') {
      if (o.counts?.nodeNotFound) count(MetricNames.NodeNotFound, o.counts.nodeNotFound);
      if (o.status === 'skipped') continue;
      secondsForGroup(metrics, MetricNames.Drains, groupName, o.durationMs / 1000);
      count(MetricNames.PodsEvicted, o.counts?.podsEvicted ?? 0);
      count(MetricNames.DrainsIncomplete, incomplete ? 1 : 0);
    } else if (o.step === 'consul') {
      if (o.status === 'skipped') continue;
      count(
        MetricNames.ConsulDeregistered,
        (o.counts?.servicesDeregistered ?? 0) + (o.counts?.catalogDeregistered ?? 0),
      );
      count(MetricNames.ConsulFailures, incomplete ? 1 : 0);
    }
  }
}
