import test from 'ava';
import { createStandbyHook } from '../../src/controllers/reconcile/standby-hook.js';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import { INTERRUPTED_AT_TAG, STANDBY_FOR_TAG } from '../../src/domain/tags.js';
import { toInstance } from '../../src/sim/ec2-port.js';
import { captureLogger, makeController, msg, recordingReleaser, warningBody } from './helpers/setup.js';
import { eventually, simWorld } from './helpers/sim-world.js';

// Two replicas consume one queue (an ECS service with two tasks). Each instance's work is claimed in the
// coordination store by the first replica to reach it: exactly one release and one detach per
// interruption, though warnings, their duplicates and state changes reach both replicas at once.

test('20 warnings with duplicates and state changes, two replicas: 20 detaches, one release each', async (t) => {
  const w = await simWorld([{ name: 'web', size: 24 }]);
  const url = w.region.queueUrl;
  const replica = (holder: string) => {
    const releaser = recordingReleaser(holder);
    const { controller } = makeController({
      cloud: w.cloud,
      clock: w.clock,
      releasers: [releaser],
      deps: {
        queueUrls: [url],
        pollers: 2,
        claims: { store: w.region.coordination.replica(w.clock), holder },
      },
    });
    return { controller, releaser };
  };
  const a = replica('task-a');
  const b = replica('task-b');
  a.controller.start();
  b.controller.start();
  const victims = w.members('web').slice(0, 20);
  const now = w.clock.now();
  for (const id of victims) {
    const warning = JSON.stringify(
      buildSampleEvent({ type: 'spot-interruption', instanceId: id, region: 'us-east-1', time: now }),
    );
    w.region.sqs.deliver(url, warning);
    w.region.sqs.deliver(url, warning);
    w.region.sqs.deliver(
      url,
      JSON.stringify(
        buildSampleEvent({
          type: 'state-change',
          instanceId: id,
          region: 'us-east-1',
          time: now,
          state: 'stopping',
        }),
      ),
    );
  }
  await eventually(
    w.clock,
    'every message handled',
    () => w.region.sqs.depth(url) === 0 && w.region.sqs.inFlight(url) === 0,
  );
  await w.clock.drive(Promise.all([a.controller.stop(1000), b.controller.stop(1000)]));

  const detached = w.detaches().flatMap((d) => d.ids);
  t.deepEqual([...detached].sort(), [...victims].sort(), 'each victim detached exactly once');
  const released = [...a.releaser.requests, ...b.releaser.requests].map((r) => r.instance.instanceId);
  t.deepEqual([...released].sort(), [...victims].sort(), 'each victim released exactly once');
  t.true(a.releaser.requests.length > 0 && b.releaser.requests.length > 0, 'both replicas did work');
});

test('the coordination store down: the fast path proceeds after a bounded wait, on the instance markers', async (t) => {
  const w = await simWorld([{ name: 'web', size: 2 }]);
  // DynamoDB answers nothing but errors (and slowly): a claim cannot be had.
  w.region.api.setFault('dynamodb', { errorRate: 1, latencyMs: 5_000 });
  const { controller } = makeController({
    cloud: w.cloud,
    clock: w.clock,
    deps: { claims: { store: w.region.coordination.replica(w.clock), holder: 'task-a' } },
  });
  const victim = w.members('web')[0]!;
  const start = w.clock.nowMs();
  t.is(
    await w.clock.drive(controller.handleMessage(msg(warningBody(victim, w.clock.now())), url(w))),
    'delete',
  );
  t.deepEqual(
    w.detaches().flatMap((d) => d.ids),
    [victim],
  );
  t.true(w.clock.nowMs() - start < 5_000, `detached ${(w.clock.nowMs() - start) / 1000} s after the warning`);
});

const url = (w: Awaited<ReturnType<typeof simWorld>>) => w.region.queueUrl;

test('marked by another run that already detached it: no second DetachInstances', async (t) => {
  const w = await simWorld([{ name: 'web', size: 3 }]);
  const victim = w.members('web')[0]!;
  const { controller } = makeController({ cloud: w.cloud, clock: w.clock });
  // Another replica, unable to claim (the store down), released and detached it a moment ago.
  await w.clock.drive(
    w.region.cloud.ec2.createTags([victim], { [INTERRUPTED_AT_TAG]: w.clock.now().toISOString() }),
  );
  w.region.asg.detach('web', [victim], false);
  t.is(
    await w.clock.drive(controller.handleMessage(msg(warningBody(victim, w.clock.now())), url(w))),
    'delete',
  );
  t.is(
    w.rec.callsOf('detachInstances').length,
    0,
    'not sent again (AWS would refuse it; moto would take it)',
  );
});

test('two replicas, one stopped standby, two warnings at once: one replica takes it under its claim, the other detaches plainly', async (t) => {
  // Standbys start in 6 s here, well within standby.startTimeoutSeconds.
  const w = await simWorld([{ name: 'web', size: 4 }], { timings: { start: { median: 6, p99: 6 } } });
  const s = await w.standalone('on-demand');
  w.region.ec2.setTags(s.instanceId, { [STANDBY_FOR_TAG]: 'web' });
  w.region.ec2.stop(s, false);
  await eventually(w.clock, `${s.instanceId} stopped`, () => s.state === 'stopped');
  const log = captureLogger();
  const replica = (holder: string) => {
    const claims = { store: w.region.coordination.replica(w.clock), holder };
    const standby = createStandbyHook({
      cloud: w.cloud,
      clock: w.clock,
      logger: log,
      // Both replicas' observations list the standby: both would pick it.
      standbysFor: () => [toInstance(w.instance(s.instanceId))],
      pollMs: 2_000,
      claims,
    });
    return makeController({
      cloud: w.cloud,
      clock: w.clock,
      overrides: {
        web: (x) => {
          x.standby.size = 1;
        },
      },
      deps: { standby, claims },
    }).controller;
  };
  const [v1, v2] = w.members('web') as [string, string];
  const now = w.clock.now();
  const outcomes = await w.clock.drive(
    Promise.all([
      replica('task-a').handleMessage(msg(warningBody(v1, now)), url(w)),
      replica('task-b').handleMessage(msg(warningBody(v2, now)), url(w)),
    ]),
  );
  t.deepEqual(outcomes, ['delete', 'delete']);
  t.deepEqual(
    w.rec.callsOf('startInstances').map((c) => c.args[0]),
    [[s.instanceId]],
    'started once: the other replica found it claimed',
  );
  t.deepEqual(
    w.rec.callsOf('attachInstances').map((c) => [c.args[1], c.error === undefined]),
    [[[s.instanceId], true]],
    'one AttachInstances, and it worked',
  );
  const detached = w.detaches();
  t.deepEqual(detached.flatMap((d) => d.ids).sort(), [v1, v2].sort());
  t.deepEqual(
    detached.map((d) => d.decrement).sort(),
    [false, true],
    'one swap (with decrement), one plain detach',
  );
  await w.clock.advanceBy(10_000);
  t.is(w.region.asg.mustGet('web').members.get(s.instanceId)?.lifecycleState, 'InService');
  t.is(w.instance(s.instanceId).tags[STANDBY_FOR_TAG], undefined, 'a member now, no longer a standby');
});
