import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import test from 'ava';
import { createAwsCloud } from '../../src/aws/cloud.js';
import { AwsEks, TOKEN_REFRESH_BEFORE_MS } from '../../src/aws/eks.js';
import { presignEksToken, TOKEN_VALIDITY_MS } from '../../src/aws/eks-token.js';
import { defaultSettings, groupPolicySchema } from '../../src/config/schema.js';
import { findTagKey } from '../../src/config/tag-keys.js';
import { CloudError } from '../../src/domain/errors.js';
import type { Clock } from '../../src/ports/clock.js';
import { systemClock } from '../../src/ports/clock.js';
import type { EksPort } from '../../src/ports/eks.js';
import { silentLogger } from '../../src/ports/logger.js';
import { noMetrics } from '../../src/ports/metrics.js';
import type { ReleaseRequest } from '../../src/ports/releaser.js';
import { createReleaserFactory, releaseProblems } from '../../src/release/factory.js';
import { checkKubeconfig, KubeClients } from '../../src/release/kubernetes/clients.js';
import { recognizeExec } from '../../src/release/kubernetes/eks-auth.js';
import { KubernetesReleaser } from '../../src/release/kubernetes/releaser.js';
import { selfSignedCert, verifyEksToken } from '../helpers/eks-token-verifier.js';
import { startK8sServer } from '../helpers/k8s-server.js';
import { type Moto, startMoto, TEST_CREDENTIALS } from '../helpers/moto.js';

// EKS authentication: the k8s-aws-v1 token checked by an independent verifier (what EKS's
// authenticator checks before it asks STS), its reuse and refresh on a manual clock, DescribeCluster
// against moto, and the Kubernetes client end to end against the Kubernetes test server, which lets a
// request through only with a valid token for its cluster: once through kubernetes.eks (moto's
// DescribeCluster answer, its endpoint and CA swapped for the https test server's), once through a
// kubeconfig whose user runs `aws eks get-token`.

// The SDK's own hasher, as the adapter uses it.
const sha256 = new EKSClient({ region: 'us-east-1' }).config.sha256;
const T0 = Date.parse('2026-12-02T01:00:00Z');

class ManualClock implements Clock {
  constructor(public t: number) {}
  now() {
    return new Date(this.t);
  }
  sleep() {
    return Promise.resolve();
  }
}

let moto: Moto;
let dir: string;
let tls: { key: string; cert: string };
test.before(async () => {
  moto = await startMoto();
  dir = await mkdtemp(join(tmpdir(), 'spotmax-eks-'));
  tls = selfSignedCert();
});
test.after.always(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function eksClient(region: string, onCall?: (c: string) => void): EKSClient {
  const client = new EKSClient({
    region,
    endpoint: moto.endpoint,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
  });
  if (onCall)
    client.middlewareStack.add(
      (next, context) => (args) => {
        onCall(context.commandName ?? '?');
        return next(args);
      },
      { step: 'initialize', name: 'testCount' },
    );
  return client;
}

test('token: prefix, base64url URL of a presigned GetCallerIdentity that the verifier accepts for its cluster only', async (t) => {
  const { token, expiresAt } = await presignEksToken({
    cluster: 'prod',
    region: 'eu-west-1',
    credentials: TEST_CREDENTIALS,
    sha256,
    now: new Date(T0),
  });
  t.true(token.startsWith('k8s-aws-v1.'));
  t.regex(token.slice('k8s-aws-v1.'.length), /^[A-Za-z0-9_-]+$/);
  const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString());
  t.is(url.origin, 'https://sts.eu-west-1.amazonaws.com');
  t.is(url.searchParams.get('X-Amz-Expires'), '60');
  t.is(url.searchParams.get('X-Amz-Date'), '20261202T010000Z');
  t.is(url.searchParams.get('X-Amz-SignedHeaders'), 'host;x-k8s-aws-id');
  t.is(expiresAt.getTime(), T0 + TOKEN_VALIDITY_MS);

  const at = (ms: number) => () => new Date(T0 + ms);
  const opts = { cluster: 'prod', credentials: TEST_CREDENTIALS, region: 'eu-west-1' };
  t.is(verifyEksToken(`Bearer ${token}`, { ...opts, now: at(60_000) }), undefined);
  t.is(verifyEksToken(`Bearer ${token}`, { ...opts, now: at(TOKEN_VALIDITY_MS - 1000) }), undefined);
  t.regex(verifyEksToken(`Bearer ${token}`, { ...opts, now: at(TOKEN_VALIDITY_MS + 1000) }) ?? '', /expired/);
  t.regex(verifyEksToken(`Bearer ${token}`, { ...opts, cluster: 'staging', now: at(0) }) ?? '', /signature/);
  t.regex(
    verifyEksToken(`Bearer ${token}`, {
      ...opts,
      credentials: { ...TEST_CREDENTIALS, secretAccessKey: 'other' },
      now: at(0),
    }) ?? '',
    /signature/,
  );
});

