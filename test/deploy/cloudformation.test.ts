import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type Parameter,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { EventBridgeClient, ListTargetsByRuleCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import test from 'ava';
import { DEFAULT_MAX_ATTEMPTS } from '../../src/controllers/interruption/controller.js';
import { METRIC_NAMESPACE, MetricNames } from '../../src/observability/metric-names.js';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';
import { jsonApi, policyDocument, queryApi } from './aws-raw.js';
import { readTemplate, type Template } from './cfn-yaml.js';

// The CloudFormation template, three ways:
//  1. statically: parameters documented, references resolve, the wiring the issue asks for is there;
//  2. deployed into moto's CloudFormation: the stack completes and the resources exist and point at each
//     other (read back through each service's own API);
//  3. every EventBridge rule delivers a real-shaped event into the queue (moto routes PutEvents to SQS).
//
// moto gaps (moto 5.x CloudFormation has no model for these types; it accepts the template, lists them
// with an empty physical id, and creates nothing): AWS::SQS::QueuePolicy and AWS::CloudWatch::Alarm.
// They are checked statically in the tests whose names start with "moto gap", as is the coordination
// table's TimeToLiveSpecification, which moto's DynamoDB model ignores (the table itself is created). moto's ECS model also
// ignores TaskRoleArn/ExecutionRoleArn, DeploymentConfiguration and NetworkConfiguration, so those are
// checked in the template and the role itself is checked in IAM.

const TEMPLATE = 'deploy/cloudformation/spotmax.yaml';
const tpl: Template = readTemplate(TEMPLATE);
const res = (name: string) => {
  const r = tpl.Resources[name];
  if (!r) throw new Error(`${TEMPLATE} has no resource ${name}`);
  return r;
};
// biome-ignore lint/suspicious/noExplicitAny: template properties are free-form; each test reads the fields it checks
const props = (name: string) => (res(name).Properties ?? {}) as Record<string, any>;
const RULES = Object.entries(tpl.Resources)
  .filter(([, r]) => r.Type === 'AWS::Events::Rule')
  .map(([name]) => name);

/** Every Ref / GetAtt / Condition / Sub variable in the template. */
function references(
  node: unknown,
  out: { refs: string[]; conditions: string[] } = { refs: [], conditions: [] },
) {
  if (Array.isArray(node)) for (const n of node) references(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'Ref' && typeof v === 'string') out.refs.push(v);
      else if (k === 'Fn::GetAtt' && Array.isArray(v)) out.refs.push(String(v[0]));
      else if (
        // {Condition: X} alone is a condition reference; Condition inside a container's DependsOn is not.
        ((k === 'Condition' && Object.keys(node).length === 1) || k === 'Fn::If') &&
        (typeof v === 'string' || Array.isArray(v))
      ) {
        out.conditions.push(typeof v === 'string' ? v : String(v[0]));
        if (Array.isArray(v)) references(v.slice(1), out);
      } else if (k === 'Fn::Sub') {
        const [text, vars] = typeof v === 'string' ? [v, {}] : (v as [string, Record<string, unknown>]);
        for (const m of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const name = (m[1] as string).split('.')[0] as string;
          if (!(name in vars)) out.refs.push(name);
        }
        references(vars, out);
      } else references(v, out);
    }
  }
  return out;
}

// ---- 1. static ------------------------------------------------------------------------------------

test('every parameter is documented, and every reference and condition resolves', (t) => {
  for (const [name, p] of Object.entries(tpl.Parameters)) {
    t.true((p.Description ?? '').length > 20, `parameter ${name} needs a description`);
  }
  const { refs, conditions } = references(tpl.Resources);
  const outs = references(tpl.Outputs);
  const known = new Set([
    ...Object.keys(tpl.Parameters),
    ...Object.keys(tpl.Resources),
    'AWS::Region',
    'AWS::AccountId',
    'AWS::StackName',
    'AWS::Partition',
    'AWS::NoValue',
  ]);
  for (const r of [...refs, ...outs.refs]) t.true(known.has(r), `reference to unknown ${r}`);
  for (const c of [...conditions, ...outs.conditions])
    t.truthy(tpl.Conditions?.[c], `unknown condition ${c}`);
  for (const [name, r] of Object.entries(tpl.Resources)) {
    if (r.Condition) t.truthy(tpl.Conditions?.[r.Condition], `${name} uses unknown condition ${r.Condition}`);
  }
});

