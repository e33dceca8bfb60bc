import test from 'ava';
import { errorCode } from '../../src/domain/errors.js';
import { warmRegion } from './helpers.js';

// Instance refresh as the simulated region models it (sim/asg-refresh.ts; "Use an instance refresh to
// update instances in an Auto Scaling group", StartInstanceRefresh / DescribeInstanceRefreshes API
// reference): InProgress while old members are replaced a batch at a time (MinHealthyPercentage), then
// Successful; a second refresh is refused while one is in progress.

test('a refresh replaces every old member a batch at a time, reports its progress, and ends Successful', async (t) => {
  const r = await warmRegion();
  const g = r.asg.mustGet('web');
  const old = new Set(g.members.keys());
  t.deepEqual(await r.drive(r.cloud.autoscaling.describeInstanceRefreshes('web')), []);
  const id = r.asg.startInstanceRefresh('web', 75);
  await r.clock.advanceBy(1_000);
  const [during] = await r.drive(r.cloud.autoscaling.describeInstanceRefreshes('web'));
  t.like(during, { id, status: 'InProgress', instancesToUpdate: 4 });
  // MinHealthyPercentage 75 of 4: one out of service at a time.
  t.is([...g.members.values()].filter((m) => m.lifecycleState.startsWith('Terminating')).length, 1);
  const err = await t.throwsAsync(async () => r.asg.startInstanceRefresh('web'));
  t.is(errorCode(err), 'InstanceRefreshInProgress');
  await r.clock.advanceBy(20 * 60_000);
  const [after] = await r.drive(r.cloud.autoscaling.describeInstanceRefreshes('web'));
  t.like(after, { id, status: 'Successful', percentageComplete: 100, instancesToUpdate: 0 });
  t.truthy(after?.endTime);
  t.false(
    [...g.members.keys()].some((m) => old.has(m)),
    'no member from before the refresh is left',
  );
  t.is([...g.members.values()].filter((m) => m.lifecycleState === 'InService').length, 4);
  t.regex(g.activities.map((a) => a.statusMessage ?? '').join('\n'), /in response to an instance refresh/);
});
