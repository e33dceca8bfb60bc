import client from 'prom-client';
import type { MetricDatum, MetricsPort } from '../ports/metrics.js';
import {
  labelName,
  METRIC_CATALOG,
  type MetricSpec,
  type PromType,
  prometheusName,
  snakeCase,
} from './metric-catalog.js';

// The MetricsPort behind /metrics, on prom-client. The same record() calls feed CloudWatch through the
// fan-out, so both carry the same metrics; metric-catalog.ts says how each CloudWatch name appears here
// (type, help, labels, buckets). Each instance has its own prom-client Registry — never the global
// default one — so a process that builds several services (tests, `simulate`) has no name collisions
// and one service's numbers never leak into another's /metrics.
//
// A datum whose name is not in the catalog (the demo's Sim* gauges) gets a family by its unit:
//   Count -> counter, Seconds/Milliseconds -> histogram in seconds, None -> gauge;
// its labels are the dimensions of the first datum seen.

export { snakeCase };

export interface PrometheusRegistryOptions {
  prefix?: string;
  /** Node.js and process metrics (prom-client's collectDefaultMetrics); on by default. */
  processMetrics?: boolean;
  /** Series kept per family; more are dropped and counted, so a runaway label cannot eat the memory. */
  maxSeriesPerFamily?: number;
}

type Family =
  | { type: 'counter'; metric: client.Counter<string>; spec: MetricSpec; series: Set<string> }
  | { type: 'gauge'; metric: client.Gauge<string>; spec: MetricSpec; series: Set<string> }
  | { type: 'histogram'; metric: client.Histogram<string>; spec: MetricSpec; series: Set<string> };

/** Buckets for a duration metric the catalog does not know. */
const DEFAULT_SECONDS_BUCKETS = [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

export class PrometheusRegistry implements MetricsPort {
  readonly registry = new client.Registry();
  private readonly families = new Map<string, Family>();
  private readonly prefix: string;
  private readonly maxSeries: number;
  private readonly dropped: client.Counter<string>;

  constructor(options: PrometheusRegistryOptions = {}) {
    this.prefix = options.prefix ?? 'spotmax_';
    this.maxSeries = Math.max(1, options.maxSeriesPerFamily ?? 2000);
    this.dropped = new client.Counter({
      name: `${this.prefix}metrics_dropped_series_total`,
      help: 'Series not kept because a metric reached its series limit (a label with runaway values, e.g. thousands of groups). Raise nothing: find the label.',
      registers: [this.registry],
    });
    if (options.processMetrics ?? true) client.collectDefaultMetrics({ register: this.registry });
  }

  record(datum: MetricDatum): void {
    if (!Number.isFinite(datum.value) || !datum.name) return;
    const family = this.family(datum);
    const value = datum.unit === 'Milliseconds' ? datum.value / 1000 : datum.value;
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(datum.dimensions ?? {}))
      if (family.spec.dimensions.includes(k)) labels[labelName(k)] = String(v);
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    if (!family.series.has(key)) {
      if (family.series.size >= this.maxSeries) {
        this.dropped.inc();
        return;
      }
      family.series.add(key);
    }
    switch (family.type) {
      case 'counter':
        // A counter only goes up; a 0 still creates the series, so "none yet" reads 0, not absent.
        family.metric.inc(labels, Math.max(0, value));
        break;
      case 'gauge':
        family.metric.set(labels, value);
        break;
      case 'histogram':
        family.metric.observe(labels, value);
        break;
    }
  }

  /** Nothing to send: Prometheus pulls. */
  async flush(): Promise<void> {}

  /** The text exposition format 0.0.4, served at /metrics. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Forgets every metric (the service is stopping). */
  close(): void {
    this.registry.clear();
  }

  private family(datum: MetricDatum): Family {
    const existing = this.families.get(datum.name);
    if (existing) return existing;
    const spec = METRIC_CATALOG[datum.name as keyof typeof METRIC_CATALOG] ?? inferSpec(datum);
    const name = prometheusName(datum.name, spec.type, this.prefix);
    const common = {
      name,
      help: spec.help,
      labelNames: spec.dimensions.map(labelName),
      registers: [this.registry],
    };
    let family: Family;
    switch (spec.type) {
      case 'counter':
        family = { type: 'counter', metric: new client.Counter(common), spec, series: new Set() };
        break;
      case 'gauge':
        family = { type: 'gauge', metric: new client.Gauge(common), spec, series: new Set() };
        break;
      case 'histogram':
        family = {
          type: 'histogram',
          metric: new client.Histogram({
            ...common,
            buckets: [...(spec.buckets ?? DEFAULT_SECONDS_BUCKETS)],
          }),
          spec,
          series: new Set(),
        };
        break;
    }
    this.families.set(datum.name, family);
    return family;
  }
}

function inferSpec(datum: MetricDatum): MetricSpec {
  const type: PromType = datum.unit === 'Count' ? 'counter' : datum.unit === 'None' ? 'gauge' : 'histogram';
  return {
    type,
    help: `spotmax metric ${datum.name} (CloudWatch namespace SpotMax, unit ${datum.unit}).`,
    dimensions: Object.keys(datum.dimensions ?? {}),
  };
}
