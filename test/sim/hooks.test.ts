import test from 'ava';
import { warmRegion, webGroup } from './helpers.js';

// "CompleteLifecycleAction" and "RecordLifecycleActionHeartbeat" (Auto Scaling API Reference): only for
// an instance waiting on the hook (Pending:Wait / Terminating:Wait) and with the token Auto Scaling sent.

test('a lifecycle action is refused with a wrong token, for an instance not waiting, and once completed', async (t) => {
  const region = await warmRegion({
    groups: [
      webGroup({
        desired: 2,
        lifecycleHooks: [{ name: 'drain', transition: 'terminating', heartbeatTimeoutSeconds: 300 }],
      }),
    ],
  });
  const [victim, other] = [...region.asg.mustGet('web').members.keys()] as [string, string];
  const asg = region.cloud.autoscaling;
  const ref = (instanceId: string, token: string) => ({
    groupName: 'web',
    hookName: 'drain',
    instanceId,
    token,
  });
  // Not waiting on the hook (InService): no action to complete.
  await t.throwsAsync(asg.completeLifecycleAction(ref(other, 'x'), 'CONTINUE'), {
    message: /No active Lifecycle Action/,
  });
  region.asg.terminateInGroup(victim, false);
  const [m] = await region.sqs.receive(region.queueUrl, { maxMessages: 10, waitSeconds: 0 });
  const token = JSON.parse(m!.body).detail.LifecycleActionToken as string;
  await t.throwsAsync(asg.recordLifecycleActionHeartbeat(ref(victim, 'wrong-token')), {
    message: /No active Lifecycle Action/,
  });
  await t.throwsAsync(asg.completeLifecycleAction(ref(victim, 'wrong-token'), 'CONTINUE'), {
    message: /No active Lifecycle Action/,
  });
  t.is(region.asg.mustGet('web').members.get(victim)?.lifecycleState, 'Terminating:Wait');
  await asg.completeLifecycleAction(ref(victim, token), 'CONTINUE');
  t.is(region.asg.mustGet('web').members.get(victim)?.lifecycleState, 'Terminating:Proceed');
  await t.throwsAsync(asg.completeLifecycleAction(ref(victim, token), 'CONTINUE'), {
    message: /No active Lifecycle Action/,
  });
});
