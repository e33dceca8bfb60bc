import { CreateLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import test from 'ava';
import { testAmi, testClients, testCloud } from '../helpers/aws-fixtures.js';
import {
  evaluate,
  loadPolicy,
  type RecordedRequest,
  recordedIamRequests,
  TEST_ACCOUNT,
} from '../helpers/iam-check.js';
import { iamRequestsOf, type RequestFacts } from '../helpers/iam-requests.js';
import { type Moto, startMoto } from '../helpers/moto.js';
import { queryApi } from './aws-raw.js';

// The IAM check itself: requests mapped the way AWS authorizes them, and evaluated against
// deploy/iam/spotmax-policy.json so that what AWS would refuse is refused here. Each case below is a
// request spotmax makes (allowed) next to the nearest one the policy must refuse.

const policy = loadPolicy();
const region = 'us-east-1';
const facts = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  region,
  account: TEST_ACCOUNT,
  ec2Tags: new Map(),
  groups: new Map(),
  ...over,
});

async function verdicts(service: string, command: string, input: object, f = facts()) {
  const recorded: RecordedRequest[] = iamRequestsOf(service, command, input as never, f).map((r) => ({
    ...r,
    source: `${service}:${command}`,
  }));
  return evaluate(recorded, policy);
}
const allowed = async (...a: Parameters<typeof verdicts>) =>
  (await verdicts(...a)).every((v) => v.result === 'Allowed');

