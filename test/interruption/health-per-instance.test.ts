import test from 'ava';
import { DEFAULT_MAX_ATTEMPTS } from '../../src/controllers/interruption/controller.js';
import { buildSampleEvent } from '../../src/domain/sample-events.js';
import { RETIRE_REQUESTED_TAG } from '../../src/domain/tags.js';
import type { ReleaseRequest, Releaser } from '../../src/ports/releaser.js';
import { captureLogger, makeController, msg } from './helpers/setup.js';
import { simWorld } from './helpers/sim-world.js';

// An AWS Health scheduled change names several instances in one message: each gets its own outcome. One
// instance whose handling fails does not take the others with it: they all settle before the message goes
// back (its visibility is extended until then), the redelivery finds the others done, and past the last
// attempt only the failing instance is given up, named in the error line.

async function setup() {
  // Two instances in a group that cordons on a scheduled change (the release takes 5 s), one in a group
  // that asks the reconciler to replace it (a CreateTags, which the tests make fail).
  const w = await simWorld([
    { name: 'cordon', size: 2 },
    { name: 'replace', size: 1 },
  ]);
  const cordoned: ReleaseRequest[] = [];
  const slowCordon: Releaser = {
    name: 'slow',
    release: async (r) => {
      await w.clock.sleep(5_000);
      cordoned.push(r);
      return { step: 'slow', status: 'done', durationMs: 5_000 };
    },
  };
  const logger = captureLogger();
  const { controller } = makeController({
    cloud: w.cloud,
    clock: w.clock,
    logger,
    releasers: [slowCordon],
    overrides: {
      cordon: (s) => {
        s.rebalance.action = 'cordon';
      },
      replace: (s) => {
        s.rebalance.action = 'replace';
      },
    },
  });
  const [a, b] = w.members('cordon') as [string, string];
  const failing = w.members('replace')[0]!;
  const body = buildSampleEvent({
    type: 'scheduled-change',
    instanceId: a,
    moreInstanceIds: [failing, b],
    region: 'us-east-1',
    time: w.clock.now(),
  });
  const m = msg(body);
  const handle = (receiveCount: number) =>
    w.clock.drive(controller.handleMessage({ ...m, receiveCount }, 'q1'));
  const cordonedIds = () => cordoned.map((r) => r.instance.instanceId).sort();
  return { ...w, controller, logger, a, b, failing, handle, cordonedIds };
}

test('a Health event naming three instances, one failing: the others finish first, the message comes back for that one only', async (t) => {
  const w = await setup();
  w.rec.failNext('createTags', 'UnauthorizedOperation');

  const err = await t.throwsAsync(w.handle(1));
  // The message goes back only once all three have settled: the two cordons (5 s each) are done.
  t.deepEqual(w.cordonedIds(), [w.a, w.b].sort());
  t.regex(err.message, new RegExp(`1 of 3 instances failed: ${w.failing}: `));
  t.false(err.message.includes(w.a) || err.message.includes(w.b), 'only the failing instance is named');
  t.is(w.controller.stats().eventsFailed, 1);
  const line = w.logger.lines.find((l) => l.level === 'warn' && /comes back for it/.test(l.msg ?? ''));
  t.is((line?.obj as { instanceId?: string } | undefined)?.instanceId, w.failing);

  // The redelivery acts on the failing instance only: no second cordon of the others.
  t.is(await w.handle(2), 'delete');
  t.deepEqual(w.cordonedIds(), [w.a, w.b].sort());
  t.truthy(w.instance(w.failing).tags[RETIRE_REQUESTED_TAG]);
  t.is(w.controller.stats().retireRequested, 1);
  t.is(w.controller.stats().discarded['too-many-attempts'], undefined);
});

test('past its last attempt a Health event gives up only the instance that still fails, logged as an error naming it', async (t) => {
  const w = await setup();
  w.rec.failNext('createTags', 'UnauthorizedOperation');

  t.is(await w.handle(DEFAULT_MAX_ATTEMPTS), 'delete');
  t.deepEqual(w.cordonedIds(), [w.a, w.b].sort(), 'the others are handled on this delivery');
  t.is(w.controller.stats().discarded['too-many-attempts'], 1);
  const errors = w.logger.lines.filter((l) => l.level === 'error');
  t.is(errors.length, 1);
  const obj = errors[0]!.obj as { instanceId?: string; detail?: string };
  t.is(obj.instanceId, w.failing);
  t.regex(
    obj.detail ?? '',
    new RegExp(`scheduled-change for ${w.failing}, attempt ${DEFAULT_MAX_ATTEMPTS}: `),
  );
});
