import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import { INTERRUPTED_AT_TAG } from '../../src/domain/tags.js';
import type { LifecycleActionRef } from '../../src/ports/autoscaling.js';
import type { QueueMessage } from '../../src/ports/queue.js';
import type { ReleaseRequest, Releaser } from '../../src/ports/releaser.js';
import { testCloud } from '../helpers/aws-fixtures.js';
import { makeController, msg, recordingReleaser } from './helpers/setup.js';
import { eventually, type SimWorld, simWorld } from './helpers/sim-world.js';

// Lifecycle hooks on the simulated region: the group's own hook puts the instance in Terminating:Wait
// or Pending:Wait and sends the event with its token, as Auto Scaling does; CompleteLifecycleAction and
// heartbeats are refused for a wrong token or an instance not waiting, and the hook times out.

const HOOK = 'spotmax-drain';
const terminating = (heartbeatTimeoutSeconds = 300) => [
  { name: HOOK, transition: 'terminating' as const, heartbeatTimeoutSeconds },
];

/** The lifecycle action events on the queue now (the simulated Auto Scaling sent them). */
async function hookMessages(w: SimWorld) {
  const msgs = await w.receiveAll();
  return msgs.filter((m) => /Lifecycle Action/.test(m.body));
}

const tokenOf = (m: QueueMessage) => JSON.parse(m.body).detail.LifecycleActionToken as string;

/** A release step that takes `seconds` of clock time. */
const slowReleaser = (
  clock: { sleep(ms: number, s?: AbortSignal): Promise<void> },
  seconds: number,
  seen: ReleaseRequest[] = [],
): Releaser => ({
  name: 'slow',
  release: async (r) => {
    seen.push(r);
    await clock.sleep(seconds * 1000, r.signal);
    return { step: 'slow', status: 'done', durationMs: seconds * 1000 };
  },
});

test('terminate hook: release, heartbeats while it runs past half the timeout, then one CONTINUE', async (t) => {
  const w = await simWorld([{ name: 'web', size: 2, hooks: terminating(30) }]);
  const victim = w.members('web')[0]!;
  const seen: ReleaseRequest[] = [];
  const { controller } = makeController({
    cloud: w.cloud,
    clock: w.clock,
    releasers: [slowReleaser(w.clock, 50, seen)],
    overrides: {
      web: (s) => {
        s.kubernetes.drainTimeoutSeconds = 120;
      },
    },
  });
  w.region.asg.terminateInGroup(victim, false);
  const [m] = await hookMessages(w);
  t.is(w.region.asg.mustGet('web').members.get(victim)?.lifecycleState, 'Terminating:Wait');
  const start = w.clock.nowMs();
  t.is(await w.clock.drive(controller.handleMessage(m!, 'q1')), 'delete');
  t.is(seen.length, 1);
  t.is(seen[0]!.reason, 'lifecycle-terminate');
  // 50 s of release with a 30 s heartbeat timeout: a heartbeat every 15 s keeps the action alive.
  const beats = () => w.okCalls('recordLifecycleActionHeartbeat');
  t.deepEqual(
    beats().map((c) => (c.at - start) / 1000),
    [15, 30, 45],
  );
  t.deepEqual(
    w.okCalls('completeLifecycleAction').map((c) => {
      const ref = c.args[0] as LifecycleActionRef;
      return [ref.groupName, ref.hookName, ref.instanceId, ref.token, c.args[1]];
    }),
    [['web', HOOK, victim, tokenOf(m!), 'CONTINUE']],
  );
  t.is(w.rec.callsOf('completeLifecycleAction').length, 1);
  // Auto Scaling accepted it before the timeout: the instance goes on to terminate.
  t.is(w.region.asg.mustGet('web').members.get(victim)?.lifecycleState, 'Terminating:Proceed');
  t.truthy(w.instance(victim).tags[INTERRUPTED_AT_TAG]);
  t.is(w.rec.callsOf('detachInstances').length, 0, 'a terminating instance is not detached');
  t.is(w.metricSum('LifecycleActionsCompleted', { AutoScalingGroupName: 'web' }), 1);
  // No heartbeat after completion.
  const count = w.rec.callsOf('recordLifecycleActionHeartbeat').length;
  await w.clock.advanceBy(40_000);
  t.is(w.rec.callsOf('recordLifecycleActionHeartbeat').length, count);
});

