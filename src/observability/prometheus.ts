import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { MetricDatum, MetricsPort } from '../ports/metrics.js';

// A MetricsPort that keeps what spotmax records in memory and renders it in the Prometheus text
// exposition format 0.0.4 for /metrics. The same record() calls feed CloudWatch (through the fan-out),
// so both show the same counters. No dependency: the format is small and stable.
//
// How a CloudWatch datum becomes a Prometheus family (unless `definitions` says otherwise):
//   unit Count        -> counter  spotmax_<snake_name>_total (value added)
//   unit Seconds      -> summary  spotmax_<snake_name>_seconds (quantiles over a sliding window)
//   unit Milliseconds -> summary  spotmax_<snake_name>_seconds (converted: Prometheus uses base units)
//   unit None         -> gauge    spotmax_<snake_name> (last value)
// Dimensions become labels; AutoScalingGroupName is shortened to `group`.

export type PrometheusType = 'counter' | 'gauge' | 'summary';

export interface MetricDefinition {
  type?: PrometheusType;
  help?: string;
}

export interface PrometheusRegistryOptions {
  prefix?: string;
  /** Type or help text per CloudWatch metric name, e.g. a Count that is really a level (a gauge). */
  definitions?: Record<string, MetricDefinition>;
  /** Process metrics (memory, heap, event loop lag, uptime); on by default. */
  processMetrics?: boolean;
  /** Observations kept per summary series for the quantiles. */
  summaryWindow?: number;
  /** Series kept per family; more are dropped and counted, so a runaway label cannot eat the memory. */
  maxSeriesPerFamily?: number;
}

interface Series {
  labels: [string, string][];
  value: number;
  sum: number;
  count: number;
  window: number[];
  next: number;
}

interface Family {
  name: string;
  type: PrometheusType;
  help: string;
  series: Map<string, Series>;
}

const LABEL_ALIASES: Record<string, string> = { AutoScalingGroupName: 'group' };
const QUANTILES = [0.5, 0.9, 0.99];

export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_:]/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
}

function labelName(key: string): string {
  const name = LABEL_ALIASES[key] ?? snakeCase(key);
  const safe = /^[a-zA-Z_]/.test(name) ? name : `_${name}`;
  // Names starting with __ are reserved by Prometheus.
  return safe.startsWith('__') ? safe.slice(1) : safe;
}

