import test from 'ava';
import type { ActionOf } from '../../src/domain/actions.js';
import {
  GROUP_TAG,
  INTERRUPTED_AT_TAG,
  RECREATED_FROM_TAG,
  SUPERSEDED_BY_TAG,
  VOLUME_TAG,
  VOLUME_UNPLACED_SINCE_TAG,
} from '../../src/domain/tags.js';
import { planGroup } from '../../src/plan/group.js';
import { GROUP, instance, minutesAgo, NOW, planInput, settings, snapshot, volume } from './factories.js';

const pv = (o: Record<string, number> = {}) =>
  settings({
    persistentVolume: { device: '/dev/sdf', attachAs: '/dev/xvdz', crossAzAfterMinutes: 30, ...o },
  });

test('an available volume goes to a member in its AZ that has none, at attachAs', (t) => {
  const otherAz = instance({ availabilityZone: 'us-east-1b', subnetId: 'subnet-b' });
  const holder = instance({ ageMinutes: 30 });
  const free = instance({ ageMinutes: 10 });
  const held = volume({
    state: 'in-use',
    attachments: [{ instanceId: holder.instanceId, device: '/dev/xvdz', state: 'attached' }],
  });
  holder.tags[VOLUME_TAG] = held.volumeId;
  const v = volume();
  const plan = planGroup(planInput({ members: [otherAz, holder, free], volumes: [held, v], settings: pv() }));
  const attach = plan.actions.filter((a) => a.kind === 'attach-volume') as ActionOf<'attach-volume'>[];
  t.deepEqual(
    attach.map((a) => [a.target, a.instanceId, a.device]),
    [[v.volumeId, free.instanceId, '/dev/xvdz']],
  );
  t.is(attach[0]?.reason, `attach ${v.volumeId} to ${free.instanceId} in us-east-1a at /dev/xvdz`);
});

test('no persistentVolume.device: volumes are left alone', (t) => {
  const plan = planGroup(planInput({ members: [instance()], volumes: [volume()] }));
  t.deepEqual(plan.actions, []);
});

test('a holder missing the volume tag is tagged; a member tagged with a volume it lost is untagged', (t) => {
  const holder = instance();
  const liar = instance({ tags: { [GROUP_TAG]: GROUP, [VOLUME_TAG]: 'vol-gone' } });
  const v = volume({
    state: 'in-use',
    attachments: [{ instanceId: holder.instanceId, device: '/dev/xvdz', state: 'attached' }],
  });
  const plan = planGroup(planInput({ members: [holder, liar], volumes: [v], settings: pv() }));
  const tag = plan.actions.find((a) => a.kind === 'tag-resource') as ActionOf<'tag-resource'>;
  t.deepEqual([tag.target, tag.tags], [holder.instanceId, { [VOLUME_TAG]: v.volumeId }]);
  const untag = plan.actions.find((a) => a.kind === 'untag-resource') as ActionOf<'untag-resource'>;
  t.deepEqual([untag.target, untag.keys], [liar.instanceId, [VOLUME_TAG]]);
});

test('after an interruption the volume moves only once the old holder is stopped or terminated', (t) => {
  const replacement = instance();
  const dying = instance({
    state: 'running',
    tags: { [GROUP_TAG]: GROUP, [INTERRUPTED_AT_TAG]: NOW.toISOString() },
  });
  const v = volume({
    state: 'in-use',
    attachments: [{ instanceId: dying.instanceId, device: '/dev/xvdz', state: 'attached' }],
  });
  const waiting = planGroup(
    planInput({ members: [replacement], outsiders: [dying], volumes: [v], settings: pv() }),
  );
  t.false(waiting.actions.some((a) => a.kind === 'detach-volume' || a.kind === 'attach-volume'));
  t.deepEqual(waiting.problems, []);
  const stopped = planGroup(
    planInput({
      members: [replacement],
      outsiders: [{ ...dying, state: 'stopped' }],
      volumes: [v],
      settings: pv(),
    }),
  );
  const detach = stopped.actions.find((a) => a.kind === 'detach-volume') as ActionOf<'detach-volume'>;
  t.deepEqual([detach.target, detach.instanceId], [v.volumeId, dying.instanceId]);
});

test('a volume in use by an instance outside the group is a problem, not touched', (t) => {
  const stranger = instance({ tags: {} });
  const v = volume({
    state: 'in-use',
    attachments: [{ instanceId: stranger.instanceId, device: '/dev/sdz', state: 'attached' }],
  });
  const plan = planGroup(
    planInput({ members: [instance()], outsiders: [stranger], volumes: [v], settings: pv() }),
  );
  t.deepEqual(plan.actions, []);
  t.true(plan.problems.some((p) => p.includes(`in use by ${stranger.instanceId}`)));
});

