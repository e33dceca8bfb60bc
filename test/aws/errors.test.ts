import test from 'ava';
import { createAwsCloud } from '../../src/aws/cloud.js';
import { CloudError, isAccessDenied, isNotFound, isThrottled } from '../../src/domain/errors.js';
import type { Cloud } from '../../src/ports/cloud.js';
import { callCounter, seedGroup, testClients } from '../helpers/aws-fixtures.js';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';
import {
  ec2Error,
  type FaultProxy,
  firstN,
  queryError,
  querySuccess,
  startFaultProxy,
} from './fault-proxy.js';

// Error classification and retries, through a loopback proxy in front of moto that answers chosen
// requests with AWS-shaped errors.

let moto: Moto;
let proxy: FaultProxy;
let cloud: Cloud;
const calls = callCounter();

test.before(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  cloud = createAwsCloud({
    region: TEST_REGION,
    endpoint: proxy.endpoint,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 4,
    onCall: calls.onCall,
  });
  await seedGroup(testClients(moto.endpoint), { name: 'web', desired: 1 });
});
test.after.always(async () => {
  await proxy?.close();
  await moto?.stop();
});
test.beforeEach(() => {
  proxy.setRule(undefined);
  proxy.requests.length = 0;
  calls.reset();
});

function attempts(action: string): number {
  return proxy.requests.filter((r) => r.action === action).length;
}

test.serial('throttling is retried with backoff and the call then succeeds', async (t) => {
  proxy.setRule(firstN('DescribeAutoScalingGroups', 2, queryError(400, 'Throttling', 'Rate exceeded')));
  const started = performance.now();
  const groups = await cloud.autoscaling.describeGroups();
  t.deepEqual(
    groups.map((g) => g.name),
    ['web'],
  );
  t.is(attempts('DescribeAutoScalingGroups'), 3, 'two throttled attempts, then the answer');
  t.is(calls.get('autoscaling:DescribeAutoScalingGroups'), 1, 'one command as the caller sees it');
  t.true(performance.now() - started >= 20, 'the SDK waited between attempts');

  proxy.setRule(
    firstN('DescribeInstances', 1, ec2Error(503, 'RequestLimitExceeded', 'Request limit exceeded.')),
  );
  const id = groups[0]!.members[0]!.instanceId;
  t.is((await cloud.ec2.describeInstances([id]))[0]?.instanceId, id);
  t.is(attempts('DescribeInstances'), 2);
});

test.serial('throttling that outlasts the attempts is a retryable CloudError', async (t) => {
  proxy.setRule(firstN('DescribeAutoScalingGroups', 100, queryError(400, 'Throttling', 'Rate exceeded')));
  const err = await t.throwsAsync(cloud.autoscaling.describeGroups(), { instanceOf: CloudError });
  const cloudErr = err as CloudError;
  t.is(cloudErr.code, 'Throttling');
  t.true(cloudErr.retryable);
  t.true(isThrottled(cloudErr));
  t.is(cloudErr.action, 'DescribeAutoScalingGroups');
  t.is(attempts('DescribeAutoScalingGroups'), 4);
  t.regex(
    cloudErr.message,
    /^listing Auto Scaling groups: DescribeAutoScalingGroups failed \(Throttling\): Rate exceeded/,
  );
});

