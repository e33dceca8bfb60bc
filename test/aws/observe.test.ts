import { AttachInstancesCommand, CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import test from 'ava';
import type { AwsClients } from '../../src/aws/clients.js';
import { describeLaunched } from '../../src/controllers/reconcile/eventual.js';
import { observe } from '../../src/controllers/reconcile/observe.js';
import { VirtualClock } from '../../src/sim/clock.js';
import {
  addSpotMembers,
  callCounter,
  createLaunchTemplate,
  createTestVolume,
  launchInstances,
  seedGroup,
  testClients,
  testCloud,
} from '../helpers/aws-fixtures.js';
import { type Moto, startMoto, TEST_REGION } from '../helpers/moto.js';

let moto: Moto;
let raw: AwsClients;
const calls = callCounter();
const at = new Date('2026-11-22T16:00:00Z');
// observe only reads the time; a virtual clock that nothing advances stays at `at`.
const clock = new VirtualClock(at);

test.before(async () => {
  moto = await startMoto();
  raw = testClients(moto.endpoint);
});
test.after.always(async () => {
  await moto?.stop();
});

/** Creates groups quickly from one shared template: `desired` On-Demand members each. */
async function manyGroups(prefix: string, n: number, desired: number, tags: Record<string, string>) {
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${String(i).padStart(3, '0')}`;
    await raw.autoscaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: name,
        MinSize: 0,
        MaxSize: 20,
        DesiredCapacity: desired,
        LaunchTemplate: { LaunchTemplateName: 'shared-lt', Version: '$Latest' },
        AvailabilityZones: ['us-east-1a'],
        Tags: Object.entries(tags).map(([Key, Value]) => ({
          ResourceId: name,
          ResourceType: 'auto-scaling-group',
          Key,
          Value,
          PropagateAtLaunch: false,
        })),
      }),
    );
  }
}

test.serial('3 groups × 5 instances: members, Spot market, standbys and volumes in 5 calls', async (t) => {
  await moto.reset();
  for (const name of ['a', 'b', 'c'])
    await seedGroup(raw, { name, desired: 3, max: 10, tags: { 'spotmax:enabled': 'true' } });
  const spot = await addSpotMembers(raw.ec2, raw.autoscaling, 'a', 2);
  await addSpotMembers(raw.ec2, raw.autoscaling, 'b', 2);
  await addSpotMembers(raw.ec2, raw.autoscaling, 'c', 2);
  const [standby, used, gone] = await launchInstances(raw.ec2, {
    launchTemplate: 'a-lt',
    n: 3,
    tags: { 'spotmax:standby-for': 'a' },
  });
  await raw.autoscaling.send(new AttachInstancesCommand({ AutoScalingGroupName: 'b', InstanceIds: [used!] }));
  await raw.ec2.send(new TerminateInstancesCommand({ InstanceIds: [gone!] }));
  const volA = await createTestVolume(raw.ec2, { az: 'us-east-1a', tags: { 'spotmax:group': 'a' } });
  const volB = await createTestVolume(raw.ec2, { az: 'us-east-1a', tags: { 'spotmax:group': 'b' } });
  await createTestVolume(raw.ec2, { az: 'us-east-1a', tags: { other: 'x' } });

  const cloud = testCloud(moto.endpoint, calls.onCall);
  calls.reset();
  const obs = await observe(cloud, clock);

  t.is(obs.region, TEST_REGION);
  t.deepEqual(obs.observedAt, at, 'the observation is stamped with the clock time');
  t.deepEqual(
    obs.groups.map((g) => [g.name, g.members.length]),
    [
      ['a', 5],
      ['b', 6],
      ['c', 5],
    ],
  );
  const members = obs.groups.flatMap((g) => g.members.map((m) => m.instanceId));
  t.true(members.every((id) => obs.instances.has(id)));
  t.true(spot.every((id) => obs.instances.get(id)?.market === 'spot'));
  t.is([...obs.instances.values()].filter((i) => i.market === 'spot').length, 6);
  t.deepEqual(
    obs.standbys.map((i) => i.instanceId),
    [standby],
    'attached and terminated standbys are not standbys',
  );
  t.deepEqual(obs.volumes.map((v) => v.volumeId).sort(), [volA, volB].sort());

  t.is(calls.get('autoscaling:DescribeAutoScalingGroups'), 1);
  // Standbys and volumes are found with tag-key filters (authoritative).
  t.is(calls.get('ec2:DescribeInstances'), 2);
  t.is(calls.get('ec2:DescribeVolumes'), 2);
  t.is(calls.total(), 5);

  const onlyA = await observe(cloud, clock, { groupNames: ['a'] });
  t.deepEqual(
    onlyA.groups.map((g) => g.name),
    ['a'],
  );
  t.deepEqual(
    onlyA.standbys.map((i) => i.instanceId),
    [standby],
  );
  t.deepEqual(
    onlyA.volumes.map((v) => v.volumeId),
    [volA],
  );
});

test.serial('125 groups, 1,050 managed instances: ceil(N/100) + ceil(N·M/1000) + 2 calls', async (t) => {
  await moto.reset();
  await createLaunchTemplate(raw.ec2, 'shared-lt');
  const t0 = performance.now();
  // moto pages DescribeInstances by 100 reservations even when ids are given (AWS does not page an id
  // list); each group's members are one reservation, so ten a group keeps a 1,000-id batch on one page.
  await manyGroups('managed', 105, 10, { 'spotmax:detaching_delay_seconds': '80' });
  // Unmanaged groups are listed for `plan` but their instances are not described.
  await manyGroups('plain', 20, 1, { team: 'web' });
  t.log(`seeding: ${(performance.now() - t0).toFixed(0)} ms`);

  const cloud = testCloud(moto.endpoint, calls.onCall);
  calls.reset();
  const started = performance.now();
  const obs = await observe(cloud, clock);
  const ms = performance.now() - started;

  t.is(obs.groups.length, 125);
  t.is(new Set(obs.groups.map((g) => g.name)).size, 125);
  const managed = obs.groups.filter((g) => g.name.startsWith('managed-'));
  t.is(managed.length, 105);
  t.true(
    managed.every((g) => g.members.length === 10 && g.members.every((m) => obs.instances.has(m.instanceId))),
  );
  t.is(obs.instances.size, 1050);
  const plain = obs.groups.filter((g) => g.name.startsWith('plain-'));
  t.true(plain.every((g) => g.members.length === 1 && !obs.instances.has(g.members[0]!.instanceId)));

  t.is(calls.get('autoscaling:DescribeAutoScalingGroups'), Math.ceil(125 / 100));
  t.is(calls.get('ec2:DescribeInstances'), Math.ceil(1050 / 1000) + 1, 'plus the standby tag filter');
  t.is(calls.get('ec2:DescribeVolumes'), 1, 'the tag filter finds no volume: no describe');
  t.log(`observe of 125 groups / 1,050 instances against moto: ${ms.toFixed(0)} ms, ${calls.total()} calls`);
});

test.serial('describeInstances follows NextToken when the implementation pages an id list', async (t) => {
  await moto.reset();
  await createLaunchTemplate(raw.ec2, 'lt');
  const ids: string[] = [];
  // 105 separate reservations: more than moto's page of 100.
  for (let i = 0; i < 105; i++) ids.push(...(await launchInstances(raw.ec2, { launchTemplate: 'lt', n: 1 })));
  const cloud = testCloud(moto.endpoint, calls.onCall);
  calls.reset();
  const got = await cloud.ec2.describeInstances(ids);
  t.is(new Set(got.map((i) => i.instanceId)).size, 105);
  t.is(calls.get('ec2:DescribeInstances'), 2);
});

test('describeLaunched on the AWS adapter waits for an id EC2 leaves out (not known yet), and answers a known one at once', async (t) => {
  const cloud = testCloud(moto.endpoint, calls.onCall);
  await createLaunchTemplate(raw.ec2, 'launched-lt');
  const [known] = await launchInstances(raw.ec2, { launchTemplate: 'launched-lt', n: 1 });
  const virtual = new VirtualClock(at);
  calls.reset();
  const found = await virtual.drive(describeLaunched(cloud.ec2, virtual, known!, 'a test instance'));
  t.is(found?.instanceId, known);
  t.is(calls.get('ec2:DescribeInstances'), 1);
  // The adapter leaves an unknown id out of its answer (the port's contract) rather than failing: that
  // is "not known yet" too, waited for 2 + 4 + 8 + 16 s before it counts as not there.
  calls.reset();
  const start = virtual.nowMs();
  const missing = await virtual.drive(
    describeLaunched(cloud.ec2, virtual, 'i-0123456789abcdef0', 'a test instance'),
  );
  t.is(missing, undefined);
  t.is(calls.get('ec2:DescribeInstances'), 5, 'the first look and one after each of the 4 waits');
  t.is(virtual.nowMs() - start, 30_000);
});
