import test from 'ava';
import { systemClock } from '../../src/ports/clock.js';
import type { ReleaseRequest, Releaser } from '../../src/ports/releaser.js';
import { runReleasers } from '../../src/release/run.js';

const req = (deadlineMs: number): Omit<ReleaseRequest, 'signal'> => ({
  groupName: 'g',
  instance: { instanceId: 'i-1', availabilityZone: 'us-east-1a' },
  mode: 'drain',
  reason: 'spot-interruption',
  deadline: new Date(Date.now() + deadlineMs),
});

test('runReleasers never throws and bounds every step', async (t) => {
  let aborted = false;
  const throwsSync: Releaser = {
    name: 'sync-throw',
    release: () => {
      throw new Error('boom');
    },
  };
  const hangs: Releaser = {
    name: 'hangs',
    release: (r) =>
      new Promise(() => {
        r.signal.addEventListener('abort', () => {
          aborted = true;
        });
      }),
  };
  const quick: Releaser = {
    name: 'quick',
    release: async () => ({ step: 'quick', status: 'done', durationMs: 1 }),
  };
  const started = Date.now();
  const outs = await runReleasers([throwsSync, hangs, quick], req(5000), {
    clock: systemClock,
    stepTimeoutMs: 300,
  });
  t.true(Date.now() - started < 1000);
  t.deepEqual(
    outs.map((o) => [o.step, o.status]),
    [
      ['sync-throw', 'failed'],
      ['hangs', 'partial'],
      ['quick', 'done'],
    ],
  );
  t.is(outs[0]?.detail, 'boom');
  t.true(aborted, 'the overrunning step is told to stop');
  const late = await runReleasers([quick], req(-1), { clock: systemClock });
  t.is(late[0]?.status, 'skipped');
});