test('the queue keeps events for a lifecycle hook window, is encrypted, and redrives after as many deliveries as spotmax tries', (t) => {
  const q = props('EventQueue');
  // A terminate hook's heartbeat timeout is at most 7200 s: its message must outlive a restart mid-drain.
  t.is(q.MessageRetentionPeriod, 7200);
  t.is(q.RedrivePolicy.maxReceiveCount, DEFAULT_MAX_ATTEMPTS);
  t.true(q.SqsManagedSseEnabled);
  t.deepEqual(q.RedrivePolicy.deadLetterTargetArn, { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] });
  t.true(q.RedrivePolicy.maxReceiveCount >= 1);
  t.true(props('DeadLetterQueue').SqsManagedSseEnabled);
});

test('the five rules match the events spotmax handles and all target the queue', (t) => {
  const patterns = Object.fromEntries(RULES.map((r) => [r, props(r).EventPattern]));
  const detailTypes = Object.values(patterns).flatMap((p) => p['detail-type']);
  t.deepEqual(detailTypes.sort(), [
    'AWS Health Event',
    'EC2 Instance Rebalance Recommendation',
    'EC2 Instance State-change Notification',
    'EC2 Instance-launch Lifecycle Action',
    'EC2 Instance-terminate Lifecycle Action',
    'EC2 Spot Instance Interruption Warning',
  ]);
  t.deepEqual(patterns.HealthScheduledChangeRule.detail, {
    service: ['EC2'],
    eventTypeCategory: ['scheduledChange'],
  });
  for (const rule of RULES) {
    t.deepEqual(
      props(rule).Targets,
      [{ Id: 'spotmax-events', Arn: { 'Fn::GetAtt': ['EventQueue', 'Arn'] } }],
      rule,
    );
  }
});

test('moto gap: the queue policy (not modelled by moto) lets exactly these rules send to exactly this queue', (t) => {
  const qp = props('EventQueuePolicy');
  t.deepEqual(qp.Queues, [{ Ref: 'EventQueue' }]);
  const [stmt] = qp.PolicyDocument.Statement;
  t.deepEqual(stmt.Principal, { Service: 'events.amazonaws.com' });
  t.is(stmt.Action, 'sqs:SendMessage');
  t.deepEqual(stmt.Resource, { 'Fn::GetAtt': ['EventQueue', 'Arn'] });
  t.deepEqual(
    stmt.Condition.ArnEquals['aws:SourceArn'],
    RULES.map((r) => ({ 'Fn::GetAtt': [r, 'Arn'] })),
  );
});

test('moto gap: the alarms (not modelled by moto) watch the dead-letter queue and spotmax error metrics', (t) => {
  const dlq = props('DeadLetterQueueAlarm');
  t.is(dlq.Namespace, 'AWS/SQS');
  t.deepEqual(dlq.Dimensions, [
    { Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } },
  ]);
  t.is(dlq.Threshold, 0);
  const errors = props('ErrorsAlarm');
  t.is(errors.Namespace, METRIC_NAMESPACE);
  t.is(errors.MetricName, MetricNames.Errors);
  t.is(errors.Statistic, 'Sum');
  for (const [name, r] of Object.entries(tpl.Resources)) {
    if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
    const p = r.Properties as Record<string, unknown>;
    if (p.Namespace === METRIC_NAMESPACE)
      t.true(
        Object.values(MetricNames).includes(p.MetricName as never),
        `${name}: unknown metric ${p.MetricName}`,
      );
  }
});

test('moto gap: the coordination table expires claims through TTL on expiresAt (moto ignores the TTL setting)', (t) => {
  const table = props('CoordinationTable');
  t.deepEqual(table.TimeToLiveSpecification, { AttributeName: 'expiresAt', Enabled: true });
  t.is(table.BillingMode, 'PAY_PER_REQUEST');
  t.deepEqual(table.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }]);
  // Coordination state is minutes old at most: no backup, and nothing to keep when the stack goes.
  t.is(table.PointInTimeRecoverySpecification, undefined);
  t.is(res('CoordinationTable').DeletionPolicy, 'Delete');
});

test('the service runs two coordinated tasks and deploys without a gap; no inbound traffic', (t) => {
  const svc = props('Service');
  t.deepEqual(svc.DeploymentConfiguration.MinimumHealthyPercent, 100);
  t.deepEqual(svc.DeploymentConfiguration.MaximumPercent, 200);
  t.deepEqual(svc.DesiredCount, { Ref: 'DesiredCount' });
  t.is(tpl.Parameters.DesiredCount?.Default, 2);
  t.deepEqual(svc.Cluster, { 'Fn::If': ['CreateCluster', { Ref: 'Cluster' }, { Ref: 'ClusterName' }] });
  t.deepEqual(svc.NetworkConfiguration.AwsvpcConfiguration.Subnets, { Ref: 'Subnets' });
  const sg = props('TaskSecurityGroup');
  t.is(sg.SecurityGroupIngress, undefined);
  t.is(res('Cluster').Condition, 'CreateCluster');
});

