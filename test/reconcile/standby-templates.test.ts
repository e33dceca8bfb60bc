import test from 'ava';
import { IMAGE_TTL_MS } from '../../src/controllers/reconcile/standby-facts.js';
import { createStandbyHook } from '../../src/controllers/reconcile/standby-hook.js';
import type { CloudError } from '../../src/domain/errors.js';
import { STANDBY_FOR_TAG, STANDBY_TEMPLATE_TAG, STANDBY_UNSTARTABLE_TAG } from '../../src/domain/tags.js';
import type { RunFromTemplateRequest } from '../../src/ports/ec2.js';
import { silentLogger } from '../../src/ports/logger.js';
import { toInstance } from '../../src/sim/ec2-port.js';
import { type SimTemplate, subnetFor } from '../../src/sim/ec2-state.js';
import { settings } from '../plan/factories.js';
import { type World, webGroup, world } from './world.js';

// Issue 12.2: standbys launch from whatever the group's template says, on the simulated region, which
// refuses what AWS refuses (sim/ec2-launch-rules.ts): a top-level SubnetId beside template interfaces,
// hibernation without its prerequisites; and launches Spot from a Spot template unless it is dropped.

const one = settings({ standby: { size: 1, startTimeoutSeconds: 30 } });
const two = settings({ standby: { size: 2, startTimeoutSeconds: 30 } });

const webTemplate = (w: World): SimTemplate =>
  [...w.region.ec2.templates.values()].find((x) => x.name === 'web-lt')!;

const standbys = (w: World) =>
  w
    .instances()
    .filter((i) => i.tags[STANDBY_FOR_TAG] === 'web' && !['terminated', 'shutting-down'].includes(i.state));

const launches = (w: World) => w.rec.callsOf('runInstances').map((c) => c.args[0] as RunFromTemplateRequest);

async function fill(w: World, boot = 61, stop = 46) {
  await w.pass();
  await w.wait(boot);
  await w.pass();
  await w.wait(stop);
}

test('a template asking for Spot: the sim launches Spot from it, standbys drop its market options and are On-Demand', async (t) => {
  const w = await world(two, { groups: [webGroup({ desired: 2, max: 4 })] });
  const tpl = webTemplate(w);
  tpl.versions[0]!.spotMarket = true;
  // What AWS does with the template as it is: Spot, which cannot be stopped.
  const [spot] = await w.cloud.ec2.runInstances({
    launchTemplate: { id: tpl.id },
    market: 'on-demand',
    availabilityZone: 'us-east-1a',
    tags: { [STANDBY_FOR_TAG]: 'demo' },
  });
  t.is(spot?.market, 'spot');
  await w.wait(61);
  await t.throwsAsync(w.cloud.ec2.stopInstances([spot!.instanceId], false), { message: /Spot Instance/ });
  await w.cloud.ec2.terminateInstances([spot!.instanceId]);
  await w.wait(21);
  w.rec.clear();

  const r = await w.pass();
  const planned = r?.groups[0]?.actions.filter((a) => a.kind === 'launch-standby') ?? [];
  t.is(planned.length, 2);
  t.true(planned.every((a) => /On-Demand \(the template asks for Spot\)/.test(a.reason)));
  t.true(launches(w).every((l) => l.dropTemplateMarket === true && l.market === 'on-demand'));
  await w.wait(61);
  await w.pass();
  await w.wait(46);
  const s = standbys(w);
  t.is(s.length, 2);
  t.true(s.every((i) => i.market === 'on-demand' && i.state === 'stopped'));
});

test('a template with NetworkInterfaces: the subnet goes inside the first interface; a top-level SubnetId is refused', async (t) => {
  const w = await world(two, { groups: [webGroup({ desired: 2, max: 4 })] });
  const tpl = webTemplate(w);
  tpl.versions[0]!.networkInterfaces = [
    {
      DeviceIndex: 0,
      Groups: ['sg-0123456789abcdef0'],
      AssociatePublicIpAddress: false,
      DeleteOnTermination: true,
    },
  ];
  // AWS: "If you specify a network interface, you must specify any security groups and subnets as part
  // of the network interface" (RunInstances API reference).
  const refused = await t.throwsAsync(
    w.cloud.ec2.runInstances({
      launchTemplate: { id: tpl.id },
      market: 'on-demand',
      subnetId: subnetFor('us-east-1a'),
      tags: { [STANDBY_FOR_TAG]: 'web' },
    }),
  );
  t.is((refused as CloudError).code, 'InvalidParameterCombination');
  w.rec.clear();

  await fill(w);
  const ls = launches(w);
  t.is(ls.length, 2);
  for (const l of ls) {
    t.is(l.subnetId, undefined);
    t.is(l.networkInterfaces?.length, 1);
    t.deepEqual(
      l.networkInterfaces?.[0]?.Groups,
      ['sg-0123456789abcdef0'],
      "the template's interface is kept",
    );
  }
  t.deepEqual(
    ls.map((l) => l.networkInterfaces?.[0]?.SubnetId).sort(),
    [subnetFor('us-east-1a'), subnetFor('us-east-1b')].sort(),
  );
  t.deepEqual(
    standbys(w)
      .map((i) => i.subnetId)
      .sort(),
    [subnetFor('us-east-1a'), subnetFor('us-east-1b')].sort(),
  );
  t.true(standbys(w).every((i) => i.state === 'stopped'));
});

