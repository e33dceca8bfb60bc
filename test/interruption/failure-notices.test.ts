import test from 'ava';
import { DEFAULT_MAX_ATTEMPTS } from '../../src/controllers/interruption/controller.js';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import type { Notice } from '../../src/observability/notices.js';
import type { QueueMessage } from '../../src/ports/queue.js';
import type { Releaser } from '../../src/ports/releaser.js';
import { captureLogger, fixedReleaser, makeController, msg } from './helpers/setup.js';
import { type GroupSpec, simWorld } from './helpers/sim-world.js';

// What the fast path publishes when its work does not go through, on the simulated region: a failed
// detach (the message comes back), the message given up after its last delivery, a release that left
// work behind. Failures are injected at the port boundary (the recording decorator's failNext).

const warning = (instanceId: string, time: Date) =>
  msg(buildSampleEvent({ type: 'spot-interruption', instanceId, region: 'us-east-1', time }));

async function setup(groups: GroupSpec[], releasers?: Releaser[]) {
  const world = await simWorld(groups);
  const notices: Notice[] = [];
  const { controller, directory } = makeController({
    cloud: world.cloud,
    clock: world.clock,
    logger: captureLogger(),
    releasers,
    deps: { notify: (n) => notices.push(n) },
  });
  const handle = (m: QueueMessage) => world.clock.drive(controller.handleMessage(m, 'q1'));
  const ofType = (detailType: string) => notices.filter((n) => n.detailType === detailType);
  return { ...world, notices, ofType, controller, directory, handle };
}

/** One group of two, its first member known to the directory, whose next detach AWS refuses (and the membership check after it). */
async function refusedDetach() {
  const w = await setup([{ name: 'web', size: 2 }]);
  const victim = w.members('web')[0]!;
  if (!(await w.clock.drive(w.directory.lookup(victim)))) throw new Error(`${victim} not found in web`);
  w.rec.failNext('detachInstances', 'AccessDenied');
  w.rec.failNext('describeGroups', 'AccessDenied');
  return { w, victim, m: warning(victim, w.clock.now()) };
}

test('a detach that fails on a delivery that comes back is published as failed, with the error and retrying: true', async (t) => {
  const { w, victim, m } = await refusedDetach();
  await t.throwsAsync(w.handle(m));
  const detach = w.ofType('spotmax action: interruption-detach');
  t.is(detach.length, 1);
  t.like(detach[0]?.detail, {
    kind: 'interruption-detach',
    group: 'web',
    instance: victim,
    outcome: 'failed',
    attempt: 1,
    retrying: true,
  });
  t.regex(String(detach[0]?.detail.error), /AccessDenied/);
  t.regex(detach[0]!.detail.reason, new RegExp(`detaching ${victim} from web .* failed on attempt 1`));
});

test('the retried delivery that detaches publishes done after the failed attempt', async (t) => {
  const { w, m } = await refusedDetach();
  await t.throwsAsync(w.handle(m));
  t.is(await w.handle({ ...m, receiveCount: 2 }), 'delete');
  t.deepEqual(
    w.ofType('spotmax action: interruption-detach').map((n) => n.detail.outcome),
    ['failed', 'done'],
  );
});

test('the last delivery failing is published once, as the give-up (retrying: false), not also as an attempt', async (t) => {
  const { w, victim, m } = await refusedDetach();
  t.is(await w.handle({ ...m, receiveCount: DEFAULT_MAX_ATTEMPTS }), 'delete');
  t.is(w.controller.stats().discarded['too-many-attempts'], 1);
  const detach = w.ofType('spotmax action: interruption-detach');
  t.is(detach.length, 1);
  t.like(detach[0]?.detail, {
    group: 'web',
    instance: victim,
    outcome: 'failed',
    attempt: DEFAULT_MAX_ATTEMPTS,
    retrying: false,
  });
  t.regex(
    detach[0]!.detail.reason,
    new RegExp(
      `^gave up the Spot interruption warning .* after ${DEFAULT_MAX_ATTEMPTS} attempts; the instance was not detached`,
    ),
  );
  t.regex(String(detach[0]?.detail.error), /AccessDenied/);
});

