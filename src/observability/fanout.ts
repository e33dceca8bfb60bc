import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { MetricDatum, MetricsPort } from '../ports/metrics.js';
import { every } from '../timing/every.js';

/**
 * One MetricsPort that feeds several (CloudWatch and Prometheus), so the code records once and both
 * show the same counters. A sink that throws never stops the others: record() must not break the
 * fast path, and a CloudWatch outage must not empty /metrics.
 */
export function fanOutMetrics(sinks: MetricsPort[], logger?: Logger): MetricsPort {
  return {
    record(datum: MetricDatum) {
      for (const sink of sinks) {
        try {
          sink.record(datum);
        } catch (err) {
          logger?.warn({ err, metric: datum.name }, 'a metrics sink refused a datum');
        }
      }
    },
    async flush() {
      const results = await Promise.allSettled(sinks.map((s) => s.flush()));
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1)
        throw new AggregateError(errors, `${errors.length} metrics sinks failed to flush`);
    },
  };
}

/**
 * Flushes `metrics` every `intervalMs` until stopped, so CloudWatch gets one batched PutMetricData per
 * interval instead of one call per datum. A failed flush is logged and the loop goes on. stop() flushes
 * once more so a SIGTERM does not lose the last interval.
 */
export function startMetricsFlusher(options: {
  metrics: MetricsPort;
  clock: Clock;
  intervalMs: number;
  logger: Logger;
}): { stop(): Promise<void> } {
  const { metrics, clock, intervalMs, logger } = options;
  const abort = new AbortController();
  const flushOnce = async () => {
    try {
      await metrics.flush();
    } catch (err) {
      logger.warn({ err }, 'flushing metrics failed; they are retried at the next interval');
    }
  };
  const loop = every(clock, intervalMs, flushOnce, abort.signal);
  return {
    async stop() {
      abort.abort(new Error('metrics flusher stopped'));
      await loop;
      await flushOnce();
    },
  };
}
