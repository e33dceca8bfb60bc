// What AWS authorizes for one SDK request: the IAM action, each resource it touches (ARN and resource
// type) and the condition keys in play (the resource's tags, the tags requested, the tag keys, ...).
// Pure: the caller looks up the tags the resources carry at the time of the call and hands them in.
//
// The mapping follows the Service Authorization Reference ("Actions, resources, and condition keys for
// Amazon EC2 / Amazon EC2 Auto Scaling / Amazon SQS / ...") and the EC2 user guide's "Grant permission
// to tag Amazon EC2 resources during creation": a request that tags on create is also authorized as
// ec2:CreateTags with ec2:CreateAction = the creating action.

export type Context = Record<string, string | string[]>;

export interface IamResource {
  arn: string;
  /** The resource type of the Service Authorization Reference (instance, volume, autoScalingGroup, ...). */
  type: string;
  context: Context;
}

export interface IamRequest {
  /** `service:Action` as IAM spells it. */
  action: string;
  resources: IamResource[];
}

export type Tags = Record<string, string>;

/** The state a request's authorization depends on, read before the request is sent. */
export interface RequestFacts {
  region: string;
  account: string;
  /** Current tags of EC2 resources by id (instances, volumes, snapshots). */
  ec2Tags: Map<string, Tags>;
  /** Auto Scaling groups by name: ARN and tags. */
  groups: Map<string, { arn: string; tags: Tags }>;
  /** The launch template data RunInstances launches from, when it names one. */
  launchTemplate?: LaunchTemplateFacts;
  /** The role behind the instance profile RunInstances names in its own input. */
  instanceRoleArn?: string;
}

export interface LaunchTemplateFacts {
  id: string;
  imageId?: string;
  /** The role ARN behind the template's instance profile. */
  instanceRoleArn?: string;
  /** KMS keys of the template's encrypted EBS mappings. */
  kmsKeyIds: string[];
}

/** Names of the ids a request needs looked up before it can be mapped. */
export interface NeededFacts {
  ec2Ids: string[];
  groupNames: string[];
  launchTemplate?: { id?: string; name?: string; version?: string };
  instanceProfile?: { Arn?: string; Name?: string };
}

// biome-ignore lint/suspicious/noExplicitAny: SDK inputs are free-form here; each field is read by name
type Input = Record<string, any>;

const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v == null ? [] : [String(v)]);

/** IAM service prefix per client name of src/aws/clients.ts. */
const PREFIX: Record<string, string> = {
  autoscaling: 'autoscaling',
  ec2: 'ec2',
  sqs: 'sqs',
  cloudwatch: 'cloudwatch',
  dynamodb: 'dynamodb',
  eks: 'eks',
  events: 'events',
};

export function iamPrefix(service: string): string {
  const p = PREFIX[service];
  if (!p)
    throw new Error(`no IAM prefix for SDK client "${service}": add it to test/helpers/iam-requests.ts`);
  return p;
}

/** Which EC2 ids and groups a request names, so their tags can be read before it is sent. */
export function factsNeeded(service: string, command: string, input: Input): NeededFacts {
  const needed: NeededFacts = { ec2Ids: [], groupNames: [] };
  if (service === 'ec2') {
    if (/^(Describe|Get)/.test(command)) return needed;
    needed.ec2Ids = [
      ...asList(input.InstanceIds),
      ...asList(input.InstanceId),
      ...asList(input.VolumeId),
      ...asList(input.SnapshotId),
      ...asList(input.Resources),
    ];
    if (command === 'RunInstances' && input.IamInstanceProfile)
      needed.instanceProfile = input.IamInstanceProfile;
    if (command === 'RunInstances' && input.LaunchTemplate)
      needed.launchTemplate = {
        id: input.LaunchTemplate.LaunchTemplateId,
        name: input.LaunchTemplate.LaunchTemplateName,
        version: input.LaunchTemplate.Version,
      };
  }
  if (service === 'autoscaling') {
    if (/^Describe/.test(command)) return needed;
    needed.groupNames = [
      ...asList(input.AutoScalingGroupName),
      ...(Array.isArray(input.Tags) ? input.Tags.map((t: Input) => String(t.ResourceId)) : []),
    ];
  }
  return needed;
}

const tagContext = (prefix: string, tags: Tags | undefined): Context => {
  const ctx: Context = {};
  for (const [k, v] of Object.entries(tags ?? {})) {
    ctx[`${prefix}:ResourceTag/${k}`] = v;
    ctx[`aws:ResourceTag/${k}`] = v;
  }
  return ctx;
};

const requestTagContext = (tags: Tags): Context => {
  const ctx: Context = {};
  for (const [k, v] of Object.entries(tags)) ctx[`aws:RequestTag/${k}`] = v;
  if (Object.keys(tags).length > 0) ctx['aws:TagKeys'] = Object.keys(tags);
  return ctx;
};

