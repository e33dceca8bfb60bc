import test from 'ava';
import { FALLBACK_ORIGINAL_TAG, GROUP_TAG } from '../../src/domain/tags.js';
import { MetricNames } from '../../src/observability/metric-names.js';
import { settings } from '../plan/factories.js';
import { type World, webGroup, world } from './world.js';

const fb = settings({
  onDemandFallback: {
    enabled: true,
    afterSeconds: 120,
    returnCheckMinutes: 15,
    returnToSpot: true,
    returnBatchSize: 1,
  },
  replacement: { maxConcurrent: 2 },
});

/**
 * `web` wants 3, has 1: from the scenario start Spot capacity is gone in both AZs (until `spotBackAt`
 * seconds), so the group's launches fail with Spot capacity errors and are retried every minute.
 * The one member was launched in the warm-up, before the outage.
 */
async function starved(spotBackAt: number) {
  const w = await world(fb, {
    groups: [webGroup({ desired: 1, max: 6 })],
    market: { outages: [{ from: 0, to: spotBackAt }] },
  });
  await w.wait(1);
  w.region.asg.update('web', { desired: 3 });
  return w;
}

const markets = (w: World) =>
  w
    .members()
    .map((m) => m.market)
    .sort();
const distribution = (w: World) => w.group().mixedInstancesPolicy?.instancesDistribution;
const fallbackTag = (w: World) => w.group().tags.get(FALLBACK_ORIGINAL_TAG)?.value;

test('fallback to On-Demand after afterSeconds of failed Spot launches, then return to Spot a few at a time', async (t) => {
  const w = await starved(240);
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
  t.is(distribution(w)?.onDemandPercentageAboveBaseCapacity, 100);
  t.is(w.group().mixedInstancesPolicy?.overrides.length, 2, 'the whole policy was sent');
  t.truthy(fallbackTag(w));
  t.true(w.rec.callsOf('record').some((c) => (c.args[0] as { name: string }).name === MetricNames.Fallbacks));

  // The group's next launch attempt (a minute after the last failure) is On-Demand, InService a minute later.
  await w.wait(121);
  t.deepEqual(markets(w), ['on-demand', 'on-demand', 'spot'], 'capacity restored with On-Demand');
  t.deepEqual(
    w.members().map((m) => m.lifecycleState),
    ['InService', 'InService', 'InService'],
  );

  // Spot came back at 240 s. After returnCheckMinutes the original split returns, then On-Demand is replaced.
  await w.wait(12 * 60);
  const notYet = await w.pass();
  t.false(notYet?.groups[0]?.actions.some((a) => a.kind === 'restore-spot'));
  await w.wait(120);
  const back = await w.pass();
  t.true(back?.groups[0]?.actions.some((a) => a.kind === 'restore-spot'));
  t.is(distribution(w)?.onDemandPercentageAboveBaseCapacity, 0);

  let cleared = false;
  let maxDesired = 0;
  for (let n = 0; n < 12 && !cleared; n++) {
    const r = await w.pass();
    maxDesired = Math.max(maxDesired, w.group().desired);
    cleared = !!r?.groups[0]?.actions.some((a) => a.kind === 'fallback-clear');
    await w.wait(61);
  }
  t.true(cleared, 'fallback cleared once On-Demand is gone');
  t.is(maxDesired, 4, 'one return-to-Spot replacement at a time (returnBatchSize 1)');
  t.deepEqual(markets(w), ['spot', 'spot', 'spot']);
  t.is(w.group().desired, 3);
  t.falsy(fallbackTag(w));
});

test('return fails again: fall back again, and the next return waits twice as long', async (t) => {
  const w = await starved(7200);
  await w.wait(125);
  await w.pass();
  await w.wait(61);
  await w.wait(15 * 60);
  await w.pass(); // restore-spot while Spot is still unavailable
  t.is(distribution(w)?.onDemandPercentageAboveBaseCapacity, 0);
  // A second later (the return's launches come after the restore, as they do in AWS with any latency):
  await w.wait(1);
  await w.pass(); // begins returning an On-Demand instance: desired + 1, which fails on Spot
  await w.wait(1);
  const again = await w.pass();
  const action = again?.groups[0]?.actions.find((a) => a.kind === 'fallback-on-demand');
  t.regex(action?.reason ?? '', /failed again after the return.*next return in 30m/);
  t.is(distribution(w)?.onDemandPercentageAboveBaseCapacity, 100);
  const record = JSON.parse(fallbackTag(w)!);
  t.is(record.a, 2);
});

test('a group without a MixedInstancesPolicy: plan says it cannot fall back, nothing changes', async (t) => {
  const w = await world(fb);
  // A group on a plain launch template (the scenario's groups all have a MixedInstancesPolicy).
  const template = w.group().mixedInstancesPolicy!.launchTemplate;
  w.region.asg.createGroup({
    name: 'single',
    min: 0,
    max: 3,
    desired: 1,
    azs: ['us-east-1a'],
    launchTemplate: { ...template },
    tags: [{ key: GROUP_TAG, value: 'single', propagateAtLaunch: true }],
  });
  await w.wait(90);
  w.region.asg.update('single', { desired: 2 });
  await w.wait(300);
  const r = await w.pass();
  const single = r?.groups.find((g) => g.resolved.group.name === 'single');
  t.true(single?.problems.some((p) => p.startsWith('cannot fall back to On-Demand')));
  t.false(single?.actions.some((a) => a.kind === 'fallback-on-demand'));
  t.is(w.group('single').launchTemplate?.id, template.id, 'the group is left on its launch template');
  t.is(w.group('single').mixedInstancesPolicy, undefined);
});
