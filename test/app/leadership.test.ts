import test from 'ava';
import { createLeadership, LEASE_MS, RENEW_MS } from '../../src/app/leadership.js';
import { SKEW_MARGIN_MS } from '../../src/ports/coordination.js';
import { silentLogger } from '../../src/ports/logger.js';
import { noMetrics } from '../../src/ports/metrics.js';
import { warmRegion } from '../sim/helpers.js';

// The reconciler's leader lease between two replicas on the simulated region's coordination store.

async function twoReplicas() {
  const region = await warmRegion();
  const make = (holder: string) =>
    createLeadership({
      coordination: region.coordination,
      holder,
      clock: region.clock,
      logger: silentLogger,
      metrics: noMetrics,
    });
  return { region, a: make('task-a'), b: make('task-b') };
}

test('one leader at a time; a clean stop hands over at the next renewal', async (t) => {
  const { region, a, b } = await twoReplicas();
  await region.clock.drive(a.start());
  await region.clock.drive(b.start());
  t.true(a.isLeader());
  t.false(b.isLeader());
  t.regex(b.status().reason ?? '', /task-a is the leader/);
  t.true(await region.clock.drive(a.stillLeader()));
  await region.clock.advanceBy(60_000);
  t.true(a.isLeader(), 'renewed, still the leader a minute later');
  t.false(b.isLeader());

  await region.clock.drive(a.stop());
  await region.clock.advanceBy(RENEW_MS);
  t.true(b.isLeader());
  t.false(a.isLeader());
  await region.clock.drive(b.stop());
});

test('a leader that dies is replaced within one lease period; a paused one is fenced out after the takeover', async (t) => {
  const region = await warmRegion();
  // task-a's view of the store, which stops answering when the task "dies" (its calls hang forever).
  let dead = false;
  const hang = new Promise<never>(() => {});
  const store = region.coordination;
  const aStore = new Proxy(store, {
    get: (obj, prop, receiver) => {
      const v = Reflect.get(obj, prop, receiver);
      return typeof v === 'function' ? (...args: unknown[]) => (dead ? hang : v.apply(obj, args)) : v;
    },
  });
  const leadership = (holder: string, coordination: typeof store) =>
    createLeadership({ coordination, holder, clock: region.clock, logger: silentLogger, metrics: noMetrics });
  const a = leadership('task-a', aStore);
  const b = leadership('task-b', store);
  await region.clock.drive(a.start());
  await region.clock.drive(b.start());
  t.true(a.isLeader());
  const epochA = a.status().epoch!;
  dead = true;
  const diedAt = region.clock.nowMs();
  let takenAt: number | undefined;
  for (let i = 0; i < 60 && takenAt === undefined; i++) {
    await region.clock.advanceBy(1_000);
    if (b.isLeader()) takenAt = region.clock.nowMs();
  }
  t.truthy(takenAt, 'task-b took over');
  const after = takenAt! - diedAt;
  // The follower tries right when the lease and the skew margin run out, not on its next tick: 14 s
  // (the test's 1 s steps add up to one).
  t.true(after <= LEASE_MS + SKEW_MARGIN_MS + 1_000, `after ${after / 1000} s`);
  t.true(after <= 15_000, `within the ~15 s the lease period stands for: ${after / 1000} s`);
  t.false(a.isLeader(), 'by its own clock, task-a knows its lease ran out');
  t.true(b.status().epoch! > epochA, 'the epoch moved on');
  // task-a wakes up (the store answers again): its fencing read refuses any change.
  dead = false;
  t.false(await region.clock.drive(a.stillLeader()));
  await region.clock.drive(b.stop());
});

test('without a coordination store the replica is the leader', async (t) => {
  const solo = createLeadership({
    coordination: undefined,
    holder: 'laptop',
    clock: (await warmRegion()).clock,
    logger: silentLogger,
    metrics: noMetrics,
  });
  await solo.start();
  t.true(solo.isLeader());
  t.true(await solo.stillLeader());
});

test('DynamoDB throttled: the leader keeps acting until its lease runs out by its own clock, then pauses and says why', async (t) => {
  const { region, a } = await twoReplicas();
  await region.clock.drive(a.start());
  t.true(a.isLeader());
  region.api.setFault('dynamodb', { throttleRate: 1 });
  await region.clock.advanceBy(RENEW_MS + 100);
  t.true(a.isLeader(), 'one failed renewal: still inside the lease');
  await region.clock.advanceBy(LEASE_MS);
  t.false(a.isLeader(), 'the lease ran out with the store silent: no changes');
  t.regex(a.status().reason ?? '', /coordination store does not answer/);
  t.false(await region.clock.drive(a.stillLeader()), 'the fencing check refuses too');
  region.api.setFault('dynamodb', undefined);
  await region.clock.advanceBy(RENEW_MS + 100);
  t.true(a.isLeader(), 'the store answers again: the lease is taken back');
  await region.clock.drive(a.stop());
});
