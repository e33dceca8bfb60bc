import test from 'ava';
import { reconcileOnce } from '../../src/controllers/reconcile/pass.js';
import { silentLogger } from '../../src/ports/logger.js';
import { settings } from '../plan/factories.js';
import { warmRegion } from '../sim/helpers.js';
import { managedAll } from './world.js';

// Issue 16: planning every group of a region back to back held the event loop for the whole pass, so a
// Spot warning received meanwhile waited for it. The pass takes a turn of the loop between groups
// (Clock.yield): work that falls due meanwhile — here a 5 ms timer, as the fast path's coalescing window
// is — runs between two groups, while the pass issues no call of its own for it.

test('a full pass takes a turn of the event loop between groups: what falls due runs before the pass ends', async (t) => {
  const region = await warmRegion({
    groups: [
      {
        name: 'fleet',
        count: 40,
        instanceTypes: ['m5.large'],
        azs: ['us-east-1a'],
        desired: 2,
        boot: { median: 60, p99: 90 },
        adopted: true,
        tags: { 'spotmax:enabled': 'true' },
      },
    ],
  });
  const resolveAll = managedAll(() => settings({}));
  let passDone = false;
  /** Turns of the event loop seen while the pass ran, and how many had been seen when the timer fired. */
  let turns = 0;
  let turnsWhenDue: number | undefined;
  const before = region.api.stats.calls;
  const pass = reconcileOnce(
    {
      cloud: region.cloud,
      clock: region.clock,
      logger: silentLogger,
      loadPolicies: () => null,
      // Called once the region is observed, right before planning: the timer starts there.
      resolve: (groups) => {
        region.clock.after(5, () => {
          turnsWhenDue = passDone ? Number.NaN : turns;
        });
        return resolveAll(groups);
      },
      dryRun: false,
      handlers: {},
    },
    { execute: false },
  ).finally(() => {
    passDone = true;
  });
  const counting = (async () => {
    while (!passDone) {
      await new Promise((r) => setImmediate(r));
      turns++;
    }
  })();
  const result = await region.clock.drive(pass);
  await counting;
  t.is(result.groups.length, 40);
  t.not(turnsWhenDue, undefined, 'the 5 ms timer fired');
  t.false(Number.isNaN(turnsWhenDue), 'the timer fired while the pass was still planning');
  t.true(turns >= 39, `the loop turned between groups (${turns} turns during the pass)`);
  // Reads only: DescribeAutoScalingGroups, DescribeInstances and the tag lookups; no call for the turns.
  const calls = region.api.stats.calls - before;
  t.true(calls <= 8, `${calls} calls`);
});
