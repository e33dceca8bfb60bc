import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import test from 'ava';
import type { GroupSettings } from '../../src/config/schema.js';
import type { ActionResult } from '../../src/controllers/reconcile/executor.js';
import { type ReconcileDeps, reconcileOnce } from '../../src/controllers/reconcile/pass.js';
import { createStandbyHook } from '../../src/controllers/reconcile/standby-hook.js';
import {
  GROUP_TAG,
  RECREATED_FROM_TAG,
  RETIRE_REQUESTED_TAG,
  SNAPSHOT_OF_TAG,
  STANDBY_FOR_TAG,
  SUPERSEDED_BY_TAG,
  VOLUME_TAG,
  VOLUME_UNPLACED_SINCE_TAG,
} from '../../src/domain/tags.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/ports/logger.js';
import { unlistedPermissions, useMotoEnv } from '../aws/moto-env.js';
import { createTestVolume, MIXED_INSTANCE_TYPES, seedGroup } from '../helpers/aws-fixtures.js';
import { settings } from '../plan/factories.js';
import { managedAll } from './world.js';

// The reconciler's handlers against moto through the real AWS adapters: what each action sends is what
// AWS accepts, and the effects are read back through raw SDK clients.

const env = useMotoEnv();
/** Groups opt in with a spotmax:* tag; spotmax:group (propagated) spares a membership action in each pass. */
const MANAGED = [{ key: GROUP_TAG, value: 'web', propagateAtLaunch: true }];
const relevant = (results: ActionResult[]) =>
  results.filter((r) => r.action.kind !== 'tag-instance' && r.action.kind !== 'tag-group');

function deps(s: GroupSettings): ReconcileDeps<null> {
  return {
    cloud: env.cloud,
    clock: systemClock,
    logger: silentLogger,
    loadPolicies: () => null,
    resolve: managedAll(() => s),
    dryRun: false,
  };
}

async function rawGroup(name: string) {
  return (
    await env.raw.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))
  ).AutoScalingGroups?.[0];
}

