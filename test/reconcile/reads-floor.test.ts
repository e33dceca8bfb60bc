import test from 'ava';
import { reconcileOnce } from '../../src/controllers/reconcile/pass.js';
import { silentLogger } from '../../src/ports/logger.js';
import { settings } from '../plan/factories.js';
import { warmRegion } from '../sim/helpers.js';
import { managedAll } from './world.js';

// Issue 16: a full pass over N groups of M instances reads near the floor: ceil(N/100)
// DescribeAutoScalingGroups, ceil(N·M/1000) DescribeInstances, the tag lookups (standbys, replacements,
// fallbacks: one DescribeInstances with a tag-key filter each; volumes: one DescribeVolumes with one) and
// nothing per group that does not need it.
// Counted as API actions of the simulated region (a port call may be several pages).

test('a full pass over 500 groups x 100 instances makes the floor of read calls', async (t) => {
  const region = await warmRegion({
    groups: [
      {
        name: 'fleet',
        count: 500,
        instanceTypes: ['m5.large'],
        azs: ['us-east-1a', 'us-east-1b'],
        desired: 100,
        boot: { median: 60, p99: 90 },
        adopted: true,
        tags: { 'spotmax:enabled': 'true' },
      },
    ],
  });
  const before = { ...region.api.stats.byAction };
  const result = await region.clock.drive(
    reconcileOnce(
      {
        cloud: region.cloud,
        clock: region.clock,
        logger: silentLogger,
        loadPolicies: () => null,
        resolve: managedAll(() => settings({})),
        dryRun: false,
      },
      { execute: false },
    ),
  );
  t.is(result.resolved.length, 500);
  const reads: Record<string, number> = {};
  for (const [action, n] of Object.entries(region.api.stats.byAction))
    if (/^(Describe|Get|List)/.test(action) && n > (before[action] ?? 0))
      reads[action] = n - (before[action] ?? 0);
  t.deepEqual(reads, { DescribeAutoScalingGroups: 5, DescribeInstances: 53, DescribeVolumes: 1 });
});