test('the task security group lets the task out to Consul on 8500 and 8501 (HTTP and HTTPS, as deploy/README says), and is an output', (t) => {
  const egress = props('TaskSecurityGroup').SecurityGroupEgress as { IpProtocol: string; FromPort: number }[];
  const tcp = egress.filter((e) => e.IpProtocol === 'tcp').map((e) => e.FromPort);
  t.deepEqual(tcp, [443, 6443, 8500, 8501]);
  t.deepEqual(tpl.Outputs?.TaskSecurityGroupId?.Value, {
    'Fn::If': ['CreateSecurityGroup', { Ref: 'TaskSecurityGroup' }, { Ref: 'SecurityGroupId' }],
  });
  // Every port the deployment guide names for the task's traffic is one the stack's group allows.
  const guide = readFileSync('deploy/README.md', 'utf8');
  for (const port of guide.matchAll(/--port (\d+)/g))
    t.true(tcp.includes(Number(port[1])), `port ${port[1]}`);
  t.regex(guide, /--port 8501 for HTTPS/);
  t.regex(guide, /OutputKey=='TaskSecurityGroupId'/);
});

test('the task runs with the task role, logs to the log group and gets region, queue and policy path', (t) => {
  const td = props('TaskDefinition');
  t.deepEqual(td.TaskRoleArn, { 'Fn::GetAtt': ['TaskRole', 'Arn'] });
  t.deepEqual(td.ExecutionRoleArn, { 'Fn::GetAtt': ['ExecutionRole', 'Arn'] });
  t.deepEqual(td.Cpu, { Ref: 'TaskCpu' });
  t.deepEqual(td.Memory, { Ref: 'TaskMemory' });
  t.deepEqual(props('LogGroup').RetentionInDays, { Ref: 'LogRetentionDays' });
  const [, withGitSync, baked] = td.ContainerDefinitions['Fn::If'];
  for (const containers of [withGitSync, baked]) {
    const main = containers.find((c: { Name: string }) => c.Name === 'spotmax');
    const env = Object.fromEntries(
      main.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]),
    );
    t.deepEqual(env.AWS_REGION, { Ref: 'AWS::Region' });
    t.deepEqual(env.SPOTMAX_QUEUE_URL, { Ref: 'EventQueue' });
    t.deepEqual(env.SPOTMAX_COORDINATION_TABLE, { Ref: 'CoordinationTable' });
    t.truthy(env.SPOTMAX_POLICIES);
    t.true(main.ReadonlyRootFilesystem);
    t.is(main.LogConfiguration.LogDriver, 'awslogs');
    t.deepEqual(main.LogConfiguration.Options['awslogs-group'], { Ref: 'LogGroup' });
    // The same probe as the Dockerfile's HEALTHCHECK.
    const probe = main.HealthCheck.Command.at(-1);
    t.true(readFileSync('Dockerfile', 'utf8').includes(probe), 'health probe matches the Dockerfile');
  }
  const bakedEnv = baked[0].Environment.find((e: { Name: string }) => e.Name === 'SPOTMAX_POLICIES');
  t.is(bakedEnv.Value, '/policies');
});

