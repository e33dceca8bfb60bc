import test from 'ava';
import { createHeartbeats, runChecks } from '../../src/observability/checks.js';
import { withCorrelation } from '../../src/observability/correlation.js';
import { countErrors } from '../../src/observability/error-metric.js';
import { fanOutMetrics, startMetricsFlusher } from '../../src/observability/fanout.js';
import type { Clock } from '../../src/ports/clock.js';
import { systemClock } from '../../src/ports/clock.js';
import { type Logger, silentLogger } from '../../src/ports/logger.js';
import { type MetricDatum, type MetricsPort, noMetrics } from '../../src/ports/metrics.js';

function manualClock(start = new Date('2026-01-01T00:00:00Z')): Clock & { advance(ms: number): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
    sleep: systemClock.sleep,
  };
}

test('runChecks: ok, failing, throwing and hung checks', async (t) => {
  const result = await runChecks(
    {
      policies: () => ({ ok: true }),
      aws: async () => {},
      queue: async () => {
        throw new Error('AWS.SimpleQueueService.NonExistentQueue: the queue does not exist');
      },
      hung: () => new Promise(() => {}),
    },
    { clock: systemClock, timeoutMs: 50 },
  );
  t.false(result.ok);
  t.deepEqual(result.checks.policies, { ok: true });
  t.deepEqual(result.checks.aws, { ok: true });
  t.regex(result.checks.queue?.message ?? '', /NonExistentQueue/);
  t.deepEqual(result.checks.hung, { ok: false, message: 'no answer within 50 ms' });
});

test('heartbeats: a loop that stops turning makes liveness fail', (t) => {
  const clock = manualClock();
  const hb = createHeartbeats(clock);
  hb.register('reconcile', 180_000);
  hb.register('events', 60_000);
  t.true(hb.live().ok);
  clock.advance(61_000);
  hb.beat('reconcile');
  const stale = hb.live();
  t.false(stale.ok);
  t.true(stale.checks.reconcile?.ok);
  t.is(stale.checks.events?.message, 'last turn 61 s ago (allowed 60 s)');
  hb.beat('events');
  t.true(hb.live().ok);
});

test('fan-out feeds every sink and a throwing sink does not stop the others', async (t) => {
  const seen: MetricDatum[] = [];
  const good: MetricsPort = { record: (d) => seen.push(d), flush: async () => {} };
  const bad: MetricsPort = {
    record: () => {
      throw new Error('full');
    },
    flush: async () => {
      throw new Error('CloudWatch down');
    },
  };
  const fan = fanOutMetrics([bad, good], silentLogger);
  fan.record({ name: 'Drains', value: 1, unit: 'Count' });
  t.is(seen.length, 1);
  await t.throwsAsync(fan.flush(), { message: 'CloudWatch down' });
  await t.notThrowsAsync(fanOutMetrics([good, noMetrics]).flush());
});

test('the flusher flushes every interval, survives failures and flushes on stop', async (t) => {
  let flushes = 0;
  const metrics: MetricsPort = {
    record: () => {},
    flush: async () => {
      flushes++;
      if (flushes === 1) throw new Error('throttled');
    },
  };
  const flusher = startMetricsFlusher({ metrics, clock: systemClock, intervalMs: 20, logger: silentLogger });
  await new Promise((r) => setTimeout(r, 110));
  await flusher.stop();
  t.true(flushes >= 3, `flushed ${flushes} times`);
});

test('withCorrelation binds the id to every line', (t) => {
  const bound: object[] = [];
  const logger: Logger = {
    ...silentLogger,
    child: (b) => {
      bound.push(b);
      return silentLogger;
    },
  };
  withCorrelation(logger, 'evt-1', { instanceId: 'i-1' });
  t.deepEqual(bound, [{ instanceId: 'i-1', correlationId: 'evt-1' }]);
});

test('countErrors counts every error line, children included, without dimensions', (t) => {
  const seen: MetricDatum[] = [];
  const lines: string[] = [];
  const base: Logger = {
    ...silentLogger,
    error: (_o, m) => lines.push(m ?? ''),
    child: () => base,
  };
  const logger = countErrors(base, { record: (d) => seen.push(d), flush: async () => {} });
  logger.info({}, 'fine');
  logger.error({}, 'one');
  logger.child({ group: 'web' }).error({}, 'two');
  t.deepEqual(lines, ['one', 'two']);
  t.deepEqual(seen, [
    { name: 'Errors', value: 1, unit: 'Count' },
    { name: 'Errors', value: 1, unit: 'Count' },
  ]);
});
