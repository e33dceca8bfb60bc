import test from 'ava';
import { FALLBACK_FOR_TAG, FALLBACK_ORIGINAL_TAG } from '../../src/domain/tags.js';
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
const kindsOf = (r: Awaited<ReturnType<World['pass']>>) => r?.groups[0]?.actions.map((a) => a.kind) ?? [];

test('fallback covers only the shortfall with attached On-Demand; the Spot member and the distribution stay; one mechanism returns to Spot', async (t) => {
  const w = await starved(240);
  const spotMember = w.members()[0]!.instanceId;
  const before = structuredClone(distribution(w));
  await w.wait(60);
  t.false(kindsOf(await w.pass()).includes('fallback-launch'), 'not before afterSeconds');

  await w.wait(61);
  const fall = await w.pass();
  const action = fall?.groups[0]?.actions.find((a) => a.kind === 'fallback-launch');
  t.regex(
    action?.reason ?? '',
    /^fallback-on-demand: 1\/3 InService for 1\d\ds, \d+ failed Spot launches; launch 2 On-Demand/,
  );
  t.truthy(fallbackTag(w));
  t.true(w.rec.callsOf('record').some((c) => (c.args[0] as { name: string }).name === MetricNames.Fallbacks));
  const launched = w.instances().filter((i) => i.tags[FALLBACK_FOR_TAG] === 'web');
  t.is(launched.length, 2, 'exactly the missing count');
  t.true(launched.every((i) => i.market === 'on-demand'));

  // They boot (60 s), are attached with desired kept at 3, and serve.
  await w.wait(61);
  t.true(kindsOf(await w.pass()).includes('fallback-attach'));
  await w.wait(10);
  t.deepEqual(markets(w), ['on-demand', 'on-demand', 'spot']);
  t.deepEqual(
    w.members().map((m) => m.lifecycleState),
    ['InService', 'InService', 'InService'],
  );
  t.is(w.group().desired, 3);
  t.deepEqual(distribution(w), before, 'the distribution was never changed');
  t.true(
    w.members().some((m) => m.instanceId === spotMember),
    'the healthy Spot member was not replaced',
  );

  // Spot came back at 240 s. After returnCheckMinutes the return begins; spotmax replaces the two.
  await w.wait(12 * 60);
  t.false(kindsOf(await w.pass()).includes('fallback-return'));
  await w.wait(120);
  t.true(kindsOf(await w.pass()).includes('fallback-return'));
  let cleared = false;
  let maxDesired = 0;
  for (let n = 0; n < 16 && !cleared; n++) {
    const r = await w.pass();
    maxDesired = Math.max(maxDesired, w.group().desired);
    cleared = kindsOf(r).includes('fallback-clear');
    await w.wait(61);
  }
  t.true(cleared, 'fallback cleared once its On-Demand instances are gone');
  t.is(maxDesired, 4, 'one return-to-Spot replacement at a time (returnBatchSize 1)');
  t.deepEqual(markets(w), ['spot', 'spot', 'spot']);
  t.true(
    w.members().some((m) => m.instanceId === spotMember),
    'still the original Spot member',
  );
  t.is(w.group().desired, 3);
  t.falsy(fallbackTag(w));
  // The group itself replaced nothing: every termination is one spotmax asked for.
  const groupReplacements = w
    .group()
    .activities.filter((a) => /instances distribution/.test(a.statusMessage ?? ''));
  t.deepEqual(groupReplacements, []);
});

test('return fails again: the shortfall is covered again and the next return waits twice as long', async (t) => {
  const w = await starved(7200);
  await w.wait(125);
  await w.pass(); // launch
  await w.wait(61);
  await w.pass(); // attach
  await w.wait(15 * 60);
  t.true(kindsOf(await w.pass()).includes('fallback-return'));
  let again: string | undefined;
  for (let n = 0; n < 6 && !again; n++) {
    await w.wait(31);
    const r = await w.pass();
    again = r?.groups[0]?.actions.find((a) => a.kind === 'fallback-launch')?.reason;
  }
  t.regex(again ?? '', /failed again after the return.*next return in 30m/);
  t.is(JSON.parse(fallbackTag(w)!).a, 2);
  t.is(distribution(w)?.onDemandPercentageAboveBaseCapacity, 0, 'still never changed');
});

test('an On-Demand shortage is not a Spot shortage: no fallback', async (t) => {
  const w = await world(fb, {
    groups: [webGroup({ desired: 1, max: 6, onDemandPercentage: 100 })],
    // No On-Demand capacity either, for a group that launches On-Demand only.
    market: { outages: [{ from: 0, to: 7200, onDemand: true }] },
  });
  await w.wait(1);
  w.region.asg.update('web', { desired: 3 });
  await w.wait(300);
  const failed = w.group().activities.filter((a) => a.statusCode === 'Failed');
  t.true(failed.length > 0);
  t.true(failed.every((a) => !/^Could not launch Spot Instances/.test(a.statusMessage ?? '')));
  t.false(kindsOf(await w.pass()).includes('fallback-launch'));
});

test('the attach keeps the desired capacity the group has then, not the one the fallback began with', async (t) => {
  const w = await starved(3600);
  await w.wait(121);
  t.true(kindsOf(await w.pass()).includes('fallback-launch'));
  // While they boot, desired moves (a replacement taking back its +1, a scaling policy): 3 -> 2.
  w.region.asg.update('web', { desired: 2 });
  await w.wait(61);
  await w.pass();
  await w.wait(10);
  t.is(w.group().desired, 2, 'the fallback did not pin desired to the 3 it began with');
  t.is(w.members().length, 2, 'one attached, the other not needed: terminated');
});
