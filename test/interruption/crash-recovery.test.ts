import test from 'ava';
import { QueueConsumer } from '../../src/controllers/interruption/consumer.js';
import { silentLogger } from '../../src/ports/logger.js';
import { warningBody } from './helpers/setup.js';
import { eventually, simWorld } from './helpers/sim-world.js';

// Recovery within the warning: a task killed mid-work (no clean stop, no visibility reset) leaves its
// message in flight; the next consumer gets it within the short visibility timeout, not a minute later.

test('a message whose handler died is received again within 15 s', async (t) => {
  const w = await simWorld([{ name: 'web', size: 2 }]);
  const url = w.region.queueUrl;
  let firstAt: number | undefined;
  // The first task: receives, starts work that never ends, and dies (every later call of it fails).
  const dying = new QueueConsumer({
    queue: w.cloud.queue,
    clock: w.clock,
    logger: silentLogger,
    queueUrls: [url],
    pollers: 1,
    concurrency: 1,
    handle: () => {
      firstAt = w.clock.nowMs();
      w.rec.dieAfter(0);
      return new Promise(() => {});
    },
  });
  dying.start();
  w.region.sqs.deliver(url, warningBody(w.members('web')[0]!, w.clock.now()));
  await eventually(w.clock, 'first delivery', () => firstAt !== undefined);

  // The replacement task, on the region's own (live) queue.
  let secondAt: number | undefined;
  const next = new QueueConsumer({
    queue: w.region.cloud.queue,
    clock: w.clock,
    logger: silentLogger,
    queueUrls: [url],
    pollers: 1,
    concurrency: 1,
    handle: async (m) => {
      secondAt = w.clock.nowMs();
      t.is(m.receiveCount, 2);
      return 'delete';
    },
  });
  next.start();
  await eventually(w.clock, 'second delivery', () => secondAt !== undefined);
  t.true(secondAt! - firstAt! <= 15_000, `back after ${(secondAt! - firstAt!) / 1000} s`);
  await w.clock.drive(next.stop(100));
});
