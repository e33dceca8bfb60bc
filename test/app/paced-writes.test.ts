import test from 'ava';
import { pacedWrites, RECONCILER_EC2_WRITES } from '../../src/app/guarded-cloud.js';
import type { Cloud } from '../../src/ports/cloud.js';
import { warmRegion } from '../sim/helpers.js';

// The reconciler's EC2 writes are paced below EC2's mutating-action bucket (50, refilled at 5 a second,
// which the simulated region enforces), so a wave of writes is never throttled and leaves the fast path
// its share of the account's rate.

async function region() {
  const r = await warmRegion({
    groups: [{ name: 'web', instanceTypes: ['m5.large'], azs: ['us-east-1a'], desired: 80, max: 80 }],
  });
  return { r, ids: [...r.asg.mustGet('web').members.keys()] };
}

/** One CreateTags per instance, all at once (as a pass tagging a group's members one by one). */
async function tagEach(r: Awaited<ReturnType<typeof region>>['r'], cloud: Cloud, ids: string[]) {
  const start = r.clock.nowMs();
  const results = await r.clock.drive(
    Promise.allSettled(ids.map((id) => cloud.ec2.createTags([id], { 'spotmax:test': 'x' }))),
  );
  return { ms: r.clock.nowMs() - start, failed: results.filter((x) => x.status === 'rejected').length };
}

test('unpaced, 80 CreateTags at once outrun EC2 mutating bucket: throttled', async (t) => {
  const { r, ids } = await region();
  const before = r.api.stats.throttles;
  await tagEach(r, r.cloud, ids);
  t.true(r.api.stats.throttles - before > 0, 'throttled');
});

test('paced, the same 80 go out at the budget: none throttled, the burst at once and 3 a second after', async (t) => {
  const { r, ids } = await region();
  const before = r.api.stats.throttles;
  const { ms, failed } = await tagEach(r, pacedWrites(r.cloud, r.clock), ids);
  t.is(failed, 0);
  t.is(r.api.stats.throttles - before, 0, 'not one throttled attempt');
  const expected =
    ((ids.length - RECONCILER_EC2_WRITES.capacity) / RECONCILER_EC2_WRITES.refillPerSecond) * 1000;
  t.true(ms >= expected - 1 && ms <= expected + 1_000, `took ${ms} ms, budget says ${expected}`);
  t.true(ids.every((id) => r.ec2.get(id)?.tags['spotmax:test'] === 'x'));
});

test('reads, and writes with buckets of their own, are not paced', async (t) => {
  const { r, ids } = await region();
  const cloud = pacedWrites(r.cloud, r.clock);
  const start = r.clock.nowMs();
  await r.clock.drive(
    Promise.all([
      ...ids.map((id) => cloud.ec2.describeInstances([id])),
      cloud.ec2.terminateInstances(ids.slice(0, 2)),
    ]),
  );
  t.is(r.clock.nowMs() - start, 0, 'no wait for a token');
});

test('a write still waiting for its token when the service stops is refused with the reason, not sent', async (t) => {
  const { r, ids } = await region();
  const stop = new AbortController();
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  const cloud = pacedWrites(r.cloud, r.clock, stop.signal);
  const calls = ids.slice(0, 40).map((id) => cloud.ec2.createTags([id], { 'spotmax:test': 'x' }));
  // The burst goes out; the clock does not move (a stopped simulation, or a shutdown right now).
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  stop.abort(new Error('stopping'));
  const results = await Promise.allSettled(calls);
  const refused = results.filter((x) => x.status === 'rejected');
  t.is(results.length - refused.length, RECONCILER_EC2_WRITES.capacity, 'the burst went out');
  t.true(refused.every((x) => String((x as PromiseRejectedResult).reason).includes('stopping')));
  t.is(
    ids.slice(0, 40).filter((id) => r.ec2.get(id)?.tags['spotmax:test'] === 'x').length,
    20,
    'the rest not sent',
  );
  // Twenty writes waiting on one stop signal are a wave, not a leak: no MaxListenersExceededWarning.
  await new Promise((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  t.deepEqual(warnings, []);
});
