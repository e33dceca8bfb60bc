import test from 'ava';
import {
  type ConsumerOptions,
  QueueConsumer,
  retryDelaySeconds,
} from '../../src/controllers/interruption/consumer.js';
import { silentLogger } from '../../src/ports/logger.js';
import { captureLogger, hangingReleaser, makeController, warningBody } from './helpers/setup.js';
import { eventually, type SimWorld, simWorld } from './helpers/sim-world.js';

// The receive loop on the simulated region's SQS (long polling, visibility timeouts, receive counts),
// in virtual time: the clock jumps from event to event while the loop runs.

/** A consumer over the region's queue with a silent logger. */
const consumerOn = (w: SimWorld, over: Partial<ConsumerOptions> & Pick<ConsumerOptions, 'handle'>) =>
  new QueueConsumer({
    queue: w.cloud.queue,
    clock: w.clock,
    logger: silentLogger,
    queueUrls: [w.region.queueUrl],
    pollers: 1,
    concurrency: 2,
    ...over,
  });

const deleted = (w: SimWorld) => w.okCalls('delete').length;

test('the loop receives, handles and deletes; garbage is deleted and the loop goes on', async (t) => {
  const w = await simWorld([{ name: 'web', size: 2 }]);
  const url = w.region.queueUrl;
  const victim = w.members('web')[0]!;
  const { controller } = makeController({ cloud: w.cloud, clock: w.clock, deps: { queueUrls: [url] } });
  controller.start();
  w.region.sqs.deliver(url, 'garbage');
  w.region.sqs.deliver(url, warningBody(victim, w.clock.now()));
  await eventually(w.clock, 'messages deleted', () => deleted(w) === 2);
  await w.clock.drive(controller.stop(1000));
  t.is(w.region.sqs.depth(url), 0);
  t.is(w.okCalls('detachInstances').length, 1);
  t.like(controller.stats(), { received: 2, deleted: 2, discarded: { 'not-json': 1 }, detached: 1 });
});

test('stop mid-work: in-flight work gets the grace period, then its message stays on the queue', async (t) => {
  const w = await simWorld([{ name: 'web', size: 2 }]);
  const url = w.region.queueUrl;
  const victim = w.members('web')[0]!;
  const slow = hangingReleaser();
  const { controller } = makeController({
    cloud: w.cloud,
    clock: w.clock,
    releasers: [slow],
    deps: { queueUrls: [url] },
  });
  controller.start();
  w.region.sqs.deliver(url, warningBody(victim, w.clock.now()));
  await eventually(w.clock, 'release started', () => slow.started);
  const t0 = w.clock.nowMs();
  await w.clock.drive(controller.stop(200));
  t.is(w.clock.nowMs() - t0, 200, 'waited for the grace period, exactly');
  t.is(w.region.sqs.depth(url), 1, 'the unfinished message is still on the queue');
  t.is(w.rec.callsOf('delete').length, 0);
  t.is(w.rec.callsOf('detachInstances').length, 0);
  // It is visible again at once for another replica.
  const again = await w.receiveAll();
  t.is(again.length, 1);
  t.is(again[0]!.receiveCount, 2);
});

test('a handler that throws leaves the message for redelivery, soon, and the loop continues', async (t) => {
  const w = await simWorld([{ name: 'web', size: 1 }]);
  const url = w.region.queueUrl;
  const handled: { body: string; receiveCount: number; at: number }[] = [];
  // A long visibility timeout: the failed message must come back after the short retry delay instead.
  const consumer = consumerOn(w, {
    pollers: 1,
    concurrency: 4,
    visibilityTimeoutSeconds: 60,
    handle: async (m) => {
      handled.push({ body: m.body, receiveCount: m.receiveCount, at: w.clock.nowMs() });
      if (m.body === 'bad' && m.receiveCount === 1) throw new Error('transient');
      return 'delete';
    },
  });
  consumer.start();
  w.region.sqs.deliver(url, 'bad');
  w.region.sqs.deliver(url, 'good');
  const started = w.clock.nowMs();
  await eventually(w.clock, 'messages deleted', () => deleted(w) === 2);
  t.true(w.clock.nowMs() - started < 30_000, 'retried well inside the two-minute warning');
  await w.clock.drive(consumer.stop(100));
  t.is(handled.length, 3);
  const bad = handled.filter((h) => h.body === 'bad');
  t.deepEqual(
    bad.map((h) => h.receiveCount),
    [1, 2],
  );
  t.is(
    bad[1]!.at - bad[0]!.at,
    retryDelaySeconds(1) * 1000,
    'back after the retry delay, not the 60 s timeout',
  );
  t.deepEqual([1, 2, 3, 6, 9].map(retryDelaySeconds), [2, 4, 8, 60, 60]);
  t.is(w.region.sqs.depth(url), 0);
});

