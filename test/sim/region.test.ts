import test from 'ava';
import { CloudError, isThrottled } from '../../src/domain/errors.js';
import { createSimulatedRegion } from '../../src/sim/region.js';
import { scenario, warmRegion, webGroup } from './helpers.js';

// What moto cannot show: timing, the Spot market, lifecycle hooks, scaling activities, throttling.
// Where the simulator follows AWS's documentation, the test names the document.

const members = (region: Awaited<ReturnType<typeof warmRegion>>, group = 'web') => [
  ...region.asg.mustGet(group).members.values(),
];

test('the initial fleet is InService at the scenario start, balanced over the AZs', async (t) => {
  const region = await warmRegion();
  const m = members(region);
  t.is(m.length, 4);
  t.true(m.every((x) => x.lifecycleState === 'InService'));
  t.deepEqual(m.map((x) => x.az).sort(), ['us-east-1a', 'us-east-1a', 'us-east-1b', 'us-east-1b']);
  t.is(region.clock.nowMs(), region.start);
});

test('a reclaim sends the 2-minute warning as EventBridge JSON, terminates at the deadline, and the group replaces after its health check', async (t) => {
  // "Spot Instance interruption notices": the warning comes two minutes before EC2 stops or terminates the instance.
  const region = await warmRegion({ timings: { healthCheckSeconds: 30 } });
  const victim = members(region)[0]!;
  const inst = region.ec2.get(victim.instanceId)!;
  region.market.reclaim(inst);
  const [msg] = await region.cloud.queue.receive(region.queueUrl, { maxMessages: 10, waitSeconds: 0 });
  const body = JSON.parse(msg!.body);
  t.like(body, {
    source: 'aws.ec2',
    'detail-type': 'EC2 Spot Instance Interruption Warning',
    region: 'us-east-1',
  });
  t.deepEqual(body.detail, { 'instance-id': victim.instanceId, 'instance-action': 'terminate' });
  t.regex(body.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  await region.clock.advanceBy(119_000);
  t.is(inst.state, 'running', 'still running just before the deadline');
  await region.clock.advanceBy(2_000);
  t.is(inst.state, 'shutting-down');
  t.is(members(region).length, 4, 'the group has not noticed yet');
  await region.clock.advanceBy(31_000);
  t.false(
    region.asg.memberOf.has(victim.instanceId) &&
      region.asg.mustGet('web').members.get(victim.instanceId)?.lifecycleState === 'InService',
  );
  await region.clock.advanceBy(120_000);
  const now = members(region).filter((x) => x.lifecycleState === 'InService');
  t.is(now.length, 4, 'a replacement is InService');
  t.false(now.some((x) => x.instanceId === victim.instanceId));
});

test('a storm reclaims its share of the pool within its window; other pools are untouched', async (t) => {
  const region = await warmRegion({
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large'],
        azs: ['us-east-1a', 'us-east-1b'],
        desired: 20,
        boot: { median: 60, p99: 90 },
      },
    ],
    market: { storms: [{ at: 60, az: 'us-east-1a', share: 0.3, within: 60 }] },
  });
  const warnings: { id: string; at: number; az: string }[] = [];
  region.bus.on((e) => {
    if (e.type === 'spot-warning') warnings.push({ id: e.instanceId, at: region.clock.nowMs(), az: e.az });
  });
  await region.clock.advanceBy(180_000);
  t.is(warnings.length, 3, '30 % of the 10 instances in us-east-1a');
  t.true(warnings.every((w) => w.az === 'us-east-1a'));
  t.true(warnings.every((w) => w.at >= region.start + 60_000 && w.at <= region.start + 120_000));
});

test('during a Spot outage launches fail with a scaling activity naming Spot capacity; afterwards the group recovers', async (t) => {
  const region = await warmRegion({
    groups: [
      webGroup({
        desired: 3,
      }),
    ],
    market: { outages: [{ from: 0, to: 600, az: 'us-east-1a' }] },
    timings: { launchRetrySeconds: 30, healthCheckSeconds: 10 },
  });
  region.ec2.terminate(region.ec2.get(members(region)[0]!.instanceId)!);
  await region.clock.advanceBy(120_000);
  const activities = await region.cloud.autoscaling.describeScalingActivities('web');
  const failed = activities.filter((a) => a.statusCode === 'Failed');
  t.true(failed.length >= 2, 'retried while the outage lasts');
  t.regex(failed[0]!.statusMessage ?? '', /Could not launch Spot Instances\. InsufficientInstanceCapacity/);
  t.is(members(region).filter((m) => m.lifecycleState === 'InService').length, 2);
  await region.clock.advanceBy(600_000);
  t.is(members(region).filter((m) => m.lifecycleState === 'InService').length, 3);
  await t.throwsAsync(
    region.cloud.ec2
      .runInstances({
        launchTemplate: { name: 'web-lt' },
        market: 'spot',
        availabilityZone: 'us-east-1a',
        tags: {},
      })
      .then(() => {
        throw new Error('after the outage');
      }),
    { message: 'after the outage' },
  );
});