test('PolicySource=git-sync adds a git-sync v4 sidecar writing a checkout the main container reads', (t) => {
  t.deepEqual(tpl.Parameters.PolicySource?.AllowedValues, ['image', 'git-sync']);
  t.is(tpl.Parameters.PolicySource?.Default, 'image');
  t.regex(
    String(tpl.Parameters.GitSyncImage?.Default),
    /^registry\.k8s\.io\/git-sync\/git-sync:v4\.\d+\.\d+$/,
  );
  const [, withGitSync] = props('TaskDefinition').ContainerDefinitions['Fn::If'];
  const [main, sync, init] = withGitSync;
  t.is(sync.Name, 'git-sync');
  // Fargate volumes are root-owned: a one-shot root chown hands them to git-sync's user before it starts.
  t.deepEqual(sync.DependsOn, [{ ContainerName: 'volume-permissions', Condition: 'SUCCESS' }]);
  t.is(init.Name, 'volume-permissions');
  t.is(init.User, '0');
  t.false(init.Essential);
  t.deepEqual([...init.EntryPoint, ...init.Command], ['chown', '65533:65533', '/git', '/git-sync-tmp']);
  t.not(sync.User, '0', 'git-sync itself stays non-root');
  t.false(sync.Essential, 'an unreachable repository must not stop spotmax');
  const env = Object.fromEntries(
    sync.Environment.filter((e: object) => 'Name' in e).map((e: { Name: string; Value: unknown }) => [
      e.Name,
      e.Value,
    ]),
  );
  t.deepEqual(env.GITSYNC_REPO, { Ref: 'PolicyRepoUrl' });
  t.is(env.GITSYNC_ROOT, '/git');
  t.is(env.GITSYNC_LINK, 'current');
  t.deepEqual(sync.MountPoints[0], { SourceVolume: 'policies', ContainerPath: '/git' });
  t.deepEqual(main.MountPoints[1], { SourceVolume: 'policies', ContainerPath: '/git', ReadOnly: true });
  const policiesEnv = main.Environment.find((e: { Name: string }) => e.Name === 'SPOTMAX_POLICIES');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
  t.deepEqual(policiesEnv.Value, { 'Fn::Sub': '/git/current/${PolicyRepoPath}' });
});

test('the dashboard shows interruptions, detach lag, standby hits, drains and fallbacks', (t) => {
  const body = props('Dashboard').DashboardBody['Fn::Sub'][0] as string;
  for (const m of [
    MetricNames.Interruptions,
    MetricNames.DetachLag,
    MetricNames.StandbyHits,
    MetricNames.Drains,
    MetricNames.Fallbacks,
  ]) {
    t.true(body.includes(`MetricName=\\"${m}\\"`), m);
  }
  for (const m of body.matchAll(/MetricName=\\"([A-Za-z]+)\\"/g))
    t.true(Object.values(MetricNames).includes(m[1] as never), `dashboard uses unknown metric ${m[1]}`);
});

// ---- 2 and 3. moto --------------------------------------------------------------------------------

let moto: Moto;
let cfg: { region: string; endpoint: string; credentials: typeof TEST_CREDENTIALS };
let subnetId: string;
let vpcId: string;

test.before(async () => {
  moto = await startMoto();
  cfg = { region: TEST_REGION, endpoint: moto.endpoint, credentials: TEST_CREDENTIALS };
  const ec2 = new EC2Client(cfg);
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  vpcId = vpc.Vpc?.VpcId as string;
  const sub = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.1.0/24' }));
  subnetId = sub.Subnet?.SubnetId as string;
});
test.after.always(async () => {
  await moto?.stop();
});

async function deploy(stackName: string, extra: Record<string, string> = {}) {
  const cfn = new CloudFormationClient(cfg);
  const params: Record<string, string> = {
    ImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/spotmax:0.1.0',
    VpcId: vpcId,
    Subnets: subnetId,
    ...extra,
  };
  await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify(tpl),
      Capabilities: ['CAPABILITY_IAM'],
      Parameters: Object.entries(params).map(
        ([ParameterKey, ParameterValue]): Parameter => ({ ParameterKey, ParameterValue }),
      ),
    }),
  );
  const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  const outputs = Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const summaries =
    (await cfn.send(new ListStackResourcesCommand({ StackName: stackName }))).StackResourceSummaries ?? [];
  const physical = Object.fromEntries(
    summaries
      .filter((s) => s.LogicalResourceId)
      .map((s) => [s.LogicalResourceId, s.PhysicalResourceId as string]),
  );
  return { status: stack?.StackStatus, outputs, physical, summaries };
}

// moto's ECS JSON API (no ECS SDK client is installed).
async function describeTaskDefinition(arn: string) {
  const out = await jsonApi(
    moto.endpoint,
    'ecs',
    TEST_REGION,
    'AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition',
    {
      taskDefinition: arn,
    },
  );
  // biome-ignore lint/suspicious/noExplicitAny: container definitions are read field by field below
  return out.taskDefinition as { containerDefinitions: any[]; volumes: { name: string }[] };
}

const loadPolicyFile = () => JSON.parse(readFileSync('deploy/iam/spotmax-policy.json', 'utf8'));

// With the optional instance roles and KMS keys given: without them their statements are AWS::NoValue,
// which CloudFormation drops and moto leaves as null entries (a moto gap).
const INSTANCE_ROLE = 'arn:aws:iam::123456789012:role/web-instance';
const EBS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