test('per-override launch templates: the Graviton type launches from its arm64 template, tagged with it, replaced on its own new version', async (t) => {
  const w = await world(two, { groups: [webGroup({ desired: 2, max: 4, instanceTypes: ['m5.large'] })] });
  const arm = w.region.ec2.addImage({
    rootDeviceName: '/dev/xvda',
    rootEncrypted: false,
    rootSizeGiB: 8,
    architecture: 'arm64',
  });
  const armTpl = w.region.ec2.addTemplate({
    name: 'web-arm64',
    defaultVersion: 1,
    versions: [
      {
        version: 1,
        instanceType: 'm6g.large',
        hibernation: false,
        imageId: arm.imageId,
        boot: { median: 60, p99: 60 },
      },
    ],
  });
  const main = webTemplate(w);
  w.group().mixedInstancesPolicy!.overrides = [
    { instanceType: 'm5.large' },
    { instanceType: 'm6g.large', launchTemplate: { id: armTpl.id, version: '$Latest' } },
  ];
  await fill(w);
  const s = standbys(w);
  t.is(s.length, 2);
  const graviton = s.find((i) => i.instanceType === 'm6g.large')!;
  const intel = s.find((i) => i.instanceType === 'm5.large')!;
  t.truthy(graviton && intel, s.map((i) => i.instanceType).join(','));
  t.is(graviton.launchTemplate?.id, armTpl.id);
  t.is(graviton.imageId, arm.imageId);
  t.is(graviton.tags[STANDBY_TEMPLATE_TAG], armTpl.id);
  t.is(intel.launchTemplate?.id, main.id);
  t.is(intel.tags[STANDBY_TEMPLATE_TAG], main.id);

  // A new version of the arm64 template replaces the Graviton standby only.
  armTpl.versions.push({ ...armTpl.versions[0]!, version: 2 });
  const r = await w.pass();
  const terminated = r?.groups[0]?.actions.filter((a) => a.kind === 'terminate-standby').map((a) => a.target);
  t.deepEqual(terminated, [graviton.instanceId]);
  const launch = r?.groups[0]?.actions.find((a) => a.kind === 'launch-standby');
  t.is(launch?.kind === 'launch-standby' ? launch.launchTemplate.id : undefined, armTpl.id);
  t.is(launch?.kind === 'launch-standby' ? launch.templateVersion : undefined, 2);
});

test('attribute-based groups: concrete types from GetInstanceTypesFromInstanceRequirements (asked once per template version)', async (t) => {
  const w = await world(two, { groups: [webGroup({ desired: 2, max: 4, instanceTypes: ['m5.large'] })] });
  const requirements = { VCpuCount: { Min: 2, Max: 2 }, MemoryMiB: { Min: 8192, Max: 8192 } };
  w.group().mixedInstancesPolicy!.overrides = [{ instanceRequirements: requirements }];
  await fill(w);
  const asked = w.rec.callsOf('getInstanceTypesFromInstanceRequirements');
  t.is(asked.length, 1, 'cached across passes');
  t.deepEqual(asked[0]!.args[0], {
    architectureTypes: ['x86_64'],
    virtualizationTypes: ['hvm'],
    instanceRequirements: requirements,
  });
  const types = standbys(w).map((i) => i.instanceType);
  t.is(types.length, 2);
  // 2 vCPUs and 8 GiB, x86_64, burstable excluded by default: m5.large, m5a.large, m6i.large.
  t.true(
    types.every((x) => ['m5.large', 'm5a.large', 'm6i.large'].includes(x)),
    types.join(','),
  );
  t.is(new Set(types).size, 2, 'spread over the types');
  t.true(
    launches(w).every((l) => l.instanceType !== undefined),
    'RunInstances always names a type',
  );
});

