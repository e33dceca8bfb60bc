import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import test from 'ava';
import { IAM_POLICY_FILE, REQUIRED_PERMISSIONS } from '../../src/aws/permissions.js';
import { readTemplate } from './cfn-yaml.js';
import { STACKSET_TEMPLATE } from './stackset-template.js';

// Least privilege, derived from the code: deploy/iam/spotmax-policy.json must list exactly the AWS
// actions the adapters under src/aws/ send (every `new XxxCommand(` of an @aws-sdk/client-* import,
// and every paginateXxx), plus the few permissions AWS checks implicitly, each with its reason below.

const POLICY_FILE = 'deploy/iam/spotmax-policy.json';

/** SDK client package -> IAM service prefix. A new client must be added here on purpose. */
const IAM_PREFIX: Record<string, string> = {
  'client-auto-scaling': 'autoscaling',
  'client-ec2': 'ec2',
  'client-sqs': 'sqs',
  'client-cloudwatch': 'cloudwatch',
  'client-dynamodb': 'dynamodb',
  'client-eks': 'eks',
  'client-eventbridge': 'events',
};

/** Permissions AWS checks that no SDK command names; each must say why it is there. */
const IMPLIED: Record<string, string> = {
  'iam:PassRole':
    'RunInstances from a launch template with an instance profile passes that role to EC2 (standbys are launched from the group template)',
  'ssm:GetParameters':
    'RunInstances from a launch template whose ImageId is resolve:ssm:<parameter> reads the parameter as the caller (EC2 user guide, "Use a Systems Manager parameter instead of an AMI ID")',
  'kms:CreateGrant':
    'EBS volumes encrypted with a customer managed key: launching, starting or creating them makes EBS create a grant as the caller (EBS user guide, "Requirements for Amazon EBS encryption")',
  'kms:Decrypt': 'the same EBS encryption requirement (via EC2 only)',
  'kms:DescribeKey': 'the same EBS encryption requirement (via EC2 only)',
  'kms:GenerateDataKeyWithoutPlaintext': 'the same EBS encryption requirement (via EC2 only)',
  'kms:ReEncrypt*': 'the same EBS encryption requirement (via EC2 only): ReEncryptFrom and ReEncryptTo',
};

/** Placeholders of the JSON policy the stack fills from its parameters (deploy/README.md, section 11). */
const PLACEHOLDERS: Record<string, unknown> = {
  EVENT_QUEUE_ARN: { 'Fn::GetAtt': ['EventQueue', 'Arn'] },
  INSTANCE_ROLE_ARN: { Ref: 'InstanceRoleArns' },
  EBS_KMS_KEY_ARN: { Ref: 'EbsKmsKeyArns' },
  EVENT_BUS_ARN: {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
    'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventsBusName}',
  },
};

/** Read-only statements scoped by resource where AWS supports it (all other reads are on "*"). */
const SCOPED_READS = ['ResolveAmiParametersOfLaunchTemplates'];

/** Mutating actions the policy grants without a resource-tag condition, and why (deploy/README.md explains them). */
const UNCONDITIONED_MUTATIONS = [
  'dynamodb:DeleteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'ec2:RunInstances',
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:SendMessage',
];

type Statement = {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
const policy = JSON.parse(readFileSync(POLICY_FILE, 'utf8')) as { Version: string; Statement: Statement[] };
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const policyActions = new Set(policy.Statement.flatMap(actionsOf));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : f.endsWith('.ts') ? [p] : [];
  });
}

/** permission -> the files that send it. */
function collectSdkActions(root = 'src/aws'): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of tsFiles(root)) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/(client-[a-z0-9-]+)'/g)) {
      const pkg = m[2] as string;
      const names = (m[1] as string)
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n && !n.startsWith('type '))
        .map((n) => (n.split(/\s+as\s+/).at(-1) as string).trim());
      for (const local of names) {
        const imported =
          (m[1] as string)
            .split(',')
            .find((n) => n.trim().endsWith(local))
            ?.trim()
            .split(/\s+as\s+/)[0] ?? local;
        let action: string | undefined;
        if (/Command$/.test(imported) && new RegExp(`new\\s+${local}\\s*\\(`).test(src))
          action = imported.slice(0, -'Command'.length);
        else if (/^paginate[A-Z]/.test(imported) && new RegExp(`\\b${local}\\s*\\(`).test(src))
          action = imported.slice('paginate'.length);
        if (!action) continue;
        const prefix = IAM_PREFIX[pkg];
        if (!prefix)
          throw new Error(
            `${file} uses @aws-sdk/${pkg}: add its IAM service prefix to IAM_PREFIX in test/deploy/iam.test.ts`,
          );
        const perm = `${prefix}:${action}`;
        found.set(perm, [...(found.get(perm) ?? []), relative('.', file)]);
      }
    }
  }
  return found;
}

const code = collectSdkActions();

test('the scan finds the adapters\u2019 SDK commands', (t) => {
  // Guards the scanner itself: if it silently found nothing, both directions below would pass vacuously.
  t.true(code.size >= 10, `found only ${[...code.keys()].join(', ')}`);
  t.true(code.has('ec2:DescribeInstances'));
  t.true(code.has('sqs:ReceiveMessage'));
});