test.serial('the template deploys into moto and its resources exist and reference each other', async (t) => {
  const stack = await deploy('spotmax', { InstanceRoleArns: INSTANCE_ROLE, EbsKmsKeyArns: EBS_KEY });
  t.is(stack.status, 'CREATE_COMPLETE');
  // Every template resource is accounted for (the unmodelled ones with an empty id, see the header).
  t.is(stack.summaries.length, Object.keys(tpl.Resources).length);
  const modelled = Object.keys(tpl.Resources).filter(
    (r) => !['AWS::SQS::QueuePolicy', 'AWS::CloudWatch::Alarm'].includes(res(r).Type),
  );
  t.deepEqual(Object.keys(stack.physical).sort(), modelled.sort());

  // Queue: retention, SSE, redrive into the DLQ of the same stack.
  const sqs = new SQSClient(cfg);
  const queueUrl = stack.outputs.QueueUrl as string;
  const attrs =
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] })))
      .Attributes ?? {};
  t.is(attrs.MessageRetentionPeriod, '7200');
  t.is(attrs.SqsManagedSseEnabled, 'true');
  const dlqArn = (
    await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: stack.outputs.DeadLetterQueueUrl,
        AttributeNames: ['QueueArn'],
      }),
    )
  ).Attributes?.QueueArn;
  t.is(JSON.parse(attrs.RedrivePolicy as string).deadLetterTargetArn, dlqArn);
  t.is(attrs.QueueArn, stack.outputs.QueueArn);

  // Rules target the queue's ARN.
  const events = new EventBridgeClient(cfg);
  for (const rule of RULES) {
    const targets =
      (await events.send(new ListTargetsByRuleCommand({ Rule: stack.physical[rule] }))).Targets ?? [];
    t.deepEqual(
      targets.map((x) => x.Arn),
      [attrs.QueueArn],
      rule,
    );
  }

  // Task role: exists with the policy file's statements, the queue statement narrowed to this queue.
  const roleName = stack.physical.TaskRole as string;
  t.true((stack.outputs.TaskRoleArn ?? '').endsWith(`:role/${roleName}`));
  const xml = await queryApi(moto.endpoint, 'iam', TEST_REGION, {
    Action: 'GetRolePolicy',
    RoleName: roleName,
    PolicyName: 'spotmax',
    Version: '2010-05-08',
  });
  const live = policyDocument(xml);
  // Coordination table: as the adapter expects it (string key pk, TTL on expiresAt), on demand.
  const dynamodb = new DynamoDBClient(cfg);
  const tableName = stack.physical.CoordinationTable as string;
  t.is(tableName, 'spotmax-coordination');
  t.is(stack.outputs.CoordinationTableName, tableName);
  const table = (await dynamodb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  t.deepEqual(table?.KeySchema, [{ AttributeName: 'pk', KeyType: 'HASH' }]);
  t.deepEqual(table?.AttributeDefinitions, [{ AttributeName: 'pk', AttributeType: 'S' }]);
  t.is(table?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');

  const expected = loadPolicyFile();
  for (const s of expected.Statement) if (s.Sid === 'EventQueue') s.Resource = attrs.QueueArn;
  for (const s of expected.Statement) if (s.Sid === 'CoordinationTable') s.Resource = table?.TableArn;
  // A CommaDelimitedList parameter becomes a list of ARNs.
  for (const s of expected.Statement) if (s.Resource === 'INSTANCE_ROLE_ARN') s.Resource = [INSTANCE_ROLE];
  for (const s of expected.Statement) if (s.Resource === 'EBS_KMS_KEY_ARN') s.Resource = [EBS_KEY];
  // EventsBusName defaults to the account's default bus.
  for (const s of expected.Statement)
    if (s.Sid === 'PublishEvents')
      s.Resource = `arn:aws:events:${TEST_REGION}:123456789012:event-bus/default`;
  t.deepEqual(live.Statement, expected.Statement);

  // Task definition: the image, the environment the code reads, the log group.
  const containers = (await describeTaskDefinition(stack.physical.TaskDefinition as string))
    .containerDefinitions;
  t.deepEqual(
    containers.map((c) => c.name),
    ['spotmax'],
  );
  const env = Object.fromEntries(
    containers[0].environment.map((e: { name: string; value: string }) => [e.name, e.value]),
  );
  t.deepEqual(env, {
    AWS_REGION: TEST_REGION,
    SPOTMAX_QUEUE_URL: queueUrl,
    SPOTMAX_COORDINATION_TABLE: tableName,
    SPOTMAX_POLICIES: '/policies',
    // Notifications go to the stack's EventsBusName, the account's default bus unless told.
    SPOTMAX_EVENTS_BUS: 'default',
  });
  t.deepEqual(containers[0].command, ['run', '--cloud', 'aws']);
  t.is(containers[0].logConfiguration.options['awslogs-group'], stack.outputs.LogGroupName);

  // Service in the created cluster, running the task definition.
  const svc = await jsonApi(
    moto.endpoint,
    'ecs',
    TEST_REGION,
    'AmazonEC2ContainerServiceV20141113.DescribeServices',
    { cluster: stack.outputs.ClusterName, services: [stack.outputs.ServiceName] },
  );
  const [service] = svc.services as { desiredCount: number; taskDefinition: string }[];
  t.is(service?.desiredCount, 2);
  t.is(service?.taskDefinition, stack.physical.TaskDefinition);

  // Log group retention, security group without inbound rules, the dashboard.
  const groups = await jsonApi(moto.endpoint, 'logs', TEST_REGION, 'Logs_20140328.DescribeLogGroups', {
    logGroupNamePrefix: '/ecs/spotmax',
  });
  t.is((groups.logGroups as { retentionInDays: number }[])[0]?.retentionInDays, 30);
  const sg = (
    await new EC2Client(cfg).send(
      new DescribeSecurityGroupsCommand({ GroupIds: [stack.physical.TaskSecurityGroup as string] }),
    )
  ).SecurityGroups?.[0];
  t.deepEqual(sg?.IpPermissions, []);
  t.is(
    stack.outputs.TaskSecurityGroupId,
    stack.physical.TaskSecurityGroup,
    'the output names the group made',
  );
  const dash = await new CloudWatchClient(cfg).send(new GetDashboardCommand({ DashboardName: 'spotmax' }));
  const body = JSON.parse(dash.DashboardBody as string) as {
    widgets: { properties: { title: string; query?: string } }[];
  };
  t.true(body.widgets.length >= 6);
  t.true(JSON.stringify(body).includes('spotmax-events-dlq'), 'the dashboard names the resolved DLQ');
  t.true(body.widgets.some((w) => w.properties.query?.includes("SOURCE '/ecs/spotmax'")));
});