test('hibernation only where it can work: the plan says why not, standbys are stopped instead, the sim refuses what AWS refuses', async (t) => {
  const hib = settings({ standby: { size: 1, state: 'hibernated', startTimeoutSeconds: 30 } });
  const w = await world(hib, {
    groups: [webGroup({ desired: 2, max: 4, hibernation: true, instanceTypes: ['m5.large'] })],
  });
  const tpl = webTemplate(w);
  w.group().mixedInstancesPolicy!.overrides = [{ instanceType: 'r5.8xlarge' }];
  // r5.8xlarge has 256 GiB of RAM: more than the 150 GiB hibernation allows.
  const refused = await t.throwsAsync(
    w.cloud.ec2.runInstances({
      launchTemplate: { id: tpl.id },
      market: 'on-demand',
      instanceType: 'r5.8xlarge',
      availabilityZone: 'us-east-1a',
      hibernate: true,
      tags: { [STANDBY_FOR_TAG]: 'web' },
    }),
  );
  t.is((refused as CloudError).code, 'UnsupportedHibernationConfiguration');
  const r = await w.pass();
  const g = r?.groups[0];
  t.true(
    g?.problems.some((p) => /r5\.8xlarge cannot hibernate: r5\.8xlarge has 256 GiB of RAM/.test(p)),
    g?.problems.join('\n'),
  );
  const launch = g?.actions.find((a) => a.kind === 'launch-standby');
  t.is(launch?.kind === 'launch-standby' ? launch.hibernate : undefined, false);

  // An unencrypted root (found through the image's RootDeviceName) is the other common reason.
  const w2 = await world(hib, {
    groups: [webGroup({ desired: 2, max: 4, hibernation: true, instanceTypes: ['m5.large'] })],
  });
  const plain = w2.region.ec2.addImage({
    rootDeviceName: '/dev/sda1',
    rootEncrypted: false,
    rootSizeGiB: 64,
    architecture: 'x86_64',
  });
  webTemplate(w2).versions[0]!.imageId = plain.imageId;
  const r2 = await w2.pass();
  t.true(r2?.groups[0]?.problems.some((p) => /the root volume \(\/dev\/sda1\) is not encrypted/.test(p)));
  await w2.wait(61);
  await w2.pass();
  t.true(
    w2.rec.callsOf('stopInstances').every((c) => c.args[1] === false),
    'stopped, never hibernated',
  );

  // The hibernation-ready template (encrypted 64 GiB root, m5.large with 8 GiB) hibernates.
  const w3 = await world(hib, {
    groups: [webGroup({ desired: 2, max: 4, hibernation: true, instanceTypes: ['m5.large'] })],
  });
  const r3 = await w3.pass();
  t.deepEqual(r3?.groups[0]?.problems, []);
  await w3.wait(61);
  await w3.pass();
  t.true(w3.rec.callsOf('stopInstances').some((c) => c.args[1] === true));
});

test('a standby is stopped only once its status checks pass', async (t) => {
  const w = await world(one, { groups: [webGroup({ desired: 2, max: 4 })] });
  // EC2 runs status checks once the instance runs; here they pass 120 s later.
  w.region.ec2.timings.statusChecksSeconds = 120;
  await w.pass(); // launch
  await w.wait(61); // running, status checks initializing
  const early = await w.pass();
  t.false(early?.groups[0]?.actions.some((a) => a.kind === 'stop-standby'));
  t.is(early?.groups[0]?.requeueAfterSeconds !== undefined, true);
  t.deepEqual(w.rec.callsOf('stopInstances'), []);
  await w.wait(120);
  const later = await w.pass();
  const stop = later?.groups[0]?.actions.find((a) => a.kind === 'stop-standby');
  t.truthy(stop);
  t.regex(stop!.reason, /status checks ok/);
});

