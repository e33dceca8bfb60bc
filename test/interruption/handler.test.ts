import test from 'ava';
import { DEFAULT_COALESCE_WINDOW_MS } from '../../src/controllers/interruption/controller.js';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import { CloudError } from '../../src/domain/errors.js';
import { INTERRUPTED_AT_TAG, RETIRE_REQUESTED_TAG } from '../../src/domain/tags.js';
import type { Releaser } from '../../src/ports/releaser.js';
import { virtualClock } from './helpers/clock.js';
import { FakeCloud } from './helpers/fake-cloud.js';
import { captureLogger, makeController, msg, recordingReleaser } from './helpers/setup.js';

const warning = (
  instanceId: string,
  time: Date,
  type: 'spot-interruption' | 'state-change' | 'rebalance' | 'scheduled-change' = 'spot-interruption',
  state?: string,
) => msg(buildSampleEvent({ type, instanceId, region: 'us-east-1', time, state }));

function setup(opts: Parameters<typeof makeController>[0]['overrides'] = {}, releasers?: Releaser[]) {
  const clock = virtualClock();
  const fake = new FakeCloud(clock);
  const logger = captureLogger();
  const { controller, directory } = makeController({
    cloud: fake.cloud,
    clock,
    logger,
    overrides: opts,
    releasers,
  });
  return { clock, fake, logger, controller, directory };
}

test('a Spot warning marks, releases and detaches the instance without decrement', async (t) => {
  const releaser = recordingReleaser();
  const released = releaser.requests;
  const { fake, clock, controller } = setup({}, [releaser]);
  const group = fake.addGroup('web', 3);
  const victim = group.members[0]!.instanceId;
  const eventTime = clock.now();
  t.is(await controller.handleMessage(warning(victim, eventTime), 'q1'), 'delete');

  t.is(
    Date.parse(fake.instances.get(victim)!.tags[INTERRUPTED_AT_TAG]!),
    Date.parse(`${eventTime.toISOString().slice(0, 19)}Z`),
  );
  t.is(released.length, 1);
  t.is(released[0]!.mode, 'drain');
  t.is(released[0]!.reason, 'spot-interruption');
  // Release steps are bounded by the deadline (event + 120 s) minus the margin.
  t.true(released[0]!.deadline.getTime() <= Date.parse(`${eventTime.toISOString().slice(0, 19)}Z`) + 115_000);
  t.deepEqual(
    fake.detachCalls.map((c) => [c.groupName, c.ids, c.decrement]),
    [['web', [victim], false]],
  );
  t.is(fake.membersOf('web').length, 3, 'the ASG replaced the instance');
  t.false(fake.membersOf('web').includes(victim));
  t.is(fake.metricSum('InterruptionWarnings', { AutoScalingGroupName: 'web' }), 1);
  t.is(fake.metricSum('InstancesDetached', { AutoScalingGroupName: 'web' }), 1);
  t.true(fake.metricsRecorded.some((d) => d.name === 'DetachLagSeconds' && d.value >= 0));
  t.true(fake.metricsRecorded.some((d) => d.name === 'ReleaseSeconds'));
  // The marker is written before the detach.
  t.true(fake.tagCalls[0]!.tags[INTERRUPTED_AT_TAG] !== undefined);
});

test('the detach waits until detachDelaySeconds after the EVENT time, not the processing time', async (t) => {
  const { fake, clock, controller } = setup({
    web: (s) => {
      s.interruption.detachDelaySeconds = 20;
    },
  });
  const group = fake.addGroup('web', 2);
  const [a, b] = group.members.map((m) => m.instanceId) as [string, string];
  // One warning is 15 s old already: only 5 s of the delay are left. The other is fresh.
  const old = new Date(clock.now().getTime() - 15_000);
  const fresh = clock.now();
  await Promise.all([
    controller.handleMessage(warning(a, old), 'q1'),
    controller.handleMessage(warning(b, fresh), 'q1'),
  ]);
  const callA = fake.detachCalls.find((c) => c.ids.includes(a))!;
  const callB = fake.detachCalls.find((c) => c.ids.includes(b))!;
  const secondsAfterEvent = (call: { at: number }, time: Date) =>
    (call.at - Date.parse(`${time.toISOString().slice(0, 19)}Z`)) / 1000;
  // The clock is virtual: detaches go exactly at event + 20 s, plus the coalescing window.
  const window = DEFAULT_COALESCE_WINDOW_MS / 1000;
  t.is(secondsAfterEvent(callA, old), 20 + window);
  t.is(secondsAfterEvent(callB, fresh), 20 + window);
  t.true(callA.at < callB.at);
});