test('a second message for the same hook does not complete it twice; a short release sends no heartbeat', async (t) => {
  // SQS may deliver a message twice: the simulated queue does, every time.
  const w = await simWorld([{ name: 'web', size: 2, hooks: terminating(60) }], {
    queue: { duplicateRate: 1 },
  });
  const victim = w.members('web')[0]!;
  const releaser = recordingReleaser();
  const { controller } = makeController({ cloud: w.cloud, clock: w.clock, releasers: [releaser] });
  w.region.asg.terminateInGroup(victim, false);
  const copies = await hookMessages(w);
  t.is(copies.length, 2);
  t.is(copies[0]!.messageId, copies[1]!.messageId);
  const verdicts = await w.clock.drive(Promise.all(copies.map((c) => controller.handleMessage(c, 'q1'))));
  // And a redelivery later on.
  await w.clock.drive(controller.handleMessage(copies[0]!, 'q1'));
  t.deepEqual(verdicts, ['delete', 'delete']);
  t.is(w.rec.callsOf('completeLifecycleAction').length, 1);
  t.is(w.okCalls('completeLifecycleAction').length, 1);
  t.is(releaser.requests.length, 1);
  t.is(w.rec.callsOf('recordLifecycleActionHeartbeat').length, 0);
});

test('a warning then the terminate hook: one release, and the hook is still completed', async (t) => {
  const w = await simWorld([{ name: 'web', size: 2, hooks: terminating() }]);
  const victim = w.members('web')[0]!;
  const releaser = recordingReleaser();
  const { controller } = makeController({ cloud: w.cloud, clock: w.clock, releasers: [releaser] });
  // The group starts terminating the instance (its hook waits) as the Spot warning comes in.
  w.region.asg.terminateInGroup(victim, false);
  const [hook] = await hookMessages(w);
  const time = w.clock.now();
  await w.clock.drive(
    controller.handleMessage(
      msg(buildSampleEvent({ type: 'spot-interruption', instanceId: victim, region: 'us-east-1', time })),
      'q1',
    ),
  );
  await w.clock.drive(controller.handleMessage(hook!, 'q1'));
  t.is(releaser.requests.length, 1);
  t.is(w.okCalls('completeLifecycleAction').length, 1);
  t.is(w.okCalls('detachInstances').length, 0, 'a terminating instance cannot be detached');
});

test('launch hook: the launch preparer runs, then CONTINUE', async (t) => {
  const w = await simWorld([
    { name: 'web', size: 0, hooks: [{ name: 'spotmax-launch', transition: 'launching' }] },
  ]);
  const order: string[] = [];
  const { controller } = makeController({
    cloud: w.cloud,
    clock: w.clock,
    deps: {
      prepareLaunch: async ({ instanceId }) =>
        void order.push(
          `prepare ${instanceId} (${w.rec.callsOf('completeLifecycleAction').length} completed)`,
        ),
    },
  });
  w.region.asg.update('web', { desired: 1 });
  await eventually(w.clock, 'a member waiting in Pending:Wait', () =>
    [...w.region.asg.mustGet('web').members.values()].some((m) => m.lifecycleState === 'Pending:Wait'),
  );
  const id = w.members('web')[0]!;
  const [m] = await hookMessages(w);
  await w.clock.drive(controller.handleMessage(m!, 'q1'));
  t.deepEqual(order, [`prepare ${id} (0 completed)`]);
  t.deepEqual(
    w.okCalls('completeLifecycleAction').map((c) => c.args[1]),
    ['CONTINUE'],
  );
  t.is(w.region.asg.mustGet('web').members.get(id)?.lifecycleState, 'InService');
});

