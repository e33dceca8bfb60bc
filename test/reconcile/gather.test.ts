import test from 'ava';
import { reconcileOnce } from '../../src/controllers/reconcile/pass.js';
import { settings } from '../plan/factories.js';
import { world } from './world.js';

test('a failed read for one group is a problem for that group; the pass and the other planners go on', async (t) => {
  const s = settings({
    onDemandFallback: { enabled: true },
    standby: { size: 1 },
    persistentVolume: { device: '/dev/sdf' },
  });
  const w = world(s);
  w.cloud.addGroup({ name: 'web', desired: 1, template: 'lt-gone' });
  w.cloud.templates.delete('lt-gone');
  w.cloud.failNext(
    'describeScalingActivities',
    Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }),
  );
  w.cloud.failNext(
    'describeSnapshots',
    Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }),
  );
  const r = await reconcileOnce(w.deps, { execute: false });
  const problems = r.groups[0]?.problems ?? [];
  t.true(
    problems.some(
      (p) => p.startsWith('could not read scaling activities of web') && p.includes('Rate exceeded'),
    ),
  );
  t.true(problems.some((p) => p.startsWith('could not read snapshots of web')));
  t.true(problems.some((p) => p.startsWith('could not resolve launch template lt-gone')));
  t.true(problems.some((p) => p.includes('standby pool of 1 cannot be kept')));
  t.false(r.groups[0]?.actions.some((a) => a.kind === 'launch-standby'));
});

test('only what a group uses is read: no activities, snapshots or template for a plain group', async (t) => {
  const w = world(settings());
  w.cloud.addGroup({ name: 'web', desired: 2 });
  const before = w.cloud.calls.length;
  await reconcileOnce(w.deps, { execute: false });
  const calls = w.cloud.calls.slice(before);
  t.false(
    calls.some((c) => /describeScalingActivities|describeSnapshots|describeLaunchTemplateVersion/.test(c)),
    calls.join(' '),
  );
});