test('MixedInstancesPolicy: On-Demand base first, then the On-Demand percentage above it, Spot spread over the types', async (t) => {
  // "Auto Scaling groups with multiple instance types and purchase options": base, then percentage of the rest.
  const region = await warmRegion({
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large', 'm5a.large'],
        azs: ['us-east-1a', 'us-east-1b'],
        desired: 10,
        onDemandBase: 2,
        onDemandPercentage: 25,
        boot: { median: 60, p99: 90 },
      },
    ],
  });
  const m = members(region);
  t.is(m.filter((x) => x.market === 'on-demand').length, 4, '2 base + 25 % of 8, rounded up');
  const spot = m.filter((x) => x.market === 'spot');
  t.is(spot.length, 6);
  t.true(spot.some((x) => x.instanceType === 'm5.large') && spot.some((x) => x.instanceType === 'm5a.large'));
});

// "Amazon EC2 Auto Scaling lifecycle hooks": Pending:Wait until CompleteLifecycleAction, heartbeat
// resets the timeout, the default result applies on timeout. moto has no lifecycle hooks.
test('launch lifecycle hook holds Pending:Wait until completed; a heartbeat extends it; a timeout applies the default result', async (t) => {
  const region = await warmRegion({
    groups: [
      webGroup({
        desired: 2,
        lifecycleHooks: [
          {
            name: 'prepare',
            transition: 'launching',
            heartbeatTimeoutSeconds: 1800,
            defaultResult: 'ABANDON',
          },
        ],
      }),
    ],
  });
  const [a, b] = members(region);
  t.is(a!.lifecycleState, 'Pending:Wait');
  const msgs = await region.cloud.queue.receive(region.queueUrl, { maxMessages: 10, waitSeconds: 0 });
  const detail = JSON.parse(msgs[0]!.body).detail;
  t.like(detail, {
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
    AutoScalingGroupName: 'web',
    LifecycleHookName: 'prepare',
  });
  t.is(await region.cloud.autoscaling.describeHookHeartbeatSeconds('web', 'prepare'), 1800);

  await region.cloud.autoscaling.recordLifecycleActionHeartbeat({
    groupName: 'web',
    hookName: 'prepare',
    instanceId: b!.instanceId,
  });
  const tokenA = msgs
    .map((m) => JSON.parse(m.body).detail)
    .find((d) => d.EC2InstanceId === a!.instanceId).LifecycleActionToken;
  await region.cloud.autoscaling.completeLifecycleAction(
    { groupName: 'web', hookName: 'prepare', instanceId: a!.instanceId, token: tokenA },
    'CONTINUE',
  );
  t.is(a!.lifecycleState, 'InService');
  await t.throwsAsync(
    region.cloud.autoscaling.completeLifecycleAction(
      { groupName: 'web', hookName: 'prepare', instanceId: a!.instanceId },
      'CONTINUE',
    ),
    { message: /No active Lifecycle Action/ },
  );
  await region.clock.advanceBy(1_799_000);
  t.is(b!.lifecycleState, 'Pending:Wait', 'the heartbeat restarted its timeout');
  await region.clock.advanceBy(2_000);
  t.not(b!.lifecycleState, 'Pending:Wait');
  t.regex(b!.lifecycleState, /Terminating/, 'ABANDON on timeout terminates it');
});