test.serial('access denied names the action, the IAM permission and the policy file', async (t) => {
  proxy.setRule(
    firstN(
      'DetachInstances',
      10,
      queryError(
        403,
        'AccessDenied',
        'User: arn:aws:sts::123456789012:assumed-role/spotmax/x is not authorized to perform: autoscaling:DetachInstances',
      ),
    ),
  );
  const err = await t.throwsAsync(cloud.autoscaling.detachInstances('web', ['i-0123456789abcdef0'], false), {
    instanceOf: CloudError,
  });
  t.true(isAccessDenied(err));
  t.false((err as CloudError).retryable);
  t.is(attempts('DetachInstances'), 1, 'access denied is not retried');
  t.regex(err!.message, /detaching i-0123456789abcdef0 from web: DetachInstances failed \(AccessDenied\)/);
  t.regex(err!.message, /IAM permission autoscaling:DetachInstances/);
  t.regex(err!.message, /deploy\/iam\/spotmax-policy\.json/);

  proxy.setRule(
    firstN(
      'RunInstances',
      10,
      ec2Error(403, 'UnauthorizedOperation', 'You are not authorized to perform this operation.'),
    ),
  );
  const ec2Err = await t.throwsAsync(
    cloud.ec2.runInstances({ launchTemplate: { name: 'web-lt' }, market: 'on-demand', tags: {} }),
  );
  t.regex(ec2Err!.message, /RunInstances failed \(UnauthorizedOperation\).*IAM permission ec2:RunInstances/);
});

test.serial('a request about a missing resource is NotFound and not retryable', async (t) => {
  const err = await t.throwsAsync(cloud.ec2.stopInstances(['i-0123456789abcdef0'], false), {
    instanceOf: CloudError,
  });
  t.true(isNotFound(err));
  t.false((err as CloudError).retryable);
  t.is(attempts('StopInstances'), 1);
  t.regex(
    err!.message,
    /^stopping i-0123456789abcdef0: StopInstances failed \(InvalidInstanceID\.NotFound\)/,
  );
});

test.serial('an unparseable 5xx answer is retried, then reported with its HTTP status', async (t) => {
  proxy.setRule(
    firstN('DescribeScalingActivities', 100, {
      status: 502,
      body: '<html><title>Bad Gateway</title></html>',
    }),
  );
  const err = await t.throwsAsync(cloud.autoscaling.describeScalingActivities('web'), {
    instanceOf: CloudError,
  });
  t.is((err as CloudError).code, 'HTTP 502');
  t.true((err as CloudError).retryable);
  t.is(attempts('DescribeScalingActivities'), 4);
  t.regex(err!.message, /^reading scaling activities of web: DescribeScalingActivities failed \(HTTP 502\)/);
});

test.serial('lifecycle actions send the hook, instance, token and result (moto lacks them)', async (t) => {
  proxy.setRule((req) =>
    req.action === 'CompleteLifecycleAction' || req.action === 'RecordLifecycleActionHeartbeat'
      ? querySuccess(req.action)
      : undefined,
  );
  const ref = { groupName: 'web', hookName: 'drain', instanceId: 'i-0abc', token: 'tok-1' };
  await cloud.autoscaling.recordLifecycleActionHeartbeat(ref);
  await cloud.autoscaling.completeLifecycleAction(ref, 'CONTINUE');
  const [beat, complete] = proxy.requests;
  t.is(beat?.action, 'RecordLifecycleActionHeartbeat');
  t.like(Object.fromEntries(beat!.params), {
    AutoScalingGroupName: 'web',
    LifecycleHookName: 'drain',
    InstanceId: 'i-0abc',
    LifecycleActionToken: 'tok-1',
  });
  t.is(complete?.action, 'CompleteLifecycleAction');
  t.like(Object.fromEntries(complete!.params), {
    AutoScalingGroupName: 'web',
    LifecycleHookName: 'drain',
    InstanceId: 'i-0abc',
    LifecycleActionToken: 'tok-1',
    LifecycleActionResult: 'CONTINUE',
  });
});

test.serial('metrics are sent uncompressed, so the emulator can read them', async (t) => {
  cloud.metrics.record({
    name: 'Big',
    value: 1,
    unit: 'Count',
    dimensions: { AutoScalingGroupName: 'x'.repeat(200) },
  });
  for (let i = 0; i < 200; i++) cloud.metrics.record({ name: `M${i}`, value: i, unit: 'Count' });
  await cloud.metrics.flush();
  const put = proxy.requests.find((r) => r.action === 'PutMetricData');
  t.truthy(put);
  t.true(put!.body.length > 10_240, 'larger than the SDK compression threshold');
  t.true(put!.body.includes('M199'), 'plain text on the wire');
});
