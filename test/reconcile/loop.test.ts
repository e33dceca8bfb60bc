import test from 'ava';
import { ReconcileLoop } from '../../src/controllers/reconcile/loop.js';
import { TerminalError, UserError } from '../../src/domain/errors.js';
import { REPLACEMENT_TAG } from '../../src/domain/tags.js';
import { settings } from '../plan/factories.js';
import { managedAll, webGroup, world } from './world.js';

const lifetime = settings({ lifetime: { guaranteeMinutes: 50 } });

/** `web` with one member 51 minutes old (launched in the warm-up, 10 minutes before the start). */
async function agedWorld() {
  const w = await world(lifetime, { groups: [webGroup({ desired: 1, max: 3 })] });
  await w.wait(41 * 60);
  return { ...w, old: w.members()[0]!.instanceId };
}

test('runOnce acts, exposes the latest observation and resolution, and requeues what is in progress', async (t) => {
  const w = await agedWorld();
  const passes: number[] = [];
  const loop = new ReconcileLoop({ ...w.deps, onPass: (r) => passes.push(r.groups.length) });
  const result = await w.clock.drive(loop.runOnce());
  t.deepEqual(
    result?.groups[0]?.results.map((r) => [r.action.kind, r.status]),
    [['replacement-add-capacity', 'done']],
  );
  t.true(loop.latest()?.complete);
  t.is(loop.latest()?.resolved[0]?.group.name, 'web');
  t.deepEqual(passes, [1]);

  // The planner asked to look again in 20 s while the new member boots (60 s): the clock moving on runs
  // passes for the group alone, and the one after the boot retires the old instance.
  await w.clock.advanceBy(61_000);
  t.true(passes.length >= 2, 'a requeued pass ran');
  t.deepEqual(
    passes.slice(1),
    passes.slice(1).map(() => 1),
  );
  t.is(w.instance(w.old).state, 'shutting-down', 'the requeued pass retired the old instance');
  await loop.stop();
});

test('failed actions back off exponentially; the group is skipped until then', async (t) => {
  const w = await agedWorld();
  const loop = new ReconcileLoop(w.deps);
  // Auto Scaling throttled the call past the SDK's retries.
  w.rec.throttleNext('updateGroup');
  await w.clock.drive(loop.runOnce());
  t.is(loop.status('web').failures, 1);
  t.is(loop.status('web').backoffMs, 5_000);
  t.regex(loop.status('web').lastError ?? '', /Rate exceeded/);
  const skipped = await w.clock.drive(loop.runOnce());
  t.deepEqual(skipped?.groups, [], 'in backoff: left out of the pass');
  w.rec.throttleNext('updateGroup');
  await w.clock.advanceBy(5_000);
  t.is(loop.status('web').failures, 2);
  t.is(loop.status('web').backoffMs, 10_000);
  await w.clock.advanceBy(10_000);
  t.is(loop.status('web').failures, 0, 'the retry succeeded');
  t.regex(w.instance(w.old).tags[REPLACEMENT_TAG] ?? '', /step=waiting/);
  t.is(w.rec.callsOf('updateGroup').length, 3);
  await loop.stop();
});

test('a terminal failure is not retried until the group configuration changes', async (t) => {
  const w = await agedWorld();
  let calls = 0;
  let current = lifetime;
  const loop = new ReconcileLoop({
    ...w.deps,
    resolve: managedAll(() => current),
    handlers: {
      'replacement-add-capacity': async () => {
        calls++;
        throw new TerminalError('group web uses a launch configuration');
      },
    },
  });
  await w.clock.drive(loop.runOnce());
  t.regex(loop.status('web').terminal ?? '', /launch configuration/);
  await w.clock.drive(loop.runOnce());
  await w.clock.advanceBy(600_000);
  t.is(calls, 1);
  current = settings({ lifetime: { guaranteeMinutes: 40 } });
  await w.clock.drive(loop.runOnce());
  t.is(calls, 2, 'a new configuration is tried again');
  await loop.stop();
});

test('one pass at a time per group: a second request while busy becomes one follow-up pass', async (t) => {
  const w = await agedWorld();
  let release: () => void = () => {};
  let entered = 0;
  const loop = new ReconcileLoop({
    ...w.deps,
    handlers: {
      'replacement-add-capacity': async () => {
        entered++;
        await new Promise<void>((r) => {
          release = r;
        });
      },
    },
  });
  const first = loop.runGroup('web');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  t.is(entered, 1);
  t.is(await loop.runGroup('web'), undefined, 'busy: not run twice at once');
  t.is(await loop.runOnce().then((r) => r?.groups.length), 0, 'the full pass leaves the busy group out');
  release();
  await first;
  // The follow-up is requeued with no delay: it runs when the clock next fires (now).
  await w.clock.advanceBy(0);
  t.is(entered, 2, 'exactly one follow-up pass');
  await w.clock.advanceBy(60_000);
  t.is(entered, 2, 'and no more while it is still busy');
  release();
  await loop.stop();
});

