import test from 'ava';
import { REPLACEMENT_TAG } from '../../src/domain/tags.js';
import type { Releaser } from '../../src/ports/releaser.js';
import { settings } from '../plan/factories.js';
import { world } from './world.js';

const lifetime = settings({ lifetime: { guaranteeMinutes: 50 }, replacement: { maxConcurrent: 1 } });

/** Group `web` at MaxSize with two members; only the first is past guaranteeMinutes. */
async function agedGroup(releasers: Releaser[] = []) {
  const w = world(lifetime, releasers);
  const g = w.cloud.addGroup({ name: 'web', desired: 2, max: 2 });
  const [old, young] = g.members.map((m) => m.instanceId) as [string, string];
  await w.clock.advance(51 * 60_000);
  w.cloud.instances.get(young)!.launchTime = new Date(w.clock.now().getTime() - 60_000);
  return { ...w, old, young };
}

function liveRecords(cloud: ReturnType<typeof world>['cloud']) {
  return [...cloud.instances.values()].filter(
    (i) => i.state !== 'terminated' && i.tags[REPLACEMENT_TAG] !== undefined,
  );
}

test('launch-before-retire at MaxSize: desired+1 and MaxSize+1, wait, release, detach, restore, terminate', async (t) => {
  const released: string[] = [];
  const releaser: Releaser = {
    name: 'probe',
    release: async (req) => {
      released.push(`${req.instance.instanceId}:${req.reason}`);
      return { step: 'probe', status: 'done', durationMs: 0 };
    },
  };
  const w = await agedGroup([releaser]);
  const g = w.cloud.group('web');

  const first = await w.pass();
  t.deepEqual(
    first?.groups[0]?.actions.map((a) => a.kind),
    ['replacement-add-capacity'],
  );
  t.is(first?.groups[0]?.actions[0]?.reason, `replace ${w.old}: age 51m > guaranteeMinutes 50`);
  t.deepEqual([g.desired, g.max], [3, 3]);
  t.regex(w.cloud.instances.get(w.old)!.tags[REPLACEMENT_TAG]!, /^step=waiting;.*raisedMax=1/);

  // The new member is booting: nothing is retired yet, and no second capacity is added.
  w.cloud.tick();
  const second = await w.pass();
  t.deepEqual(second?.groups[0]?.actions, []);
  t.is(second?.groups[0]?.requeueAfterSeconds, 20);
  t.deepEqual([g.desired, g.max], [3, 3]);
  t.deepEqual(released, []);

  await w.wait(61);
  const third = await w.pass();
  t.deepEqual(
    third?.groups[0]?.actions.map((a) => a.kind),
    ['replacement-retire'],
  );
  t.is(third?.groups[0]?.results[0]?.status, 'done');
  t.deepEqual(released, [`${w.old}:lifetime`]);
  t.deepEqual([g.desired, g.max], [2, 2]);
  t.is(w.cloud.instances.get(w.old)!.state, 'shutting-down');
  t.false(g.members.some((m) => m.instanceId === w.old));
  t.is(w.cloud.instances.size, 3, 'exactly one new instance');

  await w.wait(10);
  const last = await w.pass();
  t.deepEqual(last?.groups[0]?.actions, []);
  t.deepEqual(liveRecords(w.cloud), []);
});

test('the budget holds a second aged instance until the first replacement is done', async (t) => {
  const w = await agedGroup();
  w.cloud.instances.get(w.young)!.launchTime = new Date(w.clock.now().getTime() - 60 * 60_000);
  const first = await w.pass();
  t.is(first?.groups[0]?.actions.filter((a) => a.kind === 'replacement-add-capacity').length, 1);
  t.true(first?.groups[0]?.problems.some((p) => p.includes('held back by replacement.maxConcurrent 1')));
  await w.wait(61);
  const second = await w.pass();
  t.deepEqual(
    second?.groups[0]?.actions.map((a) => a.kind),
    ['replacement-retire'],
  );
  await w.wait(61);
  const third = await w.pass();
  t.deepEqual(
    third?.groups[0]?.actions.map((a) => a.kind),
    ['replacement-add-capacity'],
  );
});