test.serial(
  'every EventBridge rule delivers its sample event into the queue, and an unmatched event is not delivered',
  async (t) => {
    const stack = await deploy('spotmax-deliver');
    const events = new EventBridgeClient(cfg);
    const sqs = new SQSClient(cfg);
    const fixture = (name: string) => JSON.parse(readFileSync(`test/fixtures/events/${name}.json`, 'utf8'));
    const samples: Record<string, string> = {
      SpotInterruptionRule: 'spot-interruption-warning',
      RebalanceRecommendationRule: 'rebalance-recommendation',
      InstanceStateChangeRule: 'state-change-notification',
      LifecycleActionRule: 'lifecycle-terminate-action',
      HealthScheduledChangeRule: 'health-scheduled-change',
    };
    t.deepEqual(Object.keys(samples).sort(), [...RULES].sort(), 'one sample per rule');
    const entries = [...Object.entries(samples), ['LifecycleActionRule', 'lifecycle-launch-action']].map(
      ([rule, file]) => {
        const ev = fixture(file as string);
        // A marker in the detail says which sample arrived; extra detail fields do not affect matching.
        return {
          Source: ev.source,
          DetailType: ev['detail-type'],
          Resources: ev.resources,
          Detail: JSON.stringify({ ...ev.detail, 'spotmax-sample': `${rule}/${file}` }),
        };
      },
    );
    const running = fixture('state-change-notification');
    entries.push({
      Source: 'aws.ec2',
      DetailType: running['detail-type'],
      Resources: running.resources,
      Detail: JSON.stringify({ ...running.detail, state: 'running', 'spotmax-sample': 'unmatched' }),
    });
    const put = await events.send(new PutEventsCommand({ Entries: entries }));
    t.is(put.FailedEntryCount ?? 0, 0);

    const seen: { source: string; 'detail-type': string; detail: Record<string, unknown> }[] = [];
    // Drain the queue until a receive comes back empty, so a wrongly delivered event would be seen too.
    for (let i = 0; i < 10; i++) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: stack.outputs.QueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: seen.length >= 6 ? 0 : 1,
        }),
      );
      if (!out.Messages?.length && seen.length >= 6) break;
      for (const m of out.Messages ?? []) seen.push(JSON.parse(m.Body as string));
    }
    const markers = seen.map((e) => e.detail['spotmax-sample']).sort();
    t.deepEqual(markers, [
      'HealthScheduledChangeRule/health-scheduled-change',
      'InstanceStateChangeRule/state-change-notification',
      'LifecycleActionRule/lifecycle-launch-action',
      'LifecycleActionRule/lifecycle-terminate-action',
      'RebalanceRecommendationRule/rebalance-recommendation',
      'SpotInterruptionRule/spot-interruption-warning',
    ]);
    // Delivered as the EventBridge envelope the fast path parses.
    const warning = seen.find((e) => e['detail-type'] === 'EC2 Spot Instance Interruption Warning');
    t.is(warning?.source, 'aws.ec2');
    t.is(warning?.detail['instance-id'], 'i-1234567890abcdef0');
  },
);

