import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplateVersionsCommand, DescribeTagsCommand } from '@aws-sdk/client-ec2';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { type AwsClients, createAwsClients, type OnCall } from '../../src/aws/clients.js';
import {
  factsNeeded,
  type IamRequest,
  iamRequestsOf,
  type LaunchTemplateFacts,
  type RequestFacts,
  type Tags,
} from './iam-requests.js';

// IAM proven call by call. Every SDK request spotmax's adapters send to a moto started by the harness
// (testCloud in aws-fixtures.ts, createAwsCoordination wired with iamCheckedOnCall) is recorded with
// its action, the ARNs of the resources it touches and the tags in play at the moment of the call (read
// from moto just before the request goes out), and the sim's port calls are recorded the same way
// (sim-iam.ts). When the test file ends, every distinct request is evaluated against
// deploy/iam/spotmax-policy.json with an IAM policy evaluator (@cloud-copilot/iam-simulate): one the
// policy would deny fails the file, naming the call, the resource and the context. Setup calls made
// with the raw clients are not spotmax's and are not recorded.

export const POLICY_FILE = 'deploy/iam/spotmax-policy.json';
export const TEST_ACCOUNT = '123456789012';
const PRINCIPAL = `arn:aws:iam::${TEST_ACCOUNT}:role/spotmax-task`;

/**
 * The JSON policy holds placeholders where an installation names its own resources: the stack fills them
 * from its parameters (EventQueueArns, InstanceRoleArns, EbsKmsKeyArns), an operator installing the JSON
 * by hand replaces them (deploy/README.md). The tests bind them to the test account's resources: any
 * queue, instance roles named `test-instance-role-*`, any KMS key (the conditions still apply).
 */
export const TEST_BINDINGS: Record<string, string> = {
  EVENT_QUEUE_ARN: `arn:aws:sqs:*:${TEST_ACCOUNT}:*`,
  INSTANCE_ROLE_ARN: `arn:aws:iam::${TEST_ACCOUNT}:role/test-instance-role-*`,
  EBS_KMS_KEY_ARN: `arn:aws:kms:*:${TEST_ACCOUNT}:key/*`,
  EVENT_BUS_ARN: `arn:aws:events:*:${TEST_ACCOUNT}:event-bus/*`,
};

export interface RecordedRequest extends IamRequest {
  /** `client:Command` as sent, e.g. `ec2:RunInstances`. */
  source: string;
}

const recorded: RecordedRequest[] = [];
const motoEndpoints = new Set<string>();

/** Called by startMoto: requests to these endpoints are checked (a stand-in HTTP server's are not). */
export function registerMotoEndpoint(endpoint: string): void {
  motoEndpoints.add(endpoint);
}

/** Adds requests recorded elsewhere (the simulated region's port calls). */
export function recordIamRequests(source: string, requests: IamRequest[]): void {
  for (const r of requests) recorded.push({ ...r, source });
}

const unmapped = new Map<string, number>();

/** A call no mapping covers yet (reported with the file's line, never guessed). */
export function noteUnmappedCall(key: string): void {
  unmapped.set(key, (unmapped.get(key) ?? 0) + 1);
}

export function recordedIamRequests(): readonly RecordedRequest[] {
  return recorded;
}

const lookupClients = new Map<string, AwsClients>();

function lookups(endpoint: string, region: string): AwsClients {
  const key = `${endpoint} ${region}`;
  let clients = lookupClients.get(key);
  if (!clients) {
    clients = createAwsClients({
      region,
      endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
      requestTimeoutMs: 5_000,
    });
    lookupClients.set(key, clients);
  }
  return clients;
}

async function ec2Tags(clients: AwsClients, ids: string[]): Promise<Map<string, Tags>> {
  const out = new Map<string, Tags>();
  const taggable = ids.filter((id) => /^(i|vol|snap)-/.test(id));
  if (taggable.length === 0) return out;
  const res = await clients.ec2.send(
    new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: taggable }], MaxResults: 1000 }),
  );
  for (const t of res.Tags ?? []) {
    const id = t.ResourceId ?? '';
    out.set(id, { ...(out.get(id) ?? {}), [t.Key ?? '']: t.Value ?? '' });
  }
  return out;
}