const tagsOf = (list: unknown): Tags =>
  Object.fromEntries(
    (Array.isArray(list) ? list : []).map((t: Input) => [String(t.Key), String(t.Value ?? '')]),
  );

/** Tags a TagSpecifications list requests for one resource type. */
const specTags = (input: Input, resourceType: string): Tags =>
  Object.assign(
    {},
    ...(Array.isArray(input.TagSpecifications) ? input.TagSpecifications : [])
      .filter((s: Input) => s.ResourceType === resourceType)
      .map((s: Input) => tagsOf(s.Tags)),
  );

const EC2_TYPES: [RegExp, string, boolean][] = [
  // id prefix, resource type, whether the ARN carries the account (snapshots and images do not)
  [/^i-/, 'instance', true],
  [/^vol-/, 'volume', true],
  [/^snap-/, 'snapshot', false],
  [/^ami-/, 'image', false],
  [/^lt-/, 'launch-template', true],
  [/^subnet-/, 'subnet', true],
  [/^sg-/, 'security-group', true],
  [/^eni-/, 'network-interface', true],
];

function ec2Arn(facts: RequestFacts, id: string): { arn: string; type: string } {
  const known = EC2_TYPES.find(([re]) => re.test(id));
  if (!known)
    throw new Error(`no EC2 resource type for id "${id}": add its prefix to test/helpers/iam-requests.ts`);
  const [, type, withAccount] = known;
  return { arn: `arn:aws:ec2:${facts.region}:${withAccount ? facts.account : ''}:${type}/${id}`, type };
}

function ec2Existing(facts: RequestFacts, id: string, extra: Context = {}): IamResource {
  const { arn, type } = ec2Arn(facts, id);
  return { arn, type, context: { ...tagContext('ec2', facts.ec2Tags.get(id)), ...extra } };
}

const anyResource = (type = '*'): IamResource => ({ arn: '*', type, context: {} });

/** Requests that create resources and tag them in the same call are also authorized as CreateTags. */
function tagOnCreate(
  facts: RequestFacts,
  action: string,
  created: { type: string; tags: Tags }[],
): IamRequest[] {
  const tagged = created.filter((c) => Object.keys(c.tags).length > 0);
  if (tagged.length === 0) return [];
  return [
    {
      action: 'ec2:CreateTags',
      resources: tagged.map((c) => ({
        arn: `arn:aws:ec2:${facts.region}:${c.type === 'snapshot' ? '' : facts.account}:${c.type}/*`,
        type: c.type,
        context: { 'ec2:CreateAction': action, ...requestTagContext(c.tags) },
      })),
    },
  ];
}

function ec2Requests(command: string, input: Input, facts: RequestFacts): IamRequest[] {
  const requested = requestTagContext(
    Object.assign({}, ...['volume', 'snapshot'].map((t) => specTags(input, t))),
  );
  return ec2RequestsOwn(command, input, facts).map((r) =>
    r.action === `ec2:${command}` && command !== 'RunInstances'
      ? // aws:RequestTag belongs to the request, so every resource of it sees the tags requested (the
        // evaluator ignores the keys a resource type does not take, as IAM does).
        { ...r, resources: r.resources.map((res) => ({ ...res, context: { ...requested, ...res.context } })) }
      : r,
  );
}

function ec2RequestsOwn(command: string, input: Input, facts: RequestFacts): IamRequest[] {
  const action = `ec2:${command}`;
  const one = (resources: IamResource[]): IamRequest[] => [{ action, resources }];
  if (/^(Describe|Get)/.test(command)) return one([anyResource()]);
  switch (command) {
    case 'CreateTags':
    case 'DeleteTags': {
      const tags = tagsOf(input.Tags);
      const ctx =
        command === 'CreateTags'
          ? requestTagContext(tags)
          : Object.keys(tags).length > 0
            ? { 'aws:TagKeys': Object.keys(tags) }
            : {};
      return one(asList(input.Resources).map((id) => ec2Existing(facts, id, ctx)));
    }
    case 'StartInstances':
    case 'StopInstances':
    case 'TerminateInstances':
    case 'RebootInstances':
      return one(asList(input.InstanceIds).map((id) => ec2Existing(facts, id)));
    case 'ModifyInstanceAttribute':
      return one([ec2Existing(facts, String(input.InstanceId))]);
    case 'AttachVolume':
    case 'DetachVolume': {
      // Both the instance and the volume are authorized (Service Authorization Reference: AttachVolume
      // and DetachVolume list instance and volume resources).
      const res = [ec2Existing(facts, String(input.VolumeId))];
      if (input.InstanceId) res.unshift(ec2Existing(facts, String(input.InstanceId)));
      return one(res);
    }
    case 'CreateVolume': {
      const tags = specTags(input, 'volume');
      const res: IamResource[] = [
        {
          arn: `arn:aws:ec2:${facts.region}:${facts.account}:volume/*`,
          type: 'volume',
          context: requestTagContext(tags),
        },
      ];
      if (input.SnapshotId) res.push(ec2Existing(facts, String(input.SnapshotId)));
      return [{ action, resources: res }, ...tagOnCreate(facts, 'CreateVolume', [{ type: 'volume', tags }])];
    }
    case 'CreateSnapshot': {
      const tags = specTags(input, 'snapshot');
      return [
        {
          action,
          resources: [
            ec2Existing(facts, String(input.VolumeId)),
            {
              arn: `arn:aws:ec2:${facts.region}::snapshot/*`,
              type: 'snapshot',
              context: requestTagContext(tags),
            },
          ],
        },
        ...tagOnCreate(facts, 'CreateSnapshot', [{ type: 'snapshot', tags }]),
      ];
    }
    case 'DeleteSnapshot':
    case 'DeleteVolume':
      return one([ec2Existing(facts, String(input.SnapshotId ?? input.VolumeId))]);
    case 'RunInstances':
      return runInstances(input, facts);
    default:
      return one([anyResource()]);
  }
}

