import type { MetricDatum, MetricsPort } from '../ports/metrics.js';

/**
 * The simulation's CloudWatch: keeps a sum and a count per metric name and dimensions instead of every
 * datum, so a simulated day of metrics costs a few kilobytes. `recent` keeps the last data for tests.
 */
export class SimMetricsSink implements MetricsPort {
  readonly totals = new Map<
    string,
    { name: string; dimensions: Record<string, string>; sum: number; count: number; unit: string }
  >();
  readonly recent: MetricDatum[] = [];
  flushes = 0;

  record(datum: MetricDatum): void {
    const dims = datum.dimensions ?? {};
    const key = `${datum.name}|${Object.entries(dims)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}`;
    const t = this.totals.get(key) ?? {
      name: datum.name,
      dimensions: dims,
      sum: 0,
      count: 0,
      unit: datum.unit,
    };
    t.sum += datum.value;
    t.count++;
    this.totals.set(key, t);
    this.recent.push(datum);
    if (this.recent.length > 1000) this.recent.splice(0, this.recent.length - 1000);
  }

  async flush(): Promise<void> {
    this.flushes++;
  }

  /** Sum of a metric over all its dimensions. */
  sum(name: string): number {
    let s = 0;
    for (const t of this.totals.values()) if (t.name === name) s += t.sum;
    return s;
  }
}
