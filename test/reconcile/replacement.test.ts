import test from 'ava';
import { INTERRUPTED_AT_TAG, REPLACEMENT_TAG } from '../../src/domain/tags.js';
import type { Releaser } from '../../src/ports/releaser.js';
import { settings } from '../plan/factories.js';
import { type World, webGroup, world } from './world.js';

const lifetime = settings({ lifetime: { guaranteeMinutes: 50 }, replacement: { maxConcurrent: 1 } });

/**
 * Group `web` at MaxSize 2 with two InService members; only the first is past guaranteeMinutes. The
 * first member was launched in the warm-up, 10 minutes before the scenario start; the second comes from
 * a scale-out 40 minutes later, so when the passes begin the first is 51 minutes old and the second 1.
 */
async function agedGroup(releasers: Releaser[] = []) {
  const w = await world(lifetime, { groups: [webGroup({ desired: 1, max: 2 })] }, releasers);
  const [old] = w.members().map((m) => m.instanceId) as [string];
  await w.wait(40 * 60);
  w.region.asg.update('web', { desired: 2 });
  await w.wait(61);
  const young = w.members().find((m) => m.instanceId !== old)!.instanceId;
  return { ...w, old, young };
}

function liveRecords(w: World) {
  return w.instances().filter((i) => i.state !== 'terminated' && i.tags[REPLACEMENT_TAG] !== undefined);
}

const isMember = (w: World, id: string) => w.group().members.has(id);

/**
 * Runs `meanwhile` (someone else changing the group) the first time spotmax writes a replacement record
 * at `step`, before the write reaches the region: what a paced write's wait for its token lets happen.
 * Returns whether it ran.
 */
function duringRecordWrite(w: World, step: string, meanwhile: () => void): () => boolean {
  const base = w.deps.cloud;
  let ran = false;
  w.deps.cloud = {
    ...base,
    ec2: Object.assign(Object.create(base.ec2), {
      createTags: async (ids: string[], tags: Record<string, string>) => {
        if (!ran && tags[REPLACEMENT_TAG]?.startsWith(`step=${step}`)) {
          ran = true;
          meanwhile();
        }
        return base.ec2.createTags(ids, tags);
      },
    }),
  };
  return () => ran;
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
  const g = w.group();
  t.deepEqual(
    w.members().map((m) => m.lifecycleState),
    ['InService', 'InService'],
  );

  const first = await w.pass();
  t.deepEqual(
    first?.groups[0]?.actions.map((a) => a.kind),
    ['replacement-add-capacity'],
  );
  t.is(first?.groups[0]?.actions[0]?.reason, `replace ${w.old}: age 51m > guaranteeMinutes 50`);
  t.deepEqual([g.desired, g.max], [3, 3]);
  t.regex(w.instance(w.old).tags[REPLACEMENT_TAG]!, /^step=waiting;.*raisedMax=1/);

  // The new member is booting: nothing is retired yet, and no second capacity is added.
  await w.wait(1);
  t.is(
    w.members().filter((m) => m.lifecycleState === 'Pending').length,
    1,
    'the ASG launched the new member',
  );
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
  t.is(w.instance(w.old).state, 'shutting-down');
  // DetachInstances is asynchronous in Auto Scaling: the instance shows as Detaching, then leaves.
  await w.wait(5);
  t.false(isMember(w, w.old));
  t.is(w.instances().length, 3, 'exactly one new instance');

  await w.wait(20);
  const last = await w.pass();
  t.deepEqual(last?.groups[0]?.actions, []);
  t.deepEqual(liveRecords(w), []);
  t.is(w.instance(w.old).state, 'terminated');
});