test('an observation failure backs the whole pass off, and never throws', async (t) => {
  const w = await agedWorld();
  const loop = new ReconcileLoop(w.deps);
  w.rec.failNext('describeGroups', 'AccessDenied');
  t.is(await w.clock.drive(loop.runOnce()), undefined);
  t.is(await w.clock.drive(loop.runOnce()), undefined, 'backing off');
  t.is(w.rec.callsOf('describeGroups').length, 1, 'in backoff the region is not even read');
  await w.clock.advanceBy(5_000);
  t.truthy(await w.clock.drive(loop.runOnce()));
  await loop.stop();
});

test('dryRun flows through: planned, logged, nothing changed', async (t) => {
  const w = await agedWorld();
  const loop = new ReconcileLoop({ ...w.deps, dryRun: true });
  const r = await w.clock.drive(loop.runOnce());
  t.deepEqual(
    r?.groups[0]?.results.map((x) => x.status),
    ['dry-run'],
  );
  t.is(w.group().desired, 1);
  t.deepEqual(w.rec.callsOf('updateGroup'), []);
  await loop.stop();
});

test('an invalid --interval is a user error; a valid schedule runs passes on the clock', async (t) => {
  const w = await agedWorld();
  t.throws(() => new ReconcileLoop({ ...w.deps, schedule: 'every minute' }), {
    instanceOf: UserError,
    message: /not a valid cron expression/,
  });
  let passes = 0;
  const loop = new ReconcileLoop({
    ...w.deps,
    dryRun: true,
    schedule: '* * * * * *',
    onPass: () => passes++,
  });
  loop.start();
  // Every second, from the next whole second: two run times in 2.1 s.
  await w.clock.advanceBy(2_100);
  await loop.stop();
  t.is(passes, 2);
});

test('stop ends a pass after the group it is acting on: the groups not reached are left for the next process', async (t) => {
  // Groups act one after another; in a throttling storm a 500-group pass outlasted an hour of virtual
  // time, and a stop waited for all of it (issue 16).
  const w = await world(lifetime, {
    groups: [webGroup({ desired: 1, max: 3 }), webGroup({ name: 'api', desired: 1, max: 3 })],
  });
  await w.wait(41 * 60);
  const entered: string[] = [];
  let release: () => void = () => {};
  const loop = new ReconcileLoop({
    ...w.deps,
    handlers: {
      'replacement-add-capacity': async (a) => {
        entered.push(a.group);
        await new Promise<void>((r) => {
          release = r;
        });
      },
    },
  });
  const pass = loop.runOnce();
  for (let i = 0; i < 20 && entered.length === 0; i++) await new Promise((r) => setImmediate(r));
  t.is(entered.length, 1, 'the pass is acting on its first group');
  let stopped = false;
  const stopping = loop.stop().then(() => {
    stopped = true;
  });
  await new Promise((r) => setImmediate(r));
  t.false(stopped, 'the group being acted on finishes first');
  release();
  await stopping;
  t.deepEqual(entered.length, 1, 'the second group was not acted on');
  const result = await pass;
  t.is(result?.groups.length, 1);
  t.is(result?.resolved.length, 2, 'both groups were observed');
});

test('requeued passes due in the same second share one pass and one read of their groups', async (t) => {
  const names = ['a', 'b', 'c', 'd'];
  const w = await world(settings(), { groups: names.map((name) => webGroup({ name, desired: 1, max: 2 })) });
  const passes: (readonly string[] | undefined)[] = [];
  const loop = new ReconcileLoop({ ...w.deps, onPass: (_r, groups) => passes.push(groups) });
  await w.clock.drive(loop.runOnce());
  passes.length = 0;
  const reads = () => w.rec.callsOf('describeGroups').length;
  const before = reads();
  // Events for three groups within a few hundred ms (a storm touching many groups at once), one later.
  loop.requeue('a', 2_000);
  await w.clock.advanceBy(300);
  loop.requeue('b', 2_000);
  loop.requeue('c', 1_900);
  await w.clock.advanceBy(1_000);
  loop.requeue('d', 5_000);
  await w.clock.advanceBy(3_000);
  t.deepEqual(
    passes.map((g) => [...(g ?? ['(all)'])].sort()),
    [['a', 'b', 'c']],
    'one pass for the three groups due in the same second; d not yet',
  );
  t.is(reads() - before, 1, 'one DescribeAutoScalingGroups for the three');
  // An earlier requeue moves a group into an earlier pass, and it runs once.
  loop.requeue('d', 500);
  await w.clock.advanceBy(10_000);
  t.deepEqual(
    passes.slice(1).map((g) => [...(g ?? [])]),
    [['d']],
  );
  await loop.stop();
});
