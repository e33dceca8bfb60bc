import test from 'ava';
import { ReconcileLoop } from '../../src/controllers/reconcile/loop.js';
import { captureLogger } from '../interruption/helpers/setup.js';
import { settings } from '../plan/factories.js';
import { webGroup, world } from './world.js';

// Issue 15: a dry-run group's "would ..." lines are said once, not again every minute while the same
// action on the same target stays planned (its reason may age: "age 51m", then "age 52m").

test('dry run: an unchanged plan is not logged again on the next pass', async (t) => {
  const w = await world(settings({ lifetime: { guaranteeMinutes: 50 } }), {
    groups: [webGroup({ desired: 1, max: 3 })],
  });
  await w.wait(41 * 60); // the member is now 51 minutes old: a replacement is due
  const logger = captureLogger();
  const loop = new ReconcileLoop({ ...w.deps, logger, dryRun: true });
  const would = () =>
    logger.lines.filter((l) => l.level === 'info' && l.msg?.startsWith('would ')).map((l) => l.msg);

  const first = await w.clock.drive(loop.runOnce());
  t.deepEqual(
    first?.groups[0]?.results.map((r) => r.status),
    ['dry-run'],
  );
  const said = would();
  t.is(said.length, 1, 'the first pass says what it would do');
  t.regex(said[0]!, /^would replacement-add-capacity /);

  await w.clock.advanceBy(60_000);
  const second = await w.clock.drive(loop.runOnce());
  t.deepEqual(
    second?.groups[0]?.results.map((r) => r.status),
    ['dry-run'],
    'still planned, still not taken',
  );
  t.is(would().length, 1, 'the same plan a minute later is not said again');

  await w.clock.drive(new ReconcileLoop({ ...w.deps, logger, dryRun: true }).runOnce());
  t.is(would().length, 2, 'a new process (no memory) says it again');
  await loop.stop();
});