test('the policy grants every action the code sends', (t) => {
  const missing = [...code.keys()].filter((a) => !policyActions.has(a)).sort();
  t.deepEqual(
    missing,
    [],
    `add to ${POLICY_FILE} and the TaskRole of deploy/cloudformation/spotmax.yaml: ${missing.map((a) => `${a} (sent by ${code.get(a)?.join(', ')})`).join('; ')}`,
  );
});

test('the policy grants nothing the code does not send (except the implied permissions, with reasons)', (t) => {
  const extra = [...policyActions].filter((a) => !code.has(a) && !(a in IMPLIED)).sort();
  t.deepEqual(
    extra,
    [],
    `no code under src/aws sends these; remove them from ${POLICY_FILE}: ${extra.join(', ')}`,
  );
  for (const a of Object.keys(IMPLIED))
    t.true(policyActions.has(a), `${a} is implied (${IMPLIED[a]}) but not granted`);
});

/**
 * Every value of an `Action` key anywhere in `node` (policies inside templates included). A `NotAction`
 * (which, allowed, grants all the others) is returned as `NotAction` so that callers can refuse it.
 */
function grantedActions(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) grantedActions(n, out);
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      if (k === 'Action') out.push(...(Array.isArray(v) ? v : [v]).map(String));
      else if (k === 'NotAction') out.push('NotAction');
      else grantedActions(v, out);
    }
  return out;
}

test('no policy grants a Resource Groups Tagging API (tag:) action: spotmax does not call it', (t) => {
  // Standbys, volumes and fallbacks are found with DescribeInstances / DescribeVolumes tag filters, which
  // are authoritative; the Tagging API's index lags and lists deleted resources (docs/aws-rules.md).
  // Granting tag:* again must come with code that calls it, on purpose.
  const sources: [string, unknown][] = [
    [POLICY_FILE, policy],
    [
      'deploy/iam/spotmax-plan-readonly-policy.json',
      JSON.parse(readFileSync('deploy/iam/spotmax-plan-readonly-policy.json', 'utf8')),
    ],
    ['deploy/cloudformation/spotmax.yaml', readTemplate('deploy/cloudformation/spotmax.yaml')],
    [STACKSET_TEMPLATE, JSON.parse(readFileSync(STACKSET_TEMPLATE, 'utf8'))],
    ['src/aws/permissions.ts', REQUIRED_PERMISSIONS],
  ];
  for (const [file, doc] of sources) {
    const actions = file === 'src/aws/permissions.ts' ? (doc as string[]) : grantedActions(doc);
    t.true(actions.length > 0, `${file}: no actions found`);
    t.deepEqual(
      actions.filter((a) => /^(tag:|\*$|NotAction$)/i.test(a)),
      [],
      `${file} grants the Tagging API`,
    );
  }
  t.false(
    [...code.keys()].some((a) => a.toLowerCase().startsWith('tag:')),
    'src/aws sends a Tagging API command',
  );
});

test('the permission list behind access-denied hints (src/aws/permissions.ts) matches the code', (t) => {
  t.deepEqual([...REQUIRED_PERMISSIONS].sort(), [...code.keys()].sort());
});

test('an access-denied error points to this policy file', (t) => {
  t.is(IAM_POLICY_FILE, POLICY_FILE);
});

test('mutating actions are conditioned on spotmax tags wherever AWS supports it', (t) => {
  const readOnly = (a: string) => /:(Describe|Get|List|Receive)/.test(a);
  for (const s of policy.Statement) {
    t.is(s.Effect, 'Allow');
    const mutating = actionsOf(s).filter((a) => !readOnly(a));
    if (mutating.length === 0 && !SCOPED_READS.includes(s.Sid)) {
      t.is(
        s.Resource,
        '*',
        `${s.Sid}: read-only statements cannot be scoped (Describe calls take no resource)`,
      );
      continue;
    }
    if (s.Condition) continue;
    for (const a of mutating) t.true(UNCONDITIONED_MUTATIONS.includes(a), `${s.Sid}: ${a} has no condition`);
  }
  const conditionOf = (sid: string) => policy.Statement.find((s) => s.Sid === sid)?.Condition;
  // ASG actions only on groups spotmax has tagged as its own.
  t.deepEqual(conditionOf('ActOnManagedGroups'), {
    Null: { 'autoscaling:ResourceTag/spotmax:group': 'false' },
  });
  // Tag writes only ever touch spotmax:* keys.
  t.deepEqual(conditionOf('WriteOnlySpotmaxTagsOnGroups'), {
    'ForAllValues:StringLike': { 'aws:TagKeys': ['spotmax:*'] },
  });
  t.deepEqual(conditionOf('WriteOnlySpotmaxTagsOnEc2'), {
    'ForAllValues:StringLike': { 'aws:TagKeys': ['spotmax:*'] },
  });
  // Instances: members (spotmax:group) or standbys (spotmax:standby-for) only.
  t.deepEqual(conditionOf('ActOnGroupInstances'), { Null: { 'ec2:ResourceTag/spotmax:group': 'false' } });
  t.deepEqual(conditionOf('ActOnStandbys'), { Null: { 'ec2:ResourceTag/spotmax:standby-for': 'false' } });
  // Terminate is never granted without a tag condition.
  for (const s of policy.Statement)
    if (actionsOf(s).includes('ec2:TerminateInstances')) t.truthy(s.Condition, s.Sid);
  // DynamoDB writes have no tag conditions on items: they are scoped to spotmax's own table instead.
  const coordination = policy.Statement.find((s) => s.Sid === 'CoordinationTable');
  t.is(coordination?.Resource, 'arn:*:dynamodb:*:*:table/spotmax*');
  t.true(actionsOf(coordination!).every((a) => a.startsWith('dynamodb:')));
  // Metrics only into spotmax's namespace, the one the CloudWatch adapter writes to.
  const ns = /private readonly namespace = '([^']+)'/.exec(
    readFileSync('src/aws/cloudwatch-metrics.ts', 'utf8'),
  )?.[1];
  t.deepEqual(conditionOf('PublishMetrics'), { StringEquals: { 'cloudwatch:namespace': ns } });
});

