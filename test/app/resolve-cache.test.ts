import test from 'ava';
import { memoizedResolve } from '../../src/app/resolve.js';
import type { PolicySet } from '../../src/config/load.js';
import type { Group } from '../../src/domain/types.js';
import { collected } from '../helpers/collect.js';
import { instance, planInput } from '../plan/factories.js';

// The resolution cache (app/resolve.ts) is the service's for its whole life: it must hold one entry per
// group, with the group last seen, never every shape a group once had (issue 16: a cached group kept its
// members array, and through it what was cached on them, alive for as long as the process ran).

const POLICIES: PolicySet = { policies: [], issues: [], rejected: [], files: [] };

function group(tags: Group['tags'] = []): Group {
  const g = planInput({ members: [instance(), instance()] }).resolved.group;
  return { ...g, tags: [...g.tags, ...tags] };
}

test('a group seen again in a new shape replaces the one the cache held', async (t) => {
  const resolve = memoizedResolve();
  let first: Group | undefined = group([
    { key: 'spotmax:standby_size', value: '1', propagateAtLaunch: false },
  ]);
  t.is(resolve([first], POLICIES)[0]?.group, first);
  const old = new WeakRef(first);
  first = undefined;
  const next = group([{ key: 'spotmax:standby_size', value: '1', propagateAtLaunch: false }]);
  const [r2] = resolve([next], POLICIES);
  t.is(r2?.group, next);
  t.is(r2?.settings?.standby.size, 1);
  t.true(await collected(old));
});

test('a group whose tags changed leaves no entry behind for its old tags, and resolves on the new ones', async (t) => {
  const resolve = memoizedResolve();
  let before: Group | undefined = group([
    { key: 'spotmax:standby_size', value: '1', propagateAtLaunch: false },
  ]);
  t.is(resolve([before], POLICIES)[0]?.settings?.standby.size, 1);
  const old = new WeakRef(before);
  before = undefined;
  const after = group([{ key: 'spotmax:standby_size', value: '3', propagateAtLaunch: false }]);
  t.is(resolve([after], POLICIES)[0]?.settings?.standby.size, 3);
  t.true(await collected(old));
});

test('an unchanged group keeps its resolution (the cache still saves the work)', (t) => {
  const resolve = memoizedResolve();
  const g = group([{ key: 'spotmax:standby_size', value: '2', propagateAtLaunch: false }]);
  const [a] = resolve([g], POLICIES);
  const [b] = resolve([g], POLICIES);
  t.is(a, b);
  const [c] = resolve([{ ...g, members: [] }], POLICIES);
  t.is(c?.settings, a?.settings);
});
