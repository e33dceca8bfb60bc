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
  const w = await world(s);
  // The group's launch template was deleted after it launched its members.
  const ref = w.group().mixedInstancesPolicy!.launchTemplate;
  w.region.ec2.templates.delete(ref.id!);
  w.rec.throttleNext('describeScalingActivities');
  w.rec.failNext(
    'describeSnapshots',
    'UnauthorizedOperation',
    1,
    'You are not authorized to perform this operation.',
  );
  const r = await w.clock.drive(reconcileOnce(w.deps, { execute: false }));
  const problems = r.groups[0]?.problems ?? [];
  t.true(
    problems.some(
      (p) => p.startsWith('could not read scaling activities of web') && p.includes('Rate exceeded'),
    ),
    JSON.stringify(problems),
  );
  t.true(problems.some((p) => p.startsWith('could not read snapshots of web')));
  t.true(problems.some((p) => p.startsWith(`could not resolve launch template ${ref.id}`)));
  t.true(problems.some((p) => p.includes('standby pool of 1 cannot be kept')));
  t.false(r.groups[0]?.actions.some((a) => a.kind === 'launch-standby'));
});

test('only what a group uses is read: no activities, snapshots or template for a plain group', async (t) => {
  const w = await world(settings());
  await w.clock.drive(reconcileOnce(w.deps, { execute: false }));
  const methods = w.rec.calls.map((c) => c.method);
  t.true(methods.includes('describeGroups'), methods.join(' '));
  t.false(
    methods.some((m) => /describeScalingActivities|describeSnapshots|describeLaunchTemplateVersion/.test(m)),
    methods.join(' '),
  );
});
