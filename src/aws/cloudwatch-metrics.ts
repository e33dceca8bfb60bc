import {
  type CloudWatchClient,
  type MetricDatum as CwDatum,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import type { Logger } from '../ports/logger.js';
import { silentLogger } from '../ports/logger.js';
import type { MetricDatum, MetricsPort } from '../ports/metrics.js';
import { awsCall } from './call.js';

/** PutMetricData takes at most 1,000 datums and a 1 MB body; stay well under the size. */
export const MAX_DATUMS_PER_PUT = 1000;
const MAX_BYTES_PER_PUT = 800_000;
/** Datums kept while CloudWatch is unreachable; the oldest go first beyond this. */
const MAX_BUFFERED = 20_000;

/** A generous estimate of one datum's encoded size (query encoding repeats long member paths). */
function estimateBytes(d: MetricDatum): number {
  let bytes = 220 + d.name.length;
  for (const [k, v] of Object.entries(d.dimensions ?? {})) bytes += 110 + k.length * 3 + v.length * 3;
  return bytes;
}

/** Splits datums into PutMetricData batches by count and by estimated size. */
export function batchDatums(datums: MetricDatum[]): MetricDatum[][] {
  const batches: MetricDatum[][] = [];
  let current: MetricDatum[] = [];
  let bytes = 0;
  for (const d of datums) {
    const size = estimateBytes(d);
    if (current.length > 0 && (current.length >= MAX_DATUMS_PER_PUT || bytes + size > MAX_BYTES_PER_PUT)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(d);
    bytes += size;
  }
  if (current.length) batches.push(current);
  return batches;
}

function toCw(d: MetricDatum, now: Date): CwDatum {
  return {
    MetricName: d.name,
    Value: d.value,
    Unit: d.unit,
    Timestamp: d.timestamp ?? now,
    Dimensions: Object.entries(d.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value })),
  };
}

/** Buffers datums and sends them on flush(); a failed flush keeps what it could not send for the next one. */
export class CloudWatchMetrics implements MetricsPort {
  private buffer: MetricDatum[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(
    private readonly client: CloudWatchClient,
    private readonly namespace = 'SpotMax',
    private readonly logger: Logger = silentLogger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  record(datum: MetricDatum): void {
    // The time of the event, not of the flush, so late flushes do not shift the graphs.
    this.buffer.push(datum.timestamp ? datum : { ...datum, timestamp: this.now() });
    if (this.buffer.length > MAX_BUFFERED) {
      const excess = this.buffer.length - MAX_BUFFERED;
      this.buffer.splice(0, excess);
      this.dropped += excess;
    }
  }

  /** Flushes are serialized, so two callers never send the same datums twice. */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => {});
    return run;
  }

  private async flushNow(): Promise<void> {
    if (this.dropped > 0) {
      this.logger.warn(
        { dropped: this.dropped, namespace: this.namespace },
        'metrics dropped while CloudWatch was unreachable',
      );
      this.dropped = 0;
    }
    const pending = this.buffer;
    this.buffer = [];
    const batches = batchDatums(pending);
    for (let i = 0; i < batches.length; i++) {
      const batch = batches[i] ?? [];
      try {
        const now = this.now();
        await awsCall(
          'cloudwatch',
          'PutMetricData',
          `publishing ${batch.length} metrics to ${this.namespace}`,
          () =>
            this.client.send(
              new PutMetricDataCommand({
                Namespace: this.namespace,
                MetricData: batch.map((d) => toCw(d, now)),
              }),
            ),
        );
      } catch (err) {
        // Keep the unsent ones ahead of anything recorded meanwhile; record() bounds the buffer again.
        this.buffer = [...batches.slice(i).flat(), ...this.buffer].slice(-MAX_BUFFERED);
        throw err;
      }
    }
  }
}