// Amazon EC2 Auto Scaling API Reference, DetachInstances (up to 20 instances), and the user guide's
// "Detach or attach instances from your Auto Scaling group" (InService or Standby instances only, desired
// not below min); moto does not check the state.
test('detach rules follow the Auto Scaling API: InService only, at most 20 ids, not below min with decrement', async (t) => {
  const region = await warmRegion({
    groups: [
      webGroup({
        desired: 3,
        min: 3,
      }),
    ],
  });
  const [a] = members(region);
  await t.throwsAsync(region.cloud.autoscaling.detachInstances('web', [a!.instanceId], true), {
    message: /minimum size/,
  });
  await region.cloud.autoscaling.detachInstances('web', [a!.instanceId], false);
  t.is(a!.lifecycleState, 'Detaching');
  await t.throwsAsync(region.cloud.autoscaling.detachInstances('web', [a!.instanceId], false), {
    message: /not in InService or Standby/,
  });
  const err = await t.throwsAsync(
    region.cloud.autoscaling.detachInstances('web', ['i-0123456789abcdef0'], false),
  );
  t.true(err instanceof CloudError);
  t.regex(err!.message, /detaching i-0123456789abcdef0 from web: DetachInstances failed \(ValidationError\)/);
});

// "Hibernate your Amazon EC2 instance": a resumed instance restores its memory instead of booting.
test('hibernated standbys resume faster than stopped ones start, and both faster than a cold boot', async (t) => {
  const region = await warmRegion({
    groups: [
      webGroup({
        desired: 0,
        hibernation: true,
        boot: { median: 120, p99: 200 },
      }),
    ],
  });
  const launch = async (hibernate: boolean) => {
    // Ten launches exceed the RunInstances bucket: the retries wait on the virtual clock.
    const [i] = await region.drive(
      region.cloud.ec2.runInstances({
        launchTemplate: { name: 'web-lt' },
        market: 'on-demand',
        availabilityZone: 'us-east-1a',
        hibernate,
        tags: {},
      }),
    );
    return i!.instanceId;
  };
  const ids = { hib: [] as string[], stop: [] as string[] };
  for (let k = 0; k < 5; k++) {
    ids.hib.push(await launch(true));
    ids.stop.push(await launch(false));
  }
  await region.clock.advanceBy(600_000);
  await region.cloud.ec2.stopInstances(ids.hib, true);
  await region.cloud.ec2.stopInstances(ids.stop, false);
  await region.clock.advanceBy(120_000);
  const running = new Map<string, number>();
  region.bus.on((e) => {
    if (e.type === 'instance-state' && e.to === 'running') running.set(e.instanceId, region.clock.nowMs());
  });
  const t0 = region.clock.nowMs();
  await region.cloud.ec2.startInstances([...ids.hib, ...ids.stop]);
  await region.clock.advanceBy(300_000);
  const mean = (xs: string[]) => xs.reduce((s, id) => s + (running.get(id)! - t0), 0) / xs.length / 1000;
  t.true(mean(ids.hib) < mean(ids.stop), `resume ${mean(ids.hib)} s < start ${mean(ids.stop)} s`);
  t.true(mean(ids.stop) < 120);
});

// "Stop and start Spot Instances": only persistent requests can be stopped; moto stops any instance.
test('a Spot instance cannot be stopped (one-time request), as EC2 answers', async (t) => {
  const region = await warmRegion();
  const spot = members(region).find((m) => m.market === 'spot')!;
  await t.throwsAsync(region.cloud.ec2.stopInstances([spot.instanceId], false), {
    message: /one-time Spot Instance request/,
  });
});

// "Request throttling for the Amazon EC2 API": RunInstances bucket 5, refill 2/s; RequestLimitExceeded.
// moto never throttles.
test('rate limits: a burst of RunInstances beyond its bucket (5, 2/s) is throttled with an AWS-shaped error the core recognises', async (t) => {
  const region = await warmRegion({ api: { maxAttempts: 1 } });
  const req = {
    launchTemplate: { name: 'web-lt' },
    market: 'on-demand' as const,
    availabilityZone: 'us-east-1a',
    tags: {},
  };
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, () => region.cloud.ec2.runInstances(req)),
  );
  t.is(results.filter((r) => r.status === 'fulfilled').length, 5);
  const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  t.true(isThrottled(rejected.reason));
  t.is((rejected.reason as CloudError).code, 'RequestLimitExceeded');
  t.is(region.api.stats.throttles, 3);
  await region.clock.advanceBy(1_000);
  await t.notThrowsAsync(region.cloud.ec2.runInstances(req), 'two tokens back after a second');
});