test('concurrency is bounded and pollers never pull messages they cannot start', async (t) => {
  const w = await simWorld([{ name: 'web', size: 1 }]);
  const url = w.region.queueUrl;
  let running = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  const consumer = consumerOn(w, {
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
  for (let i = 0; i < 12; i++) w.region.sqs.deliver(url, `m${i}`);
  consumer.start();
  await eventually(w.clock, '5 handlers running', () => running === 5);
  // Give the pollers time to misbehave.
  await w.clock.drive(w.clock.sleep(5_000));
  // Only the 5 being handled are invisible; the other 7 were never received.
  t.is(w.region.sqs.inFlight(url), 5);
  t.is(running, 5);
  await eventually(w.clock, 'all deleted', () => {
    for (const g of gates.splice(0)) g();
    return deleted(w) === 12;
  });
  await w.clock.drive(consumer.stop(100));
  t.is(peak, 5);
});

test('visibility is extended while a message is being handled', async (t) => {
  const w = await simWorld([{ name: 'web', size: 1 }]);
  const url = w.region.queueUrl;
  let release: (() => void) | undefined;
  let calls = 0;
  const consumer = consumerOn(w, {
    pollers: 1,
    concurrency: 2,
    visibilityTimeoutSeconds: 10,
    handle: () => {
      calls++;
      return new Promise((r) => {
        release = () => r('delete');
      });
    },
  });
  w.region.sqs.deliver(url, 'slow');
  consumer.start();
  await eventually(w.clock, 'handler started', () => release !== undefined);
  // 30 s of clock time: without extension the message would have reappeared after 10 s.
  await w.clock.drive(w.clock.sleep(30_000));
  t.is(w.region.sqs.inFlight(url), 1, 'still invisible');
  t.deepEqual(await w.receiveAll(), [], 'another consumer gets nothing');
  t.is(calls, 1, 'never delivered twice');
  const extensions = w.rec.callsOf('changeVisibility');
  t.true(extensions.length >= 5, `extended ${extensions.length} times`);
  t.true(extensions.every((c) => c.error === undefined));
  release!();
  await eventually(w.clock, 'messages deleted', () => deleted(w) === 1);
  await w.clock.drive(consumer.stop(100));
});

test('receive errors are logged and retried with backoff; the loop survives', async (t) => {
  const w = await simWorld([{ name: 'web', size: 1 }]);
  w.rec.failNextWith('receive', new Error('connect ECONNREFUSED'), 3);
  let handled = 0;
  let errors = 0;
  const consumer = consumerOn(w, {
    pollers: 1,
    concurrency: 2,
    handle: async () => {
      handled++;
      return 'delete';
    },
    onReceiveError: () => void errors++,
  });
  consumer.start();
  w.region.sqs.deliver(w.region.queueUrl, 'x');
  await eventually(w.clock, 'message handled', () => handled === 1);
  await w.clock.drive(consumer.stop(100));
  t.is(errors, 3);
  t.is(deleted(w), 1);
  // Backoff: each failed receive waits twice as long as the one before (0.5 s, 1 s, 2 s).
  const receives = w.rec.callsOf('receive').map((c) => c.at);
  t.deepEqual(
    receives.slice(1, 4).map((at, i) => at - receives[i]!),
    [500, 1000, 2000],
  );
});

test('several queues are consumed; in dry run nothing is changed and nothing deleted', async (t) => {
  const w = await simWorld([{ name: 'web', size: 2 }]);
  const q1 = w.region.queueUrl;
  const q2 = w.region.sqs.createQueue('spotmax-events-2');
  const [a, b] = w.members('web') as [string, string];
  const { controller } = makeController({
    cloud: w.cloud,
    clock: w.clock,
    deps: { dryRun: true, queueUrls: [q1, q2] },
  });
  controller.start();
  w.region.sqs.deliver(q1, warningBody(a, w.clock.now()));
  w.region.sqs.deliver(q2, warningBody(b, w.clock.now()));
  w.region.sqs.deliver(q2, 'garbage');
  await eventually(w.clock, 'three messages handled', () => controller.stats().received >= 3);
  await w.clock.drive(controller.stop(1000));
  t.is(w.rec.callsOf('delete').length, 0, 'dry run deletes nothing');
  t.is(w.region.sqs.depth(q1) + w.region.sqs.depth(q2), 3);
  t.is(w.rec.callsOf('detachInstances').length, 0);
  t.is(w.rec.callsOf('createTags').length, 0);
});

test('a receive answered by an HTML 503 page is transient: a warning, counted and retried; a denied one is an error', async (t) => {
  const w = await simWorld([{ name: 'web', size: 1 }]);
  // What the SDK throws for a proxy's HTML error page: no AWS code, only the HTTP status.
  const page = Object.assign(
    new Error('Deserialization error: <html><body>503 Service Unavailable</body></html>'),
    {
      name: 'Error',
      $metadata: { httpStatusCode: 503 },
    },
  );
  w.rec.failNextWith('receive', page);
  w.rec.failNext('receive', 'AccessDenied');
  const logger = captureLogger();
  let errors = 0;
  const consumer = new QueueConsumer({
    queue: w.cloud.queue,
    clock: w.clock,
    logger,
    queueUrls: [w.region.queueUrl],
    pollers: 1,
    concurrency: 1,
    handle: async () => 'delete',
    onReceiveError: () => void errors++,
  });
  consumer.start();
  w.region.sqs.deliver(w.region.queueUrl, 'x');
  await eventually(w.clock, 'message deleted', () => deleted(w) === 1);
  await w.clock.drive(consumer.stop(100));
  t.is(errors, 2, 'both counted');
  const receiving = logger.lines.filter((l) => l.msg?.startsWith('receiving from'));
  t.deepEqual(
    receiving.map((l) => l.level),
    ['warn', 'error'],
  );
});