test('the same warning twice plus a state-change lead to exactly one DetachInstances and one release', async (t) => {
  const releaser = recordingReleaser();
  const { fake, clock, controller } = setup({}, [releaser]);
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  const time = clock.now();
  const verdicts = await Promise.all([
    controller.handleMessage(warning(victim, time), 'q1'),
    controller.handleMessage(warning(victim, time), 'q1'),
    controller.handleMessage(warning(victim, time, 'state-change', 'stopping'), 'q1'),
  ]);
  t.deepEqual(verdicts, ['delete', 'delete', 'delete']);
  t.is(fake.detachCalls.filter((c) => c.ids.includes(victim)).length, 1);
  t.is(releaser.requests.length, 1);
});

test('a restart (fresh process) that finds the marker does not release again but completes the detach', async (t) => {
  const releaser = recordingReleaser();
  const { fake, clock, controller } = setup({}, [releaser]);
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  fake.instances.get(victim)!.tags[INTERRUPTED_AT_TAG] = clock.now().toISOString();
  await controller.handleMessage(warning(victim, clock.now()), 'q1');
  t.is(releaser.requests.length, 0);
  t.is(fake.detachCalls.length, 1);
  // And once detached, a redelivery is a success without another call.
  const { controller: second } = makeController({ cloud: fake.cloud, clock, releasers: [releaser] });
  t.is(await second.handleMessage(warning(victim, clock.now()), 'q1'), 'delete');
  t.is(fake.detachCalls.length, 1);
  t.is(second.stats().discarded['unknown-instance'], 1);
});

test('a foreign instance is discarded and nothing changes', async (t) => {
  const { fake, clock, controller } = setup();
  fake.addGroup('web', 1);
  fake.addGroup('theirs', 1, { team: 'other' });
  const foreign = fake.membersOf('theirs')[0]!;
  const stray = fake.addInstance().instanceId;
  t.is(await controller.handleMessage(warning(foreign, clock.now()), 'q1'), 'delete');
  t.is(await controller.handleMessage(warning(stray, clock.now()), 'q1'), 'delete');
  t.is(fake.detachCalls.length, 0);
  t.is(fake.tagCalls.length, 0);
  t.is(controller.stats().discarded['unknown-instance'], 2);
  t.is(fake.metricSum('EventsDiscarded', { Reason: 'unknown-instance' }), 2);
  // Directory misses cost at most one describe per ttl.
  t.true(fake.describeGroupsCalls <= 2);
});

test('an old warning for an instance that is gone is discarded as too old', async (t) => {
  const { fake, clock, controller } = setup();
  fake.addGroup('web', 1);
  const long = new Date(clock.now().getTime() - 10 * 60_000);
  await controller.handleMessage(warning('i-0000000000000dead', long), 'q1');
  t.is(controller.stats().discarded['too-old'], 1);
});

test('garbage bodies are deleted, counted by reason and logged with a truncated body', async (t) => {
  const { fake, controller, logger } = setup();
  fake.addGroup('web', 1);
  const huge = JSON.stringify({ pad: 'z'.repeat(300_000) });
  const verdicts = await Promise.all(
    [
      '{{{ nope',
      JSON.stringify({ 'detail-type': 'EC2 Spot Instance Interruption Warning' }),
      huge,
      JSON.stringify({ Event: 'autoscaling:TEST_NOTIFICATION', Service: 'AWS Auto Scaling' }),
    ].map((b) => controller.handleMessage(msg(b), 'q1')),
  );
  t.deepEqual(verdicts, ['delete', 'delete', 'delete', 'delete']);
  t.deepEqual(controller.stats().discarded, {
    'not-json': 1,
    malformed: 1,
    'too-large': 1,
    'test-notification': 1,
  });
  const lines = logger.lines.filter((l) => l.msg?.startsWith('discarding'));
  t.is(lines.length, 4);
  for (const l of lines) {
    const o = l.obj as { messageId: string; reason: string; body: string };
    t.truthy(o.messageId);
    t.truthy(o.reason);
    t.true(o.body.length <= 530);
  }
});

test('60 warnings across 3 groups: all detached, at most ceil(n/20) calls per group', async (t) => {
  const { fake, clock, controller } = setup();
  const ids: string[] = [];
  for (const [name, n] of [
    ['a', 25],
    ['b', 20],
    ['c', 15],
  ] as const)
    ids.push(...fake.addGroup(name, n).members.map((m) => m.instanceId));
  const time = clock.now();
  await Promise.all(ids.map((id) => controller.handleMessage(warning(id, time), 'q1')));
  t.is(controller.stats().detached, 60);
  const calls = (g: string) => fake.detachCalls.filter((c) => c.groupName === g);
  t.true(calls('a').length <= 2, `a: ${calls('a').length}`);
  t.true(calls('b').length <= 1, `b: ${calls('b').length}`);
  t.true(calls('c').length <= 1, `c: ${calls('c').length}`);
  t.true(fake.detachCalls.every((c) => c.ids.length <= 20));
  t.is(new Set(fake.detachCalls.flatMap((c) => c.ids)).size, 60);
});