test('a readiness tag: stopped only once the bootstrap tags it; one never ready is terminated after the timeout', async (t) => {
  const s = settings({
    standby: { size: 1, startTimeoutSeconds: 30, readiness: { tag: 'bootstrap-done', timeoutSeconds: 300 } },
  });
  const w = await world(s, { groups: [webGroup({ desired: 2, max: 4 })] });
  await w.pass();
  await w.wait(61);
  const first = standbys(w)[0]!;
  t.false(
    (await w.pass())?.groups[0]?.actions.some((a) => a.kind === 'stop-standby'),
    'no tag yet',
  );
  // The bootstrap finishes and tags itself (its instance role may call CreateTags on itself).
  w.region.ec2.setTags(first.instanceId, { 'bootstrap-done': 'true' });
  const r = await w.pass();
  t.true(r?.groups[0]?.actions.some((a) => a.kind === 'stop-standby' && a.target === first.instanceId));

  const w2 = await world(s, { groups: [webGroup({ desired: 2, max: 4 })] });
  await w2.pass();
  await w2.wait(301);
  const r2 = await w2.pass();
  const term = r2?.groups[0]?.actions.find((a) => a.kind === 'terminate-standby');
  t.regex(term?.reason ?? '', /not ready 30\d s after launch \(no bootstrap-done tag yet/);
  t.deepEqual(w2.rec.callsOf('stopInstances'), []);
});

test('StartInstances InsufficientInstanceCapacity: the fast path falls back at once, the reconciler replaces that standby elsewhere', async (t) => {
  const w = await world(two, { groups: [webGroup({ desired: 2, max: 4 })] });
  await fill(w);
  const pool = standbys(w);
  t.is(pool.length, 2);
  const interrupted = toInstance(w.instance(w.members().find((m) => m.az === 'us-east-1a')!.instanceId));
  const victim = pool.find((i) => i.availabilityZone === 'us-east-1a')!;
  // No On-Demand capacity left for the standby's type in its AZ.
  w.region.ec2.capacity = {
    spotAvailable: () => true,
    onDemandAvailable: (type, az) => !(type === victim.instanceType && az === 'us-east-1a'),
  };
  const hook = createStandbyHook({
    cloud: w.cloud,
    clock: w.clock,
    logger: silentLogger,
    standbysFor: () => pool.map(toInstance),
    pollMs: 2_000,
  });
  const before = w.clock.nowMs();
  const got = await w.clock.drive(
    hook.takeStandby({
      groupName: 'web',
      settings: two,
      interrupted,
      deadline: new Date(before + 110_000),
      signal: new AbortController().signal,
    }),
  );
  t.is(got, undefined);
  t.true(
    w.clock.nowMs() - before < 5_000,
    `fell back after ${w.clock.nowMs() - before} ms, not startTimeoutSeconds`,
  );
  t.regex(
    victim.tags[STANDBY_UNSTARTABLE_TAG] ?? '',
    new RegExp(`${victim.instanceType} us-east-1a InsufficientInstanceCapacity`),
  );

  const r = await w.pass();
  const actions = r?.groups[0]?.actions ?? [];
  const term = actions.find((a) => a.kind === 'terminate-standby');
  t.is(term?.target, victim.instanceId);
  const launch = actions.find((a) => a.kind === 'launch-standby');
  t.truthy(launch);
  if (launch?.kind === 'launch-standby')
    t.false(
      launch.instanceType === victim.instanceType && launch.availabilityZone === 'us-east-1a',
      `replaced as ${launch.instanceType} in ${launch.availabilityZone}`,
    );
});

test('a standby whose AMI was deregistered is replaced', async (t) => {
  const w = await world(one, { groups: [webGroup({ desired: 2, max: 4 })] });
  await fill(w);
  const [old] = standbys(w);
  const image = w.region.ec2.images.get(old!.imageId!)!;
  const fresh = w.region.ec2.addImage({
    rootDeviceName: '/dev/xvda',
    rootEncrypted: false,
    rootSizeGiB: 8,
    architecture: 'x86_64',
  });
  image.state = 'deregistered';
  image.deregisteredAt = w.clock.nowMs();
  // The template moves on to the new image in place (same version), so only the AMI tells.
  webTemplate(w).versions[0]!.imageId = fresh.imageId;
  // Image reads are trusted for five minutes (one DescribeImages per group per pass would not scale).
  const cached = await w.pass();
  t.false(cached?.groups[0]?.actions.some((a) => a.kind === 'terminate-standby'));
  await w.wait(IMAGE_TTL_MS / 1000);
  const r = await w.pass();
  const term = r?.groups[0]?.actions.find((a) => a.kind === 'terminate-standby');
  t.is(term?.target, old!.instanceId);
  t.regex(term!.reason, /deregistered/);
  await w.wait(61);
  await w.pass();
  t.true(standbys(w).every((i) => i.imageId === fresh.imageId));
});

test('status checks of every group booting standbys are read in one DescribeInstanceStatus per pass', async (t) => {
  const w = await world(one, {
    groups: [webGroup({ desired: 2, max: 4 }), webGroup({ name: 'api', desired: 2, max: 4 })],
  });
  w.region.ec2.timings.statusChecksSeconds = 120;
  await w.pass(); // launches a standby for each group
  await w.wait(61);
  w.rec.clear();
  const r = await w.pass();
  t.is(r?.groups.length, 2);
  const calls = w.rec.callsOf('describeInstanceStatus');
  t.is(calls.length, 1);
  t.is((calls[0]!.args[0] as string[]).length, 2, "both groups' standbys in the one call");
});