/** Label values: backslash, double quote and newline are escaped (exposition format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

function renderLabels(labels: [string, string][]): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx] as number;
}

export class PrometheusRegistry implements MetricsPort {
  private readonly families = new Map<string, Family>();
  private readonly prefix: string;
  private readonly definitions: Record<string, MetricDefinition>;
  private readonly window: number;
  private readonly maxSeries: number;
  private readonly loopDelay: IntervalHistogram | undefined;
  private droppedSeries = 0;

  constructor(options: PrometheusRegistryOptions = {}) {
    this.prefix = options.prefix ?? 'spotmax_';
    this.definitions = options.definitions ?? {};
    this.window = Math.max(1, options.summaryWindow ?? 512);
    this.maxSeries = Math.max(1, options.maxSeriesPerFamily ?? 2000);
    if (options.processMetrics ?? true) {
      this.loopDelay = monitorEventLoopDelay({ resolution: 20 });
      this.loopDelay.enable();
    }
  }

  record(datum: MetricDatum): void {
    if (!Number.isFinite(datum.value) || !datum.name) return;
    const def = this.definitions[datum.name] ?? {};
    const type: PrometheusType =
      def.type ?? (datum.unit === 'Count' ? 'counter' : datum.unit === 'None' ? 'gauge' : 'summary');
    const value = datum.unit === 'Milliseconds' ? datum.value / 1000 : datum.value;
    const family = this.family(datum.name, type, datum.unit, def.help);
    const labels = Object.entries(datum.dimensions ?? {})
      .map(([k, v]): [string, string] => [labelName(k), String(v)])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify(labels);
    let series = family.series.get(key);
    if (!series) {
      if (family.series.size >= this.maxSeries) {
        this.droppedSeries++;
        return;
      }
      series = { labels, value: 0, sum: 0, count: 0, window: [], next: 0 };
      family.series.set(key, series);
    }
    // A family keeps the type it was first seen with; a conflicting record is folded into it.
    switch (family.type) {
      case 'counter':
        if (value > 0) series.value += value;
        break;
      case 'gauge':
        series.value = value;
        break;
      case 'summary':
        series.sum += value;
        series.count++;
        if (series.window.length < this.window) series.window.push(value);
        else series.window[series.next] = value;
        series.next = (series.next + 1) % this.window;
        break;
    }
  }

  /** Nothing to send: Prometheus pulls. */
  async flush(): Promise<void> {}

  /** The text exposition format 0.0.4, served at /metrics. */
  exposition(): string {
    const lines: string[] = [];
    for (const family of this.families.values()) {
      lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
      lines.push(`# TYPE ${family.name} ${family.type}`);
      for (const s of family.series.values()) {
        if (family.type === 'summary') {
          const sorted = [...s.window].sort((a, b) => a - b);
          for (const q of QUANTILES) {
            const labels: [string, string][] = [...s.labels, ['quantile', String(q)]];
            lines.push(`${family.name}${renderLabels(labels)} ${formatNumber(quantile(sorted, q))}`);
          }
          lines.push(`${family.name}_sum${renderLabels(s.labels)} ${formatNumber(s.sum)}`);
          lines.push(`${family.name}_count${renderLabels(s.labels)} ${formatNumber(s.count)}`);
        } else {
          lines.push(`${family.name}${renderLabels(s.labels)} ${formatNumber(s.value)}`);
        }
      }
    }
    lines.push(...this.internalMetrics());
    if (this.loopDelay) lines.push(...this.processMetrics(this.loopDelay));
    return `${lines.join('\n')}\n`;
  }

  /** Stops the event-loop delay monitor. */
  close(): void {
    this.loopDelay?.disable();
  }

  private family(cwName: string, type: PrometheusType, unit: MetricDatum['unit'], help?: string): Family {
    const existing = this.families.get(cwName);
    if (existing) return existing;
    let name = this.prefix + snakeCase(cwName);
    if (type === 'summary' && (unit === 'Seconds' || unit === 'Milliseconds') && !name.endsWith('_seconds')) {
      name += '_seconds';
    }
    if (type === 'counter' && !name.endsWith('_total')) name += '_total';
    const family: Family = {
      name,
      type,
      help: help ?? `spotmax metric ${cwName} (CloudWatch namespace SpotMax, unit ${unit})`,
      series: new Map(),
    };
    this.families.set(cwName, family);
    return family;
  }

  private internalMetrics(): string[] {
    const name = `${this.prefix}metrics_dropped_series_total`;
    return [
      `# HELP ${name} Series not kept because a family reached its series limit.`,
      `# TYPE ${name} counter`,
      `${name} ${this.droppedSeries}`,
    ];
  }

  private processMetrics(loopDelay: IntervalHistogram): string[] {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    // The histogram is in nanoseconds; it is reset per scrape so the figure describes the last interval.
    const mean = Number.isNaN(loopDelay.mean) ? 0 : loopDelay.mean / 1e9;
    const p99 = loopDelay.count > 0 ? loopDelay.percentile(99) / 1e9 : 0;
    const max = loopDelay.count > 0 ? loopDelay.max / 1e9 : 0;
    loopDelay.reset();
    const uptime = process.uptime();
    const gauge = (name: string, help: string, value: number, type: PrometheusType = 'gauge') => [
      `# HELP ${name} ${help}`,
      `# TYPE ${name} ${type}`,
      `${name} ${formatNumber(value)}`,
    ];
    return [
      ...gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss),
      ...gauge('nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes.', mem.heapUsed),
      ...gauge('nodejs_heap_size_total_bytes', 'V8 heap allocated, in bytes.', mem.heapTotal),
      ...gauge(
        'nodejs_external_memory_bytes',
        'Memory of C++ objects bound to JavaScript, in bytes.',
        mem.external,
      ),
      ...gauge('nodejs_eventloop_lag_seconds', 'Mean event loop delay since the last scrape.', mean),
      ...gauge(
        'nodejs_eventloop_lag_p99_seconds',
        '99th percentile event loop delay since the last scrape.',
        p99,
      ),
      ...gauge('nodejs_eventloop_lag_max_seconds', 'Largest event loop delay since the last scrape.', max),
      ...gauge(
        'process_cpu_seconds_total',
        'User and system CPU time, in seconds.',
        (cpu.user + cpu.system) / 1e6,
        'counter',
      ),
      ...gauge('process_uptime_seconds', 'Seconds since the process started.', uptime),
      ...gauge(
        'process_start_time_seconds',
        'Start time of the process since the Unix epoch, in seconds.',
        Math.round(performance.timeOrigin / 1000),
      ),
    ];
  }
}
