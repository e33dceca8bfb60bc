import test from 'ava';
import { METRIC_CATALOG, prometheusName } from '../../src/observability/metric-catalog.js';
import { MetricNames } from '../../src/observability/metric-names.js';
import { PrometheusRegistry, snakeCase } from '../../src/observability/prometheus.js';
import { family, histogram, parseScrape, value } from '../helpers/prom-scrape.js';

const scrapeOf = async (reg: PrometheusRegistry) => parseScrape(await reg.exposition());

test('counts add up per group; a 0 creates the series; HELP comes from the catalog', async (t) => {
  const reg = new PrometheusRegistry({ processMetrics: false });
  const g = (group: string) => ({ AutoScalingGroupName: group });
  reg.record({ name: MetricNames.Interruptions, value: 1, unit: 'Count', dimensions: g('web') });
  reg.record({ name: MetricNames.Interruptions, value: 2, unit: 'Count', dimensions: g('web') });
  reg.record({ name: MetricNames.Interruptions, value: 1, unit: 'Count', dimensions: g('batch') });
  reg.record({ name: MetricNames.DrainsIncomplete, value: 0, unit: 'Count', dimensions: g('web') });
  const s = await scrapeOf(reg);
  const f = family(s, 'spotmax_interruption_warnings_total');
  t.is(f.type, 'COUNTER');
  t.is(f.help, METRIC_CATALOG[MetricNames.Interruptions].help);
  t.is(value(s, 'spotmax_interruption_warnings_total', { group: 'web' }), 3);
  t.is(value(s, 'spotmax_interruption_warnings_total', { group: 'batch' }), 1);
  t.is(value(s, 'spotmax_drain_incomplete_total', { group: 'web' }), 0);
});

test('durations are histograms with the catalog buckets; milliseconds become seconds', async (t) => {
  const reg = new PrometheusRegistry({ processMetrics: false });
  for (const s of [12, 50, 118])
    reg.record({
      name: MetricNames.DetachLag,
      value: s,
      unit: 'Seconds',
      dimensions: { AutoScalingGroupName: 'web' },
    });
  reg.record({
    name: MetricNames.ReconcilePassSeconds,
    value: 1500,
    unit: 'Milliseconds',
    dimensions: { Scope: 'full' },
  });
  const s = await scrapeOf(reg);
  t.is(family(s, 'spotmax_detach_lag_seconds').type, 'HISTOGRAM');
  const lag = histogram(s, 'spotmax_detach_lag_seconds', { group: 'web' });
  t.truthy(lag);
  t.is(lag?.count, 3);
  t.is(lag?.sum, 180);
  // Cumulative: 12 <= 15, 50 <= 60, 118 <= 120.
  t.is(lag?.buckets['10'], 0);
  t.is(lag?.buckets['15'], 1);
  t.is(lag?.buckets['60'], 2);
  t.is(lag?.buckets['110'], 2);
  t.is(lag?.buckets['120'], 3);
  t.is(lag?.buckets['+Inf'], 3);
  const pass = histogram(s, 'spotmax_reconcile_pass_seconds', { scope: 'full' });
  t.is(pass?.sum, 1.5);
  t.is(pass?.buckets['1'], 0);
  t.is(pass?.buckets['2.5'], 1);
});

test('gauges hold the last value; labels are escaped and read back intact', async (t) => {
  const reg = new PrometheusRegistry({ processMetrics: false });
  reg.record({ name: MetricNames.Groups, value: 4, unit: 'None', dimensions: { State: 'managed' } });
  reg.record({ name: MetricNames.Groups, value: 2, unit: 'None', dimensions: { State: 'managed' } });
  reg.record({
    name: MetricNames.EventsDiscarded,
    value: 1,
    unit: 'Count',
    dimensions: { Reason: 'bad "tag"\nvalue\\x' },
  });
  const s = await scrapeOf(reg);
  t.is(family(s, 'spotmax_groups').type, 'GAUGE');
  t.is(value(s, 'spotmax_groups', { state: 'managed' }), 2);
  t.is(value(s, 'spotmax_events_discarded_total', { reason: 'bad "tag"\nvalue\\x' }), 1);
});

test('a dimension the catalog does not list is left out instead of breaking the family', async (t) => {
  const reg = new PrometheusRegistry({ processMetrics: false });
  reg.record({
    name: MetricNames.Errors,
    value: 1,
    unit: 'Count',
    dimensions: { AutoScalingGroupName: 'web' },
  });
  reg.record({ name: MetricNames.Errors, value: 1, unit: 'Count' });
  t.is(value(await scrapeOf(reg), 'spotmax_errors_total'), 2);
});

test('a name outside the catalog gets a family by its unit (the demo gauges)', async (t) => {
  const reg = new PrometheusRegistry({ processMetrics: false });
  reg.record({
    name: 'SimInService',
    value: 7,
    unit: 'None',
    dimensions: { AutoScalingGroupName: 'web-asg' },
  });
  const s = await scrapeOf(reg);
  t.is(family(s, 'spotmax_sim_in_service').type, 'GAUGE');
  t.is(value(s, 'spotmax_sim_in_service', { group: 'web-asg' }), 7);
});

test('non-finite values are ignored and a runaway label is capped and counted', async (t) => {
  const reg = new PrometheusRegistry({ processMetrics: false, maxSeriesPerFamily: 2 });
  reg.record({ name: MetricNames.PodsEvicted, value: Number.NaN, unit: 'Count' });
  for (const g of ['a', 'b', 'c', 'd'])
    reg.record({
      name: MetricNames.PodsEvicted,
      value: 1,
      unit: 'Count',
      dimensions: { AutoScalingGroupName: g },
    });
  const s = await scrapeOf(reg);
  t.is(family(s, 'spotmax_pods_evicted_total').metrics.length, 2);
  t.is(value(s, 'spotmax_metrics_dropped_series_total'), 2);
});

test("prom-client's default process metrics are there, with real values", async (t) => {
  const reg = new PrometheusRegistry();
  try {
    const s = await scrapeOf(reg);
    t.true((value(s, 'process_resident_memory_bytes') ?? 0) > 1_000_000);
    t.true((value(s, 'nodejs_heap_size_used_bytes') ?? 0) > 0);
    t.true((value(s, 'process_cpu_seconds_total') ?? 0) > 0);
    t.truthy(family(s, 'nodejs_eventloop_lag_seconds'));
  } finally {
    reg.close();
  }
});

test('two registries in one process do not collide or share values', async (t) => {
  const a = new PrometheusRegistry();
  const b = new PrometheusRegistry();
  try {
    a.record({ name: MetricNames.Leader, value: 1, unit: 'None' });
    b.record({ name: MetricNames.Leader, value: 0, unit: 'None' });
    t.is(value(await scrapeOf(a), 'spotmax_leader'), 1);
    t.is(value(await scrapeOf(b), 'spotmax_leader'), 0);
  } finally {
    a.close();
    b.close();
  }
});

test('every catalog entry has a help text that explains and a valid Prometheus name', (t) => {
  for (const [cw, spec] of Object.entries(METRIC_CATALOG)) {
    const name = prometheusName(cw, spec.type);
    t.regex(name, /^spotmax_[a-z0-9_]+$/, cw);
    if (spec.type === 'counter') t.true(name.endsWith('_total'), name);
    if (spec.type === 'histogram') t.truthy(spec.buckets?.length, `${cw} has buckets`);
    t.true(spec.help.length >= 40, `${cw}: help "${spec.help}" says more than its name`);
  }
  t.is(snakeCase('ASGDetachLag'), 'asg_detach_lag');
});