test('MaxSize that cannot be raised: the action fails with context and the old instance stays', async (t) => {
  const w = await agedGroup();
  w.cloud.failNext(
    'updateGroup',
    Object.assign(new Error('max size limit reached'), { name: 'LimitExceeded' }),
  );
  const first = await w.pass();
  const result = first?.groups[0]?.results[0];
  t.is(result?.status, 'failed');
  t.regex(
    result?.error ?? '',
    /adding capacity to web before replacing i-.*MaxSize 2 -> 3.*max size limit reached/,
  );
  t.is(w.cloud.instances.get(w.old)!.state, 'running');
  // The next pass resumes from the recorded step and adds capacity exactly once.
  await w.pass();
  t.deepEqual([w.cloud.group('web').desired, w.cloud.group('web').max], [3, 3]);
  await w.pass();
  t.deepEqual([w.cloud.group('web').desired, w.cloud.group('web').max], [3, 3]);
});

// Kill the process after each change of a replacement in turn: the next passes finish it with exactly
// one new instance, capacity added once, MaxSize restored once, and the old instance terminated.
test('crash-resume: killed after every step in turn, the replacement finishes with exactly one new instance', async (t) => {
  // Count the changes of an uninterrupted replacement first.
  const probe = await agedGroup();
  const before = probe.cloud.calls.length;
  await probe.pass();
  await probe.wait(61);
  await probe.pass();
  const changes = probe.cloud.calls
    .slice(before)
    .filter((c) => /^(update|detach|create|terminate|delete)/.test(c)).length;
  t.true(changes >= 8, `a replacement takes ${changes} changes`);
  t.log(
    `changes in one replacement: ${probe.cloud.calls
      .slice(before)
      .filter((c) => /^(update|detach|create|terminate|delete)/.test(c))
      .join(' / ')}`,
  );

  for (let k = 0; k < changes; k++) {
    const w = await agedGroup();
    const g = w.cloud.group('web');
    w.cloud.killAfter(k);
    for (let n = 0; n < 4 && !w.cloud.dead; n++) {
      await w.pass();
      if (!w.cloud.dead) await w.wait(61);
    }
    t.true(w.cloud.dead, `killed after ${k} changes`);
    w.cloud.revive();
    for (let n = 0; n < 6; n++) {
      await w.wait(61);
      await w.pass();
    }
    await w.wait(10);
    const old = w.cloud.instances.get(w.old)!;
    t.is(old.state, 'terminated', `k=${k}: old instance terminated`);
    t.is(w.cloud.instances.size, 3, `k=${k}: exactly one new instance`);
    t.deepEqual([g.desired, g.max, g.members.length], [2, 2, 2], `k=${k}: capacity and MaxSize back`);
    t.true(
      g.members.every((m) => m.lifecycleState === 'InService'),
      `k=${k}: members InService`,
    );
    t.deepEqual(liveRecords(w.cloud), [], `k=${k}: no replacement left in flight`);
  }
});

test('dry run: the plan is the same, nothing changes', async (t) => {
  const w = await agedGroup();
  w.deps.dryRun = true;
  const first = await w.pass();
  t.is(first?.groups[0]?.results[0]?.status, 'dry-run');
  t.deepEqual([w.cloud.group('web').desired, w.cloud.group('web').max], [2, 2]);
  t.is(w.cloud.instances.get(w.old)!.tags[REPLACEMENT_TAG], undefined);
});

for (const fastPathFirst of [true, false]) {
  test(`interrupted mid-replacement (${fastPathFirst ? 'fast path detached it first' : 'still a member'}): the added capacity stands in, desired and MaxSize come back`, async (t) => {
    const w = await agedGroup();
    const g = w.cloud.group('web');
    await w.pass();
    t.deepEqual([g.desired, g.max], [3, 3]);
    const old = w.cloud.instances.get(w.old)!;
    old.tags['spotmax:interrupted-at'] = w.clock.now().toISOString();
    if (fastPathFirst) await w.cloud.autoscaling.detachInstances('web', [w.old], false);
    const r = await w.pass();
    const retire = r?.groups[0]?.actions.find((a) => a.kind === 'replacement-retire');
    t.regex(retire?.reason ?? '', /interrupted during its replacement/);
    t.is(r?.groups[0]?.results.find((x) => x.action.kind === 'replacement-retire')?.status, 'done');
    t.deepEqual([g.desired, g.max], [2, 2]);
    t.is(old.state, 'shutting-down');
    for (let n = 0; n < 3; n++) {
      await w.wait(61);
      await w.pass();
    }
    t.deepEqual([g.desired, g.max, g.members.length], [2, 2, 2]);
    t.true(g.members.every((m) => m.lifecycleState === 'InService'));
    t.deepEqual(liveRecords(w.cloud), []);
  });
}