test('stranded: marked, then after crossAzAfterMinutes recreated from the latest completed snapshot where members are', (t) => {
  const b1 = instance({ availabilityZone: 'us-east-1b', subnetId: 'subnet-b' });
  const v = volume();
  const first = planGroup(planInput({ members: [b1], volumes: [v], settings: pv() }));
  const mark = first.actions.find((a) => a.kind === 'tag-resource') as ActionOf<'tag-resource'>;
  t.deepEqual(mark.tags, { [VOLUME_UNPLACED_SINCE_TAG]: NOW.toISOString() });

  const marked = volume({
    tags: { [GROUP_TAG]: GROUP, [VOLUME_UNPLACED_SINCE_TAG]: minutesAgo(29.9).toISOString() },
  });
  const early = planGroup(
    planInput({
      members: [b1],
      volumes: [marked],
      settings: pv(),
      snapshots: [snapshot(marked.volumeId, 10)],
    }),
  );
  t.false(early.actions.some((a) => a.kind === 'recreate-volume'));

  const due = {
    ...marked,
    tags: { ...marked.tags, [VOLUME_UNPLACED_SINCE_TAG]: minutesAgo(30).toISOString() },
  };
  const latest = snapshot(marked.volumeId, 10);
  const plan = planGroup(
    planInput({
      members: [b1],
      volumes: [due],
      settings: pv(),
      snapshots: [snapshot(marked.volumeId, 40), latest, snapshot(marked.volumeId, 1, { state: 'pending' })],
    }),
  );
  const re = plan.actions.find((a) => a.kind === 'recreate-volume') as ActionOf<'recreate-volume'>;
  t.is(re.snapshotId, latest.snapshotId);
  t.is(re.availabilityZone, 'us-east-1b');
  t.is(re.tags[RECREATED_FROM_TAG], marked.volumeId);
  t.is(re.tags[GROUP_TAG], GROUP);
  t.is(re.tags[VOLUME_UNPLACED_SINCE_TAG], undefined);
  t.false(plan.actions.some((a) => a.kind === 'delete-snapshot' || (a.kind as string) === 'delete-volume'));
});

test('stranded without a snapshot: a problem; after the copy exists the old one is tagged superseded, never deleted', (t) => {
  const b1 = instance({ availabilityZone: 'us-east-1b', subnetId: 'subnet-b' });
  const old = volume({
    tags: { [GROUP_TAG]: GROUP, [VOLUME_UNPLACED_SINCE_TAG]: minutesAgo(60).toISOString() },
  });
  const none = planGroup(planInput({ members: [b1], volumes: [old], settings: pv() }));
  t.true(none.problems.some((p) => p.includes('no completed snapshot')));
  const copy = volume({
    availabilityZone: 'us-east-1b',
    tags: { [GROUP_TAG]: GROUP, [RECREATED_FROM_TAG]: old.volumeId },
  });
  const after = planGroup(planInput({ members: [b1], volumes: [old, copy], settings: pv() }));
  const sup = after.actions.find(
    (a) => a.kind === 'tag-resource' && a.target === old.volumeId,
  ) as ActionOf<'tag-resource'>;
  t.deepEqual(sup.tags, { [SUPERSEDED_BY_TAG]: copy.volumeId });
  t.true(after.actions.some((a) => a.kind === 'attach-volume' && a.target === copy.volumeId));
  const superseded = { ...old, tags: { ...old.tags, [SUPERSEDED_BY_TAG]: copy.volumeId } };
  const later = planGroup(planInput({ members: [b1], volumes: [superseded, copy], settings: pv() }));
  t.false(later.actions.some((a) => a.target === old.volumeId));
});

test('snapshots: one every interval, keeping the last snapshotRetain completed ones', (t) => {
  const m = instance();
  const v = volume({
    state: 'in-use',
    attachments: [{ instanceId: m.instanceId, device: '/dev/xvdz', state: 'attached' }],
  });
  m.tags[VOLUME_TAG] = v.volumeId;
  const s = pv({ snapshotIntervalMinutes: 20, snapshotRetain: 2 });
  const none = planGroup(planInput({ members: [m], volumes: [v], settings: s }));
  t.deepEqual(
    none.actions.map((a) => [a.kind, a.target, a.reason]),
    [['snapshot-volume', v.volumeId, `snapshot ${v.volumeId}: none yet`]],
  );
  const recent = planGroup(
    planInput({ members: [m], volumes: [v], settings: s, snapshots: [snapshot(v.volumeId, 19.9)] }),
  );
  t.deepEqual(recent.actions, []);
  const snaps = [
    snapshot(v.volumeId, 20),
    snapshot(v.volumeId, 40),
    snapshot(v.volumeId, 60),
    snapshot(v.volumeId, 80),
  ];
  const due = planGroup(planInput({ members: [m], volumes: [v], settings: s, snapshots: snaps }));
  t.true(
    due.actions.some(
      (a) => a.kind === 'snapshot-volume' && a.reason.includes('last 20m ago >= snapshotIntervalMinutes 20'),
    ),
  );
  t.deepEqual(
    due.actions.filter((a) => a.kind === 'delete-snapshot').map((a) => a.target),
    [snaps[2]!.snapshotId, snaps[3]!.snapshotId],
  );
  const foreign = snapshot(v.volumeId, 500, { tags: { other: 'x' } });
  const keepForeign = planGroup(
    planInput({ members: [m], volumes: [v], settings: s, snapshots: [...snaps, foreign] }),
  );
  t.false(
    keepForeign.actions.some((a) => a.target === foreign.snapshotId),
    'snapshots spotmax did not take are not deleted',
  );
});

test('an interrupted or retiring member does not receive a volume', (t) => {
  const dying = instance({ tags: { [GROUP_TAG]: GROUP, [INTERRUPTED_AT_TAG]: NOW.toISOString() } });
  const plan = planGroup(planInput({ members: [dying], volumes: [volume()], settings: pv() }));
  t.false(plan.actions.some((a) => a.kind === 'attach-volume'));
  t.true(
    plan.actions.some((a) => a.kind === 'tag-resource'),
    'marked unplaced instead',
  );
});
