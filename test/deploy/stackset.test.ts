import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import {
  CloudFormationClient,
  CreateStackInstancesCommand,
  CreateStackSetCommand,
  ListStackInstancesCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import test from 'ava';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';
import { jsonApi, queryApi, xmlValue } from './aws-raw.js';
import { readTemplate } from './cfn-yaml.js';
import { IMAGE, makeStackSetTemplate, STACKSET_TEMPLATE, stackSetTemplateText } from './stackset-template.js';

// Every region and account (issue 14.3): the StackSet edition of the stack is generated from
// spotmax.yaml (so they cannot drift), every template is cfn-lint clean (errors and warnings), and the
// StackSet deploys with service-managed permissions into an organization's OU in two regions of moto:
// the stack in each (account, region) pulls the image from its own region's ECR replica and finds its
// network in that account's SSM parameters.

const BASE = 'deploy/cloudformation/spotmax.yaml';
const base = readTemplate(BASE);

test('the StackSet template is the one `npm run stackset` makes from spotmax.yaml', (t) => {
  t.is(
    readFileSync(STACKSET_TEMPLATE, 'utf8'),
    stackSetTemplateText(base),
    `${STACKSET_TEMPLATE} is stale: run \`npm run stackset\` and commit it`,
  );
});

test('it differs from spotmax.yaml only where accounts and regions differ: image, network, description', (t) => {
  const ss = makeStackSetTemplate(base);
  t.false('ImageUri' in ss.Parameters);
  t.is(ss.Parameters.VpcId?.Type, 'AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>');
  t.is(ss.Parameters.Subnets?.Type, 'AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>');
  const images = JSON.stringify(ss.Resources).match(/"Image":\{"Fn::Sub":"[^"]+"\}/g) ?? [];
  const baseImages = JSON.stringify(base.Resources).match(/"Image":\{"Ref":"ImageUri"\}/g) ?? [];
  t.true(baseImages.length >= 1);
  t.is(images.length, baseImages.length, 'every container that ran ImageUri runs the regional replica');
  // Everything else is the same template.
  const back = JSON.parse(
    JSON.stringify(ss.Resources).replaceAll(JSON.stringify({ 'Fn::Sub': IMAGE }), '{"Ref":"ImageUri"}'),
  );
  t.deepEqual(back, base.Resources);
  t.deepEqual(ss.Conditions, base.Conditions);
  t.deepEqual(ss.Outputs, base.Outputs);
  const { ImageUri: _i, VpcId: _v, Subnets: _s, ...sharedBase } = base.Parameters;
  const {
    ImageRegistryAccount: _a,
    ImageRepositoryName: _r,
    ImageTag: _g,
    VpcId: _v2,
    Subnets: _s2,
    ...shared
  } = ss.Parameters;
  t.deepEqual(shared, sharedBase);
});

// Every CloudFormation template ships in one of these folders.
const TEMPLATE_DIRS = ['deploy/cloudformation', 'deploy/eventbridge'];

test('every template is cfn-lint clean: no error, no warning', (t) => {
  const templates = TEMPLATE_DIRS.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .map((f) => `${dir}/${f}`),
  );
  t.true(templates.includes(BASE) && templates.includes(STACKSET_TEMPLATE));
  t.true(templates.includes('deploy/eventbridge/slack-chatbot.yaml'));
  const r = spawnSync('cfn-lint', ['--format', 'parseable', ...templates], { encoding: 'utf8' });
  if (r.error)
    throw new Error(
      `cfn-lint was not found (${r.error.message}): install it with \`python3 -m pip install cfn-lint\``,
    );
  // cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
  t.is(r.status, 0, `cfn-lint:\n${r.stdout}${r.stderr}`);
  t.is(r.stdout.trim(), '');
});

test('`npm run lint` runs cfn-lint on every template', (t) => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  t.regex(
    pkg.scripts.lint,
    /cfn-lint deploy\/cloudformation\/\*\.yaml deploy\/cloudformation\/\*\.json deploy\/eventbridge\/\*\.yaml/,
  );
  t.regex(pkg.scripts.stackset, /write-stackset-template\.ts/);
});

// ---- deployed as a StackSet into moto -------------------------------------------------------------

const REGIONS = [TEST_REGION, 'eu-west-1'];
const ORG_API = 'AWSOrganizationsV20161128';
let moto: Moto;

test.before(async () => {
  moto = await startMoto();
});
test.after.always(async () => {
  await moto?.stop();
});

/** Credentials acting in `account` (moto maps an assumed role's key to the role's account). */
async function assume(account: string) {
  const xml = await queryApi(moto.endpoint, 'sts', TEST_REGION, {
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
    RoleSessionName: 'stackset-test',
  });
  return {
    accessKeyId: xmlValue(xml, 'AccessKeyId') as string,
    secretAccessKey: xmlValue(xml, 'SecretAccessKey') as string,
    sessionToken: xmlValue(xml, 'SessionToken') as string,
  };
}

