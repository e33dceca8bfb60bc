import test from 'ava';
import { reconcileOnce } from '../../src/controllers/reconcile/pass.js';
import { createStandbyHook, STANDBY_ATTACH_SECONDS } from '../../src/controllers/reconcile/standby-hook.js';
import { REPLACEMENT_TAG, STANDBY_FOR_TAG } from '../../src/domain/tags.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { SimRegion } from '../../src/sim/region.js';
import { settings } from '../plan/factories.js';
import { warmRegion } from '../sim/helpers.js';
import { managedAll } from './world.js';

// The reconciler in the simulated region: real boot and start times, API latency, the ASG's own
// launches. Scenarios are short; the virtual clock plays them in milliseconds.

const TAGS = { 'spotmax:enabled': 'true' };

function pass(region: SimRegion, s: ReturnType<typeof settings>) {
  const deps = {
    cloud: region.cloud,
    clock: region.clock,
    logger: silentLogger,
    loadPolicies: () => null,
    resolve: managedAll(() => s),
    dryRun: false,
  };
  return region.clock.drive(reconcileOnce(deps, { execute: true }));
}

test('lifetime in the simulated region: every instance replaced launch-before-retire, capacity never below desired', async (t) => {
  const region = await warmRegion({
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large'],
        azs: ['us-east-1a', 'us-east-1b'],
        desired: 3,
        boot: { median: 60, p99: 90 },
        tags: TAGS,
      },
    ],
  });
  const s = settings({ lifetime: { guaranteeMinutes: 30 }, replacement: { maxConcurrent: 2 } });
  const original = new Set(
    (await region.cloud.autoscaling.describeGroups(['web']))[0]!.members.map((m) => m.instanceId),
  );
  t.is(original.size, 3);
  let minInService = Number.POSITIVE_INFINITY;
  let maxInFlight = 0;
  for (let minute = 0; minute < 60; minute++) {
    const r = await pass(region, s);
    const g = r.observation.groups.find((x) => x.name === 'web')!;
    minInService = Math.min(minInService, g.members.filter((m) => m.lifecycleState === 'InService').length);
    const inFlight = [...r.observation.instances.values()].filter(
      (i) => i.tags[REPLACEMENT_TAG] && i.state !== 'terminated',
    ).length;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await region.clock.advanceBy(30_000);
  }
  const final = (await region.cloud.autoscaling.describeGroups(['web']))[0]!;
  t.is(final.desired, 3);
  t.is(final.max >= 3, true);
  t.true(
    final.members.every((m) => !original.has(m.instanceId)),
    'all original instances were replaced',
  );
  t.true(minInService >= 3, `InService never dropped below desired (min ${minInService})`);
  t.true(maxInFlight <= 2, `at most maxConcurrent in flight (saw ${maxInFlight})`);
});

test('standby in the simulated region: the pool is kept stopped and the hook attaches one within the start time', async (t) => {
  const region = await warmRegion({
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large', 'm5a.large'],
        azs: ['us-east-1a', 'us-east-1b'],
        desired: 2,
        boot: { median: 60, p99: 90 },
        tags: TAGS,
      },
    ],
  });
  const s = settings({ standby: { size: 2, startTimeoutSeconds: 120 } });
  for (let n = 0; n < 12; n++) {
    await pass(region, s);
    await region.clock.advanceBy(30_000);
  }
  const r = await pass(region, s);
  const pool = r.observation.standbys.filter((i) => i.tags[STANDBY_FOR_TAG] === 'web');
  t.deepEqual(
    pool.map((i) => i.state),
    ['stopped', 'stopped'],
  );
  t.deepEqual(r.groups[0]?.actions, []);

  const interrupted = r.observation.instances.get(r.observation.groups[0]!.members[0]!.instanceId)!;
  const warnedAt = region.clock.now().getTime();
  const hook = createStandbyHook({
    cloud: region.cloud,
    clock: region.clock,
    logger: silentLogger,
    standbysFor: () => pool,
    pollMs: 1_000,
  });
  const got = await region.clock.drive(
    hook.takeStandby({
      groupName: 'web',
      settings: s,
      interrupted,
      deadline: new Date(warnedAt + 120_000),
      signal: new AbortController().signal,
    }),
  );
  t.truthy(got);
  const members = (await region.cloud.autoscaling.describeGroups(['web']))[0]!.members;
  t.true(members.some((m) => m.instanceId === got!.instanceId));
  const seconds = (region.clock.now().getTime() - warnedAt) / 1000;
  t.log(
    `warning -> standby attached: ${seconds.toFixed(1)} s in the simulated region (start time median 40 s)`,
  );
  t.true(seconds < 120);
  const metric = region.metrics.recent.find((d) => d.name === STANDBY_ATTACH_SECONDS);
  t.is(metric?.value, seconds, 'StandbyAttachSeconds is the time from the warning to the attach');
});
