import test from 'ava';
import { describeKnown } from '../../src/controllers/reconcile/eventual.js';
import { errorCode, notFoundInstanceIds } from '../../src/domain/errors.js';
import { REPLACEMENT_TAG, RETIRE_REQUESTED_TAG } from '../../src/domain/tags.js';
import { settings } from '../plan/factories.js';
import { webGroup, world } from './world.js';

// Instances leave groups without spotmax (issue 11, rule 3) and fresh ids are not found at once
// (rule 10): spotmax takes back the capacity it added exactly once, leaves to the ASG what the ASG
// replaces itself, and a pass right after a launch does not fail.

const lifetime = settings({ lifetime: { guaranteeMinutes: 50 }, replacement: { maxConcurrent: 1 } });

/** As in replacement.test.ts: `old` is past guaranteeMinutes, the other member is young. */
async function agedGroup(extra: Parameters<typeof webGroup>[0] = {}, s = lifetime) {
  const w = await world(s, { groups: [webGroup({ desired: 1, max: 2, ...extra })] });
  const [old] = w.members().map((m) => m.instanceId) as [string];
  await w.wait(40 * 60);
  w.region.asg.update('web', { desired: 2 });
  await w.wait(61);
  return { ...w, old };
}

test('the old instance fails its health check mid-replacement: the added capacity is taken back exactly once', async (t) => {
  const w = await agedGroup();
  const g = w.group();
  await w.pass();
  t.deepEqual([g.desired, g.max], [3, 3]);
  // Auto Scaling replaces it on its own ("Health checks for instances in an Auto Scaling group").
  w.region.asg.setUnhealthy(w.old);
  // The take-back waits until the group serves its desired capacity again (Auto Scaling's own
  // replacement InService), so lowering desired removes a surplus member, never a serving one too soon.
  const takes: { reason: string; status?: string; serving: number }[] = [];
  for (let n = 0; n < 8; n++) {
    const serving = w
      .members()
      .filter((m) => m.lifecycleState === 'InService' && m.healthStatus !== 'Unhealthy').length;
    const r = await w.pass();
    for (const a of r?.groups[0]?.actions ?? [])
      if (a.kind === 'replacement-retire')
        takes.push({
          reason: a.reason,
          status: r?.groups[0]?.results.find((x) => x.action === a)?.status,
          serving,
        });
    await w.wait(61);
  }
  t.is(takes.length, 1, JSON.stringify(takes));
  t.regex(
    takes[0]?.reason ?? '',
    /take back the capacity added to replace .*Auto Scaling is taking it out|left the group without spotmax/,
  );
  t.is(takes[0]?.status, 'done');
  t.is(takes[0]?.serving, 3, 'taken back once the group served its desired 3');
  t.deepEqual([g.desired, g.max], [2, 2], 'lowered once, not again');
  t.is(w.members().filter((m) => m.lifecycleState === 'InService').length, 2);
  t.deepEqual(
    w.instances().filter((i) => i.state !== 'terminated' && i.tags[REPLACEMENT_TAG] !== undefined),
    [],
  );
  t.is(w.rec.callsOf('detachInstances').length, 0, 'never detached an instance Auto Scaling was terminating');
});

test('Capacity Rebalancing on: spotmax does not replace on a rebalance recommendation, says why, and the ASG does', async (t) => {
  const s = settings({ rebalance: { action: 'replace' } });
  const w = await world(s, { groups: [webGroup({ desired: 2, max: 2, capacityRebalance: true })] });
  const [risky] = w.members().map((m) => m.instanceId) as [string];
  // What the fast path does on the recommendation, and what the ASG does with Capacity Rebalancing.
  await w.cloud.ec2.createTags([risky], { [RETIRE_REQUESTED_TAG]: w.clock.now().toISOString() });
  w.region.bus.emit({ type: 'rebalance', instanceId: risky });
  const r = await w.pass();
  t.deepEqual(r?.groups[0]?.actions, []);
  t.true(
    r?.groups[0]?.problems.some(
      (p) => p.includes(`not replacing ${risky}`) && p.includes('Capacity Rebalancing'),
    ),
    JSON.stringify(r?.groups[0]?.problems),
  );
  t.is(w.group().desired, 2);
  await w.wait(120);
  await w.pass();
  t.false(w.group().members.has(risky), 'the ASG replaced it');
  t.is(w.members().filter((m) => m.lifecycleState === 'InService').length, 2);
  t.deepEqual([w.group().desired, w.group().max], [2, 2]);
});