test.serial('PolicySource=git-sync deploys a two-container task sharing the policies volume', async (t) => {
  const stack = await deploy('spotmax-gitops', {
    PolicySource: 'git-sync',
    PolicyRepoUrl: 'https://github.com/acme/spot-policies.git',
    PolicyRepoPath: 'prod',
    PolicyRepoTokenSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:spot-policies-token',
    DryRun: 'true',
  });
  t.is(stack.status, 'CREATE_COMPLETE');
  const def = await describeTaskDefinition(stack.physical.TaskDefinition as string);
  t.deepEqual(def.volumes.map((v) => v.name).sort(), ['git-sync-tmp', 'policies', 'tmp']);
  const [main, sync, init] = def.containerDefinitions;
  t.deepEqual(main.command, ['run', '--cloud', 'aws', '--dry-run']);
  t.deepEqual(sync.dependsOn, [{ containerName: 'volume-permissions', condition: 'SUCCESS' }]);
  t.is(init.image, '123456789012.dkr.ecr.us-east-1.amazonaws.com/spotmax:0.1.0');
  t.is(
    main.environment.find((e: { name: string }) => e.name === 'SPOTMAX_POLICIES').value,
    '/git/current/prod',
  );
  t.is(sync.image, 'registry.k8s.io/git-sync/git-sync:v4.4.0');
  const env = Object.fromEntries(
    sync.environment.map((e: { name: string; value: string }) => [e.name, e.value]),
  );
  t.like(env, {
    GITSYNC_REPO: 'https://github.com/acme/spot-policies.git',
    GITSYNC_REF: 'main',
    GITSYNC_ROOT: '/git',
    GITSYNC_LINK: 'current',
    GITSYNC_PERIOD: '60s',
    GITSYNC_USERNAME: 'git',
  });
  t.deepEqual(sync.secrets, [
    {
      name: 'GITSYNC_PASSWORD',
      valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:spot-policies-token',
    },
  ]);
  // The execution role may read exactly that secret.
  const xml = await queryApi(moto.endpoint, 'iam', TEST_REGION, {
    Action: 'GetRolePolicy',
    RoleName: stack.physical.ExecutionRole as string,
    PolicyName: 'read-policy-repo-token',
    Version: '2010-05-08',
  });
  const doc = policyDocument(xml);
  t.deepEqual(
    doc.Statement[0]?.Resource,
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:spot-policies-token',
  );
  t.is(stack.physical.Cluster, 'spotmax-gitops', 'no ClusterName: a cluster named after the stack');
});

test.serial(
  'ConsulTokenSecretArn: the spotmax container gets the ACL token as SPOTMAX_CONSUL_TOKEN, the execution role reads that secret only',
  async (t) => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:consul-spotmax-token';
    const stack = await deploy('spotmax-consul', { ConsulTokenSecretArn: arn });
    t.is(stack.status, 'CREATE_COMPLETE');
    const def = await describeTaskDefinition(stack.physical.TaskDefinition as string);
    const [main] = def.containerDefinitions;
    t.deepEqual(main.secrets, [{ name: 'SPOTMAX_CONSUL_TOKEN', valueFrom: arn }]);
    const names = await queryApi(moto.endpoint, 'iam', TEST_REGION, {
      Action: 'ListRolePolicies',
      RoleName: stack.physical.ExecutionRole as string,
      Version: '2010-05-08',
    });
    t.deepEqual(
      [...names.matchAll(/<member>([^<]+)<\/member>/g)].map((m) => m[1]),
      ['read-consul-token'],
    );
    const xml = await queryApi(moto.endpoint, 'iam', TEST_REGION, {
      Action: 'GetRolePolicy',
      RoleName: stack.physical.ExecutionRole as string,
      PolicyName: 'read-consul-token',
      Version: '2010-05-08',
    });
    const doc = policyDocument(xml);
    t.deepEqual(doc.Statement[0]?.Action, 'secretsmanager:GetSecretValue');
    t.deepEqual(doc.Statement[0]?.Resource, arn);

    // Without it: no secret on the container and no inline policy on the execution role.
    const plain = await deploy('spotmax-no-consul');
    const [plainMain] = (await describeTaskDefinition(plain.physical.TaskDefinition as string))
      .containerDefinitions;
    t.deepEqual(plainMain.secrets ?? [], []);
    const none = await queryApi(moto.endpoint, 'iam', TEST_REGION, {
      Action: 'ListRolePolicies',
      RoleName: plain.physical.ExecutionRole as string,
      Version: '2010-05-08',
    });
    t.deepEqual([...none.matchAll(/<member>([^<]+)<\/member>/g)], []);
  },
);