test('RunInstances: a standby or a fallback tagged at launch is allowed; an untagged launch is not', async (t) => {
  const lt = { LaunchTemplate: { LaunchTemplateId: 'lt-0abc' }, MinCount: 1, MaxCount: 1 };
  const spec = (tags: Record<string, string>) => ({
    ...lt,
    TagSpecifications: [
      { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
    ],
  });
  const ltFacts = facts({ launchTemplate: { id: 'lt-0abc', imageId: 'ami-0123', kmsKeyIds: [] } });
  t.true(await allowed('ec2', 'RunInstances', spec({ 'spotmax:standby-for': 'web' }), ltFacts));
  t.true(
    await allowed(
      'ec2',
      'RunInstances',
      spec({ 'spotmax:fallback-for': 'web', 'spotmax:group': 'web' }),
      ltFacts,
    ),
  );
  t.false(await allowed('ec2', 'RunInstances', lt, ltFacts));
  t.false(await allowed('ec2', 'RunInstances', spec({ Name: 'web' }), ltFacts));
  // Tagging at launch is authorized as CreateTags with ec2:CreateAction, whatever the keys.
  const v = await verdicts('ec2', 'RunInstances', spec({ 'spotmax:standby-for': 'web', Name: 'x' }), ltFacts);
  t.true(v.some((x) => x.action === 'ec2:CreateTags' && x.context['ec2:CreateAction'] === 'RunInstances'));
});

test('instances: spotmax stops, terminates and modifies only members and standbys', async (t) => {
  const tagged = (tags: Record<string, string>) => facts({ ec2Tags: new Map([['i-0aaa', tags]]) });
  for (const command of ['StopInstances', 'StartInstances', 'TerminateInstances']) {
    t.true(
      await allowed('ec2', command, { InstanceIds: ['i-0aaa'] }, tagged({ 'spotmax:group': 'web' })),
      command,
    );
    t.true(
      await allowed('ec2', command, { InstanceIds: ['i-0aaa'] }, tagged({ 'spotmax:standby-for': 'web' })),
    );
    t.false(await allowed('ec2', command, { InstanceIds: ['i-0aaa'] }, tagged({ Name: 'db' })), command);
  }
  t.true(
    await allowed(
      'ec2',
      'ModifyInstanceAttribute',
      { InstanceId: 'i-0aaa' },
      tagged({ 'spotmax:group': 'web' }),
    ),
  );
  t.false(await allowed('ec2', 'ModifyInstanceAttribute', { InstanceId: 'i-0aaa' }, tagged({})));
});

test('tags: spotmax writes only spotmax:* keys on existing resources', async (t) => {
  const input = (Key: string) => ({ Resources: ['i-0aaa'], Tags: [{ Key, Value: '1' }] });
  t.true(await allowed('ec2', 'CreateTags', input('spotmax:interrupted-at')));
  t.false(await allowed('ec2', 'CreateTags', input('Name')));
  t.false(await allowed('ec2', 'DeleteTags', input('team')));
  const asg = (Key: string) => ({
    Tags: [
      { ResourceId: 'web', ResourceType: 'auto-scaling-group', Key, Value: 'x', PropagateAtLaunch: false },
    ],
  });
  t.true(await allowed('autoscaling', 'CreateOrUpdateTags', asg('spotmax:group')));
  t.false(await allowed('autoscaling', 'CreateOrUpdateTags', asg('owner')));
});

test('groups: capacity changes only on groups tagged spotmax:group', async (t) => {
  const group = (tags: Record<string, string>) =>
    facts({
      groups: new Map([
        [
          'web',
          {
            arn: `arn:aws:autoscaling:${region}:${TEST_ACCOUNT}:autoScalingGroup:1f2e3d4c-0000-0000-0000-000000000000:autoScalingGroupName/web`,
            tags,
          },
        ],
      ]),
    });
  const detach = {
    AutoScalingGroupName: 'web',
    InstanceIds: ['i-0aaa'],
    ShouldDecrementDesiredCapacity: false,
  };
  t.true(await allowed('autoscaling', 'DetachInstances', detach, group({ 'spotmax:group': 'web' })));
  // Opted in with another spotmax:* tag but not yet tagged by the reconciler: AWS refuses.
  t.false(await allowed('autoscaling', 'DetachInstances', detach, group({ 'spotmax:policy': 'web' })));
  t.true(await allowed('autoscaling', 'DescribeAutoScalingGroups', {}));
});

test('the event queue is the placeholder the installation fills, metrics only into SpotMax, the table only spotmax*', async (t) => {
  const url = `https://sqs.${region}.amazonaws.com/${TEST_ACCOUNT}/any-queue-name`;
  t.true(await allowed('sqs', 'ReceiveMessage', { QueueUrl: url }));
  t.false(
    await allowed('sqs', 'ReceiveMessage', {
      QueueUrl: `https://sqs.${region}.amazonaws.com/210987654321/q`,
    }),
  );
  t.true(await allowed('cloudwatch', 'PutMetricData', { Namespace: 'SpotMax', MetricData: [] }));
  t.false(await allowed('cloudwatch', 'PutMetricData', { Namespace: 'AWS/EC2', MetricData: [] }));
  t.true(await allowed('dynamodb', 'PutItem', { TableName: 'spotmax-coordination' }));
  t.false(await allowed('dynamodb', 'PutItem', { TableName: 'orders' }));
});

test('implied permissions: PassRole for listed instance roles only, public AMI parameters, KMS via EC2 for AWS resources', async (t) => {
  const withProfile = (role: string) =>
    facts({ launchTemplate: { id: 'lt-0abc', imageId: 'ami-1', instanceRoleArn: role, kmsKeyIds: [] } });
  const launch = {
    LaunchTemplate: { LaunchTemplateId: 'lt-0abc' },
    MinCount: 1,
    MaxCount: 1,
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'spotmax:standby-for', Value: 'web' }] }],
  };
  t.true(
    await allowed(
      'ec2',
      'RunInstances',
      launch,
      withProfile(`arn:aws:iam::${TEST_ACCOUNT}:role/test-instance-role-web`),
    ),
  );
  const denied = await verdicts(
    'ec2',
    'RunInstances',
    launch,
    withProfile(`arn:aws:iam::${TEST_ACCOUNT}:role/admin`),
  );
  t.deepEqual(
    denied.filter((v) => v.result !== 'Allowed').map((v) => v.action),
    ['iam:PassRole'],
  );
  const ssm = (imageId: string) => facts({ launchTemplate: { id: 'lt-0abc', imageId, kmsKeyIds: [] } });
  t.true(
    await allowed(
      'ec2',
      'RunInstances',
      launch,
      ssm(
        'resolve:ssm:/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id',
      ),
    ),
  );
  t.false(await allowed('ec2', 'RunInstances', launch, ssm('resolve:ssm:/team/private/ami')));
  const kms = facts({
    launchTemplate: { id: 'lt-0abc', imageId: 'ami-1', kmsKeyIds: ['1234abcd-12ab-34cd-56ef-1234567890ab'] },
  });
  const v = await verdicts('ec2', 'RunInstances', launch, kms);
  t.true(v.some((x) => x.action === 'kms:CreateGrant' && x.result === 'Allowed'));
  t.true(v.every((x) => x.result === 'Allowed'));
  // A grant that is not for an AWS resource, or key use outside EC2, is refused.
  const key = `arn:aws:kms:${region}:${TEST_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const direct = await evaluate(
    [
      {
        action: 'kms:CreateGrant',
        source: 't',
        resources: [{ arn: key, type: 'key', context: { 'kms:GrantIsForAWSResource': 'false' } }],
      },
      {
        action: 'kms:Decrypt',
        source: 't',
        resources: [{ arn: key, type: 'key', context: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } }],
      },
    ],
    policy,
  );
  t.true(direct.every((x) => x.result !== 'Allowed'));
});

// ---- against moto: the facts are read from the emulator at the time of the call ---------------------

let moto: Moto;
test.before(async () => {
  moto = await startMoto();
});
test.after.always(async () => {
  await moto?.stop();
});

test.serial(
  'a launch from a template with an instance profile records iam:PassRole on the profile\u2019s role, read from moto',
  async (t) => {
    const raw = testClients(moto.endpoint);
    const iam = (params: Record<string, string>) =>
      queryApi(moto.endpoint, 'iam', region, { Version: '2010-05-08', ...params });
    await iam({
      Action: 'CreateRole',
      RoleName: 'test-instance-role-web',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      }),
    });
    await iam({ Action: 'CreateInstanceProfile', InstanceProfileName: 'web-nodes' });
    await iam({
      Action: 'AddRoleToInstanceProfile',
      InstanceProfileName: 'web-nodes',
      RoleName: 'test-instance-role-web',
    });
    await raw.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: 'web-lt',
        LaunchTemplateData: {
          ImageId: await testAmi(raw.ec2),
          InstanceType: 't3.micro',
          IamInstanceProfile: { Name: 'web-nodes' },
        },
      }),
    );
    const before = recordedIamRequests().length;
    const cloud = testCloud(moto.endpoint);
    await cloud.ec2.runInstances({
      launchTemplate: { name: 'web-lt', version: '$Latest' },
      market: 'on-demand',
      count: 1,
      tags: { 'spotmax:standby-for': 'web' },
    } as never);
    const mine = recordedIamRequests().slice(before);
    const pass = mine.find((r) => r.action === 'iam:PassRole');
    t.is(pass?.resources[0]?.arn, `arn:aws:iam::${TEST_ACCOUNT}:role/test-instance-role-web`);
    t.is(pass?.resources[0]?.context['iam:PassedToService'], 'ec2.amazonaws.com');
    const run = mine.find((r) => r.action === 'ec2:RunInstances');
    t.truthy(
      run?.resources.find((x) => x.type === 'launch-template' && x.arn.includes(':launch-template/lt-')),
    );
    t.true((await evaluate(mine, policy)).every((v) => v.result === 'Allowed'));
  },
);
