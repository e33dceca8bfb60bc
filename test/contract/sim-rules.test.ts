import test from 'ava';
import type { SimRegion } from '../../src/sim/region.js';
import type { ScenarioInput } from '../../src/sim/scenario.js';
import { warmRegion, webGroup } from '../sim/helpers.js';

// Auto Scaling rules moto does not model, pinned on the simulated region (the one fake). Each names the
// AWS document it comes from; docs/aws-rules.md lists them with the spotmax test that relies on each.

const AZS = ['us-east-1a', 'us-east-1b'];

/** A settled group of 4 over two AZs; `suspended` processes are suspended once it is up. */
async function region(
  extra: Partial<ScenarioInput['groups'][number]>,
  suspended: string[] = [],
): Promise<SimRegion> {
  const r = await warmRegion({ groups: [webGroup({ azs: AZS, desired: 4, ...extra })] });
  const g = r.asg.mustGet('web');
  for (const p of suspended) g.suspendedProcesses.add(p);
  g.snapshot = undefined;
  return r;
}

const members = (r: SimRegion) => [...r.asg.mustGet('web').members.values()];
const perAz = (r: SimRegion) =>
  AZS.map((az) => members(r).filter((m) => m.az === az && m.lifecycleState === 'InService').length);

/** A running instance outside the group, from the group's template, in `az`. */
async function loose(r: SimRegion, az: string): Promise<string> {
  const tpl = [...r.ec2.templates.values()].find((t) => t.name === 'web-lt')!;
  const inst = r.ec2.launch({ template: tpl, version: tpl.versions[0]!, az, market: 'on-demand', tags: {} });
  await r.clock.advanceBy(300_000);
  return inst.instanceId;
}

// DetachInstances and AttachInstances API references: desired capacity stays within MinSize..MaxSize.
test('a fixed-size group (min = max = desired) refuses a detach with decrement and an attach', async (t) => {
  const r = await region({ min: 4, max: 4 });
  const [a] = members(r);
  const extra = await loose(r, AZS[0]!);
  await t.throwsAsync(r.cloud.autoscaling.detachInstances('web', [a!.instanceId], true), {
    message: /minimum size/,
  });
  await t.throwsAsync(r.cloud.autoscaling.attachInstances('web', [extra]), { message: /above max value 4/ });
  t.like(r.asg.mustGet('web'), { desired: 4, min: 4, max: 4 });
});

// "Rebalancing activities": launch in the short AZ first, then terminate in the long one.
test('AZRebalance evens out the AZs after a detach: it launches in the short AZ before it terminates in the long one', async (t) => {
  const r = await region({ min: 0, max: 4 });
  const inB = members(r).find((m) => m.az === AZS[1])!;
  const events: string[] = [];
  r.bus.on((e) => {
    if (e.type === 'member-state' && (e.state === 'Pending' || e.state === 'Terminating'))
      events.push(`${e.state} ${e.az}`);
  });
  // Attach one in a (2+1 / 2, desired 5), then detach the one in b with decrement: 3 / 1, desired 4.
  await r.cloud.autoscaling.updateGroup('web', { max: 5 });
  await r.cloud.autoscaling.attachInstances('web', [await loose(r, AZS[0]!)]);
  await r.clock.advanceBy(10_000);
  events.length = 0;
  await r.cloud.autoscaling.detachInstances('web', [inB.instanceId], true);
  await r.clock.advanceBy(600_000);
  t.deepEqual(perAz(r), [2, 2]);
  t.is(r.asg.mustGet('web').desired, 4);
  t.deepEqual(events, [`Pending ${AZS[1]}`, `Terminating ${AZS[0]}`]);
});

