import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { seedGroup, testClients } from '../helpers/aws-fixtures.js';
import { runMain } from '../helpers/cli.js';
import { type Moto, startMoto, TEST_CREDENTIALS, TEST_REGION } from '../helpers/moto.js';

// plan/apply end to end: the real CLI entry point, the real AWS adapters, moto over HTTP.

let moto: Moto;
let policiesDir: string;

// The SDK's default credential chain reads these; the emulator accepts any static pair.
process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;

const POLICY = `apiVersion: spotmax/v1
kind: GroupPolicy
metadata: { name: web }
spec:
  match: { names: ["web-*"] }
  interruption:
    detachDelaySeconds: 15
  standby: { size: 0 }
`;

test.before(async () => {
  moto = await startMoto();
  policiesDir = await mkdtemp(join(tmpdir(), 'spotmax-policies-'));
  await writeFile(join(policiesDir, 'web.yaml'), POLICY);
});
test.after.always(async () => {
  await moto?.stop();
});

const run = (args: string[], env: Record<string, string | undefined> = {}) =>
  runMain(args, { AWS_REGION: TEST_REGION, AWS_ENDPOINT_URL: moto.endpoint, ...env });

interface JsonGroup {
  name: string;
  managed: boolean;
  reason: string | null;
  problems: string[];
  config: Record<string, { value: unknown; source: string }>;
  observed: Record<string, number>;
  actions: { kind: string; target: string; reason: string }[];
}