test.serial('an existing cluster and security group are used instead of creating them', async (t) => {
  await jsonApi(moto.endpoint, 'ecs', TEST_REGION, 'AmazonEC2ContainerServiceV20141113.CreateCluster', {
    clusterName: 'platform',
  });
  const stack = await deploy('spotmax-shared', {
    ClusterName: 'platform',
    SecurityGroupId: 'sg-0123456789abcdef0',
  });
  t.is(stack.status, 'CREATE_COMPLETE');
  t.false('Cluster' in stack.physical);
  t.false('TaskSecurityGroup' in stack.physical);
  t.is(stack.outputs.ClusterName, 'platform');
  t.is(stack.outputs.TaskSecurityGroupId, 'sg-0123456789abcdef0', 'the output names the group given');
  const svc = await jsonApi(
    moto.endpoint,
    'ecs',
    TEST_REGION,
    'AmazonEC2ContainerServiceV20141113.DescribeServices',
    { cluster: 'platform', services: [stack.outputs.ServiceName] },
  );
  t.is((svc.services as unknown[]).length, 1);
});

test('missing parameters are refused up front: the image, the network, and a repository for git-sync', (t) => {
  for (const p of ['ImageUri', 'VpcId', 'Subnets'])
    t.is(tpl.Parameters[p]?.Default, undefined, `${p} has no default`);
  t.is((tpl.Parameters.ImageUri as { AllowedPattern?: string }).AllowedPattern, '.+');
  const rules = tpl.Rules as Record<
    string,
    { RuleCondition: unknown; Assertions: { Assert: unknown; AssertDescription: string }[] }
  >;
  const rule = rules.GitSyncNeedsARepository;
  t.deepEqual(rule?.RuleCondition, { 'Fn::Equals': [{ Ref: 'PolicySource' }, 'git-sync'] });
  t.deepEqual(rule?.Assertions[0]?.Assert, { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PolicyRepoUrl' }, ''] }] });
  t.regex(rule?.Assertions[0]?.AssertDescription ?? '', /PolicyRepoUrl/);
});

test.serial('moto refuses a stack without the required parameters', async (t) => {
  const cfn = new CloudFormationClient(cfg);
  const err = await t.throwsAsync(
    cfn.send(
      new CreateStackCommand({
        StackName: 'spotmax-missing',
        TemplateBody: JSON.stringify(tpl),
        Capabilities: ['CAPABILITY_IAM'],
      }),
    ),
  );
  t.regex(err?.message ?? '', /ImageUri|VpcId|Subnets|parameter/i);
});

test('every SpotMax metric the dashboard and alarms use is published by the code', (t) => {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
    });
  const code = walk('src')
    .filter((f) => !f.endsWith(join('observability', 'metric-names.ts')))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const raw = readFileSync(TEMPLATE, 'utf8');
  const used = new Set([
    ...[...raw.matchAll(/MetricName=\\"([A-Za-z]+)\\"/g)].map((m) => m[1] as string),
    ...[...raw.matchAll(/\["SpotMax", "([A-Za-z]+)"/g)].map((m) => m[1] as string),
    ...Object.values(tpl.Resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties?.Namespace === METRIC_NAMESPACE)
      .map((r) => r.Properties?.MetricName as string),
  ]);
  t.true(used.size >= 8, [...used].join(', '));
  const keyOf = (name: string) => Object.entries(MetricNames).find(([, v]) => v === name)?.[0];
  for (const name of used) {
    const key = keyOf(name);
    t.truthy(key, `${name} is not in src/observability/metric-names.ts`);
    const published =
      code.includes(`'${name}'`) || (key !== undefined && code.includes(`MetricNames.${key}`));
    t.true(published, `the template uses ${name}, but no code under src/ publishes it`);
  }
});
