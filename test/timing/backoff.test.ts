import test from 'ava';
import { Backoff, backoffDelay } from '../../src/timing/backoff.js';

test('backoffDelay doubles from the base up to the cap; full jitter draws below it', (t) => {
  const opts = { baseMs: 500, maxMs: 20_000 };
  t.deepEqual(
    [1, 2, 3, 6, 7, 50, 5000].map((n) => backoffDelay(n, opts)),
    [500, 1_000, 2_000, 16_000, 20_000, 20_000, 20_000],
  );
  t.is(backoffDelay(3, { ...opts, jitter: 'full', random: () => 0.25 }), 500);
  t.is(backoffDelay(3, { ...opts, jitter: 'full', random: () => 0 }), 0);
});

test('Backoff per key: waits grow with failures, success forgets them, keys are independent', (t) => {
  const b = new Backoff({ baseMs: 5_000, maxMs: 300_000 });
  t.is(b.fail('web', 0, 'throttled'), 5_000);
  t.is(b.fail('web', 5_000, 'throttled'), 10_000);
  t.is(b.remaining('web', 9_000), 6_000);
  t.is(b.remaining('api', 9_000), 0);
  t.deepEqual(b.state('web'), { failures: 2, lastError: 'throttled' });
  b.succeed('web');
  t.is(b.remaining('web', 9_000), 0);
  t.is(b.fail('web', 20_000, 'again'), 5_000);
});
