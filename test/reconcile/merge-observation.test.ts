import test from 'ava';
import { mergeObservation } from '../../src/controllers/reconcile/merge-observation.js';
import { GROUP_TAG, STANDBY_FOR_TAG } from '../../src/domain/tags.js';
import type { Group, Instance, Observation } from '../../src/domain/types.js';
import { instance, volume } from '../plan/factories.js';

function group(name: string, members: Instance[]): Group {
  return {
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
}

function obs(groups: Group[], instances: Instance[], standbys: Instance[], at: string): Observation {
  return {
    region: 'us-east-1',
    observedAt: new Date(at),
    groups,
    instances: new Map([...instances, ...standbys].map((i) => [i.instanceId, i])),
    standbys,
    volumes: groups.map((g) => volume({ tags: { [GROUP_TAG]: g.name } })),
  };
}

test('a one-group observation replaces that group only', (t) => {
  const a1 = instance();
  const b1 = instance();
  const sa = instance({ tags: { [STANDBY_FOR_TAG]: 'a' } });
  const full = obs([group('a', [a1]), group('b', [b1])], [a1, b1], [sa], '2026-11-22T10:00:00Z');
  const a2 = instance();
  const partial = obs([group('a', [a2])], [a2], [], '2026-11-22T10:01:00Z');
  const merged = mergeObservation(full, partial, ['a']);
  t.deepEqual(merged.groups.map((g) => [g.name, g.members.map((m) => m.instanceId)]).sort(), [
    ['a', [a2.instanceId]],
    ['b', [b1.instanceId]],
  ]);
  t.deepEqual(
    [...merged.instances.keys()].sort(),
    [a2.instanceId, b1.instanceId].sort(),
    'the old member and standby of a are gone',
  );
  t.deepEqual(merged.standbys, []);
  t.is(merged.volumes.length, 2);
  t.is(merged.observedAt.toISOString(), '2026-11-22T10:01:00.000Z');
  t.is(mergeObservation(undefined, partial, ['a']), partial);
});
