import test from 'ava';
import { CloudError } from '../../src/domain/errors.js';
import { withRetry } from '../../src/timing/retry.js';
import { trackedClock } from './helpers.js';

const throttled = () => new CloudError('DetachInstances', 'detaching from web', 'Throttling', true);
const denied = () => new CloudError('DetachInstances', 'detaching from web', 'AccessDenied', false);

test('retryable errors are retried with jittered backoff until the call succeeds', async (t) => {
  const c = trackedClock();
  let calls = 0;
  const retries: [number, number][] = [];
  const result = await c.virtual.drive(
    withRetry(
      async () => {
        calls++;
        if (calls <= 3) throw throttled();
        return 'detached';
      },
      {
        clock: c.clock,
        deadline: new Date(c.clock.now().getTime() + 60_000),
        random: () => 0.5,
        onRetry: (_e, attempt, delay) => retries.push([attempt, delay]),
      },
    ),
  );
  t.is(result, 'detached');
  t.deepEqual(retries, [
    [1, 50],
    [2, 100],
    [3, 200],
  ]);
  t.is(c.pendingSleeps, 0);
});

test('an answer that retrying cannot change is thrown at once', async (t) => {
  const c = trackedClock();
  let calls = 0;
  const err = await t.throwsAsync(
    withRetry(
      async () => {
        calls++;
        throw denied();
      },
      { clock: c.clock, deadline: new Date(c.clock.now().getTime() + 60_000) },
    ),
  );
  t.is((err as CloudError).code, 'AccessDenied');
  t.is(calls, 1);
});

test('no attempt starts past the deadline: the last error is thrown', async (t) => {
  const c = trackedClock();
  const start = c.clock.now().getTime();
  let calls = 0;
  const err = await t.throwsAsync(
    c.virtual.drive(
      withRetry(
        async () => {
          calls++;
          throw throttled();
        },
        { clock: c.clock, deadline: new Date(start + 3_000), baseMs: 1_000, maxMs: 1_000, random: () => 0.9 },
      ),
    ),
  );
  t.is((err as CloudError).code, 'Throttling');
  // 900 ms between attempts: attempts at 0, 900, 1800, 2700; the next would start at 3600 > 3000.
  t.is(calls, 4);
  t.true(c.clock.now().getTime() - start < 3_000);
});

test('a call that never answers is abandoned after its attempt timeout and retried inside the deadline', async (t) => {
  const c = trackedClock();
  const start = c.clock.now().getTime();
  let calls = 0;
  const result = await c.virtual.drive(
    withRetry(
      () => {
        calls++;
        return calls === 1 ? new Promise<string>(() => {}) : Promise.resolve('answer');
      },
      {
        clock: c.clock,
        deadline: new Date(start + 60_000),
        attemptTimeoutMs: 5_000,
        what: 'DescribeInstances',
      },
    ),
  );
  t.is(result, 'answer');
  t.is(calls, 2);
  t.true(c.clock.now().getTime() - start >= 5_000);
  await t.throwsAsync(
    c.virtual.drive(
      withRetry(() => new Promise(() => {}), {
        clock: c.clock,
        deadline: new Date(c.clock.now().getTime() + 2_000),
        what: 'DescribeInstances',
      }),
    ),
    { message: 'DescribeInstances: no answer within 2000 ms' },
  );
});
