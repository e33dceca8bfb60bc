import test from 'ava';
import type { ResolvedGroup } from '../../src/config/resolved.js';
import { RegionView } from '../../src/controllers/reconcile/region-view.js';
import { STANDBY_FOR_TAG } from '../../src/domain/tags.js';
import type { Group, Instance, Observation } from '../../src/domain/types.js';
import { instance } from '../plan/factories.js';

function resolved(name: string, members: Instance[]): ResolvedGroup {
  const group: Group = {
    name,
    desired: members.length,
    min: 0,
    max: 5,
    availabilityZones: ['us-east-1a'],
    subnetIds: [],
    tags: [],
    members: members.map((m) => ({
      instanceId: m.instanceId,
      availabilityZone: m.availabilityZone,
      lifecycleState: 'InService',
      healthStatus: 'Healthy',
    })),
  };
  return { group, managed: false, problems: [] } as unknown as ResolvedGroup;
}

function obs(standbys: Instance[]): Observation {
  return {
    region: 'us-east-1',
    observedAt: new Date(),
    groups: [],
    instances: new Map(),
    standbys,
    volumes: [],
  };
}

const names = (v: RegionView) =>
  v
    .groups()
    .map((r) => [r.group.name, r.group.members.map((m) => m.instanceId)])
    .sort();

test('a one-group pass replaces that group only; a full pass replaces all and drops the groups gone', (t) => {
  const view = new RegionView();
  t.true(view.empty);
  const [a1, b1, a2, c1] = [instance(), instance(), instance(), instance()];
  const sa = instance({ tags: { [STANDBY_FOR_TAG]: 'a' } });
  const sb = instance({ tags: { [STANDBY_FOR_TAG]: 'b' } });
  // Before any full pass: a one-group pass makes an incomplete view.
  view.apply(obs([sb]), [resolved('b', [b1])], ['b']);
  t.false(view.empty);
  t.false(view.complete);
  view.apply(obs([sa, sb]), [resolved('a', [a1]), resolved('b', [b1])]);
  t.true(view.complete);
  t.deepEqual(names(view), [
    ['a', [a1.instanceId]],
    ['b', [b1.instanceId]],
  ]);
  // One-group pass for a: new member, its standby used up; b keeps its standby.
  view.apply(obs([]), [resolved('a', [a2])], ['a']);
  t.deepEqual(names(view), [
    ['a', [a2.instanceId]],
    ['b', [b1.instanceId]],
  ]);
  t.deepEqual(view.standbysFor('a'), []);
  t.deepEqual(
    view.standbysFor('b').map((s) => s.instanceId),
    [sb.instanceId],
  );
  // A one-group pass that no longer finds its group drops it.
  view.apply(obs([]), [], ['b']);
  t.deepEqual(names(view), [['a', [a2.instanceId]]]);
  // A full pass: a is gone, c is new.
  view.apply(obs([]), [resolved('c', [c1])]);
  t.deepEqual(names(view), [['c', [c1.instanceId]]]);
  t.deepEqual(view.standbysFor('b'), []);
});
