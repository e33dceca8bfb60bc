import test from 'ava';
import { ActionExecutor } from '../../src/controllers/reconcile/executor.js';
import { tagHandlers } from '../../src/controllers/reconcile/handlers/tags.js';
import type { Action } from '../../src/domain/actions.js';
import { silentLogger } from '../../src/ports/logger.js';
import { recordCalls } from '../../src/sim/recording.js';
import { warmRegion } from '../sim/helpers.js';

// The executor's batching against the simulated region's CreateTags, which refuses the whole request
// when one id does not exist (InvalidInstanceID.NotFound), as EC2 does.

/** A region with `n` instances launched outside any group, and an executor for the tag handlers. */
async function setup(n: number) {
  const region = await warmRegion();
  const { template, version } = region.ec2.resolveTemplate({ name: 'web-lt' });
  const ids = Array.from(
    { length: n },
    () =>
      region.ec2.launch({ template, version, az: 'us-east-1a', market: 'on-demand', tags: {} }).instanceId,
  );
  // Past EC2's eventual-consistency lag: these tests are about batching, not about fresh ids.
  await region.clock.advanceBy(6_000);
  const rec = recordCalls(region.cloud, region.clock);
  const executor = new ActionExecutor(tagHandlers, {
    cloud: rec.cloud,
    clock: region.clock,
    logger: silentLogger,
  });
  const batches = () => rec.callsOf('createTags').map((c) => c.args[0] as string[]);
  return { region, ids, rec, executor, batches };
}

const tagAction = (id: string, group = 'web'): Action => ({
  kind: 'tag-instance',
  group,
  target: id,
  tags: { 'spotmax:group': group },
  reason: `missing spotmax:group=${group}`,
});

test('membership tags for many instances go out 200 ids a call, results in action order', async (t) => {
  const { region, ids, executor, batches } = await setup(450);
  const actions = ids.map((id) => tagAction(id));
  const results = await region.clock.drive(executor.execute(actions, { dryRun: false }));
  t.deepEqual(
    batches().map((c) => c.length),
    [200, 200, 50],
  );
  t.deepEqual(
    results.map((r) => r.action),
    actions,
  );
  t.true(results.every((r) => r.status === 'done'));
  t.true(ids.every((id) => region.ec2.get(id)!.tags['spotmax:group'] === 'web'));
});

test('different tag values never share a call', async (t) => {
  const { region, ids, executor, batches } = await setup(3);
  const [a, b, c] = ids as [string, string, string];
  await region.clock.drive(
    executor.execute([tagAction(a, 'web'), tagAction(b, 'api'), tagAction(c, 'web')], { dryRun: false }),
  );
  t.deepEqual(batches(), [[a, c], [b]]);
  t.is(region.ec2.get(b)!.tags['spotmax:group'], 'api');
});

test('a failed batch is retried one by one, so only the bad instance fails', async (t) => {
  const { region, ids, executor, batches } = await setup(2);
  const [a, c] = ids as [string, string];
  const gone = 'i-0000000000000dead';
  const results = await region.clock.drive(
    executor.execute([tagAction(a), tagAction(gone), tagAction(c)], { dryRun: false }),
  );
  t.is(batches().length, 4, 'one batch, then three single calls');
  t.deepEqual(
    results.map((r) => r.status),
    ['done', 'failed', 'done'],
  );
  t.regex(results[1]!.error ?? '', /NotFound/);
  t.is(region.ec2.get(a)!.tags['spotmax:group'], 'web');
  t.is(region.ec2.get(c)!.tags['spotmax:group'], 'web');
});

test('dry run tags nothing', async (t) => {
  const { region, ids, executor, rec } = await setup(2);
  const results = await region.clock.drive(
    executor.execute(
      ids.map((id) => tagAction(id)),
      { dryRun: true },
    ),
  );
  t.deepEqual(rec.calls, []);
  t.true(results.every((r) => r.status === 'dry-run'));
  t.true(ids.every((id) => region.ec2.get(id)!.tags['spotmax:group'] === undefined));
});