async function groups(clients: AwsClients, names: string[]): Promise<RequestFacts['groups']> {
  const out: RequestFacts['groups'] = new Map();
  if (names.length === 0) return out;
  const res = await clients.autoscaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [...new Set(names)] }),
  );
  for (const g of res.AutoScalingGroups ?? [])
    out.set(g.AutoScalingGroupName ?? '', {
      arn: g.AutoScalingGroupARN ?? '',
      tags: Object.fromEntries((g.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    });
  return out;
}

/** The role behind an instance profile, through moto's IAM query API (no IAM client is installed). */
async function roleOfProfile(endpoint: string, profile: { Arn?: string; Name?: string }): Promise<string> {
  const name = profile.Name ?? profile.Arn?.split('/').at(-1) ?? '';
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({
      Action: 'GetInstanceProfile',
      Version: '2010-05-08',
      InstanceProfileName: name,
    }),
  });
  const xml = await res.text();
  const role = /<Roles>[\s\S]*?<Arn>([^<]+)<\/Arn>/.exec(xml)?.[1];
  // A profile moto does not know still passes a role: name it after the profile, as most setups do.
  return role ?? `arn:aws:iam::${TEST_ACCOUNT}:role/${name}`;
}

async function launchTemplate(
  endpoint: string,
  clients: AwsClients,
  spec: NonNullable<ReturnType<typeof factsNeeded>['launchTemplate']>,
): Promise<LaunchTemplateFacts | undefined> {
  const res = await clients.ec2.send(
    new DescribeLaunchTemplateVersionsCommand({
      ...(spec.id ? { LaunchTemplateId: spec.id } : { LaunchTemplateName: spec.name }),
      Versions: [spec.version ?? '$Default'],
    }),
  );
  const v = res.LaunchTemplateVersions?.[0];
  if (!v) return undefined;
  const data = v.LaunchTemplateData ?? {};
  const profile = data.IamInstanceProfile;
  return {
    id: v.LaunchTemplateId ?? '',
    imageId: data.ImageId,
    instanceRoleArn: profile?.Arn || profile?.Name ? await roleOfProfile(endpoint, profile) : undefined,
    kmsKeyIds: (data.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.KmsKeyId ? [m.Ebs.KmsKeyId] : [])),
  };
}

/**
 * An onCall for createAwsCloud / createAwsCoordination: records each request's IAM view, reading the
 * tags its resources carry from moto first. `inner` still sees every call (call counters).
 */
export function iamCheckedOnCall(endpoint: string, region: string, inner?: OnCall): OnCall {
  return async (service, command, input) => {
    await inner?.(service, command, input);
    if (!motoEndpoints.has(endpoint)) return;
    const args = (input ?? {}) as Record<string, unknown>;
    const needed = factsNeeded(service, command, args);
    const clients = lookups(endpoint, region);
    const facts: RequestFacts = {
      region,
      account: TEST_ACCOUNT,
      ec2Tags: await ec2Tags(clients, needed.ec2Ids).catch(() => new Map()),
      groups: await groups(clients, needed.groupNames).catch(() => new Map()),
      launchTemplate: needed.launchTemplate
        ? await launchTemplate(endpoint, clients, needed.launchTemplate).catch(() => undefined)
        : undefined,
      instanceRoleArn: needed.instanceProfile
        ? await roleOfProfile(endpoint, needed.instanceProfile).catch(() => undefined)
        : undefined,
    };
    recordIamRequests(`${service}:${command}`, iamRequestsOf(service, command, args, facts));
  };
}

// ---- evaluation ---------------------------------------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: an IAM policy document as read from JSON
type PolicyDoc = any;

export function loadPolicy(file = POLICY_FILE): PolicyDoc {
  let text = readFileSync(file, 'utf8');
  for (const [name, arn] of Object.entries(TEST_BINDINGS)) text = text.replaceAll(`"${name}"`, `"${arn}"`);
  return JSON.parse(text);
}

export interface Verdict {
  action: string;
  resourceType: string;
  arn: string;
  context: Record<string, string | string[]>;
  result: string;
  sources: string[];
}

const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Enable IAM User Permissions',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
};

/** Instance, volume and snapshot ids do not change a verdict under our policy: one evaluation per shape. */
const normalizeArn = (arn: string) => arn.replace(/\/(i|vol|snap|ami|lt|subnet|sg|eni)-[0-9a-z]+$/, '/$1-x');