test('the budget holds a second aged instance until the first replacement is done', async (t) => {
  // Both members launched in the warm-up: both are 51 minutes old when the passes begin.
  const w = await world(lifetime, { groups: [webGroup({ desired: 2, max: 2 })] });
  await w.wait(41 * 60);
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
  w.rec.failNext('updateGroup', 'LimitExceeded', 1, 'max size limit reached');
  const first = await w.pass();
  const result = first?.groups[0]?.results[0];
  t.is(result?.status, 'failed');
  t.regex(
    result?.error ?? '',
    /adding capacity to web before replacing i-.*MaxSize 2 -> 3.*max size limit reached/,
  );
  t.is(w.instance(w.old).state, 'running');
  t.deepEqual([w.group().desired, w.group().max], [2, 2]);
  // The next pass resumes from the recorded step and adds capacity exactly once.
  await w.pass();
  t.deepEqual([w.group().desired, w.group().max], [3, 3]);
  await w.pass();
  t.deepEqual([w.group().desired, w.group().max], [3, 3]);
  t.is(w.rec.callsOf('updateGroup').filter((c) => !c.error).length, 1);
});

const CHANGES = /^(update|detach|create|terminate|delete)/;

// Kill the process after each change of a replacement in turn: the next passes finish it with exactly
// one new instance, capacity added once, MaxSize restored once, and the old instance terminated.
test('crash-resume: killed after every step in turn, the replacement finishes with exactly one new instance', async (t) => {
  // Count the changes of an uninterrupted replacement first.
  const probe = await agedGroup();
  await probe.pass();
  await probe.wait(61);
  await probe.pass();
  const changes = probe.rec.calls.filter((c) => CHANGES.test(c.method));
  t.true(changes.length >= 8, `a replacement takes ${changes.length} changes`);
  t.log(`changes in one replacement: ${changes.map((c) => c.method).join(' / ')}`);

  for (let k = 0; k < changes.length; k++) {
    const w = await agedGroup();
    const g = w.group();
    w.rec.dieAfter(k);
    for (let n = 0; n < 4 && !w.rec.dead; n++) {
      await w.pass();
      if (!w.rec.dead) await w.wait(61);
    }
    t.true(w.rec.dead, `killed after ${k} changes`);
    w.rec.revive();
    for (let n = 0; n < 6; n++) {
      await w.wait(61);
      await w.pass();
    }
    await w.wait(25);
    t.is(w.instance(w.old).state, 'terminated', `k=${k}: old instance terminated`);
    t.is(w.instances().length, 3, `k=${k}: exactly one new instance`);
    t.deepEqual([g.desired, g.max, g.members.size], [2, 2, 2], `k=${k}: capacity and MaxSize back`);
    t.true(
      w.members().every((m) => m.lifecycleState === 'InService'),
      `k=${k}: members InService`,
    );
    t.deepEqual(liveRecords(w), [], `k=${k}: no replacement left in flight`);
  }
});

test('dry run: the plan is the same, nothing changes', async (t) => {
  const w = await agedGroup();
  w.deps.dryRun = true;
  const first = await w.pass();
  t.is(first?.groups[0]?.results[0]?.status, 'dry-run');
  t.deepEqual([w.group().desired, w.group().max], [2, 2]);
  t.is(w.instance(w.old).tags[REPLACEMENT_TAG], undefined);
  t.deepEqual(
    w.rec.calls.filter((c) => CHANGES.test(c.method)),
    [],
  );
});