// "How suspended processes affect other processes": AZRebalance suspended, or Launch suspended, stops it.
for (const suspended of ['AZRebalance', 'Launch']) {
  test(`with ${suspended} suspended the group stays uneven`, async (t) => {
    const r = await region({ min: 0, max: 4 }, [suspended]);
    const inB = members(r).filter((m) => m.az === AZS[1]);
    await r.cloud.autoscaling.detachInstances('web', [inB[0]!.instanceId], true);
    await r.clock.advanceBy(600_000);
    t.deepEqual(perAz(r), [2, 1]);
    await r.cloud.autoscaling.detachInstances('web', [inB[1]!.instanceId], true);
    await r.clock.advanceBy(600_000);
    t.deepEqual(perAz(r), [2, 0]);
  });
}

// "Suspend and resume Amazon EC2 Auto Scaling processes": Launch suspended, nothing replaces a member.
test('with Launch suspended a detach without decrement gets no replacement', async (t) => {
  const r = await region({ min: 0, max: 8 }, ['Launch']);
  const [a] = members(r);
  await r.cloud.autoscaling.detachInstances('web', [a!.instanceId], false);
  await r.clock.advanceBy(1_800_000);
  t.is(r.asg.mustGet('web').desired, 4);
  t.is(members(r).length, 3);
});

// "Amazon EC2 Auto Scaling lifecycle hooks" (availability): launch hooks do not apply to attached instances.
test('an attached instance goes InService without the launch hook; a launched one waits on it', async (t) => {
  const r = await region({
    desired: 0,
    max: 4,
    lifecycleHooks: [{ name: 'spotmax-launch', transition: 'launching', heartbeatTimeoutSeconds: 300 }],
  });
  const id = await loose(r, AZS[0]!);
  await r.cloud.autoscaling.attachInstances('web', [id]);
  await r.clock.advanceBy(30_000);
  t.is(r.asg.mustGet('web').members.get(id)?.lifecycleState, 'InService');
  const hookEvents = async () =>
    (await r.sqs.receive(r.queueUrl, { maxMessages: 10, waitSeconds: 0 })).filter((m) =>
      /Lifecycle Action/.test(m.body),
    );
  t.deepEqual(await hookEvents(), []);
  await r.cloud.autoscaling.updateGroup('web', { desired: 2 });
  await r.clock.advanceBy(300_000);
  const launched = members(r).find((m) => m.instanceId !== id)!;
  t.is(launched.lifecycleState, 'Pending:Wait');
  t.is((await hookEvents()).length, 1);
});

// "Amazon EC2 Auto Scaling lifecycle hooks" and "Complete a lifecycle action in an Auto Scaling group":
// every hook of the transition gets its own event and token; the instance goes on when all are complete.
test('two terminate hooks: each gets its event and token, and the member waits for both', async (t) => {
  const r = await region({
    lifecycleHooks: [
      { name: 'CodeDeploy-managed-hook', transition: 'terminating', heartbeatTimeoutSeconds: 600 },
      { name: 'spotmax-drain', transition: 'terminating', heartbeatTimeoutSeconds: 600 },
    ],
  });
  const [victim] = members(r);
  r.asg.terminateInGroup(victim!.instanceId, false);
  const events = (await r.sqs.receive(r.queueUrl, { maxMessages: 10, waitSeconds: 0 }))
    .map((m) => JSON.parse(m.body).detail)
    .filter((d) => d.LifecycleHookName);
  t.deepEqual(events.map((d) => d.LifecycleHookName).sort(), ['CodeDeploy-managed-hook', 'spotmax-drain']);
  t.not(events[0].LifecycleActionToken, events[1].LifecycleActionToken);
  const ref = (hookName: string) => ({
    groupName: 'web',
    hookName,
    instanceId: victim!.instanceId,
    token: events.find((d) => d.LifecycleHookName === hookName).LifecycleActionToken,
  });
  await r.cloud.autoscaling.completeLifecycleAction(ref('spotmax-drain'), 'CONTINUE');
  t.is(victim!.lifecycleState, 'Terminating:Wait', "still waiting for CodeDeploy's hook");
  await r.cloud.autoscaling.completeLifecycleAction(ref('CodeDeploy-managed-hook'), 'CONTINUE');
  t.is(victim!.lifecycleState, 'Terminating:Proceed');
});
