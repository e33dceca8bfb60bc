import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createService } from '../../src/app/service.js';
import { silentLogger } from '../../src/ports/logger.js';
import { NoopReleaser } from '../../src/release/noop.js';
import { warmRegion } from '../sim/helpers.js';

// Two replicas of the service on one region and one queue, coordinated through the region's store: one
// reconciler acts (the leader), so a standby pool of 2 never grows past 2 (before the lease, both
// replicas launched standbys and the pool reached 4 until the excess was terminated).

test('two replicas: one leader; a standby pool of 2 never exceeds 2; the follower takes over on a clean stop', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-replicas-'));
  await writeFile(
    join(dir, 'web.yaml'),
    'apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata: { name: web }\nspec:\n  match: { names: ["web"] }\n  standby: { size: 2 }\n',
  );
  const region = await warmRegion({
    groups: [
      {
        name: 'web',
        instanceTypes: ['m5.large'],
        azs: ['us-east-1a', 'us-east-1b'],
        desired: 4,
        boot: { median: 60, p99: 90 },
        tags: { 'spotmax:enabled': 'true' },
      },
    ],
    // Real calls take time: two replicas' passes overlap, each observing before the other acts.
    api: { latencyMs: 50 },
  });
  const replica = (id: string) =>
    createService({
      cloud: region.cloud,
      clock: region.clock,
      logger: silentLogger,
      releasersFor: () => [new NoopReleaser()],
      coordination: region.coordination.replica(region.clock),
      options: {
        queueUrls: [region.queueUrl],
        pollers: 1,
        concurrency: 8,
        interval: '*/20 * * * * *',
        graceMs: 1_000,
        dryRun: false,
        policyDir: dir,
        watchPolicies: false,
        replicaId: id,
      },
    });
  const a = replica('task-a');
  const b = replica('task-b');
  // Both tasks start at once, as ECS starts a service's two tasks.
  await region.clock.drive(Promise.all([a.start(), b.start()]));
  t.is([a, b].filter((s) => s.leadership.isLeader()).length, 1, 'exactly one leader');
  const [leader, follower] = a.leadership.isLeader() ? [a, b] : [b, a];

  const standbys = () =>
    [...region.ec2.instances.values()].filter(
      (i) => i.tags['spotmax:standby-for'] === 'web' && !['shutting-down', 'terminated'].includes(i.state),
    ).length;
  let most = 0;
  for (let s = 0; s < 600; s += 5) {
    await region.clock.advanceBy(5_000);
    most = Math.max(most, standbys());
  }
  t.is(most, 2, 'the pool never went past 2');
  t.is(standbys(), 2);

  await region.clock.drive(leader.stop());
  await region.clock.advanceBy(10_000);
  t.true(follower.leadership.isLeader(), 'the follower leads after the leader stopped');
  await region.clock.drive(follower.stop());
});
