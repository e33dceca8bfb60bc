import test from 'ava';
import { CloudError, isRetryable, isThrottled } from '../../src/domain/errors.js';
import { createSimulatedRegion, type SimRegion } from '../../src/sim/region.js';
import { type Scenario, scenarioSchema } from '../../src/sim/scenario.js';
import { coordinationSuite } from './coordination.contract.js';

// The coordination contract against the simulated region's store, on the region's VirtualClock, plus
// what only the simulator offers: its calls counted with the region's API calls, and the store made
// unavailable or throttled (and recovering) in the middle of a run.

function region(): SimRegion {
  const parsed = scenarioSchema.parse({
    name: 'coordination',
    duration: '24h',
    prices: { 'm5.large': { onDemand: 0.096, spot: 0.036 } },
    groups: [{ name: 'unused', instanceTypes: ['m5.large'], azs: ['us-east-1a'], desired: 0 }],
    market: { hazardPerHour: 0 },
    api: { latencyMs: 0 },
  });
  const scenario: Scenario = { ...parsed, groups: [] };
  return createSimulatedRegion(scenario, { seed: 1 });
}

coordinationSuite('sim', async () => {
  const r = region();
  return {
    clock: r.clock,
    advance: (ms) => r.clock.advanceBy(ms),
    replica: (clock = r.clock) => r.coordination.replica(clock),
    teardown: async () => {},
  };
});

test('sim: the store\u2019s calls are counted under DynamoDB\u2019s action names', async (t) => {
  const r = region();
  const before = { ...r.api.stats.byAction };
  await r.coordination.claim('i-0abc', 'a', 30_000);
  await r.coordination.acquireLease('reconciler', 'a', 15_000);
  await r.coordination.checkLease('reconciler', 'a', 1);
  await r.coordination.releaseClaim('i-0abc', 'a');
  const delta = (a: string) => (r.api.stats.byAction[a] ?? 0) - (before[a] ?? 0);
  t.deepEqual(
    ['PutItem', 'UpdateItem', 'GetItem', 'DeleteItem'].map(delta),
    [1, 2, 1, 1],
    'a free lease: a failed renewal, then the takeover',
  );
});

test('sim: an unavailable store fails every call after the SDK\u2019s retries, retryable; lifted, it answers again', async (t) => {
  const r = region();
  r.api.setFault('dynamodb', { errorRate: 1 });
  const err = await t.throwsAsync(r.drive(r.coordination.claim('i-0abc', 'a', 30_000)), {
    instanceOf: CloudError,
  });
  t.true(isRetryable(err));
  t.false(isThrottled(err));
  t.regex(err?.message ?? '', /claiming i-0abc for a: PutItem failed \(InternalError\)/);
  t.is(r.api.stats.injectedErrors, 3, 'three attempts, as the SDK makes');
  // Nothing was written: once the store is back, the claim is free.
  r.api.setFault('dynamodb', undefined);
  t.like(await r.coordination.claim('i-0abc', 'b', 30_000), { claimed: true, holder: 'b' });
});

test('sim: a throttled store answers with DynamoDB\u2019s throttling error; a throttle that ends during the retries is not seen', async (t) => {
  const r = region();
  r.api.setFault('UpdateItem', { throttleRate: 1 });
  const err = await t.throwsAsync(r.drive(r.coordination.acquireLease('reconciler', 'a', 15_000)), {
    instanceOf: CloudError,
  });
  t.true(isThrottled(err));
  t.is(err?.code, 'ProvisionedThroughputExceededException');
  t.true(await r.drive(r.coordination.claim('i-0abc', 'a', 30_000)).then((c) => c.claimed), 'per action');

  // Lifted while the first attempt backs off: the retry succeeds, as the SDK's retry would.
  r.api.setFault('UpdateItem', { throttleRate: 1 });
  const throttlesBefore = r.api.stats.throttles;
  const pending = r.coordination.acquireLease('reconciler', 'a', 15_000);
  await r.clock.advanceBy(0);
  t.is(r.api.stats.throttles, throttlesBefore + 1);
  r.api.setFault('UpdateItem', undefined);
  t.like(await r.drive(pending), { held: true, epoch: 1 });
});

test('sim: the region has one store, shared by its replicas', async (t) => {
  const r = region();
  const other = r.coordination.replica(r.clock);
  t.like(await r.coordination.claim('i-0abc', 'a', 30_000), { claimed: true });
  t.like(await other.claim('i-0abc', 'b', 30_000), { claimed: false, holder: 'a' });
  t.is(other.table, r.coordination.table);
});