/** Evaluates the requests (deduplicated) against the policy; returns one verdict per distinct request. */
export async function evaluate(requests: readonly RecordedRequest[], policy: PolicyDoc): Promise<Verdict[]> {
  const byKey = new Map<string, Verdict>();
  for (const r of requests)
    for (const res of r.resources) {
      const context = Object.fromEntries(Object.entries(res.context).sort(([a], [b]) => a.localeCompare(b)));
      const key = JSON.stringify([r.action, normalizeArn(res.arn), context]);
      const seen = byKey.get(key);
      if (seen) {
        if (!seen.sources.includes(r.source)) seen.sources.push(r.source);
        continue;
      }
      byKey.set(key, {
        action: r.action,
        resourceType: res.type,
        arn: res.arn,
        context,
        result: '',
        sources: [r.source],
      });
    }
  for (const v of byKey.values()) {
    const out = await runSimulation(
      {
        request: {
          principal: PRINCIPAL,
          action: v.action,
          resource: { resource: v.arn, accountId: TEST_ACCOUNT },
          contextVariables: v.context,
        },
        identityPolicies: [{ name: 'spotmax', policy }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        // A KMS key is usable only when its key policy lets IAM policies grant it: the default key policy
        // (the account root may do kms:*), which is what deploy/README.md asks of a key spotmax uses.
        ...(v.action.startsWith('kms:') ? { resourcePolicy: DEFAULT_KEY_POLICY } : {}),
      },
      {},
    );
    v.result = out.resultType === 'error' ? `error: ${out.errors.message}` : out.overallResult;
  }
  return [...byKey.values()];
}

export const describeVerdict = (v: Verdict) =>
  `${v.action} on ${v.arn} (${v.resourceType}) with ${JSON.stringify(v.context)}, sent as ${v.sources.join(', ')}: ${v.result}`;

// ---- the per-file check and the union across files ----------------------------------------------------

/** Where each test file leaves its checked pairs, so the union over the run can be reported. */
const unionDir = join(tmpdir(), `spotmax-iam-${process.ppid}`);

function reportUnion(file: string, verdicts: Verdict[]): { files: number; pairs: number } {
  mkdirSync(unionDir, { recursive: true });
  const pairs = [...new Set(verdicts.map((v) => `${v.action} ${v.resourceType}`))];
  const name = createHash('sha1').update(file).digest('hex').slice(0, 12);
  writeFileSync(join(unionDir, `${name}.json`), JSON.stringify({ file, pairs }));
  const all = new Set<string>();
  const files = readdirSync(unionDir).filter((f) => f.endsWith('.json'));
  for (const f of files) {
    try {
      for (const p of JSON.parse(readFileSync(join(unionDir, f), 'utf8')).pairs as string[]) all.add(p);
    } catch {
      // another file is writing it right now; counted at the next report
    }
  }
  return { files: files.length, pairs: all.size };
}

/**
 * Test files whose requests are evaluated and reported but do not fail on a denial, each with its reason.
 * Everything else, the e2e suites above all, fails on the first request the policy would deny.
 */
export const REPORT_ONLY: Record<string, string> = {
  'test/aws/ec2.test.ts':
    'adapter test: each EC2 call is made once on resources the test made up (untagged instances, made-up ids), not through a spotmax flow',
  'test/aws/autoscaling.test.ts':
    'adapter test: each Auto Scaling call is made on groups the test seeds without the tags spotmax adds',
  'test/aws/sqs-cloudwatch.test.ts': 'adapter test: queue and metric calls on made-up queues',
  'test/aws/observe.test.ts': 'adapter test: reads only',
  'test/contract/aws.test.ts':
    'port contract: the same calls run on the sim and on moto, on resources the contract seeds untagged',
};

/** Evaluates what this test file recorded; throws on a denial. Exported for the evaluator's own tests. */
export async function checkRecorded(file: string): Promise<string> {
  if (recorded.length === 0) return '';
  const verdicts = await evaluate(recorded, loadPolicy());
  const denied = verdicts.filter((v) => v.result !== 'Allowed');
  const pairs = new Set(verdicts.map((v) => `${v.action} ${v.resourceType}`)).size;
  const union = reportUnion(
    file,
    verdicts.filter((v) => v.result === 'Allowed'),
  );
  const unknown = [...unmapped].map(([k, n]) => `${k} x${n}`).join(', ');
  const head = `IAM: ${file}: ${recorded.length} requests, ${pairs} distinct (action, resource type) pairs${unknown ? ` (not mapped, not checked: ${unknown})` : ''}`;
  const tail = `${union.pairs} allowed pairs across ${union.files} test files so far`;
  if (denied.length > 0 && REPORT_ONLY[file])
    return `${head}, ${denied.length} denied but not failed (${REPORT_ONLY[file]}); ${tail}`;
  if (denied.length > 0)
    throw new Error(
      `${POLICY_FILE} denies ${denied.length} request(s) spotmax made in ${file} (grant them, scoped, in the policy and the stack's TaskRole, or make the test's resources look as spotmax leaves them):\n` +
        denied.map(describeVerdict).join('\n'),
    );
  return `${head}, all allowed by ${POLICY_FILE}; ${tail}`;
}

// Inside an ava worker, every test file that loads this module gets the check as its last hook.
if (process.argv[1]?.replaceAll('\\', '/').endsWith('ava/lib/worker/base.js')) {
  const { default: test } = await import('ava');
  test.after.always('IAM: the policy allows every AWS request this file made', async () => {
    const file = relative(process.cwd(), fileURLToPath(test.meta.file));
    const line = await checkRecorded(file);
    if (line) console.log(line);
  });
}
