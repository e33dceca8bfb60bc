import test from 'ava';
import { MetricNames } from '../../src/observability/metric-names.js';
import { PROBLEM } from '../../src/observability/notices.js';
import { createNotifier, fitEntry, MAX_ENTRY_BYTES } from '../../src/observability/notifier.js';
import { silentLogger } from '../../src/ports/logger.js';
import { entrySize } from '../../src/ports/notifications.js';
import { SimMetricsSink } from '../../src/sim/metrics.js';
import { warmRegion } from '../sim/helpers.js';

// The notifier on the simulated region's bus: batches within PutEvents' limits, retries what EventBridge
// asks to retry, counts what it refuses, and never throws at the caller.

async function setup() {
  const region = await warmRegion();
  const metrics = new SimMetricsSink();
  const notifier = createNotifier({
    port: region.events,
    clock: region.clock,
    logger: silentLogger,
    metrics,
  });
  const notice = (i: number) => ({
    detailType: PROBLEM,
    detail: { kind: 'problem', group: `g${i}`, reason: 'r' },
  });
  return { region, metrics, notifier, notice };
}

test('35 notices: calls of at most 10 entries, all published and counted', async (t) => {
  const { region, metrics, notifier, notice } = await setup();
  for (let i = 0; i < 35; i++) notifier.notify(notice(i));
  await region.drive(notifier.flush());
  t.is(region.events.published.length, 35);
  t.is(metrics.sum(MetricNames.NotificationsPublished), 35);
  const calls = region.api.stats.byAction.PutEvents ?? 0;
  t.true(calls >= 4 && calls < 35, `${calls} PutEvents calls`);
});

test('throttled entries are sent again; other refusals are counted by code', async (t) => {
  const { region, metrics, notifier, notice } = await setup();
  region.events.refuseEntries = { code: 'ThrottlingException', times: 3 };
  for (let i = 0; i < 5; i++) notifier.notify(notice(i));
  await region.drive(notifier.flush());
  t.is(region.events.published.length, 5, 'the throttled three went out on a later call');
  t.is(metrics.sum(MetricNames.NotificationsFailed), 0);
  region.events.refuseEntries = { code: 'AccessDeniedException', times: 2 };
  for (let i = 0; i < 2; i++) notifier.notify(notice(i));
  await region.drive(notifier.flush());
  t.is(region.events.published.length, 5);
  t.is(metrics.sum(MetricNames.NotificationsFailed), 2);
  t.truthy([...metrics.totals.values()].find((x) => x.dimensions.Reason === 'AccessDeniedException'));
});

test('a bus that fails whole calls costs the caller nothing but a count', async (t) => {
  const { region, metrics, notifier, notice } = await setup();
  region.api.setFault('events', { errorRate: 1 });
  t.notThrows(() => notifier.notify(notice(1)));
  await region.drive(notifier.flush());
  t.is(region.events.published.length, 0);
  t.is(metrics.sum(MetricNames.NotificationsFailed), 1);
});

test('the sim refuses what EventBridge refuses: 11 entries, a detail that is not a JSON object', async (t) => {
  const { region } = await setup();
  const e = { source: 'spotmax', detailType: PROBLEM, detail: '{}', time: region.clock.now() };
  await t.throwsAsync(region.drive(region.events.putEvents(Array(11).fill(e))), {
    message: /length less than or equal to 10/,
  });
  const out = await region.drive(region.events.putEvents([e, { ...e, detail: '[1]' }]));
  t.deepEqual(
    out.failed.map((f) => [f.index, f.code]),
    [[1, 'MalformedDetail']],
  );
});

test('a huge reason is cut so the entry fits a tenth of a request', (t) => {
  const entry = { source: 'spotmax', detailType: PROBLEM, detail: '', time: new Date() };
  const fitted = fitEntry(entry, { kind: 'problem', group: 'web', reason: 'x'.repeat(100_000) });
  t.true(entrySize(fitted) <= MAX_ENTRY_BYTES);
  const detail = JSON.parse(fitted.detail) as { group: string; reason: string };
  t.is(detail.group, 'web');
  t.regex(detail.reason, /… \(cut\)$/);
});
