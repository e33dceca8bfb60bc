import test from 'ava';
import { settings } from '../plan/factories.js';
import { webGroup, world } from './world.js';

// Issue 11 rule 9 on the simulated region: while the group's instance refresh runs, spotmax reads it
// (DescribeInstanceRefreshes), begins no lifetime replacement and says why in the plan; once the refresh
// is over, the aged members it did not replace are replaced as usual.

const lifetime = settings({ lifetime: { guaranteeMinutes: 50 }, replacement: { maxConcurrent: 2 } });

test('no lifetime replacement while an instance refresh is in progress; plan says why', async (t) => {
  const w = await world(lifetime, { groups: [webGroup({ desired: 4, max: 8 })] });
  await w.wait(41 * 60); // every member is 51 minutes old
  w.region.asg.startInstanceRefresh('web', 75);
  await w.wait(1);
  const during = await w.pass();
  const g = during!.groups[0]!;
  t.false(
    g.actions.some((a) => a.kind === 'replacement-add-capacity'),
    'nothing replaced during the refresh',
  );
  t.true(
    g.problems.some((p) =>
      /^instance refresh \S+ InProgress \(\d+ % complete, \d+ to update\): it replaces/.test(p),
    ),
  );
  t.true(g.problems.some((p) => p.startsWith('not replacing during the instance refresh:')));
  t.is(w.group().desired, 4, 'no capacity added');
  t.true(w.rec.callsOf('describeInstanceRefreshes').length >= 1);

  // The refresh replaces every member; afterwards the group is young and nothing is due.
  await w.wait(20 * 60);
  const after = await w.pass();
  t.false(after!.groups[0]!.problems.some((p) => p.includes('instance refresh')));
  t.false(after!.groups[0]!.actions.some((a) => a.kind === 'replacement-add-capacity'));
  // Once the new members age, lifetime replaces them again.
  await w.wait(45 * 60);
  const later = await w.pass();
  t.true(later!.groups[0]!.actions.some((a) => a.kind === 'replacement-add-capacity'));
});

test('a group without voluntary replacements does not read instance refreshes', async (t) => {
  const w = await world(settings({}), { groups: [webGroup({ desired: 2 })] });
  await w.pass();
  t.deepEqual(w.rec.callsOf('describeInstanceRefreshes'), []);
});

test("an acting pass reads a group's instance refreshes only when it would begin a voluntary replacement", async (t) => {
  const w = await world(lifetime, { groups: [webGroup({ desired: 4, max: 8 })] });
  await w.pass();
  await w.wait(10 * 60);
  await w.pass();
  t.deepEqual(
    w.rec.callsOf('describeInstanceRefreshes'),
    [],
    'young members: nothing to replace, nothing read',
  );
  await w.wait(31 * 60);
  const due = await w.pass();
  t.true(due!.groups[0]!.actions.some((a) => a.kind === 'replacement-add-capacity'));
  t.is(w.rec.callsOf('describeInstanceRefreshes').length, 1, 'read once, when a replacement was due');
});