test('with the SDK-like retries a throttled call succeeds once the bucket refills; Auto Scaling answers Throttling', async (t) => {
  const region = await warmRegion({
    api: { maxAttempts: 4, autoscalingBucket: { capacity: 2, refillPerSecond: 1 } },
  });
  const calls = Array.from({ length: 4 }, () => region.cloud.autoscaling.describeGroups(['web']));
  const out = await region.drive(Promise.all(calls));
  t.is(out.length, 4);
  t.true(region.api.stats.throttles >= 2);
  const strict = await warmRegion({
    api: { maxAttempts: 1, autoscalingBucket: { capacity: 1, refillPerSecond: 0.1 } },
  });
  await strict.cloud.autoscaling.describeGroups();
  const err = await t.throwsAsync(strict.cloud.autoscaling.describeGroups());
  t.is((err as CloudError).code, 'Throttling');
});

test('injected errors and latency per API', async (t) => {
  const region = await warmRegion({
    api: { maxAttempts: 1, faults: { DescribeInstances: { errorRate: 1, latencyMs: 250 } } },
  });
  const t0 = region.clock.nowMs();
  const err = await region.drive(
    region.cloud.ec2.describeInstances([members(region)[0]!.instanceId]).catch((e) => e),
    50,
  );
  t.is((err as CloudError).code, 'InternalError');
  t.true(region.clock.nowMs() - t0 >= 250);
});

// Amazon SQS Developer Guide, "Amazon SQS message identifiers": only the most recent receipt handle is
// sure to delete a message received more than once; standard queues deliver at least once.
test('SQS: a long poll wakes on a send; at-least-once with injected duplicates; a stale receipt handle deletes nothing', async (t) => {
  const region = await warmRegion({ queue: { duplicateRate: 1, visibilityTimeoutSeconds: 30 } });
  const q = region.cloud.queue;
  const url = region.queueUrl;
  const poll = q.receive(url, { maxMessages: 10, waitSeconds: 20 });
  region.clock.after(5_000, () => region.sqs.deliver(url, '{"n":1}'));
  await region.clock.advanceBy(6_000);
  const got = await poll;
  t.is(got.length, 2, 'the message and its duplicate');
  t.is(got[0]!.messageId, got[1]!.messageId);
  await q.delete(url, got[0]!.receiptHandle);
  await region.clock.advanceBy(31_000);
  const again = await q.receive(url, { maxMessages: 10, waitSeconds: 0 });
  t.is(again.length, 1, 'the undeleted copy is visible again');
  t.is(again[0]!.receiveCount, 2);
  await q.delete(url, got[1]!.receiptHandle);
  t.is(region.sqs.depth(url), 1, 'deleting with the older handle left it');
  await q.delete(url, again[0]!.receiptHandle);
  t.is(region.sqs.depth(url), 0);
});

test('launch template versions: $Latest and $Default resolve, hibernation readiness is reported', async (t) => {
  const region = await warmRegion({
    groups: [
      { name: 'web', instanceTypes: ['m5.large'], azs: ['us-east-1a'], desired: 0, hibernation: true },
    ],
  });
  const tpl = [...region.ec2.templates.values()][0]!;
  tpl.versions.push({
    version: 2,
    instanceType: 'm5.large',
    hibernation: false,
    boot: { median: 60, p99: 90 },
  });
  const latest = await region.cloud.ec2.describeLaunchTemplateVersion({ name: 'web-lt', version: '$Latest' });
  t.like(latest, { version: 2, isLatest: true, isDefault: false, hibernationReady: false });
  const def = await region.cloud.ec2.describeLaunchTemplateVersion({ id: tpl.id, version: '$Default' });
  t.like(def, { version: 1, isDefault: true, hibernationReady: true });
  await t.throwsAsync(region.cloud.ec2.describeLaunchTemplateVersion({ name: 'nope' }), {
    message: /does not exist/,
  });
});

test('describes are paged: 2,500 ids cost three DescribeInstances requests', async (t) => {
  const region = await warmRegion({
    groups: [
      webGroup({
        desired: 2500,
        max: 2500,
      }),
    ],
  });
  const ids = members(region).map((m) => m.instanceId);
  const before = region.api.stats.calls;
  const out = await region.cloud.ec2.describeInstances(ids);
  t.is(out.length, 2500);
  t.is(region.api.stats.calls - before, 3);
  t.throws(
    () => {
      (out[0]!.tags as Record<string, string>).x = 'y';
    },
    undefined,
    'described shapes are frozen, not shared mutable state',
  );
});