test('a hook of an unmanaged group is discarded', async (t) => {
  const w = await simWorld([{ name: 'web', size: 1, tags: { team: 'x' }, hooks: terminating() }]);
  const { controller } = makeController({ cloud: w.cloud, clock: w.clock });
  const victim = w.members('web')[0]!;
  w.region.asg.terminateInGroup(victim, false);
  const [m] = await hookMessages(w);
  await w.clock.drive(controller.handleMessage(m!, 'q1'));
  t.is(controller.stats().discarded['not-managed'], 1);
  t.is(w.rec.callsOf('completeLifecycleAction').length, 0);
  t.is(w.region.asg.mustGet('web').members.get(victim)?.lifecycleState, 'Terminating:Wait');
});

/** A stand-in Auto Scaling endpoint that records the form-encoded query request. */
async function captureServer() {
  const requests: URLSearchParams[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const params = new URLSearchParams(body);
    requests.push(params);
    const action = params.get('Action');
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<${action}Response xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><${action}Result/><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`,
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { endpoint: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(r)) };
}

test('the AWS adapter sends CompleteLifecycleAction and the heartbeat with the hook, instance and token', async (t) => {
  const srv = await captureServer();
  try {
    const cloud = testCloud(srv.endpoint);
    const ref = {
      groupName: 'web',
      hookName: 'drain-hook',
      instanceId: 'i-0123456789abcdef0',
      token: 'tok-9',
    };
    await cloud.autoscaling.recordLifecycleActionHeartbeat(ref);
    await cloud.autoscaling.completeLifecycleAction(ref, 'CONTINUE');
    const [beat, complete] = srv.requests;
    t.is(beat?.get('Action'), 'RecordLifecycleActionHeartbeat');
    t.is(beat?.get('LifecycleActionToken'), 'tok-9');
    t.is(complete?.get('Action'), 'CompleteLifecycleAction');
    t.is(complete?.get('AutoScalingGroupName'), 'web');
    t.is(complete?.get('LifecycleHookName'), 'drain-hook');
    t.is(complete?.get('InstanceId'), 'i-0123456789abcdef0');
    t.is(complete?.get('LifecycleActionToken'), 'tok-9');
    t.is(complete?.get('LifecycleActionResult'), 'CONTINUE');
  } finally {
    await srv.close();
  }
});

// Lifecycle hooks belong to their owners ("Amazon EC2 Auto Scaling lifecycle hooks"): spotmax completes
// only the hooks lifecycleHooks.owned names (default spotmax-*), never CodeDeploy's or another handler's.
test("another owner's hook is never completed: the instance waits for its owner", async (t) => {
  const codeDeploy = 'CodeDeploy-managed-automatic-launch-deployment-hook-app-1a2b3c4d';
  const w = await simWorld([
    {
      name: 'web',
      size: 2,
      hooks: [
        { name: codeDeploy, transition: 'terminating', heartbeatTimeoutSeconds: 600 },
        { name: 'lifecycle-handler-drain', transition: 'terminating', heartbeatTimeoutSeconds: 600 },
      ],
    },
  ]);
  const releaser = recordingReleaser();
  const { controller } = makeController({ cloud: w.cloud, clock: w.clock, releasers: [releaser] });
  const victim = w.members('web')[0]!;
  w.region.asg.terminateInGroup(victim, false);
  const msgs = await hookMessages(w);
  t.is(msgs.length, 2, 'one event per hook');
  for (const m of msgs) await w.clock.drive(controller.handleMessage(m, 'q1'));
  t.deepEqual(w.rec.callsOf('completeLifecycleAction'), []);
  t.deepEqual(w.rec.callsOf('recordLifecycleActionHeartbeat'), []);
  t.is(releaser.requests.length, 0, 'not our hooks: no release on their account either');
  t.is(w.region.asg.mustGet('web').members.get(victim)?.lifecycleState, 'Terminating:Wait');
  t.deepEqual(await w.receiveAll(), [], 'the messages are deleted, not retried');
});

test("next to another owner's hook spotmax completes its own only; the member waits for the other", async (t) => {
  const codeDeploy = 'CodeDeploy-managed-automatic-launch-deployment-hook-app-1a2b3c4d';
  const w = await simWorld([
    {
      name: 'web',
      size: 2,
      hooks: [
        { name: codeDeploy, transition: 'terminating', heartbeatTimeoutSeconds: 600 },
        { name: HOOK, transition: 'terminating', heartbeatTimeoutSeconds: 600 },
      ],
    },
  ]);
  const releaser = recordingReleaser();
  const { controller } = makeController({ cloud: w.cloud, clock: w.clock, releasers: [releaser] });
  const victim = w.members('web')[0]!;
  w.region.asg.terminateInGroup(victim, false);
  for (const m of await hookMessages(w)) await w.clock.drive(controller.handleMessage(m, 'q1'));
  t.deepEqual(
    w.okCalls('completeLifecycleAction').map((c) => (c.args[0] as LifecycleActionRef).hookName),
    [HOOK],
  );
  t.is(releaser.requests.length, 1);
  t.is(w.region.asg.mustGet('web').members.get(victim)?.lifecycleState, 'Terminating:Wait');
});

test('lifecycleHooks.owned names the hooks spotmax completes', async (t) => {
  const w = await simWorld([
    {
      name: 'web',
      size: 2,
      hooks: [{ name: 'lifecycle-handler-drain', transition: 'terminating', heartbeatTimeoutSeconds: 600 }],
    },
  ]);
  const { controller } = makeController({
    cloud: w.cloud,
    clock: w.clock,
    overrides: {
      web: (s) => {
        s.lifecycleHooks.owned = ['lifecycle-handler-*'];
      },
    },
  });
  const victim = w.members('web')[0]!;
  w.region.asg.terminateInGroup(victim, false);
  const [m] = await hookMessages(w);
  await w.clock.drive(controller.handleMessage(m!, 'q1'));
  t.deepEqual(
    w.okCalls('completeLifecycleAction').map((c) => (c.args[0] as LifecycleActionRef).hookName),
    ['lifecycle-handler-drain'],
  );
});

test('two replicas: the warning at one and the terminate hook at the other, at once: one release, one CONTINUE', async (t) => {
  const w = await simWorld([{ name: 'web', size: 2, hooks: terminating() }]);
  const victim = w.members('web')[0]!;
  const replica = (holder: string) => {
    const seen: ReleaseRequest[] = [];
    const { controller } = makeController({
      cloud: w.cloud,
      clock: w.clock,
      // A release that takes time, so the two messages overlap while it runs.
      releasers: [slowReleaser(w.clock, 5, seen)],
      deps: { claims: { store: w.region.coordination.replica(w.clock), holder } },
    });
    return { controller, seen };
  };
  const a = replica('task-a');
  const b = replica('task-b');
  w.region.asg.terminateInGroup(victim, false);
  const [hook] = await hookMessages(w);
  const warning = msg(
    buildSampleEvent({
      type: 'spot-interruption',
      instanceId: victim,
      region: 'us-east-1',
      time: w.clock.now(),
    }),
  );
  // EC2 calls take time, so each replica reads the instance before the other has marked it.
  w.region.api.setFault('ec2', { latencyMs: 50 });
  await w.clock.drive(
    Promise.all([a.controller.handleMessage(warning, 'q1'), b.controller.handleMessage(hook!, 'q1')]),
  );
  t.is(a.seen.length + b.seen.length, 1, 'released once across the replicas');
  t.is(w.okCalls('completeLifecycleAction').length, 1);
});