test('deploy/README.md explains every mutation that cannot be conditioned', (t) => {
  const readme = readFileSync('deploy/README.md', 'utf8');
  for (const a of [...UNCONDITIONED_MUTATIONS, ...Object.keys(IMPLIED)])
    t.true(readme.includes(a), `deploy/README.md does not mention ${a}`);
});

test('the CloudFormation task role carries the same policy (the placeholders filled from the stack\u2019s queue, table and parameters)', (t) => {
  const tpl = readTemplate('deploy/cloudformation/spotmax.yaml');
  const roles = (
    (tpl.Resources.TaskRole?.Properties ?? {}) as {
      Policies: { PolicyName: string; PolicyDocument: { Statement: unknown[] } }[];
    }
  ).Policies;
  t.is(roles.length, 1);
  // Optional statements are `!If [Condition, statement, !Ref AWS::NoValue]`: compare the statement.
  const statements = (roles[0]?.PolicyDocument.Statement ?? []).map((st) => {
    const cond = (st as { 'Fn::If'?: [string, Statement, unknown] })['Fn::If'];
    if (!cond) return st as Statement;
    t.deepEqual(
      cond[2],
      { Ref: 'AWS::NoValue' },
      `${cond[1].Sid}: the false branch leaves the statement out`,
    );
    t.truthy(tpl.Conditions?.[cond[0]], `${cond[1].Sid}: condition ${cond[0]}`);
    return cond[1];
  });
  const filled = structuredClone(policy);
  for (const st of filled.Statement) {
    const placeholder = typeof st.Resource === 'string' ? PLACEHOLDERS[st.Resource] : undefined;
    if (placeholder) st.Resource = placeholder;
  }
  const table = statements.find((st) => st.Sid === 'CoordinationTable');
  t.deepEqual(table?.Resource, { 'Fn::GetAtt': ['CoordinationTable', 'Arn'] });
  const jsonTable = filled.Statement.find((st) => st.Sid === 'CoordinationTable');
  if (jsonTable) jsonTable.Resource = table?.Resource;
  t.deepEqual({ Version: '2012-10-17', Statement: statements }, filled);
});

test('the JSON policy names no installation\u2019s resources: queue, instance roles and KMS keys are placeholders', (t) => {
  const text = readFileSync(POLICY_FILE, 'utf8');
  for (const name of Object.keys(PLACEHOLDERS)) t.true(text.includes(`"${name}"`), name);
  // max_group users keep their queue names: no name pattern stands in for the queue.
  t.false(text.includes('sqs:*:*:spotmax'));
  const readme = readFileSync('deploy/README.md', 'utf8');
  for (const name of Object.keys(PLACEHOLDERS))
    t.true(readme.includes(name), `deploy/README.md explains ${name}`);
});

test('the plan-only policy is read-only and covers the reads plan makes', (t) => {
  const ro = JSON.parse(
    readFileSync('deploy/iam/spotmax-plan-readonly-policy.json', 'utf8'),
  ) as typeof policy;
  const actions = ro.Statement.flatMap(actionsOf);
  for (const a of actions) t.regex(a, /:(Describe|Get|List)[A-Za-z]*$/, `${a} is not read-only`);
  // Every read the code makes, so `plan` sees what `run` sees. Not the queue's, the EKS cluster's nor the
  // coordination table's: plan neither consumes events nor takes the lease (it observes, whoever leads).
  const reads = [...code.keys()].filter(
    (a) =>
      /:(Describe|Get|List)/.test(a) &&
      !a.startsWith('sqs:') &&
      !a.startsWith('dynamodb:') &&
      // plan never drains a node: the EKS cluster is read by `run` only
      !a.startsWith('eks:'),
  );
  for (const a of reads) t.true(actions.includes(a), `plan needs ${a}`);
});
