import test from 'ava';
import { DeadlineError } from '../../src/domain/errors.js';
import { deadlineSignal, withDeadline } from '../../src/timing/deadline.js';
import { trackedClock } from './helpers.js';

test('work that ends in time gives its result, and the timer is cancelled', async (t) => {
  const c = trackedClock();
  const result = await c.virtual.drive(
    withDeadline(
      async () => {
        await c.clock.sleep(1_000);
        return 'answer';
      },
      { clock: c.clock, ms: 5_000, what: 'asking' },
    ),
  );
  t.is(result, 'answer');
  t.is(c.virtual.now().getTime() - Date.parse('2026-01-01T00:00:00Z'), 1_000);
  t.is(c.pendingSleeps, 0, 'the 5 s timer was cancelled when the work ended');
});

test('work that hangs is abandoned at the deadline with a DeadlineError naming it; its signal aborts', async (t) => {
  const c = trackedClock();
  let workSignal: AbortSignal | undefined;
  const err = await t.throwsAsync(
    c.virtual.drive(
      withDeadline(
        (signal) => {
          workSignal = signal;
          return new Promise<never>(() => {});
        },
        { clock: c.clock, ms: 2_000, what: 'DetachInstances for web' },
      ),
    ),
    { instanceOf: DeadlineError },
  );
  t.is(err?.message, 'DetachInstances for web: no answer within 2000 ms');
  t.true(workSignal?.aborted, 'the work is told to stop');
  t.is(c.virtual.now().getTime() - Date.parse('2026-01-01T00:00:00Z'), 2_000);
});

test('an absolute deadline and ms: whichever comes first', async (t) => {
  const c = trackedClock();
  const start = c.clock.now().getTime();
  const hang = () => new Promise<never>(() => {});
  await t.throwsAsync(
    c.virtual.drive(withDeadline(hang, { clock: c.clock, ms: 10_000, deadline: start + 3_000, what: 'x' })),
    { message: 'x: no answer within 3000 ms' },
  );
  await t.throwsAsync(
    c.virtual.drive(
      withDeadline(hang, { clock: c.clock, ms: 1_000, deadline: new Date(start + 60_000), what: 'y' }),
    ),
    { message: 'y: no answer within 1000 ms' },
  );
});

test('no time left: the work is not started', async (t) => {
  const c = trackedClock();
  let started = false;
  await t.throwsAsync(
    withDeadline(
      async () => {
        started = true;
      },
      { clock: c.clock, deadline: c.clock.now().getTime() - 1, what: 'late' },
    ),
    { instanceOf: DeadlineError, message: 'late: no time left' },
  );
  t.false(started);
  t.is(c.pendingSleeps, 0);
});

test("the caller's abort rejects at once with its reason and cancels the timer", async (t) => {
  const c = trackedClock();
  const caller = new AbortController();
  const running = withDeadline(() => new Promise<never>(() => {}), {
    clock: c.clock,
    ms: 60_000,
    signal: caller.signal,
    what: 'x',
  });
  caller.abort(new Error('shutting down'));
  await t.throwsAsync(running, { message: 'shutting down' });
  t.is(c.pendingSleeps, 0);
});

test('a work error passes through unchanged, also a synchronous throw', async (t) => {
  const c = trackedClock();
  const boom = new Error('boom');
  t.is(
    await t.throwsAsync(
      withDeadline(async () => Promise.reject(boom), { clock: c.clock, ms: 1_000, what: 'x' }),
    ),
    boom,
  );
  t.is(
    await t.throwsAsync(
      withDeadline(
        () => {
          throw boom;
        },
        { clock: c.clock, ms: 1_000, what: 'x' },
      ),
    ),
    boom,
  );
  t.is(c.pendingSleeps, 0);
});

test('deadlineSignal aborts at the deadline for work that stops by itself; dispose cancels the timer', async (t) => {
  const c = trackedClock();
  const bound = deadlineSignal({ clock: c.clock, ms: 1_500, what: 'draining' });
  await c.virtual.advanceBy(1_499);
  t.false(bound.signal.aborted);
  await c.virtual.advanceBy(1);
  t.true(bound.signal.aborted);
  t.true(bound.signal.reason instanceof DeadlineError);
  bound.dispose();

  const parent = new AbortController();
  const early = deadlineSignal({ clock: c.clock, ms: 1_500, signal: parent.signal, what: 'x' });
  parent.abort(new Error('caller gone'));
  t.is((early.signal.reason as Error).message, 'caller gone');
  early.dispose();
  await new Promise((resolve) => setImmediate(resolve));
  t.is(c.pendingSleeps, 0, 'dispose cancelled the timer');
});