test('token: temporary credentials sign with their session token, and the token ends when they do', async (t) => {
  const credentials = {
    ...TEST_CREDENTIALS,
    sessionToken: 'session-1',
    expiration: new Date(T0 + 5 * 60_000),
  };
  const { token, expiresAt } = await presignEksToken({
    cluster: 'prod',
    region: 'us-east-1',
    credentials,
    sha256,
    now: new Date(T0),
  });
  t.is(expiresAt.getTime(), T0 + 5 * 60_000);
  t.is(
    verifyEksToken(`Bearer ${token}`, { cluster: 'prod', credentials, now: () => new Date(T0) }),
    undefined,
  );
  t.regex(
    verifyEksToken(`Bearer ${token}`, {
      cluster: 'prod',
      credentials: { ...credentials, sessionToken: 'session-2' },
      now: () => new Date(T0),
    }) ?? '',
    /session token/,
  );
});

test('adapter: a token is reused while more than 2 minutes are left and signed anew after; concurrent callers share one', async (t) => {
  const clock = new ManualClock(T0);
  const eks = new AwsEks({ defaultRegion: 'us-east-1', clientFor: (r) => eksClient(r), clock });
  const [a, b] = await Promise.all([eks.token('prod'), eks.token('prod')]);
  t.is(a, b);
  clock.t = T0 + TOKEN_VALIDITY_MS - TOKEN_REFRESH_BEFORE_MS - 1000;
  t.is(await eks.token('prod'), a);
  clock.t = T0 + TOKEN_VALIDITY_MS - TOKEN_REFRESH_BEFORE_MS;
  const c = await eks.token('prod');
  t.not(c.token, a.token);
  t.is(c.expiresAt.getTime(), clock.t + TOKEN_VALIDITY_MS);
  // Each token is good against the verifier at the time it is handed out.
  const verify = (tok: string) =>
    verifyEksToken(`Bearer ${tok}`, {
      cluster: 'prod',
      credentials: TEST_CREDENTIALS,
      now: () => clock.now(),
    });
  t.is(verify(c.token), undefined);
  // Another cluster, another token.
  t.not((await eks.token('staging')).token, c.token);
});

