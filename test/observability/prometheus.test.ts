import test from 'ava';
import { escapeLabelValue, PrometheusRegistry, snakeCase } from '../../src/observability/prometheus.js';

const lineOf = (text: string, prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));

test('Count data become a counter that adds up, with HELP and TYPE', (t) => {
  const reg = new PrometheusRegistry({ processMetrics: false });
  reg.record({ name: 'Interruptions', value: 1, unit: 'Count', dimensions: { AutoScalingGroupName: 'web' } });
  reg.record({ name: 'Interruptions', value: 2, unit: 'Count', dimensions: { AutoScalingGroupName: 'web' } });
  reg.record({
    name: 'Interruptions',
    value: 1,
    unit: 'Count',
    dimensions: { AutoScalingGroupName: 'batch' },
  });
  const text = reg.exposition();
  t.truthy(lineOf(text, '# HELP spotmax_interruptions_total '));
  t.is(lineOf(text, '# TYPE spotmax_interruptions_total'), '# TYPE spotmax_interruptions_total counter');
  t.is(
    lineOf(text, 'spotmax_interruptions_total{group="web"}'),
    'spotmax_interruptions_total{group="web"} 3',
  );
  t.is(
    lineOf(text, 'spotmax_interruptions_total{group="batch"}'),
    'spotmax_interruptions_total{group="batch"} 1',
  );
  t.true(text.endsWith('\n'));
});

test('None data become a gauge holding the last value', (t) => {
  const reg = new PrometheusRegistry({ processMetrics: false });
  reg.record({ name: 'PoliciesLoaded', value: 4, unit: 'None' });
  reg.record({ name: 'PoliciesLoaded', value: 2, unit: 'None' });
  const text = reg.exposition();
  t.is(lineOf(text, '# TYPE spotmax_policies_loaded '), '# TYPE spotmax_policies_loaded gauge');
  t.is(lineOf(text, 'spotmax_policies_loaded '), 'spotmax_policies_loaded 2');
});

test('durations become a summary in seconds; milliseconds are converted', (t) => {
  const reg = new PrometheusRegistry({ processMetrics: false });
  for (const ms of [1000, 2000, 3000, 4000])
    reg.record({ name: 'DetachLag', value: ms, unit: 'Milliseconds' });
  const text = reg.exposition();
  t.is(lineOf(text, '# TYPE spotmax_detach_lag_seconds '), '# TYPE spotmax_detach_lag_seconds summary');
  t.is(
    lineOf(text, 'spotmax_detach_lag_seconds{quantile="0.5"}'),
    'spotmax_detach_lag_seconds{quantile="0.5"} 2',
  );
  t.is(
    lineOf(text, 'spotmax_detach_lag_seconds{quantile="0.99"}'),
    'spotmax_detach_lag_seconds{quantile="0.99"} 4',
  );
  t.is(lineOf(text, 'spotmax_detach_lag_seconds_sum'), 'spotmax_detach_lag_seconds_sum 10');
  t.is(lineOf(text, 'spotmax_detach_lag_seconds_count'), 'spotmax_detach_lag_seconds_count 4');
});

test('a definition overrides the type and help text', (t) => {
  const reg = new PrometheusRegistry({
    processMetrics: false,
    definitions: { StandbyPoolSize: { type: 'gauge', help: 'Standbys kept\nper group' } },
  });
  reg.record({ name: 'StandbyPoolSize', value: 3, unit: 'Count' });
  reg.record({ name: 'StandbyPoolSize', value: 1, unit: 'Count' });
  const text = reg.exposition();
  t.is(
    lineOf(text, '# HELP spotmax_standby_pool_size '),
    '# HELP spotmax_standby_pool_size Standbys kept\\nper group',
  );
  t.is(lineOf(text, 'spotmax_standby_pool_size '), 'spotmax_standby_pool_size 1');
});

test('label values are escaped and label names sanitised', (t) => {
  t.is(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const reg = new PrometheusRegistry({ processMetrics: false });
  reg.record({
    name: 'Errors',
    value: 1,
    unit: 'Count',
    dimensions: { Reason: 'bad "tag"\nvalue', 'weird-key': 'x' },
  });
  const text = reg.exposition();
  t.is(
    lineOf(text, 'spotmax_errors_total{'),
    'spotmax_errors_total{reason="bad \\"tag\\"\\nvalue",weird_key="x"} 1',
  );
});

test('non-finite values are ignored and a runaway label is capped and counted', (t) => {
  const reg = new PrometheusRegistry({ processMetrics: false, maxSeriesPerFamily: 2 });
  reg.record({ name: 'Drains', value: Number.NaN, unit: 'Count' });
  for (const g of ['a', 'b', 'c', 'd'])
    reg.record({ name: 'Drains', value: 1, unit: 'Count', dimensions: { AutoScalingGroupName: g } });
  const text = reg.exposition();
  t.is(text.split('\n').filter((l) => l.startsWith('spotmax_drains_total{')).length, 2);
  t.is(lineOf(text, 'spotmax_metrics_dropped_series_total '), 'spotmax_metrics_dropped_series_total 2');
});

test('process metrics are exposed: memory, heap, event loop lag, uptime', (t) => {
  const reg = new PrometheusRegistry();
  try {
    const text = reg.exposition();
    for (const name of [
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
      'process_uptime_seconds',
      'process_start_time_seconds',
    ]) {
      const line = lineOf(text, `${name} `);
      t.truthy(line, name);
      t.true(Number(line?.split(' ')[1]) >= 0, name);
    }
    t.true(Number(lineOf(text, 'process_resident_memory_bytes ')?.split(' ')[1]) > 1_000_000);
  } finally {
    reg.close();
  }
});

test('every sample line is valid exposition syntax', (t) => {
  const reg = new PrometheusRegistry();
  try {
    reg.record({
      name: 'Interruptions',
      value: 1,
      unit: 'Count',
      dimensions: { AutoScalingGroupName: 'w"eb' },
    });
    reg.record({ name: 'DetachLag', value: 1.5, unit: 'Seconds' });
    const sample =
      /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/;
    for (const line of reg.exposition().trimEnd().split('\n')) {
      if (line.startsWith('#')) t.regex(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/);
      else t.regex(line, sample);
    }
  } finally {
    reg.close();
  }
});

test('snakeCase turns CloudWatch names into Prometheus names', (t) => {
  t.is(snakeCase('PolicyReloadFailures'), 'policy_reload_failures');
  t.is(snakeCase('ASGDetachLag'), 'asg_detach_lag');
});
