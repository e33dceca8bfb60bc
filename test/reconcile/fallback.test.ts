import test from 'ava';
import { FALLBACK_ORIGINAL_TAG } from '../../src/domain/tags.js';
import { MetricNames } from '../../src/observability/metric-names.js';
import { settings } from '../plan/factories.js';
import { world } from './world.js';

const fb = settings({
  onDemandFallback: {
    enabled: true,
    afterSeconds: 120,
    returnToSpot: true,
    returnCheckMinutes: 15,
    returnBatchSize: 1,
  },
  replacement: { maxConcurrent: 2 },
});

/** `web` wants 3, has 1: Spot capacity is gone in both AZs and launches keep failing. */
async function starved() {
  const w = world(fb);
  const g = w.cloud.addGroup({ name: 'web', desired: 1, max: 6 });
  w.cloud.noSpotIn.add('us-east-1a');
  w.cloud.noSpotIn.add('us-east-1b');
  await w.clock.advance(1_000);
  g.desired = 3;
  w.cloud.tick();
  return { ...w, g };
}

const markets = (w: Awaited<ReturnType<typeof starved>>) =>
  w.g.members.map((m) => w.cloud.instances.get(m.instanceId)!.market).sort();

test('fallback to On-Demand after afterSeconds of failed Spot launches, then return to Spot a few at a time', async (t) => {
  const w = await starved();
  await w.wait(60);
  const early = await w.pass();
  t.false(
    early?.groups[0]?.actions.some((a) => a.kind === 'fallback-on-demand'),
    'not before afterSeconds',
  );

  await w.wait(61);
  const fall = await w.pass();
  const action = fall?.groups[0]?.actions.find((a) => a.kind === 'fallback-on-demand');
  t.regex(action?.reason ?? '', /^fallback-on-demand: 1\/3 InService for 1\d\ds, \d+ failed Spot launches$/);
  t.is(w.g.mixedInstancesPolicy?.instancesDistribution.onDemandPercentageAboveBaseCapacity, 100);
  t.is(w.g.mixedInstancesPolicy?.overrides.length, 2, 'the whole policy was sent');
  t.truthy(w.g.tags.find((x) => x.key === FALLBACK_ORIGINAL_TAG));
  t.true(w.cloud.metricData.some((d) => d.name === MetricNames.Fallbacks));

  await w.wait(61);
  await w.wait(1);
  t.deepEqual(markets(w), ['on-demand', 'on-demand', 'spot'], 'capacity restored with On-Demand');
  t.deepEqual(
    w.g.members.map((m) => m.lifecycleState),
    ['InService', 'InService', 'InService'],
  );

  // Spot comes back. After returnCheckMinutes the original split returns, then On-Demand is replaced.
  w.cloud.noSpotIn.clear();
  await w.wait(13 * 60);
  const notYet = await w.pass();
  t.false(notYet?.groups[0]?.actions.some((a) => a.kind === 'restore-spot'));
  await w.wait(120);
  const back = await w.pass();
  t.true(back?.groups[0]?.actions.some((a) => a.kind === 'restore-spot'));
  t.is(w.g.mixedInstancesPolicy?.instancesDistribution.onDemandPercentageAboveBaseCapacity, 0);

  let cleared = false;
  let maxDesired = 0;
  for (let n = 0; n < 12 && !cleared; n++) {
    const r = await w.pass();
    maxDesired = Math.max(maxDesired, w.g.desired);
    cleared = !!r?.groups[0]?.actions.some((a) => a.kind === 'fallback-clear');
    await w.wait(61);
  }
  t.true(cleared, 'fallback cleared once On-Demand is gone');
  t.is(maxDesired, 4, 'one return-to-Spot replacement at a time (returnBatchSize 1)');
  t.deepEqual(markets(w), ['spot', 'spot', 'spot']);
  t.is(w.g.desired, 3);
  t.falsy(w.g.tags.find((x) => x.key === FALLBACK_ORIGINAL_TAG));
});

test('return fails again: fall back again, and the next return waits twice as long', async (t) => {
  const w = await starved();
  await w.wait(125);
  await w.pass();
  await w.wait(61);
  await w.wait(15 * 60);
  await w.pass(); // restore-spot while Spot is still unavailable
  t.is(w.g.mixedInstancesPolicy?.instancesDistribution.onDemandPercentageAboveBaseCapacity, 0);
  await w.pass(); // begins returning an On-Demand instance: desired + 1, which fails on Spot
  w.cloud.tick();
  await w.wait(1);
  const again = await w.pass();
  const action = again?.groups[0]?.actions.find((a) => a.kind === 'fallback-on-demand');
  t.regex(action?.reason ?? '', /failed again after the return.*next return in 30m/);
  t.is(w.g.mixedInstancesPolicy?.instancesDistribution.onDemandPercentageAboveBaseCapacity, 100);
  const record = JSON.parse(w.g.tags.find((x) => x.key === FALLBACK_ORIGINAL_TAG)!.value);
  t.is(record.a, 2);
});

test('a group without a MixedInstancesPolicy: plan says it cannot fall back, nothing changes', async (t) => {
  const w = world(fb);
  const g = w.cloud.addGroup({ name: 'single', desired: 1, mixed: false });
  g.desired = 2;
  w.cloud.tick();
  await w.wait(300);
  const r = await w.pass();
  t.true(r?.groups[0]?.problems.some((p) => p.startsWith('cannot fall back to On-Demand')));
  t.false(r?.groups[0]?.actions.some((a) => a.kind === 'fallback-on-demand'));
});