for (const fastPathFirst of [true, false]) {
  test(`interrupted mid-replacement (${fastPathFirst ? 'fast path detached it first' : 'still a member'}): the added capacity stands in, desired and MaxSize come back`, async (t) => {
    const w = await agedGroup();
    const g = w.group();
    await w.pass();
    t.deepEqual([g.desired, g.max], [3, 3]);
    // What the fast path does on the warning: mark the instance, and (maybe) detach it at once.
    await w.cloud.ec2.createTags([w.old], { [INTERRUPTED_AT_TAG]: w.clock.now().toISOString() });
    if (fastPathFirst) {
      await w.cloud.autoscaling.detachInstances('web', [w.old], false);
      // The detach completes (Detaching -> gone) before the next pass looks.
      await w.wait(5);
      t.false(isMember(w, w.old));
    }
    const r = await w.pass();
    const retire = r?.groups[0]?.actions.find((a) => a.kind === 'replacement-retire');
    t.regex(retire?.reason ?? '', /interrupted during its replacement/);
    t.is(
      r?.groups[0]?.results.find((x) => x.action.kind === 'replacement-retire')?.status,
      'done',
      JSON.stringify(r?.groups[0]?.results.map((x) => x.error)),
    );
    t.deepEqual([g.desired, g.max], [2, 2]);
    t.is(w.instance(w.old).state, 'shutting-down');
    for (let n = 0; n < 3; n++) {
      await w.wait(61);
      await w.pass();
    }
    t.deepEqual([g.desired, g.max, g.members.size], [2, 2, 2]);
    t.true(w.members().every((m) => m.lifecycleState === 'InService'));
    t.deepEqual(liveRecords(w), []);
  });
}

// When the fast path has just detached the interrupted instance, Auto Scaling lists it as `Detaching` for
// a while, and DetachInstances on it is refused ("You can detach an instance only when it's either in an
// InService or StandBy state": Detach or attach instances, EC2 Auto Scaling user guide). The retire step
// treats a member already leaving as detached and only takes back the capacity added for it.
test('interrupted mid-replacement, the pass comes while the fast path detach is still in progress: retired in that pass', async (t) => {
  const w = await agedGroup();
  await w.pass();
  await w.cloud.ec2.createTags([w.old], { [INTERRUPTED_AT_TAG]: w.clock.now().toISOString() });
  await w.cloud.autoscaling.detachInstances('web', [w.old], false);
  t.is(w.group().members.get(w.old)?.lifecycleState, 'Detaching');
  const r = await w.pass();
  const retire = r?.groups[0]?.results.find((x) => x.action.kind === 'replacement-retire');
  t.is(retire?.status, 'done', retire?.error);
  t.deepEqual([w.group().desired, w.group().max], [2, 2]);
});

test('desired changed by someone else while the adding record was written (a paced write can wait seconds): recorded again from the fresh read, and the raise adds to their change instead of undoing it', async (t) => {
  const w = await agedGroup();
  const g = w.group();
  t.deepEqual([g.desired, g.max], [2, 2]);
  // A user scales out while spotmax's first record write waits for its token.
  const scaled = duringRecordWrite(w, 'adding', () => w.region.asg.update('web', { desired: 3, max: 3 }));
  const first = await w.pass();
  t.is(first?.groups[0]?.results[0]?.status, 'done');
  t.true(scaled());
  t.deepEqual([g.desired, g.max], [4, 4], "the user's +1 and the replacement's +1");
  t.regex(
    w.instance(w.old).tags[REPLACEMENT_TAG]!,
    /^step=waiting;.*desiredBefore=3;maxBefore=3;.*raisedMax=1/,
  );
  const adding = w.rec
    .callsOf('createTags')
    .filter((c) => String((c.args[1] as Record<string, string>)[REPLACEMENT_TAG]).startsWith('step=adding'));
  t.is(adding.length, 2, 'the adding record written twice: from the first read, then from the fresh one');
});

test('MaxSize changed by someone else while the restoring-max record was written: left as they set it, not lowered from the value read before the wait', async (t) => {
  const w = await agedGroup();
  const g = w.group();
  await w.pass();
  t.deepEqual([g.desired, g.max], [3, 3]);
  await w.wait(1);
  await w.pass();
  await w.wait(61);
  // A user raises MaxSize while spotmax's record of the step waits for its token.
  const raised = duringRecordWrite(w, 'restoring-max', () => w.region.asg.update('web', { max: 4 }));
  const retire = await w.pass();
  t.is(retire?.groups[0]?.results[0]?.status, 'done');
  t.true(raised());
  t.deepEqual([g.desired, g.max], [2, 4], 'desired back after the detach; MaxSize as the user set it');
});