async function rawInstances(ids: string[]) {
  const out = await env.raw.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

const tagOf = (tags: { Key?: string; Value?: string }[] | undefined, key: string) =>
  tags?.find((t) => t.Key === key)?.Value;

test.serial(
  'standby pool: RunInstances from the launch template over subnets and types, stop, then the hook starts and attaches one',
  async (t) => {
    await env.moto.reset();
    env.calls.reset();
    await seedGroup(env.raw, {
      name: 'web',
      desired: 1,
      max: 4,
      mixed: true,
      azs: ['us-east-1a', 'us-east-1b'],
      tags: { 'spotmax:standby_size': '2' },
    });
    const s = settings({ standby: { size: 2, startTimeoutSeconds: 10 } });
    const first = await reconcileOnce(deps(s), { execute: true });
    const launched = first.groups[0]!.results.filter((r) => r.action.kind === 'launch-standby');
    t.deepEqual(
      launched.map((r) => r.status),
      ['done', 'done'],
      JSON.stringify(first.groups[0]!.results.map((r) => r.error)),
    );

    const second = await reconcileOnce(deps(s), { execute: true });
    t.deepEqual(
      second.groups[0]!.results.filter((r) => r.action.kind === 'stop-standby').map((r) => r.status),
      ['done', 'done'],
    );
    const pool = second.observation.standbys;
    t.is(pool.length, 2);
    const raw = await rawInstances(pool.map((p) => p.instanceId));
    t.deepEqual(raw.map((i) => i.Placement?.AvailabilityZone).sort(), ['us-east-1a', 'us-east-1b']);
    t.deepEqual(raw.map((i) => i.InstanceType).sort(), MIXED_INSTANCE_TYPES.slice(0, 2).sort());
    t.true(raw.every((i) => tagOf(i.Tags, STANDBY_FOR_TAG) === 'web' && i.InstanceLifecycle !== 'spot'));
    t.true(raw.every((i) => ['stopping', 'stopped'].includes(i.State?.Name ?? '')));

    const third = await reconcileOnce(deps(s), { execute: false });
    const member = third.observation.groups[0]!.members[0]!;
    const interrupted = third.observation.instances.get(member.instanceId)!;
    const hook = createStandbyHook({
      cloud: env.cloud,
      clock: systemClock,
      logger: silentLogger,
      standbysFor: () => third.observation.standbys,
      pollMs: 50,
    });
    const hookStarted = Date.now();
    const got = await hook.takeStandby({
      groupName: 'web',
      settings: s,
      interrupted,
      deadline: new Date(Date.now() + 100_000),
      signal: new AbortController().signal,
    });
    t.log(`standby started and attached in ${Date.now() - hookStarted} ms`);
    t.truthy(got);
    const g = await rawGroup('web');
    t.true(g?.Instances?.some((i) => i.InstanceId === got!.instanceId));
    t.is(g?.DesiredCapacity, 2);
    const [attached] = await rawInstances([got!.instanceId]);
    t.is(
      attached?.Placement?.AvailabilityZone,
      interrupted.availabilityZone,
      'same AZ as the interrupted instance',
    );
    t.is(tagOf(attached?.Tags, GROUP_TAG), 'web');
    t.is(tagOf(attached?.Tags, STANDBY_FOR_TAG), undefined);
    t.deepEqual(unlistedPermissions(env.calls.keys()), []);
  },
);

test.serial(
  'launch-before-retire on moto: desired and MaxSize raised, new member InService, old detached with decrement and terminated',
  async (t) => {
    await env.moto.reset();
    await seedGroup(env.raw, { name: 'web', desired: 1, max: 1, mixed: true, tags: MANAGED });
    const s = settings({ replacement: { maxConcurrent: 1 } });
    const start = await reconcileOnce(deps(s), { execute: false });
    const old = start.observation.groups[0]!.members[0]!.instanceId;
    await env.cloud.ec2.createTags([old], { [RETIRE_REQUESTED_TAG]: new Date().toISOString() });
    await new Promise((r) => setTimeout(r, 1_100)); // the new member's launch time (to the second) comes after `since`

    const begin = await reconcileOnce(deps(s), { execute: true });
    t.deepEqual(
      relevant(begin.groups[0]!.results).map((r) => [r.action.kind, r.status]),
      [['replacement-add-capacity', 'done']],
    );
    let g = await rawGroup('web');
    t.deepEqual([g?.DesiredCapacity, g?.MaxSize], [2, 2]);
    await new Promise((r) => setTimeout(r, 1_100));

    const retire = await reconcileOnce(deps(s), { execute: true });
    t.deepEqual(
      relevant(retire.groups[0]!.results).map((r) => [r.action.kind, r.status, r.error]),
      [['replacement-retire', 'done', undefined]],
    );
    g = await rawGroup('web');
    t.deepEqual([g?.DesiredCapacity, g?.MaxSize, g?.Instances?.length], [1, 1, 1]);
    t.not(g?.Instances?.[0]?.InstanceId, old);
    const [gone] = await rawInstances([old]);
    t.true(['shutting-down', 'terminated'].includes(gone?.State?.Name ?? ''));
    t.deepEqual(
      (await reconcileOnce(deps(s), { execute: false })).groups[0]!.actions.filter((a) =>
        a.kind.startsWith('replacement'),
      ),
      [],
    );
  },
);

test.serial(
  // moto fills a group's desired capacity at once, so a shortfall cannot be staged here: the attach
  // itself (desired lowered first, AttachInstances adds back) is shown on the simulated region
  // (test/reconcile/fallback.test.ts) and AttachInstances raising desired by the port contract on both.
  'fallback on moto: On-Demand launched from the template, tagged; a group whose desired is met gets none attached (they are terminated) and keeps its desired; no policy sent',
  async (t) => {
    await env.moto.reset();
    // Tagged as the reconciler's first pass leaves a group it manages (the IAM policy needs spotmax:group).
    await seedGroup(env.raw, { name: 'web', desired: 1, max: 3, mixed: true, tags: MANAGED });
    const { fallbackHandlers } = await import('../../src/controllers/reconcile/handlers/fallback.js');
    const [observed] = await env.cloud.autoscaling.describeGroups(['web']);
    const ctx = { cloud: env.cloud, clock: systemClock, logger: silentLogger };
    await fallbackHandlers['fallback-launch']!(
      {
        kind: 'fallback-launch',
        group: 'web',
        target: 'web',
        reason: 't',
        launchTemplate: observed!.mixedInstancesPolicy!.launchTemplate,
        placements: [{ availabilityZone: 'us-east-1a' }, { availabilityZone: 'us-east-1a' }],
        record: '{"s":"2026-01-01T00:00:00.000Z","a":1,"p":"f","d":3}',
      } as never,
      ctx,
    );
    const ids = await env.cloud.ec2.findInstanceIdsByTag('spotmax:fallback-for');
    t.is(ids.length, 2);
    const launched = await env.cloud.ec2.describeInstances(ids);
    t.true(launched.every((i) => i.market === 'on-demand' && i.tags['spotmax:group'] === 'web'));
    t.truthy((await rawGroup('web'))?.Tags?.find((x) => x.Key === 'spotmax:fallback-original'));

    await fallbackHandlers['fallback-attach']!(
      {
        kind: 'fallback-attach',
        group: 'web',
        target: 'web',
        reason: 't',
        instanceIds: ids,
      } as never,
      ctx,
    );
    const g = await rawGroup('web');
    t.is(g?.DesiredCapacity, 1, 'desired as the group had it');
    t.deepEqual(
      ids.filter((id) => g?.Instances?.some((m) => m.InstanceId === id)),
      [],
      'not attached: the group has what it wants',
    );
    const after = await env.cloud.ec2.describeInstances(ids);
    t.true(
      after.every((i) => ['shutting-down', 'terminated'].includes(i.state)),
      after.map((i) => i.state).join(','),
    );
  },
);

test.serial(
  'persistent volume on moto: attached and tagged, snapshotted, moved off a stopped holder, recreated cross-AZ, never deleted',
  async (t) => {
    await env.moto.reset();
    await seedGroup(env.raw, {
      name: 'web',
      desired: 1,
      max: 3,
      mixed: true,
      azs: ['us-east-1a'],
      tags: MANAGED,
    });
    const s = settings({
      persistentVolume: {
        device: '/dev/sdf',
        attachAs: '/dev/xvdz',
        snapshotIntervalMinutes: 20,
        crossAzAfterMinutes: 30,
      },
    });
    const vol = await createTestVolume(env.raw.ec2, { az: 'us-east-1a', tags: { [GROUP_TAG]: 'web' } });
    const first = await reconcileOnce(deps(s), { execute: true });
    t.deepEqual(
      relevant(first.groups[0]!.results)
        .map((r) => [r.action.kind, r.status, r.error])
        .sort(),
      [
        ['attach-volume', 'done', undefined],
        ['snapshot-volume', 'done', undefined],
      ],
    );
    const holder = first.observation.groups[0]!.members[0]!.instanceId;
    const v = (await env.raw.ec2.send(new DescribeVolumesCommand({ VolumeIds: [vol] }))).Volumes?.[0];
    t.deepEqual([v?.Attachments?.[0]?.InstanceId, v?.Attachments?.[0]?.Device], [holder, '/dev/xvdz']);
    t.is(tagOf((await rawInstances([holder]))[0]?.Tags, VOLUME_TAG), vol);
    const snaps =
      (
        await env.raw.ec2.send(
          new DescribeSnapshotsCommand({ Filters: [{ Name: `tag:${SNAPSHOT_OF_TAG}`, Values: [vol] }] }),
        )
      ).Snapshots ?? [];
    t.is(snaps.length, 1);

    // The holder stops (as after a Spot interruption with stop behaviour) and leaves the group.
    await env.cloud.autoscaling.detachInstances('web', [holder], false);
    await env.raw.ec2.send(new StopInstancesCommand({ InstanceIds: [holder] }));
    const move = await reconcileOnce(deps(s), { execute: true });
    t.true(
      move.groups[0]!.results.some((r) => r.action.kind === 'detach-volume' && r.status === 'done'),
      JSON.stringify(move.groups[0]!.results),
    );
    const reattach = await reconcileOnce(deps(s), { execute: true });
    const newHolder = reattach.observation.groups[0]!.members[0]!.instanceId;
    t.true(reattach.groups[0]!.results.some((r) => r.action.kind === 'attach-volume' && r.status === 'done'));
    const after = (await env.raw.ec2.send(new DescribeVolumesCommand({ VolumeIds: [vol] }))).Volumes?.[0];
    t.is(after?.Attachments?.[0]?.InstanceId, newHolder);

    // A volume stranded in us-east-1b (no members there) for longer than crossAzAfterMinutes.
    const stranded = await createTestVolume(env.raw.ec2, {
      az: 'us-east-1b',
      tags: {
        [GROUP_TAG]: 'web',
        [VOLUME_UNPLACED_SINCE_TAG]: new Date(Date.now() - 31 * 60_000).toISOString(),
      },
    });
    await env.cloud.ec2.createSnapshot(stranded, { [GROUP_TAG]: 'web', [SNAPSHOT_OF_TAG]: stranded });
    // A second member in us-east-1a without a volume to receive the copy.
    await env.cloud.autoscaling.updateGroup('web', { desired: 2 });
    const recreate = await reconcileOnce(deps(s), { execute: true });
    t.true(
      recreate.groups[0]!.results.some((r) => r.action.kind === 'recreate-volume' && r.status === 'done'),
      JSON.stringify(recreate.groups[0]!.problems),
    );
    const all =
      (
        await env.raw.ec2.send(
          new DescribeVolumesCommand({ Filters: [{ Name: `tag:${GROUP_TAG}`, Values: ['web'] }] }),
        )
      ).Volumes ?? [];
    const copy = all.find((x) => tagOf(x.Tags, RECREATED_FROM_TAG) === stranded);
    t.is(copy?.AvailabilityZone, 'us-east-1a');
    const old = all.find((x) => x.VolumeId === stranded);
    t.is(tagOf(old?.Tags, SUPERSEDED_BY_TAG), copy?.VolumeId, 'the stranded volume is kept and tagged');
    t.is(all.length, 3, 'no volume deleted');
  },
);
