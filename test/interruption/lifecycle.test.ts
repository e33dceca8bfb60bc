import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import { INTERRUPTED_AT_TAG } from '../../src/domain/tags.js';
import type { ReleaseRequest, Releaser } from '../../src/ports/releaser.js';
import { testCloud } from '../helpers/aws-fixtures.js';
import { virtualClock } from './helpers/clock.js';
import { FakeCloud } from './helpers/fake-cloud.js';
import { makeController, msg, recordingReleaser } from './helpers/setup.js';

const lifecycle = (
  type: 'lifecycle-terminate' | 'lifecycle-launch',
  instanceId: string,
  time: Date,
  token = 'tok-1',
) =>
  msg(
    buildSampleEvent({
      type,
      instanceId,
      region: 'us-east-1',
      time,
      groupName: 'web',
      hookName: 'drain-hook',
      token,
    }),
  );

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
  const clock = virtualClock();
  const fake = new FakeCloud(clock);
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  fake.hookTimeouts.set('web/drain-hook', 30);
  const seen: ReleaseRequest[] = [];
  const { controller } = makeController({
    cloud: fake.cloud,
    clock,
    releasers: [slowReleaser(clock, 50, seen)],
    overrides: {
      web: (s) => {
        s.kubernetes.drainTimeoutSeconds = 120;
      },
    },
  });
  const start = clock.now().getTime();
  t.is(await controller.handleMessage(lifecycle('lifecycle-terminate', victim, clock.now()), 'q1'), 'delete');
  t.is(seen.length, 1);
  t.is(seen[0]!.reason, 'lifecycle-terminate');
  // 50 s of release with a 30 s timeout: heartbeats at ~15, 30, 45 s.
  t.true(fake.heartbeats.length >= 2 && fake.heartbeats.length <= 4, `heartbeats: ${fake.heartbeats.length}`);
  t.true(fake.heartbeats[0]!.at - start >= 14_000);
  t.deepEqual(
    fake.completions.map((c) => [c.ref.groupName, c.ref.hookName, c.ref.instanceId, c.ref.token, c.result]),
    [['web', 'drain-hook', victim, 'tok-1', 'CONTINUE']],
  );
  t.truthy(fake.instances.get(victim)!.tags[INTERRUPTED_AT_TAG]);
  t.is(fake.detachCalls.length, 0, 'a terminating instance is not detached');
  t.is(fake.metricSum('LifecycleActionsCompleted', { AutoScalingGroupName: 'web' }), 1);
  // No heartbeat after completion.
  const count = fake.heartbeats.length;
  await clock.sleep(40_000);
  t.is(fake.heartbeats.length, count);
});

test('a second message for the same hook does not complete it twice; a short release sends no heartbeat', async (t) => {
  const clock = virtualClock();
  const fake = new FakeCloud(clock);
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  fake.hookTimeouts.set('web/drain-hook', 60);
  const releaser = recordingReleaser();
  const { controller } = makeController({ cloud: fake.cloud, clock, releasers: [releaser] });
  const time = clock.now();
  const verdicts = await Promise.all([
    controller.handleMessage(lifecycle('lifecycle-terminate', victim, time), 'q1'),
    controller.handleMessage(lifecycle('lifecycle-terminate', victim, time), 'q1'),
  ]);
  await controller.handleMessage(lifecycle('lifecycle-terminate', victim, time), 'q1');
  t.deepEqual(verdicts, ['delete', 'delete']);
  t.is(fake.completions.length, 1);
  t.is(releaser.requests.length, 1);
  t.is(fake.heartbeats.length, 0);
});

test('a warning then the terminate hook: one release, and the hook is still completed', async (t) => {
  const clock = virtualClock();
  const fake = new FakeCloud(clock);
  const victim = fake.addGroup('web', 2).members[0]!.instanceId;
  const releaser = recordingReleaser();
  const { controller } = makeController({ cloud: fake.cloud, clock, releasers: [releaser] });
  const time = clock.now();
  await controller.handleMessage(
    msg(buildSampleEvent({ type: 'spot-interruption', instanceId: victim, region: 'us-east-1', time })),
    'q1',
  );
  await controller.handleMessage(lifecycle('lifecycle-terminate', victim, time), 'q1');
  t.is(releaser.requests.length, 1);
  t.is(fake.completions.length, 1);
});

test('launch hook: the launch preparer runs, then CONTINUE', async (t) => {
  const clock = virtualClock();
  const fake = new FakeCloud(clock);
  const id = fake.addGroup('web', 1).members[0]!.instanceId;
  const order: string[] = [];
  const { controller } = makeController({
    cloud: fake.cloud,
    clock,
    deps: {
      prepareLaunch: async ({ instanceId }) => void order.push(`prepare ${instanceId}`),
    },
  });
  const orig = fake.autoscaling.completeLifecycleAction;
  fake.autoscaling.completeLifecycleAction = async (ref, r) => {
    order.push(`complete ${r}`);
    return orig(ref, r);
  };
  await controller.handleMessage(lifecycle('lifecycle-launch', id, clock.now()), 'q1');
  t.deepEqual(order, [`prepare ${id}`, 'complete CONTINUE']);
});

test('a hook of an unmanaged group is discarded', async (t) => {
  const clock = virtualClock();
  const fake = new FakeCloud(clock);
  const { controller } = makeController({ cloud: fake.cloud, clock });
  await controller.handleMessage(lifecycle('lifecycle-terminate', 'i-0123456789abcdef0', clock.now()), 'q1');
  t.is(controller.stats().discarded['unknown-instance'], 1);
  t.is(fake.completions.length, 0);
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
