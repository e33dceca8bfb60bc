import test from 'ava';
import { INTERRUPTED_AT_TAG } from '../../src/domain/tags.js';
import { makeController, msg, warningBody } from './helpers/setup.js';
import { simWorld } from './helpers/sim-world.js';

// Events that lie about time: a warning from the future is not held, and a warning long past its deadline
// for an instance that still runs unmarked (EC2 never reclaimed it) does not detach a healthy instance.

async function setup() {
  const w = await simWorld([{ name: 'web', size: 2 }]);
  const { controller } = makeController({ cloud: w.cloud, clock: w.clock });
  const handle = (body: string) => w.clock.drive(controller.handleMessage(msg(body), 'q1'));
  return { ...w, controller, handle };
}

test('a warning dated more than 60 s ahead is discarded as future-dated, nothing changes', async (t) => {
  const w = await setup();
  const victim = w.members('web')[0]!;
  t.is(await w.handle(warningBody(victim, new Date(w.clock.nowMs() + 5 * 60_000))), 'delete');
  t.is(w.controller.stats().discarded['future-dated'], 1);
  t.is(w.rec.callsOf('detachInstances').length, 0);
  t.is(w.rec.callsOf('createTags').length, 0);
  // A few seconds ahead is ordinary clock skew: acted on.
  t.is(await w.handle(warningBody(victim, new Date(w.clock.nowMs() + 5_000))), 'delete');
  t.is(w.controller.stats().detached, 1);
});

test('a warning whose deadline passed minutes ago, for a running unmarked instance, is discarded as stale', async (t) => {
  const w = await setup();
  const [healthy, marked] = w.members('web') as [string, string];
  const old = new Date(w.clock.nowMs() - 10 * 60_000);
  t.is(await w.handle(warningBody(healthy, old)), 'delete');
  t.is(w.controller.stats().discarded.stale, 1);
  t.is(w.rec.callsOf('detachInstances').length, 0, 'the healthy instance stays');

  // Marked by a task that died mid-work: the same old warning is finished (recovery), not discarded.
  await w.clock.drive(w.cloud.ec2.createTags([marked], { [INTERRUPTED_AT_TAG]: old.toISOString() }));
  t.is(await w.handle(warningBody(marked, old)), 'delete');
  t.is(w.controller.stats().discarded.stale, 1);
  t.is(w.controller.stats().detached, 1);
});