test('adapter: DescribeCluster against moto gives endpoint and CA, is cached, and a missing cluster is a CloudError naming it', async (t) => {
  const raw = eksClient('us-east-1');
  await raw.send(
    new CreateClusterCommand({
      name: 'workers',
      roleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
      resourcesVpcConfig: { subnetIds: [] },
    }),
  );
  const calls: string[] = [];
  const eks = new AwsEks({
    defaultRegion: 'us-east-1',
    clientFor: (r) => eksClient(r, (c) => calls.push(c)),
    clock: systemClock,
  });
  const access = await eks.describeCluster('workers');
  t.is(access.name, 'workers');
  t.is(access.region, 'us-east-1');
  t.regex(access.endpoint, /^https:\/\//);
  t.true(access.caData.length > 0);
  await eks.describeCluster('workers');
  t.deepEqual(calls, ['DescribeClusterCommand']);

  const err = await t.throwsAsync(eks.describeCluster('nope'));
  t.true(err instanceof CloudError);
  t.regex(
    err?.message ?? '',
    /describing EKS cluster nope in us-east-1: DescribeCluster failed \(ResourceNotFoundException\)/,
  );
  // A failure is not cached.
  await t.throwsAsync(eks.describeCluster('nope'));
  t.is(calls.filter((c) => c === 'DescribeClusterCommand').length, 3);
});

test('the AWS cloud carries an EKS port on its region; its DescribeCluster is counted as eks:DescribeCluster', async (t) => {
  const seen: string[] = [];
  const cloud = createAwsCloud({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials: TEST_CREDENTIALS,
    maxAttempts: 1,
    onCall: (service: string, command: string) => {
      seen.push(`${service}:${command}`);
    },
  });
  t.is(cloud.eks?.defaultRegion, 'us-east-1');
  await t.throwsAsync(cloud.eks?.describeCluster('absent') ?? Promise.resolve());
  t.deepEqual(seen, ['eks:DescribeCluster']);
});

function request(instanceId: string): ReleaseRequest {
  return {
    groupName: 'eks-workers',
    instance: {
      instanceId,
      availabilityZone: 'us-east-1a',
      privateIp: '10.0.0.1',
      privateDnsName: 'ip-10-0-0-1.ec2.internal',
    },
    mode: 'drain',
    reason: 'spot-interruption',
    deadline: new Date(Date.now() + 10_000),
    signal: new AbortController().signal,
  };
}

async function authenticatedServer(t: { teardown(fn: () => Promise<void>): void }, cluster: string) {
  const server = await startK8sServer({
    tls,
    authenticate: (auth) =>
      verifyEksToken(auth, { cluster, credentials: TEST_CREDENTIALS, now: () => new Date() }),
  });
  t.teardown(() => server.stop());
  server.msPerGraceSecond = 20;
  server.addNode('node-a', { instanceId: 'i-0aa' });
  server.addPod('node-a', 'web-1', { graceSeconds: 1 });
  return server;
}

test('end to end, kubernetes.eks: endpoint and CA from DescribeCluster, https verified with that CA, every request carries a valid token', async (t) => {
  const raw = eksClient('us-east-1');
  await raw.send(
    new CreateClusterCommand({
      name: 'prod',
      roleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
      resourcesVpcConfig: { subnetIds: [] },
    }),
  );
  const server = await authenticatedServer(t, 'prod');
  const real = new AwsEks({ defaultRegion: 'us-east-1', clientFor: (r) => eksClient(r), clock: systemClock });
  // moto's answer, with its (unreachable, never contacted) endpoint and CA swapped for the test server's.
  let described = 0;
  const eks: EksPort = {
    defaultRegion: real.defaultRegion,
    token: (c, r) => real.token(c, r),
    describeCluster: async (c, r) => {
      const access = await real.describeCluster(c, r);
      described++;
      return { ...access, endpoint: server.url, caData: Buffer.from(tls.cert).toString('base64') };
    },
  };
  const factory = createReleaserFactory({
    clock: systemClock,
    logger: silentLogger,
    metrics: noMetrics,
    env: {},
    eks,
  });
  const settings = defaultSettings();
  settings.kubernetes = { ...settings.kubernetes, enabled: true, eks: { cluster: 'prod' } };
  t.deepEqual(releaseProblems(settings, {}), []);
  const [releaser] = factory('eks-workers', settings);
  const outcome = await releaser?.release(request('i-0aa'));
  t.is(outcome?.status, 'done', outcome?.detail);
  t.regex(outcome?.detail ?? '', /node node-a .*cordoned, 1 pods evicted/);
  t.is(described, 1);
  t.deepEqual(server.unauthorized, []);
  t.true(server.authorizations.length >= 4);
  t.true(server.authorizations.every((a) => a?.startsWith('Bearer k8s-aws-v1.')));
  t.true(server.nodes.get('node-a')?.spec.unschedulable);
});

test('end to end, kubernetes.eks: a token for another cluster is refused by the API server and the step fails', async (t) => {
  const server = await authenticatedServer(t, 'prod');
  const real = new AwsEks({ defaultRegion: 'us-east-1', clientFor: (r) => eksClient(r), clock: systemClock });
  const eks: EksPort = {
    defaultRegion: 'us-east-1',
    token: () => real.token('staging'),
    describeCluster: async (c, r) => ({
      name: c,
      region: r ?? 'us-east-1',
      endpoint: server.url,
      caData: Buffer.from(tls.cert).toString('base64'),
    }),
  };
  const settings = { ...defaultSettings().kubernetes, enabled: true, eks: { cluster: 'prod' } };
  const releaser = new KubernetesReleaser({
    settings,
    clients: new KubeClients(systemClock, undefined, eks),
    clock: systemClock,
    logger: silentLogger,
  });
  const outcome = await releaser.release(request('i-0aa'));
  t.is(outcome.status, 'failed');
  t.regex(outcome.detail ?? '', /HTTP 401/);
  t.regex(server.unauthorized[0] ?? 'none', /signature does not match/);
  t.falsy(server.nodes.get('node-a')?.spec.unschedulable);
});

async function execKubeconfig(name: string, serverUrl: string, exec: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: c',
      '  cluster:',
      `    server: ${serverUrl}`,
      `    certificate-authority-data: ${Buffer.from(tls.cert).toString('base64')}`,
      'users:',
      '- name: u',
      '  user:',
      ...exec,
      'contexts:',
      '- name: c',
      '  context: { cluster: c, user: u }',
      'current-context: c',
      '',
    ].join('\n'),
  );
  return path;
}