/**
 * RunInstances is authorized on the new instance and volumes (with the tags requested for them), the
 * image, launch template, subnet, security groups and network interface; tags on create add CreateTags;
 * an instance profile adds iam:PassRole on its role; an ImageId of `resolve:ssm:` adds ssm:GetParameters;
 * a customer managed KMS key on a mapping adds the KMS calls EBS makes on the caller's behalf.
 */
function runInstances(input: Input, facts: RequestFacts): IamRequest[] {
  const { region, account } = facts;
  const lt = facts.launchTemplate;
  const instanceTags = specTags(input, 'instance');
  const volumeTags = specTags(input, 'volume');
  const resources: IamResource[] = [
    {
      arn: `arn:aws:ec2:${region}:${account}:instance/*`,
      type: 'instance',
      context: requestTagContext(instanceTags),
    },
    {
      arn: `arn:aws:ec2:${region}:${account}:volume/*`,
      type: 'volume',
      context: requestTagContext(volumeTags),
    },
    { arn: `arn:aws:ec2:${region}:${account}:network-interface/*`, type: 'network-interface', context: {} },
  ];
  const image = input.ImageId ?? lt?.imageId;
  if (image && !String(image).startsWith('resolve:ssm:')) resources.push(ec2Existing(facts, String(image)));
  if (lt) resources.push(ec2Existing(facts, lt.id));
  if (input.SubnetId) resources.push(ec2Existing(facts, String(input.SubnetId)));
  for (const nic of Array.isArray(input.NetworkInterfaces) ? input.NetworkInterfaces : [])
    if (nic.SubnetId) resources.push(ec2Existing(facts, String(nic.SubnetId)));
  for (const sg of asList(input.SecurityGroupIds)) resources.push(ec2Existing(facts, sg));
  const out: IamRequest[] = [
    { action: 'ec2:RunInstances', resources },
    ...tagOnCreate(facts, 'RunInstances', [
      { type: 'instance', tags: instanceTags },
      { type: 'volume', tags: volumeTags },
    ]),
  ];
  const roleArn = facts.instanceRoleArn ?? lt?.instanceRoleArn;
  if (roleArn)
    out.push({
      action: 'iam:PassRole',
      resources: [{ arn: roleArn, type: 'role', context: { 'iam:PassedToService': 'ec2.amazonaws.com' } }],
    });
  if (image && String(image).startsWith('resolve:ssm:')) {
    const name = String(image)
      .slice('resolve:ssm:'.length)
      .replace(/:[^:/]+$/, '')
      .replace(/^\//, '');
    out.push({
      action: 'ssm:GetParameters',
      resources: [
        // AWS's public parameters (aws/service/...) have no account in their ARN; the evaluator's ARN
        // parser needs one, so the request names ours and the policy grants both forms (no customer
        // parameter can be named aws/...: the prefix is reserved).
        {
          arn: `arn:aws:ssm:${region}:${account}:parameter/${name}`,
          type: 'parameter',
          context: {},
        },
      ],
    });
  }
  const ownKeys = (Array.isArray(input.BlockDeviceMappings) ? input.BlockDeviceMappings : []).flatMap(
    (m: Input) => (m.Ebs?.KmsKeyId ? [String(m.Ebs.KmsKeyId)] : []),
  );
  for (const key of new Set([...ownKeys, ...(lt?.kmsKeyIds ?? [])])) {
    const arn = key.startsWith('arn:') ? key : `arn:aws:kms:${region}:${account}:key/${key}`;
    const via = { 'kms:ViaService': `ec2.${region}.amazonaws.com` };
    out.push({
      action: 'kms:CreateGrant',
      resources: [{ arn, type: 'key', context: { ...via, 'kms:GrantIsForAWSResource': 'true' } }],
    });
    for (const a of [
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:GenerateDataKeyWithoutPlaintext',
      'kms:ReEncryptFrom',
    ])
      out.push({ action: a, resources: [{ arn, type: 'key', context: via }] });
  }
  return out;
}

function autoscalingRequests(command: string, input: Input, facts: RequestFacts): IamRequest[] {
  const action = `autoscaling:${command}`;
  if (/^Describe/.test(command)) return [{ action, resources: [anyResource()] }];
  const group = (name: string, extra: Context = {}): IamResource => {
    const g = facts.groups.get(name);
    return {
      // A group that no longer exists still has an ARN shape; its tags are then unknown (none).
      arn:
        g?.arn ??
        `arn:aws:autoscaling:${facts.region}:${facts.account}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${name}`,
      type: 'autoScalingGroup',
      context: { ...tagContext('autoscaling', g?.tags), ...extra },
    };
  };
  if (command === 'CreateOrUpdateTags' || command === 'DeleteTags') {
    const byGroup = new Map<string, Tags>();
    for (const t of Array.isArray(input.Tags) ? input.Tags : []) {
      const tags = byGroup.get(String(t.ResourceId)) ?? {};
      tags[String(t.Key)] = String(t.Value ?? '');
      byGroup.set(String(t.ResourceId), tags);
    }
    return [
      {
        action,
        resources: [...byGroup].map(([name, tags]) =>
          group(
            name,
            command === 'CreateOrUpdateTags' ? requestTagContext(tags) : { 'aws:TagKeys': Object.keys(tags) },
          ),
        ),
      },
    ];
  }
  if (input.AutoScalingGroupName) return [{ action, resources: [group(String(input.AutoScalingGroupName))] }];
  return [{ action, resources: [anyResource()] }];
}

function sqsRequests(command: string, input: Input, facts: RequestFacts): IamRequest[] {
  const url = String(input.QueueUrl ?? '');
  const name = url.split('/').filter(Boolean).at(-1) ?? '*';
  const account = url.split('/').filter(Boolean).at(-2);
  return [
    {
      action: `sqs:${command}`,
      resources: [
        {
          arn: `arn:aws:sqs:${facts.region}:${/^\d{12}$/.test(account ?? '') ? account : facts.account}:${name}`,
          type: 'queue',
          context: {},
        },
      ],
    },
  ];
}

/** The IAM requests AWS authorizes for one SDK command. */
export function iamRequestsOf(
  service: string,
  command: string,
  input: Input,
  facts: RequestFacts,
): IamRequest[] {
  const prefix = iamPrefix(service);
  switch (prefix) {
    case 'ec2':
      return ec2Requests(command, input, facts);
    case 'autoscaling':
      return autoscalingRequests(command, input, facts);
    case 'sqs':
      return sqsRequests(command, input, facts);
    case 'cloudwatch':
      return [
        {
          action: `cloudwatch:${command}`,
          resources: [
            {
              ...anyResource(),
              context: input.Namespace ? { 'cloudwatch:namespace': String(input.Namespace) } : {},
            },
          ],
        },
      ];
    case 'dynamodb':
      return [
        {
          action: `dynamodb:${command}`,
          resources: [
            {
              arn: `arn:aws:dynamodb:${facts.region}:${facts.account}:table/${input.TableName}`,
              type: 'table',
              context: {},
            },
          ],
        },
      ];
    case 'eks':
      return [
        {
          action: `eks:${command}`,
          resources: [
            {
              arn: `arn:aws:eks:${facts.region}:${facts.account}:cluster/${input.name}`,
              type: 'cluster',
              context: {},
            },
          ],
        },
      ];
    case 'events':
      // PutEvents is authorized per entry on its bus (the default bus unless an entry names one), with the
      // entry's Source as events:source (*Using IAM policy conditions in Amazon EventBridge*).
      return [
        ...new Map(
          (Array.isArray(input.Entries) ? input.Entries : [{}]).map((e: Input) => {
            const bus = String(e.EventBusName ?? 'default')
              .split('/')
              .at(-1) as string;
            const source = e.Source === undefined ? undefined : String(e.Source);
            return [`${bus}\t${source}`, { bus, source }] as const;
          }),
        ).values(),
      ].map(({ bus, source }) => ({
        action: `events:${command}`,
        resources: [
          {
            arn: `arn:aws:events:${facts.region}:${facts.account}:event-bus/${bus}`,
            type: 'event-bus',
            context: (source === undefined ? {} : { 'events:source': source }) as Context,
          },
        ],
      }));
    default:
      return [{ action: `${prefix}:${command}`, resources: [anyResource()] }];
  }
}