test('a failure before the detach (describing the instance) is published only when the message is given up', async (t) => {
  const w = await setup([{ name: 'web', size: 2 }]);
  const victim = w.members('web')[0]!;
  t.truthy(await w.clock.drive(w.directory.lookup(victim)));
  const m = warning(victim, w.clock.now());
  w.rec.failNext('describeInstances', 'UnauthorizedOperation');
  await t.throwsAsync(w.handle({ ...m, receiveCount: DEFAULT_MAX_ATTEMPTS - 1 }));
  t.is(w.notices.length, 0, 'not the detach that failed, and the message comes back');
  w.rec.failNext('describeInstances', 'UnauthorizedOperation');
  t.is(await w.handle({ ...m, receiveCount: DEFAULT_MAX_ATTEMPTS }), 'delete');
  t.is(w.notices.length, 1);
  t.like(w.notices[0], {
    detailType: 'spotmax action: interruption-detach',
    detail: { group: 'web', instance: victim, outcome: 'failed', retrying: false },
  });
  t.regex(String(w.notices[0]?.detail.error), /UnauthorizedOperation/);
  t.true(w.members('web').includes(victim), 'never detached');
});

test('a drain left incomplete is published once as a problem naming its steps; the detach still goes out', async (t) => {
  const drain = fixedReleaser({
    step: 'kubernetes',
    status: 'partial',
    durationMs: 4200,
    detail: '1 pod left',
    counts: { podsEvicted: 7, podsLeft: 1 },
  });
  const consul = fixedReleaser({ step: 'consul', status: 'done', durationMs: 100 });
  const w = await setup([{ name: 'web', size: 2 }], [drain, consul]);
  const victim = w.members('web')[0]!;
  t.is(await w.handle(warning(victim, w.clock.now())), 'delete');
  const problems = w.ofType('spotmax problem');
  t.is(problems.length, 1);
  t.like(problems[0]?.detail, { kind: 'release-incomplete', group: 'web', instance: victim });
  t.deepEqual(problems[0]?.detail.steps, [{ step: 'kubernetes', status: 'partial', detail: '1 pod left' }]);
  t.regex(
    problems[0]!.detail.reason,
    /release of i-\w+ \(spot-interruption\) incomplete: .*kubernetes=partial/,
  );
  t.like(w.ofType('spotmax action: interruption-detach')[0]?.detail, { outcome: 'done' });
});

test('a complete release publishes no problem', async (t) => {
  const w = await setup(
    [{ name: 'web', size: 2 }],
    [fixedReleaser({ step: 'consul', status: 'done', durationMs: 100 })],
  );
  const victim = w.members('web')[0]!;
  t.is(await w.handle(warning(victim, w.clock.now())), 'delete');
  t.is(w.ofType('spotmax problem').length, 0);
  t.is(w.ofType('spotmax action: interruption-detach').length, 1);
});

test('a lifecycle hook whose CONTINUE keeps failing is published as lifecycle-continue failed when given up', async (t) => {
  const w = await setup([
    {
      name: 'web',
      size: 2,
      hooks: [{ name: 'spotmax-drain', transition: 'terminating', heartbeatTimeoutSeconds: 300 }],
    },
  ]);
  const victim = w.members('web')[0]!;
  w.region.asg.terminateInGroup(victim, false);
  const [hook] = (await w.receiveAll()).filter((m) => /Lifecycle Action/.test(m.body));
  t.truthy(hook, 'the simulated Auto Scaling sent the hook event');
  w.rec.failNext('completeLifecycleAction', 'AccessDenied');
  await t.throwsAsync(w.handle({ ...hook!, receiveCount: 1 }));
  t.is(w.notices.length, 0, 'not the detach, and the message comes back');
  w.rec.failNext('completeLifecycleAction', 'AccessDenied');
  t.is(await w.handle({ ...hook!, receiveCount: DEFAULT_MAX_ATTEMPTS }), 'delete');
  t.is(w.notices.length, 1);
  t.like(w.notices[0], {
    detailType: 'spotmax action: lifecycle-continue',
    detail: {
      kind: 'lifecycle-continue',
      group: 'web',
      instance: victim,
      outcome: 'failed',
      retrying: false,
    },
  });
  t.regex(
    w.notices[0]!.detail.reason,
    /^gave up lifecycle hook spotmax-drain of i-\w+ after 5 attempts; the hook ends at its heartbeat timeout/,
  );
});
