import { GetMetricStatisticsCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import test from 'ava';
import { batchDatums, MAX_DATUMS_PER_PUT } from '../../src/aws/cloudwatch-metrics.js';
import { CloudError } from '../../src/domain/errors.js';
import type { MetricDatum } from '../../src/ports/metrics.js';
import { createTestQueue, testCloud } from '../helpers/aws-fixtures.js';
import { unlistedPermissions, useMotoEnv } from './moto-env.js';

const env = useMotoEnv();

test.serial('SQS: send, receive with receive count and sent time, hide, reappear, delete', async (t) => {
  const url = await createTestQueue(env.raw.sqs, 'events', 30);
  await env.cloud.queue.check(url);
  const before = Date.now();
  const id = await env.cloud.queue.send(url, '{"hello":1}');
  t.truthy(id);

  const [first] = await env.cloud.queue.receive(url, { maxMessages: 10, waitSeconds: 0 });
  t.is(first?.messageId, id);
  t.is(first?.body, '{"hello":1}');
  t.is(first?.receiveCount, 1);
  t.true(first!.sentAt!.getTime() >= before - 2000 && first!.sentAt!.getTime() <= Date.now() + 2000);

  t.deepEqual(
    await env.cloud.queue.receive(url, { maxMessages: 10, waitSeconds: 0 }),
    [],
    'hidden while in flight',
  );
  await env.cloud.queue.changeVisibility(url, first!.receiptHandle, 0);
  const [again] = await env.cloud.queue.receive(url, {
    maxMessages: 10,
    waitSeconds: 0,
    visibilityTimeoutSeconds: 60,
  });
  t.is(again?.messageId, id);
  t.is(again?.receiveCount, 2);

  await env.cloud.queue.delete(url, again!.receiptHandle);
  t.deepEqual(
    await env.cloud.queue.receive(url, { maxMessages: 10, waitSeconds: 0 }),
    [],
    'deleted for good',
  );
});

test.serial('SQS: an aborted long poll returns no messages; a missing queue is a CloudError', async (t) => {
  const url = await createTestQueue(env.raw.sqs, 'quiet');
  const ctl = new AbortController();
  const started = Date.now();
  const pending = env.cloud.queue.receive(url, { maxMessages: 10, waitSeconds: 20, signal: ctl.signal });
  setTimeout(() => ctl.abort(new Error('shutting down')), 100);
  t.deepEqual(await pending, []);
  t.true(Date.now() - started < 5000);

  const err = await t.throwsAsync(env.cloud.queue.check(`${env.moto.endpoint}/123456789012/nope`), {
    instanceOf: CloudError,
  });
  t.regex(err!.message, /checking queue nope: GetQueueAttributes failed/);
});

test.serial(
  'CloudWatch: flushed metrics are accepted and visible through ListMetrics and statistics',
  async (t) => {
    const now = new Date();
    env.cloud.metrics.record({
      name: 'WarningsReceived',
      value: 1,
      unit: 'Count',
      dimensions: { AutoScalingGroupName: 'web' },
      timestamp: now,
    });
    env.cloud.metrics.record({
      name: 'WarningsReceived',
      value: 2,
      unit: 'Count',
      dimensions: { AutoScalingGroupName: 'web' },
      timestamp: now,
    });
    env.cloud.metrics.record({
      name: 'DetachLagSeconds',
      value: 3.5,
      unit: 'Seconds',
      dimensions: { AutoScalingGroupName: 'web' },
    });
    env.calls.reset();
    await env.cloud.metrics.flush();
    t.is(env.calls.get('cloudwatch:PutMetricData'), 1);

    const listed = await env.raw.cloudwatch.send(new ListMetricsCommand({ Namespace: 'SpotMax' }));
    t.deepEqual([...new Set((listed.Metrics ?? []).map((m) => m.MetricName))].sort(), [
      'DetachLagSeconds',
      'WarningsReceived',
    ]);
    t.deepEqual(listed.Metrics?.[0]?.Dimensions, [{ Name: 'AutoScalingGroupName', Value: 'web' }]);
    const stats = await env.raw.cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: 'SpotMax',
        MetricName: 'WarningsReceived',
        Dimensions: [{ Name: 'AutoScalingGroupName', Value: 'web' }],
        StartTime: new Date(now.getTime() - 600_000),
        EndTime: new Date(now.getTime() + 600_000),
        Period: 60,
        Statistics: ['Sum'],
      }),
    );
    t.is(
      (stats.Datapoints ?? []).reduce((a, d) => a + (d.Sum ?? 0), 0),
      3,
    );

    env.calls.reset();
    await env.cloud.metrics.flush();
    t.is(env.calls.get('cloudwatch:PutMetricData'), 0, 'an empty buffer sends nothing');
  },
);

test.serial(
  'CloudWatch: 2,500 datums go in three PutMetricData calls, uncompressed, all accepted',
  async (t) => {
    for (let i = 0; i < 2500; i++) {
      env.cloud.metrics.record({
        name: 'Bulk',
        value: i,
        unit: 'Count',
        dimensions: { AutoScalingGroupName: `g-${i % 7}` },
      });
    }
    env.calls.reset();
    await env.cloud.metrics.flush();
    t.is(env.calls.get('cloudwatch:PutMetricData'), 3);
    const listed = await env.raw.cloudwatch.send(
      new ListMetricsCommand({ Namespace: 'SpotMax', MetricName: 'Bulk' }),
    );
    t.is(listed.Metrics?.length, 7);
  },
);

test('batchDatums splits by count and by size', (t) => {
  const small: MetricDatum[] = Array.from({ length: 2001 }, () => ({ name: 'M', value: 1, unit: 'Count' }));
  t.deepEqual(
    batchDatums(small).map((b) => b.length),
    [MAX_DATUMS_PER_PUT, MAX_DATUMS_PER_PUT, 1],
  );
  const big: MetricDatum[] = Array.from({ length: 600 }, (_, i) => ({
    name: 'M',
    value: i,
    unit: 'Count',
    dimensions: Object.fromEntries(Array.from({ length: 10 }, (_, d) => [`Dim${d}`, 'v'.repeat(200)])),
  }));
  const batches = batchDatums(big);
  t.true(batches.length > 1);
  t.is(batches.flat().length, 600);
});

test.serial('a failed flush keeps the datums for the next one', async (t) => {
  const down = testCloud('http://127.0.0.1:9', undefined);
  down.metrics.record({ name: 'Kept', value: 1, unit: 'Count' });
  const err = await t.throwsAsync(down.metrics.flush(), { instanceOf: CloudError });
  t.true((err as CloudError).retryable, err?.message);
  t.regex(err!.message, /publishing 1 metrics to SpotMax: PutMetricData failed/);
  const retried = await t.throwsAsync(down.metrics.flush());
  t.regex(retried!.message, /publishing 1 metrics/, 'the same datum is tried again');
});

test.serial('every SQS and CloudWatch action called is in the IAM permission list', (t) => {
  t.true(env.calls.keys().length > 0);
  t.deepEqual(unlistedPermissions(env.calls.keys()), []);
});
