import test from 'ava';
import { GROUP_TAG, REPLACEMENT_TAG, RETIRE_REQUESTED_TAG, VOLUME_TAG } from '../../src/domain/tags.js';
import type { Volume } from '../../src/domain/types.js';
import { settings } from '../plan/factories.js';
import { type World, webGroup, world } from './world.js';

// The seed's data disk under launch-before-retire (lifetime, rebalance `replace`): the old member stays
// InService, marked spotmax:replacement (or spotmax:retire-requested), until its replacement is in
// service. Its data volume is on its way to the newcomer all along: the newcomer must not adopt its own
// template volume, and once the old member is gone the data volume is attached to it.

const cfg = settings({
  lifetime: { guaranteeMinutes: 50 },
  replacement: { maxConcurrent: 1 },
  persistentVolume: { device: '/dev/sdf', attachAs: '/dev/xvdz' },
});

const ours = (w: World): Volume[] =>
  [...w.region.volumes.volumes.values()].map((v) => v.volume).filter((v) => v.tags[GROUP_TAG] === 'web');

function templateVolume(w: World, instanceId: string): Volume | undefined {
  const bd = w.instance(instanceId).blockDevices?.find((b) => b.device === '/dev/sdf');
  return bd ? w.region.volumes.volumes.get(bd.volumeId)?.volume : undefined;
}

/**
 * `web` in one AZ with the seed's template data volume, two members at MaxSize 2, both volumes adopted;
 * the first member is 51 minutes old when the test's passes begin (replacement.test.ts's agedGroup).
 */
async function agedSeedGroup() {
  const w = await world(cfg, {
    groups: [
      webGroup({
        azs: ['us-east-1a'],
        desired: 1,
        max: 2,
        persistentVolume: { sizeGiB: 20, device: '/dev/sdf', inTemplate: true },
      }),
    ],
  });
  const [old] = w.members().map((m) => m.instanceId) as [string];
  await w.wait(40 * 60);
  w.region.asg.update('web', { desired: 2 });
  await w.wait(61);
  const young = w.members().find((m) => m.instanceId !== old)!.instanceId;
  return { w, old, young };
}

/** Passes every `seconds` until `done`, at most `n`; the adopt-volume actions they planned. */
async function passUntil(w: World, done: () => boolean, n = 10, seconds = 30) {
  const adopted: { target: string; instanceId: string }[] = [];
  for (let k = 0; k < n && !done(); k++) {
    await w.wait(seconds);
    const r = await w.pass();
    for (const a of r?.groups[0]?.actions ?? [])
      if (a.kind === 'adopt-volume') adopted.push({ target: a.target, instanceId: a.instanceId });
  }
  return adopted;
}

test('lifetime replacement of the data volume holder: the newcomer waits, then gets the old volume; no volume added', async (t) => {
  const { w, old, young } = await agedSeedGroup();
  const data = templateVolume(w, old)!;

  // Both template volumes are adopted; the old member's replacement begins in the same pass.
  const first = await w.pass();
  const kinds = first!.groups[0]!.actions.map((a) => a.kind);
  t.is(kinds.filter((k) => k === 'adopt-volume').length, 2, kinds.join(' '));
  t.true(kinds.includes('replacement-add-capacity'), kinds.join(' '));
  t.truthy(w.instance(old).tags[REPLACEMENT_TAG]);
  t.is(data.tags[GROUP_TAG], 'web');
  t.is(ours(w).length, 2);

  // The newcomer boots while the old member is still InService with its data volume.
  await w.wait(1);
  const newcomer = w.members().find((m) => m.instanceId !== old && m.instanceId !== young)!.instanceId;
  const adopted = await passUntil(w, () => w.instance(old).state === 'terminated', 8);
  t.is(w.instance(old).state, 'terminated', 'the old member was retired');
  t.false(w.group().members.has(old));
  t.deepEqual(adopted, [], 'the newcomer did not adopt its own template volume');
  const own = templateVolume(w, newcomer)!;
  t.true(own.attachments[0]?.deleteOnTermination, 'its own volume is left as the template made it');
  t.is(own.tags[GROUP_TAG], undefined);

  // Once the old member is gone its data volume goes to the newcomer.
  await passUntil(
    w,
    () => data.attachments[0]?.instanceId === newcomer && data.attachments[0]?.state === 'attached',
    4,
    10,
  );
  t.is(data.attachments[0]?.instanceId, newcomer);
  t.is(data.attachments[0]?.device, '/dev/xvdz');
  await w.pass();
  t.is(w.instance(newcomer).tags[VOLUME_TAG], data.volumeId, 'the in-instance helper finds it');
  t.is(ours(w).length, 2, 'two members, two persistent volumes: none added by the replacement');
  t.deepEqual(w.rec.callsOf('createVolume'), []);
  t.deepEqual(w.rec.callsOf('deleteVolume'), []);
  const last = await w.pass();
  t.false(
    last!.groups[0]!.problems.some((p) => /persistent volumes for/.test(p)),
    JSON.stringify(last!.groups[0]!.problems),
  );
});

test('rebalance replace of the data volume holder: the volume follows to the replacement', async (t) => {
  const s = settings({
    rebalance: { action: 'replace' },
    persistentVolume: { device: '/dev/sdf', attachAs: '/dev/xvdz' },
  });
  const w = await world(s, {
    groups: [
      webGroup({
        azs: ['us-east-1a'],
        desired: 2,
        max: 2,
        persistentVolume: { sizeGiB: 20, device: '/dev/sdf', inTemplate: true },
      }),
    ],
  });
  const before = w.members().map((m) => m.instanceId);
  await w.pass();
  t.is(ours(w).length, 2);
  const risky = before[0]!;
  const data = templateVolume(w, risky)!;
  t.is(data.tags[GROUP_TAG], 'web');
  // The fast path's part of rebalance `replace`: mark it; the reconciler replaces it launch-before-retire.
  await w.cloud.ec2.createTags([risky], { [RETIRE_REQUESTED_TAG]: w.clock.now().toISOString() });

  const adopted = await passUntil(w, () => w.instance(risky).state === 'terminated', 10);
  t.is(w.instance(risky).state, 'terminated', 'the at-risk member was retired');
  t.deepEqual(adopted, [], 'the replacement did not adopt its own template volume');
  const newcomer = w.members().find((m) => !before.includes(m.instanceId))!.instanceId;
  await passUntil(w, () => data.attachments[0]?.instanceId === newcomer, 4, 10);
  t.is(data.attachments[0]?.instanceId, newcomer);
  t.is(ours(w).length, 2, 'none added by the replacement');
});