test('a member protected from scale-in is not replaced voluntarily, and the plan says why', async (t) => {
  const w = await agedGroup();
  w.group().members.get(w.old)!.protectedFromScaleIn = true;
  w.group().snapshot = undefined;
  const r = await w.pass();
  t.deepEqual(r?.groups[0]?.actions, []);
  t.true(r?.groups[0]?.problems.some((p) => p.includes(`not replacing ${w.old}`) && p.includes('protected')));
  t.deepEqual([w.group().desired, w.group().max], [2, 2]);
});

test('a pass right after the ASG launched a member is not failed by EC2 not knowing the new id yet', async (t) => {
  const w = await world(lifetime, { groups: [webGroup({ desired: 2, max: 4 })] });
  w.region.asg.update('web', { desired: 3 });
  await w.wait(0.5);
  const fresh = w.members().find((m) => m.lifecycleState === 'Pending')!.instanceId;
  const err = await w.cloud.ec2.describeInstances([fresh]).catch((e) => e);
  t.regex(String(err), /InvalidInstanceID\.NotFound/, 'EC2 does not know it yet');
  const r = await w.pass();
  t.truthy(r, 'the pass completed');
  t.deepEqual(r?.groups[0]?.problems, []);
});

test('the old instance left and was terminated between two passes: its record is still read, the capacity taken back once', async (t) => {
  const w = await agedGroup();
  const g = w.group();
  await w.pass();
  t.deepEqual([g.desired, g.max], [3, 3]);
  w.region.asg.setUnhealthy(w.old);
  // No pass while Auto Scaling terminates it, takes it out and launches its own replacement.
  await w.wait(10 * 60);
  t.false(g.members.has(w.old), 'no longer a member');
  t.is(w.instance(w.old).state, 'terminated');
  const r = await w.pass();
  const take = r?.groups[0]?.actions.find((a) => a.kind === 'replacement-retire');
  t.regex(take?.reason ?? '', /take back the capacity added to replace .*left the group without spotmax/);
  for (let n = 0; n < 4; n++) {
    await w.wait(61);
    await w.pass();
  }
  t.deepEqual([g.desired, g.max], [2, 2], 'lowered once');
  t.is(w.members().filter((m) => m.lifecycleState === 'InService').length, 2);
});

test('members EC2 does not know yet are left out of a pass read with one more call each request, not by halving it', async (t) => {
  const w = await world(lifetime, { groups: [webGroup({ desired: 40, max: 50 })] });
  w.region.asg.update('web', { desired: 43 });
  await w.wait(0.5);
  const ids = w.members().map((m) => m.instanceId);
  const fresh = w
    .members()
    .filter((m) => m.lifecycleState === 'Pending')
    .map((m) => m.instanceId);
  t.is(fresh.length, 3);
  // EC2 names every unknown id of the request (errors.ts notFoundInstanceIds).
  const err = await w.cloud.ec2.describeInstances(ids).catch((e) => e);
  t.deepEqual(notFoundInstanceIds(err).sort(), [...fresh].sort());
  w.rec.clear();
  const known = await w.clock.drive(describeKnown(w.cloud.ec2, ids));
  t.deepEqual(known.map((i) => i.instanceId).sort(), ids.filter((id) => !fresh.includes(id)).sort());
  t.is(w.rec.callsOf('describeInstances').length, 2, 'refused once, then the known ones');

  // A message that names none of them (another EC2 wording, moto's): halving still finds them.
  const base = w.cloud.ec2;
  const unnamed = Object.assign(Object.create(base), {
    describeInstances: (some: string[]) =>
      base.describeInstances(some).catch((e: Error) => {
        throw Object.assign(new Error('The instance does not exist'), { name: e.name, Code: errorCode(e) });
      }),
  });
  w.rec.clear();
  const halved = await w.clock.drive(describeKnown(unnamed, ids));
  t.is(halved.length, ids.length - 3);
  t.true(w.rec.callsOf('describeInstances').length > 6, 'about k·log2 n calls');
});