test('throttling at the port boundary is retried inside the deadline', async (t) => {
  const { fake, clock, controller } = setup();
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  const throttled = new CloudError(
    'DetachInstances',
    'detaching',
    'Throttling',
    true,
    new Error('Rate exceeded'),
  );
  fake.fail('detachInstances', throttled, 2);
  fake.fail(
    'describeInstances',
    new CloudError('DescribeInstances', 'describing', 'RequestLimitExceeded', true),
    1,
  );
  fake.fail(
    'createTags',
    Object.assign(new Error('We encountered an internal error'), {
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
    }),
    1,
  );
  t.is(await controller.handleMessage(warning(victim, clock.now()), 'q1'), 'delete');
  t.is(fake.detachCalls.length, 1);
  t.is(controller.stats().detached, 1);
});

test('an access-denied detach fails the message (left for redelivery) and names the action', async (t) => {
  const { fake, clock, controller, directory } = setup();
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  t.truthy(await directory.lookup(victim));
  fake.fail(
    'detachInstances',
    new CloudError('DetachInstances', 'detaching from web', 'AccessDenied', false),
    1,
  );
  fake.fail(
    'describeGroups',
    new CloudError('DescribeAutoScalingGroups', 'describing web', 'AccessDenied', false),
    1,
  );
  const err = await t.throwsAsync(controller.handleMessage(warning(victim, clock.now()), 'q1'));
  t.regex(
    String(err?.cause instanceof Error ? err.cause.message : ''),
    /DetachInstances failed \(AccessDenied\)/,
  );
  t.is(fake.instances.get(victim)!.tags[INTERRUPTED_AT_TAG] !== undefined, true);
  t.regex(err!.message, new RegExp(`detaching ${victim} from web`));
});

test('an instance already detached or terminating counts as success', async (t) => {
  const { fake, clock, controller, directory } = setup();
  const group = fake.addGroup('web', 3);
  const [a, b] = group.members.map((m) => m.instanceId) as [string, string];
  // Directory still thinks both are members; AWS already moved `b` out.
  directory.update([
    {
      group: structuredClone(group),
      managed: true,
      problems: [],
      provenance: {},
      settings: (await import('../../src/config/schema.js')).defaultSettings(),
    },
  ]);
  group.members = group.members.filter((m) => m.instanceId !== b);
  const time = clock.now();
  const verdicts = await Promise.all([
    controller.handleMessage(warning(a, time), 'q1'),
    controller.handleMessage(warning(b, time), 'q1'),
  ]);
  t.deepEqual(verdicts, ['delete', 'delete']);
  t.deepEqual(
    fake.detachCalls.flatMap((c) => c.ids),
    [a],
  );
});

test('a release step that fails or overruns never prevents the detach', async (t) => {
  const failing: Releaser = { name: 'boom', release: async () => Promise.reject(new Error('consul down')) };
  const hanging: Releaser = {
    name: 'hang',
    release: (r) =>
      new Promise((_, reject) => r.signal.addEventListener('abort', () => reject(new Error('aborted')))),
  };
  const { fake, clock, controller } = setup({}, [failing, hanging]);
  const victim = fake.addGroup('web', 1).members[0]!.instanceId;
  const time = clock.now();
  t.is(await controller.handleMessage(warning(victim, time), 'q1'), 'delete');
  t.is(fake.detachCalls.length, 1);
  const at = (fake.detachCalls[0]!.at - Date.parse(`${time.toISOString().slice(0, 19)}Z`)) / 1000;
  t.true(at < 120, `detached ${at} s after the event, inside the warning`);
});

test('with a standby taken, the detach decrements desired capacity', async (t) => {
  const clock = virtualClock();
  const fake = new FakeCloud(clock);
  const group = fake.addGroup('web', 2);
  const victim = group.members[0]!.instanceId;
  const standby = fake.addInstance({ market: 'on-demand' });
  const { controller } = makeController({
    cloud: fake.cloud,
    clock,
    overrides: {
      web: (s) => {
        s.standby.size = 1;
      },
    },
    deps: {
      standby: {
        takeStandby: async (args) => {
          await fake.autoscaling.attachInstances(args.groupName, [standby.instanceId]);
          return { instanceId: standby.instanceId };
        },
      },
    },
  });
  await controller.handleMessage(warning(victim, clock.now()), 'q1');
  t.deepEqual(
    fake.detachCalls.map((c) => c.decrement),
    [true],
  );
  t.is(fake.groups.get('web')!.desired, 2);
  t.true(fake.membersOf('web').includes(standby.instanceId));
});