test('end to end, a kubeconfig from `aws eks update-kubeconfig`: its exec is not run but served by the token code', async (t) => {
  const server = await authenticatedServer(t, 'prod');
  const path = await execKubeconfig('aws-exec', server.url, [
    '    exec:',
    '      apiVersion: client.authentication.k8s.io/v1beta1',
    '      command: aws',
    // If the client ran this, it would fail: the machine's `aws` (if any) has no credentials for it.
    '      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod, --output, json]',
    '      env: [{ name: AWS_PROFILE, value: none }]',
  ]);
  t.is(checkKubeconfig(path), undefined);
  const tokens: string[] = [];
  const real = new AwsEks({ defaultRegion: 'us-east-1', clientFor: (r) => eksClient(r), clock: systemClock });
  const eks: EksPort = {
    defaultRegion: 'us-east-1',
    describeCluster: () => Promise.reject(new Error('a kubeconfig user needs no DescribeCluster')),
    token: async (c, r) => {
      tokens.push(`${r}/${c}`);
      return real.token(c, r);
    },
  };
  const releaser = new KubernetesReleaser({
    settings: { ...defaultSettings().kubernetes, enabled: true, kubeconfig: path },
    clients: new KubeClients(systemClock, undefined, eks),
    clock: systemClock,
    logger: silentLogger,
  });
  const outcome = await releaser.release(request('i-0aa'));
  t.is(outcome.status, 'done', outcome.detail);
  t.deepEqual(server.unauthorized, []);
  t.true(tokens.length >= 4);
  t.true(tokens.every((k) => k === 'eu-west-1/prod'));
  const url = new URL(
    Buffer.from((server.authorizations[0] ?? '').slice('Bearer k8s-aws-v1.'.length), 'base64url').toString(),
  );
  t.is(url.hostname, 'sts.eu-west-1.amazonaws.com');
});

test('an EKS kubeconfig without AWS (the simulated region) fails with a clear text; so does kubernetes.eks', async (t) => {
  const server = await authenticatedServer(t, 'prod');
  const path = await execKubeconfig('aws-exec-noaws', server.url, [
    '    exec: { command: aws, args: [eks, get-token, --cluster-name, prod] }',
  ]);
  const clients = new KubeClients(systemClock);
  await t.throwsAsync(clients.get(path), { message: /signs EKS tokens with AWS credentials.*--cloud aws/ });
  await t.throwsAsync(clients.get({ eks: { cluster: 'prod' } }), {
    message: /kubernetes.eks \(cluster prod\) needs AWS/,
  });
  t.is(server.totalCalls(), 0);
});

