import test from 'ava';
import { ReconcileLoop } from '../../src/controllers/reconcile/loop.js';
import { TerminalError, UserError } from '../../src/domain/errors.js';
import { REPLACEMENT_TAG } from '../../src/domain/tags.js';
import { settings } from '../plan/factories.js';
import { managedAll, world } from './world.js';

const lifetime = settings({ lifetime: { guaranteeMinutes: 50 } });

async function agedWorld() {
  const w = world(lifetime);
  const g = w.cloud.addGroup({ name: 'web', desired: 1, max: 3 });
  await w.clock.advance(51 * 60_000);
  return { ...w, old: g.members[0]!.instanceId };
}

test('runOnce acts, exposes the latest observation and resolution, and requeues what is in progress', async (t) => {
  const w = await agedWorld();
  const passes: number[] = [];
  const loop = new ReconcileLoop({ ...w.deps, onPass: (r) => passes.push(r.groups.length) });
  const result = await loop.runOnce();
  t.deepEqual(
    result?.groups[0]?.results.map((r) => [r.action.kind, r.status]),
    [['replacement-add-capacity', 'done']],
  );
  t.is(loop.latest()?.observation.groups[0]?.name, 'web');
  t.is(loop.latest()?.resolved[0]?.group.name, 'web');
  t.deepEqual(passes, [1]);

  // The planner asked to look again in 20 s: the clock moving on runs a pass for the group alone.
  w.cloud.tick();
  await w.clock.advance(61_000);
  w.cloud.tick();
  await w.clock.advance(20_000);
  await w.clock.advance(0);
  t.true(passes.length >= 2, 'a requeued pass ran');
  t.is(w.cloud.instances.get(w.old)?.state, 'shutting-down', 'the requeued pass retired the old instance');
  await loop.stop();
});

test('failed actions back off exponentially; the group is skipped until then', async (t) => {
  const w = await agedWorld();
  const loop = new ReconcileLoop(w.deps);
  w.cloud.failNext('updateGroup', new Error('throttled, Rate exceeded'));
  await loop.runOnce();
  t.is(loop.status('web').failures, 1);
  t.is(loop.status('web').backoffMs, 5_000);
  t.regex(loop.status('web').lastError ?? '', /Rate exceeded/);
  const skipped = await loop.runOnce();
  t.deepEqual(skipped?.groups, [], 'in backoff: left out of the pass');
  w.cloud.failNext('updateGroup', new Error('throttled, Rate exceeded'));
  await w.clock.advance(5_000);
  await w.clock.advance(0);
  t.is(loop.status('web').failures, 2);
  t.is(loop.status('web').backoffMs, 10_000);
  await w.clock.advance(10_000);
  await w.clock.advance(0);
  t.is(loop.status('web').failures, 0, 'the retry succeeded');
  t.regex(w.cloud.instances.get(w.old)!.tags[REPLACEMENT_TAG] ?? '', /step=waiting/);
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
  await loop.runOnce();
  t.regex(loop.status('web').terminal ?? '', /launch configuration/);
  await loop.runOnce();
  await w.clock.advance(600_000);
  t.is(calls, 1);
  current = settings({ lifetime: { guaranteeMinutes: 40 } });
  await loop.runOnce();
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
  await w.clock.advance(0);
  await new Promise((r) => setImmediate(r));
  t.is(entered, 2, 'exactly one follow-up pass');
  release();
  await loop.stop();
});

test('an observation failure backs the whole pass off, and never throws', async (t) => {
  const w = await agedWorld();
  const loop = new ReconcileLoop(w.deps);
  w.cloud.failNext('describeGroups', new Error('AccessDenied'));
  t.is(await loop.runOnce(), undefined);
  t.is(await loop.runOnce(), undefined, 'backing off');
  await w.clock.advance(5_000);
  t.truthy(await loop.runOnce());
  await loop.stop();
});

test('dryRun flows through: planned, logged, nothing changed', async (t) => {
  const w = await agedWorld();
  const loop = new ReconcileLoop({ ...w.deps, dryRun: true });
  const r = await loop.runOnce();
  t.deepEqual(
    r?.groups[0]?.results.map((x) => x.status),
    ['dry-run'],
  );
  t.is(w.cloud.group('web').desired, 1);
  await loop.stop();
});

test('an invalid --interval is a user error; a valid schedule runs passes', async (t) => {
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
  await new Promise((r) => setTimeout(r, 2_100));
  await loop.stop();
  t.true(passes >= 1, `${passes} scheduled passes`);
});