test.serial(
  'the StackSet deploys with service-managed permissions into an OU in two regions: queue, table and task in each, image from the region',
  async (t) => {
    const org = (target: string, body: object) =>
      jsonApi(moto.endpoint, 'organizations', TEST_REGION, `${ORG_API}.${target}`, body);
    await org('CreateOrganization', { FeatureSet: 'ALL' });
    const rootId = ((await org('ListRoots', {})).Roots as { Id: string }[])[0]?.Id as string;
    const ou = (
      (await org('CreateOrganizationalUnit', { ParentId: rootId, Name: 'workloads' })).OrganizationalUnit as {
        Id: string;
      }
    ).Id;
    const created = (await org('CreateAccount', { AccountName: 'team-a', Email: 'team-a@example.com' }))
      .CreateAccountStatus as { AccountId: string };
    const account = created.AccountId;
    await org('MoveAccount', { AccountId: account, SourceParentId: rootId, DestinationParentId: ou });

    // What each account publishes in each region: its network, in SSM.
    const creds = await assume(account);
    for (const region of REGIONS) {
      const ec2 = new EC2Client({ region, endpoint: moto.endpoint, credentials: creds });
      const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc?.VpcId as string;
      const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.1.1.0/24' })))
        .Subnet?.SubnetId as string;
      const ssm = (body: object) =>
        jsonApi(moto.endpoint, 'ssm', region, 'AmazonSSM.PutParameter', body, creds.accessKeyId);
      await ssm({ Name: '/spotmax/network/vpc-id', Type: 'String', Value: vpc });
      await ssm({ Name: '/spotmax/network/subnet-ids', Type: 'StringList', Value: subnet });
    }

    const cfn = new CloudFormationClient({
      region: TEST_REGION,
      endpoint: moto.endpoint,
      credentials: TEST_CREDENTIALS,
    });
    await cfn.send(
      new CreateStackSetCommand({
        StackSetName: 'spotmax',
        TemplateBody: readFileSync(STACKSET_TEMPLATE, 'utf8'),
        PermissionModel: 'SERVICE_MANAGED',
        AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
        Capabilities: ['CAPABILITY_IAM'],
        Parameters: [
          { ParameterKey: 'ImageRegistryAccount', ParameterValue: '111122223333' },
          { ParameterKey: 'ImageTag', ParameterValue: '0.1.0' },
        ],
      }),
    );
    await cfn.send(
      new CreateStackInstancesCommand({
        StackSetName: 'spotmax',
        DeploymentTargets: { OrganizationalUnitIds: [ou] },
        Regions: REGIONS,
        OperationPreferences: { RegionConcurrencyType: 'PARALLEL', MaxConcurrentPercentage: 100 },
      }),
    );
    const instances =
      (await cfn.send(new ListStackInstancesCommand({ StackSetName: 'spotmax' }))).Summaries ?? [];
    t.deepEqual(
      instances.map((i) => `${i.Account} ${i.Region}`).sort(),
      REGIONS.map((r) => `${account} ${r}`).sort(),
    );

    for (const region of REGIONS) {
      const where = { region, endpoint: moto.endpoint, credentials: creds };
      const queue = await new SQSClient(where).send(new GetQueueUrlCommand({ QueueName: 'spotmax-events' }));
      t.truthy(queue.QueueUrl, `the event queue in ${region}`);
      const table = await new DynamoDBClient(where).send(
        new DescribeTableCommand({ TableName: 'spotmax-coordination' }),
      );
      t.is(table.Table?.TableStatus, 'ACTIVE', `the coordination table in ${region}`);
      const defs = await jsonApi(
        moto.endpoint,
        'ecs',
        region,
        'AmazonEC2ContainerServiceV20141113.ListTaskDefinitions',
        {},
        creds.accessKeyId,
      );
      const arns = defs.taskDefinitionArns as string[];
      t.true(arns.length >= 1, `a task definition in ${region}`);
      const images: string[] = [];
      for (const arn of arns) {
        const d = await jsonApi(
          moto.endpoint,
          'ecs',
          region,
          'AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition',
          { taskDefinition: arn },
          creds.accessKeyId,
        );
        for (const c of (d.taskDefinition as { containerDefinitions: { name: string; image: string }[] })
          .containerDefinitions)
          if (c.name === 'spotmax') images.push(c.image);
      }
      t.deepEqual(images, [`111122223333.dkr.ecr.${region}.amazonaws.com/spotmax:0.1.0`]);
    }
    // The management account itself got nothing: the stacks live in the OU's accounts.
    const own = new SQSClient({
      region: TEST_REGION,
      endpoint: moto.endpoint,
      credentials: TEST_CREDENTIALS,
    });
    await t.throwsAsync(own.send(new GetQueueUrlCommand({ QueueName: 'spotmax-events' })));
  },
);
