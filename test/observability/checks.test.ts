import test from 'ava';
import { createHeartbeats, runChecks } from '../../src/observability/checks.js';
import { countErrors } from '../../src/observability/error-metric.js';
import { fanOutMetrics, startMetricsFlusher } from '../../src/observability/fanout.js';
import { systemClock } from '../../src/ports/clock.js';
import { type Logger, silentLogger } from '../../src/ports/logger.js';
import { type MetricDatum, type MetricsPort, noMetrics } from '../../src/ports/metrics.js';
import { VirtualClock } from '../../src/sim/clock.js';

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

test('heartbeats: a loop that stops turning makes liveness fail', async (t) => {
  const clock = new VirtualClock(new Date('2026-01-01T00:00:00Z'));
  const hb = createHeartbeats(clock);
  hb.register('reconcile', 180_000);
  hb.register('events', 60_000);
  t.true(hb.live().ok);
  await clock.advanceBy(61_000);
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
  const clock = new VirtualClock(new Date('2026-01-01T00:00:00Z'));
  const flusher = startMetricsFlusher({ metrics, clock, intervalMs: 20, logger: silentLogger });
  // Five intervals, the first flush failing: every interval still flushes, then one more on stop.
  await clock.advanceBy(100);
  t.is(flushes, 5);
  await flusher.stop();
  t.is(flushes, 6);
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
