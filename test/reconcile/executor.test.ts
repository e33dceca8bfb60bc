import test from 'ava';
import { ActionExecutor } from '../../src/controllers/reconcile/executor.js';
import { tagHandlers } from '../../src/controllers/reconcile/handlers/tags.js';
import type { Action } from '../../src/domain/actions.js';
import { systemClock } from '../../src/ports/clock.js';
import type { Cloud } from '../../src/ports/cloud.js';
import { silentLogger } from '../../src/ports/logger.js';

function recordingCloud(failIds: Set<string> = new Set()) {
  const calls: string[][] = [];
  const cloud = {
    ec2: {
      createTags: async (ids: string[]) => {
        calls.push(ids);
        const bad = ids.find((id) => failIds.has(id));
        if (bad) throw new Error(`InvalidInstanceID.NotFound: ${bad}`);
      },
    },
  } as unknown as Cloud;
  return { cloud, calls };
}

const tagAction = (id: string, group = 'web'): Action => ({
  kind: 'tag-instance',
  group,
  target: id,
  tags: { 'spotmax:group': group },
  reason: `missing spotmax:group=${group}`,
});

test('membership tags for many instances go out 200 ids a call, results in action order', async (t) => {
  const { cloud, calls } = recordingCloud();
  const actions = Array.from({ length: 450 }, (_, i) => tagAction(`i-${String(i).padStart(8, '0')}`));
  const results = await new ActionExecutor(tagHandlers, {
    cloud,
    clock: systemClock,
    logger: silentLogger,
  }).execute(actions, { dryRun: false });
  t.deepEqual(
    calls.map((c) => c.length),
    [200, 200, 50],
  );
  t.deepEqual(
    results.map((r) => r.action),
    actions,
  );
  t.true(results.every((r) => r.status === 'done'));
});

test('different tag values never share a call', async (t) => {
  const { cloud, calls } = recordingCloud();
  const actions = [
    tagAction('i-00000001', 'web'),
    tagAction('i-00000002', 'api'),
    tagAction('i-00000003', 'web'),
  ];
  await new ActionExecutor(tagHandlers, { cloud, clock: systemClock, logger: silentLogger }).execute(
    actions,
    { dryRun: false },
  );
  t.deepEqual(calls, [['i-00000001', 'i-00000003'], ['i-00000002']]);
});

test('a failed batch is retried one by one, so only the bad instance fails', async (t) => {
  const { cloud, calls } = recordingCloud(new Set(['i-00000002']));
  const actions = [tagAction('i-00000001'), tagAction('i-00000002'), tagAction('i-00000003')];
  const results = await new ActionExecutor(tagHandlers, {
    cloud,
    clock: systemClock,
    logger: silentLogger,
  }).execute(actions, { dryRun: false });
  t.is(calls.length, 4, 'one batch, then three single calls');
  t.deepEqual(
    results.map((r) => r.status),
    ['done', 'failed', 'done'],
  );
  t.regex(results[1]!.error ?? '', /NotFound/);
});

test('dry run tags nothing', async (t) => {
  const { cloud, calls } = recordingCloud();
  const results = await new ActionExecutor(tagHandlers, {
    cloud,
    clock: systemClock,
    logger: silentLogger,
  }).execute([tagAction('i-1'), tagAction('i-2')], { dryRun: true });
  t.deepEqual(calls, []);
  t.true(results.every((r) => r.status === 'dry-run'));
});