test('rebalance and scheduled change follow rebalance.action: ignore, cordon, replace', async (t) => {
  const releaser = recordingReleaser();
  const cordons = releaser.requests;
  const { fake, clock, controller } = setup(
    {
      cordon: (s) => {
        s.rebalance.action = 'cordon';
      },
      replace: (s) => {
        s.rebalance.action = 'replace';
      },
    },
    [releaser],
  );
  const ig = fake.addGroup('ignore', 1).members[0]!.instanceId;
  const co = fake.addGroup('cordon', 1).members[0]!.instanceId;
  const re = fake.addGroup('replace', 2).members.map((m) => m.instanceId);
  const time = clock.now();
  await controller.handleMessage(warning(ig, time, 'rebalance'), 'q1');
  await controller.handleMessage(warning(co, time, 'rebalance'), 'q1');
  const health = buildSampleEvent({
    type: 'scheduled-change',
    instanceId: re[0]!,
    moreInstanceIds: [re[1]!],
    region: 'us-east-1',
    time,
  });
  t.is(await controller.handleMessage(msg(health), 'q1'), 'delete');

  t.is(fake.detachCalls.length, 0, 'no detach for rebalance');
  t.deepEqual(
    cordons.map((c) => [c.instance.instanceId, c.mode, c.reason]),
    [[co, 'cordon', 'rebalance']],
  );
  t.is(fake.instances.get(ig)!.tags[RETIRE_REQUESTED_TAG], undefined);
  for (const id of re) t.truthy(fake.instances.get(id)!.tags[RETIRE_REQUESTED_TAG]);
  t.is(controller.stats().retireRequested, 2);
});

test('state changes that do not mean departure are discarded as irrelevant', async (t) => {
  const { fake, clock, controller } = setup();
  const id = fake.addGroup('web', 1).members[0]!.instanceId;
  await controller.handleMessage(warning(id, clock.now(), 'state-change', 'running'), 'q1');
  t.is(controller.stats().discarded.irrelevant, 1);
  t.is(fake.detachCalls.length, 0);
});

test('dry run resolves and logs, changes nothing', async (t) => {
  const clock = virtualClock();
  const fake = new FakeCloud(clock);
  const logger = captureLogger();
  const victim = fake.addGroup('web', 1).members[0]!.instanceId;
  const { controller } = makeController({ cloud: fake.cloud, clock, logger, deps: { dryRun: true } });
  t.is(await controller.handleMessage(warning(victim, clock.now()), 'q1'), 'keep');
  t.is(fake.tagCalls.length, 0);
  t.is(fake.detachCalls.length, 0);
  t.true(logger.lines.some((l) => /would detach 1 instance/.test(l.msg ?? '')));
  t.true(logger.lines.some((l) => /would mark/.test(l.msg ?? '')));
});

test('a message that keeps failing is given up after its last attempt: counted, logged, deleted', async (t) => {
  const { fake, clock, controller, directory, logger } = setup();
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  t.truthy(await directory.lookup(victim));
  const denied = new CloudError('DetachInstances', 'detaching from web', 'AccessDenied', false);
  fake.fail('detachInstances', denied, 2);
  fake.fail('describeGroups', denied, 2);
  const m = warning(victim, clock.now());
  await t.throwsAsync(controller.handleMessage({ ...m, receiveCount: 9 }, 'q1'));
  t.is(await controller.handleMessage({ ...m, receiveCount: 10 }, 'q1'), 'delete');
  t.is(controller.stats().discarded['too-many-attempts'], 1);
  t.true(logger.lines.some((l) => l.msg === 'discarding message: too-many-attempts'));
});

test('release outcomes reach the metrics and one readable log line', async (t) => {
  const drain: Releaser = {
    name: 'kubernetes',
    release: async () => ({
      step: 'kubernetes',
      status: 'partial',
      durationMs: 4200,
      counts: { podsEvicted: 7, podsLeft: 1 },
    }),
  };
  const consul: Releaser = {
    name: 'consul',
    release: async () => ({
      step: 'consul',
      status: 'done',
      durationMs: 100,
      counts: { servicesDeregistered: 2 },
    }),
  };
  const { fake, clock, controller, logger } = setup({}, [drain, consul]);
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  t.is(await controller.handleMessage(warning(victim, clock.now()), 'q1'), 'delete');
  const dims = { AutoScalingGroupName: 'web' };
  t.is(fake.metricSum('PodsEvicted', dims), 7);
  t.is(fake.metricSum('DrainIncomplete', dims), 1);
  t.is(fake.metricSum('DrainSeconds', dims), 4.2);
  t.true(fake.metricSum('ConsulDeregistered', dims) >= 1);
  const line = logger.lines.find((l) => l.msg?.startsWith(`release of ${victim} incomplete`));
  t.truthy(line, 'a partial drain is a warning');
  t.regex(line!.msg!, /kubernetes=partial.*podsEvicted=7.*consul=done/);
});