test('terminate in the group with and without decrement, through the terminate hook', async (t) => {
  const region = await warmRegion({
    groups: [
      webGroup({
        desired: 3,
        lifecycleHooks: [{ name: 'drain', transition: 'terminating', heartbeatTimeoutSeconds: 120 }],
      }),
    ],
  });
  const [a, b] = members(region);
  region.asg.terminateInGroup(a!.instanceId, true);
  t.is(region.asg.mustGet('web').desired, 2);
  t.is(a!.lifecycleState, 'Terminating:Wait');
  const [msg] = await region.cloud.queue.receive(region.queueUrl, { maxMessages: 1, waitSeconds: 0 });
  t.is(JSON.parse(msg!.body)['detail-type'], 'EC2 Instance-terminate Lifecycle Action');
  await region.cloud.autoscaling.completeLifecycleAction(
    { groupName: 'web', hookName: 'drain', instanceId: a!.instanceId },
    'CONTINUE',
  );
  region.asg.terminateInGroup(b!.instanceId, false);
  await region.clock.advanceBy(600_000);
  const now = members(region);
  t.false(now.some((m) => m.instanceId === a!.instanceId || m.instanceId === b!.instanceId));
  t.is(
    now.filter((m) => m.lifecycleState === 'InService').length,
    2,
    'b replaced (the hook timed out and continued), a not',
  );
});

test('a rebalance recommendation can precede a reclaim; state-change notifications follow it', async (t) => {
  const region = await warmRegion({
    groups: [webGroup({ desired: 1 })],
    market: { hazardPerHour: 2, rebalance: { share: 1, lead: 300 }, stateChangeEvents: true },
    duration: '6h',
  });
  const seen: { type: string; at: number }[] = [];
  for (let i = 0; i < 400 && !seen.some((s) => s.type.includes('State-change')); i++) {
    await region.clock.advanceBy(60_000);
    for (const m of await region.cloud.queue.receive(region.queueUrl, { maxMessages: 10, waitSeconds: 0 })) {
      const body = JSON.parse(m.body);
      seen.push({ type: body['detail-type'], at: Date.parse(body.time) });
      await region.cloud.queue.delete(region.queueUrl, m.receiptHandle);
    }
  }
  const rebalance = seen.find((s) => s.type === 'EC2 Instance Rebalance Recommendation');
  const warning = seen.find((s) => s.type === 'EC2 Spot Instance Interruption Warning');
  t.truthy(rebalance && warning);
  t.is(warning!.at - rebalance!.at, 300_000);
  t.true(seen.some((s) => s.type === 'EC2 Instance State-change Notification'));
});

test('snapshots complete after a while, are found by tags, and can seed a volume in another AZ', async (t) => {
  const region = await warmRegion();
  const ec2 = region.cloud.ec2;
  const vol = await ec2.createVolume({
    availabilityZone: 'us-east-1a',
    sizeGiB: 50,
    tags: { 'spotmax:group': 'web' },
  });
  await region.clock.advanceBy(10_000);
  const snap = await ec2.createSnapshot(vol.volumeId, { 'spotmax:group': 'web' });
  t.is(snap.state, 'pending');
  await region.clock.advanceBy(61_000);
  const [found] = await ec2.describeSnapshots({ 'spotmax:group': 'web' });
  t.like(found, { snapshotId: snap.snapshotId, state: 'completed', volumeId: vol.volumeId });
  t.deepEqual(await ec2.describeSnapshots({ 'spotmax:group': 'other' }), []);
  const copy = await ec2.createVolume({
    availabilityZone: 'us-east-1b',
    snapshotId: snap.snapshotId,
    tags: {},
  });
  t.like(copy, {
    availabilityZone: 'us-east-1b',
    sizeGiB: 50,
    snapshotId: snap.snapshotId,
    state: 'creating',
  });
  await ec2.deleteSnapshot(snap.snapshotId);
  await t.throwsAsync(ec2.deleteSnapshot(snap.snapshotId), { message: /InvalidSnapshot\.NotFound/ });
});

test('the CloudWatch sink keeps sums per metric and dimensions', (t) => {
  const region = createSimulatedRegion(scenario());
  region.cloud.metrics.record({
    name: 'Warnings',
    value: 1,
    unit: 'Count',
    dimensions: { AutoScalingGroupName: 'web' },
  });
  region.cloud.metrics.record({
    name: 'Warnings',
    value: 2,
    unit: 'Count',
    dimensions: { AutoScalingGroupName: 'api' },
  });
  t.is(region.metrics.sum('Warnings'), 3);
  t.is(region.metrics.totals.size, 2);
});