test('exec recognition: aws eks get-token and aws-iam-authenticator forms; other commands and --role-arn are refused with why', (t) => {
  const user = (command: string, args: string[], env?: { name: string; value: string }[]) => ({
    name: 'u',
    exec: { command, args, env },
  });
  t.deepEqual(recognizeExec(user('/usr/local/bin/aws', ['eks', 'get-token', '--cluster-name=prod'])), {
    kind: 'eks',
    target: { cluster: 'prod' },
  });
  t.deepEqual(
    recognizeExec(
      user(
        'aws',
        ['eks', 'get-token', '--cluster-name', 'prod'],
        [{ name: 'AWS_REGION', value: 'ap-south-1' }],
      ),
    ),
    { kind: 'eks', target: { cluster: 'prod', region: 'ap-south-1' } },
  );
  t.deepEqual(
    recognizeExec(user('aws-iam-authenticator', ['token', '-i', 'legacy', '--region', 'us-west-2'])),
    {
      kind: 'eks',
      target: { cluster: 'legacy', region: 'us-west-2' },
    },
  );
  const role = recognizeExec(
    user('aws', ['eks', 'get-token', '--cluster-name', 'prod', '--role-arn', 'arn:aws:iam::1:role/x']),
  );
  t.is(role.kind, 'unsupported');
  t.regex(
    role.kind === 'unsupported' ? role.message : '',
    /assumes role arn:aws:iam::1:role\/x.*access entry/,
  );
  const gke = recognizeExec(user('gke-gcloud-auth-plugin', []));
  t.regex(
    gke.kind === 'unsupported' ? gke.message : '',
    /running gke-gcloud-auth-plugin, which spotmax does not run/,
  );
  t.is(recognizeExec({ name: 'u' }).kind, 'none');
});

test('a kubeconfig whose user runs another command is a plan problem, not a hung drain', async (t) => {
  const path = await execKubeconfig('gke', 'https://127.0.0.1:1', [
    '    exec: { command: gke-gcloud-auth-plugin, args: [] }',
  ]);
  t.regex(checkKubeconfig(path) ?? '', /gke-gcloud-auth-plugin, which spotmax does not run/);
  const settings = defaultSettings();
  settings.kubernetes = { ...settings.kubernetes, enabled: true, kubeconfig: path };
  t.regex(releaseProblems(settings, {}).join('\n'), /does not run/);
});

test('settings: kubernetes.eks is a policy field (and a tag), a bad region is named, and enabled needs a kubeconfig or eks', (t) => {
  const base = { apiVersion: 'spotmax/v1', kind: 'GroupPolicy', metadata: { name: 'k' } };
  const parse = (kubernetes: object) => groupPolicySchema.safeParse({ ...base, spec: { kubernetes } });
  t.true(parse({ enabled: true, eks: { cluster: 'prod', region: 'us-gov-west-1' } }).success);
  t.deepEqual(
    parse({ enabled: true }).error?.issues.map((i) => i.message),
    [
      'kubernetes.enabled needs kubernetes.kubeconfig (a kubeconfig file) or kubernetes.eks (an EKS cluster name) to reach the cluster',
    ],
  );
  t.deepEqual(
    parse({ enabled: true, eks: { cluster: 'prod', region: 'Europe' } }).error?.issues.map((i) => i.message),
    ['expected an AWS region such as eu-west-1'],
  );
  t.is(findTagKey('spotmax:kubernetes_eks_cluster')?.path, 'kubernetes.eks.cluster');
  t.is(findTagKey('spotmax:kubernetes_eks_region')?.path, 'kubernetes.eks.region');
});

test("a kubeconfig (the seed's tag) wins over kubernetes.eks: the file's cluster is used, EKS is not asked", async (t) => {
  const server = await startK8sServer();
  t.teardown(() => server.stop());
  const path = join(dir, 'plain');
  await writeFile(
    path,
    `apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: '${server.url}', insecure-skip-tls-verify: true } }]\nusers: [{ name: u, user: { token: t } }]\ncontexts: [{ name: c, context: { cluster: c, user: u } }]\ncurrent-context: c\n`,
  );
  const eks: EksPort = {
    defaultRegion: 'us-east-1',
    describeCluster: () => Promise.reject(new Error('EKS must not be asked')),
    token: () => Promise.reject(new Error('EKS must not be asked')),
  };
  const client = await new KubeClients(systemClock, undefined, eks).get({
    kubeconfig: path,
    eks: { cluster: 'prod' },
  });
  t.is(client.server, server.url);
  t.is(client.path, path);
});
