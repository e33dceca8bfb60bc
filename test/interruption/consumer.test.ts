import test from 'ava';
import {
  type ConsumerOptions,
  QueueConsumer,
  retryDelaySeconds,
} from '../../src/controllers/interruption/consumer.js';
import type { Clock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import { fastClock } from './helpers/clock.js';
import { FakeCloud } from './helpers/fake-cloud.js';
import { hangingReleaser, makeController, until, warningBody } from './helpers/setup.js';

/** A consumer over the fake queue 'q1' with a silent logger. */
const consumerOn = (
  fake: FakeCloud,
  clock: Clock,
  over: Partial<ConsumerOptions> & Pick<ConsumerOptions, 'handle'>,
) =>
  new QueueConsumer({
    queue: fake.queue,
    clock,
    logger: silentLogger,
    queueUrls: ['q1'],
    pollers: 1,
    concurrency: 2,
    ...over,
  });

test('the loop receives, handles and deletes; garbage is deleted and the loop goes on', async (t) => {
  const clock = fastClock(10);
  const fake = new FakeCloud(clock);
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  const { controller } = makeController({ cloud: fake.cloud, clock });
  controller.start();
  await fake.queue.send('q1', 'garbage');
  await fake.queue.send('q1', warningBody(victim, clock.now()));
  await until('messages deleted', () => fake.deleted.length === 2);
  await controller.stop(1000);
  t.is(fake.queued('q1'), 0);
  t.is(fake.detachCalls.length, 1);
  t.like(controller.stats(), { received: 2, deleted: 2, discarded: { 'not-json': 1 }, detached: 1 });
  t.true(fake.metricFlushes >= 1, 'metrics flushed on stop');
});

test('stop mid-work: in-flight work gets the grace period, then its message stays on the queue', async (t) => {
  const clock = fastClock(1);
  const fake = new FakeCloud(clock);
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  const slow = hangingReleaser();
  const { controller } = makeController({ cloud: fake.cloud, clock, releasers: [slow] });
  controller.start();
  await fake.queue.send('q1', warningBody(victim, clock.now()));
  await until('release started', () => slow.started);
  const t0 = Date.now();
  await controller.stop(200);
  t.true(Date.now() - t0 >= 190, 'waited for the grace period');
  t.true(Date.now() - t0 < 3000);
  t.is(fake.queued('q1'), 1, 'the unfinished message is still on the queue');
  t.is(fake.deleted.length, 0);
  // It is visible again at once for another replica.
  const again = await fake.queue.receive('q1', { maxMessages: 10, waitSeconds: 0 });
  t.is(again.length, 1);
  t.is(again[0]!.receiveCount, 2);
});

test('a handler that throws leaves the message for redelivery, soon, and the loop continues', async (t) => {
  const clock = fastClock(10);
  const fake = new FakeCloud(clock);
  let calls = 0;
  // A long visibility timeout: the failed message must come back after the short retry delay instead.
  const consumer = consumerOn(fake, clock, {
    pollers: 1,
    concurrency: 4,
    visibilityTimeoutSeconds: 60,
    handle: async (m) => {
      calls++;
      if (m.body === 'bad' && m.receiveCount === 1) throw new Error('transient');
      return 'delete';
    },
  });
  consumer.start();
  await fake.queue.send('q1', 'bad');
  await fake.queue.send('q1', 'good');
  const started = clock.now().getTime();
  await until('messages deleted', () => fake.deleted.length === 2, 5000);
  t.true(clock.now().getTime() - started < 30_000, 'retried well inside the two-minute warning');
  await consumer.stop(100);
  t.is(calls, 3);
  t.deepEqual([1, 2, 3, 6, 9].map(retryDelaySeconds), [2, 4, 8, 60, 60]);
  t.is(fake.queued('q1'), 0);
});

test('concurrency is bounded and pollers never pull messages they cannot start', async (t) => {
  const clock = fastClock(1);
  const fake = new FakeCloud(clock);
  let running = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  const consumer = consumerOn(fake, clock, {
    pollers: 3,
    concurrency: 5,
    handle: async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((r) => gates.push(r));
      running--;
      return 'delete';
    },
  });
  for (let i = 0; i < 12; i++) await fake.queue.send('q1', `m${i}`);
  consumer.start();
  await until('5 handlers running', () => running === 5);
  await new Promise((r) => setTimeout(r, 50));
  // Only the 5 being handled are invisible; the other 7 were never received.
  const now = clock.now().getTime();
  t.is((fake.messages.get('q1') ?? []).filter((m) => m.visibleAt > now).length, 5);
  while (fake.deleted.length < 12) {
    for (const g of gates.splice(0)) g();
    await new Promise((r) => setTimeout(r, 5));
  }
  await consumer.stop(100);
  t.is(peak, 5);
});

test('visibility is extended while a message is being handled', async (t) => {
  const clock = fastClock(20);
  const fake = new FakeCloud(clock);
  let release!: () => void;
  const consumer = consumerOn(fake, clock, {
    pollers: 1,
    concurrency: 2,
    visibilityTimeoutSeconds: 10,
    handle: () => new Promise((r) => (release = () => r('delete'))),
  });
  await fake.queue.send('q1', 'slow');
  consumer.start();
  await until('handler started', () => release !== undefined);
  // 30 s of clock time: without extension the message would have reappeared after 10 s.
  await clock.sleep(30_000);
  const m = fake.messages.get('q1')![0]!;
  t.true(m.visibleAt > clock.now().getTime(), 'still invisible');
  t.is(m.receiveCount, 1);
  release();
  await until('messages deleted', () => fake.deleted.length === 1);
  await consumer.stop(100);
});

test('receive errors are logged and retried with backoff; the loop survives', async (t) => {
  const clock = fastClock(100);
  const fake = new FakeCloud(clock);
  fake.fail('receive', new Error('connect ECONNREFUSED'), 3);
  let handled = 0;
  let errors = 0;
  const consumer = consumerOn(fake, clock, {
    pollers: 1,
    concurrency: 2,
    handle: async () => {
      handled++;
      return 'delete';
    },
    onReceiveError: () => void errors++,
  });
  consumer.start();
  await fake.queue.send('q1', 'x');
  await until('message handled', () => handled === 1);
  await consumer.stop(100);
  t.is(errors, 3);
  t.is(fake.deleted.length, 1);
});

test('several queues are consumed; in dry run nothing is changed and nothing deleted', async (t) => {
  const clock = fastClock(10);
  const fake = new FakeCloud(clock);
  const [a, b] = fake.addGroup('web', 2).members.map((m) => m.instanceId) as [string, string];
  const { controller } = makeController({
    cloud: fake.cloud,
    clock,
    deps: { dryRun: true, queueUrls: ['q1', 'q2'] },
  });
  controller.start();
  await fake.queue.send('q1', warningBody(a, clock.now()));
  await fake.queue.send('q2', warningBody(b, clock.now()));
  await fake.queue.send('q2', 'garbage');
  await until('three messages handled', () => controller.stats().received >= 3);
  await controller.stop(1000);
  t.is(fake.deleted.length, 0, 'dry run deletes nothing');
  t.is(fake.queued('q1') + fake.queued('q2'), 3);
  t.is(fake.detachCalls.length, 0);
  t.is(fake.tagCalls.length, 0);
});