async function planJson(): Promise<{ region: string; generatedAt: string; groups: JsonGroup[] }> {
  const r = await run(['plan', '--format', 'json', '--policies', policiesDir]);
  if (r.code !== 0) throw new Error(`plan exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function seedRegion() {
  await moto.reset();
  const clients = testClients(moto.endpoint);
  await seedGroup(clients, {
    name: 'k8s-workers',
    desired: 2,
    tags: {
      'spotmax:k8s_config_file_path': '/data/spotmax/k8sconfig',
      'spotmax:detaching_delay_seconds': '80',
      'spotmax:instance_duration_hours': '1',
      'spotmax:gurantee_living_mins': '50',
    },
  });
  await seedGroup(clients, { name: 'web-frontend', desired: 1, tags: { 'spotmax:policy': 'web' } });
  await seedGroup(clients, {
    name: 'legacy-lc',
    desired: 0,
    launchConfiguration: 'legacy-lc-config',
    tags: { 'spotmax:enabled': 'true' },
  });
  await seedGroup(clients, { name: 'opted-out', desired: 0, tags: { 'spotmax:enabled': 'false' } });
  await seedGroup(clients, { name: 'not-ours', desired: 0 });
}

test.serial(
  'plan --format json prints the contract with provenance for seed tags and policy lines',
  async (t) => {
    await seedRegion();
    const report = await planJson();
    t.is(report.region, 'us-east-1');
    t.false(Number.isNaN(Date.parse(report.generatedAt)));
    t.deepEqual(
      report.groups.map((g) => g.name),
      ['k8s-workers', 'legacy-lc', 'opted-out', 'web-frontend'],
      'groups without any spotmax tag are left out',
    );

    const k8s = report.groups.find((g) => g.name === 'k8s-workers')!;
    t.true(k8s.managed);
    t.deepEqual(k8s.config['interruption.detachDelaySeconds'], {
      value: 80,
      source: 'tag:spotmax:detaching_delay_seconds',
    });
    t.deepEqual(k8s.config['kubernetes.kubeconfig'], {
      value: '/data/spotmax/k8sconfig',
      source: 'tag:spotmax:k8s_config_file_path',
    });
    t.deepEqual(k8s.config['lifetime.durationHours'], {
      value: 1,
      source: 'tag:spotmax:instance_duration_hours',
    });
    t.deepEqual(k8s.config['lifetime.guaranteeMinutes'], {
      value: 50,
      source: 'tag:spotmax:gurantee_living_mins',
    });
    t.is(k8s.config['standby.size']?.source, 'default');
    t.true(
      k8s.problems.some((p) => p.includes('/data/spotmax/k8sconfig')),
      `an unreadable kubeconfig is a problem shown by plan: ${JSON.stringify(k8s.problems)}`,
    );
    t.like(k8s.observed, { desired: 2, inService: 2, onDemand: 2, spot: 0, standby: 0, volumes: 0 });
    const kinds = k8s.actions.map((a) => a.kind);
    t.true(kinds.includes('tag-group'), 'the group lacks spotmax:group with PropagateAtLaunch');
    t.is(k8s.actions.filter((a) => a.kind === 'tag-instance').length, 2);
    t.regex(k8s.actions.find((a) => a.kind === 'tag-instance')!.reason, /missing spotmax:group=k8s-workers/);

    const web = report.groups.find((g) => g.name === 'web-frontend')!;
    t.true(web.managed);
    t.deepEqual(web.config['interruption.detachDelaySeconds'], {
      value: 15,
      source: `policy:${join(policiesDir, 'web.yaml')}:7`,
    });

    const lc = report.groups.find((g) => g.name === 'legacy-lc')!;
    t.false(lc.managed);
    t.regex(lc.reason ?? '', /launch configuration/);
    t.deepEqual(lc.actions, []);

    const out = report.groups.find((g) => g.name === 'opted-out')!;
    t.false(out.managed);
    t.regex(out.reason ?? '', /spotmax:enabled=false/);
  },
);

test.serial('apply tags every member and the group; plan then shows no action', async (t) => {
  await seedRegion();
  const before = await planJson();
  const planned = before.groups.reduce((n, g) => n + g.actions.length, 0);
  t.true(planned >= 5);

  const applied = await run(['apply', '--policies', policiesDir]);
  t.is(applied.code, 0, applied.stderr);
  t.regex(applied.stdout, new RegExp(`${planned} action\\(s\\) taken, 0 failed`));

  const after = await planJson();
  for (const g of after.groups) t.deepEqual(g.actions, [], `${g.name} still has actions`);
});

test.serial('apply --dry-run changes nothing', async (t) => {
  await seedRegion();
  const r = await run(['apply', '--dry-run', '--policies', policiesDir]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /dry-run/);
  const after = await planJson();
  t.true(after.groups.some((g) => g.actions.length > 0));
});

test.serial('text and markdown formats show managed state, provenance and reasons', async (t) => {
  await seedRegion();
  const text = await run(['plan', '--policies', policiesDir]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /k8s-workers\s+yes/);
  t.regex(text.stdout, /interruption\.detachDelaySeconds = 80\s+\[tag:spotmax:detaching_delay_seconds\]/);
  t.regex(text.stdout, /\+ tag-instance i-\w+: missing spotmax:group=k8s-workers/);
  const md = await run(['plan', '--format', 'markdown', '--policies', policiesDir]);
  t.is(md.code, 0, md.stderr);
  t.regex(md.stdout, /\| group \| managed \|/);
  t.regex(md.stdout, /\| legacy-lc \| no: .*launch configuration/);
  t.regex(md.stdout, /<summary><b>k8s-workers<\/b>: 3 action\(s\)<\/summary>/);
});

test.serial('plan without a region fails as a user error and says what to set', async (t) => {
  const r = await runMain(['plan'], { AWS_ENDPOINT_URL: moto.endpoint });
  t.is(r.code, 1);
  t.regex(r.stderr, /no AWS region configured: pass --region or set AWS_REGION/);
});

test.serial('plan with a broken policy folder fails with file:line:col', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-bad-'));
  await writeFile(join(dir, 'bad.yaml'), POLICY.replace('detachDelaySeconds: 15', 'detachDelaySeconds: 150'));
  const r = await run(['plan', '--policies', dir]);
  t.is(r.code, 1);
  t.regex(r.stderr, /bad\.yaml:7:\d+: .*119/);
});

test.serial('npx spotmax plan --format json works from the built bin', async (t) => {
  await seedRegion();
  const { stdout } = await promisify(execFile)(
    'node',
    ['bin/spotmax.js', 'plan', '--format', 'json', '--policies', policiesDir],
    {
      env: {
        ...process.env,
        AWS_REGION: TEST_REGION,
        AWS_ENDPOINT_URL: moto.endpoint,
      },
    },
  );
  const report = JSON.parse(stdout);
  t.deepEqual(Object.keys(report), ['region', 'generatedAt', 'groups', 'orphans']);
  t.deepEqual(
    Object.keys(report.groups[0]).filter((k) =>
      ['name', 'managed', 'problems', 'config', 'observed', 'actions'].includes(k),
    ),
    ['name', 'managed', 'problems', 'config', 'observed', 'actions'],
  );
});
