import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runMain } from '../helpers/cli.js';

// plan, apply and validate on the built-in simulated region (`--cloud sim`): a newcomer tries them
// without AWS. And `run`'s flags that belong to one cloud are refused on the other, never ignored.

interface PlanJson {
  region: string;
  generatedAt: string;
  groups: { name: string; managed: boolean; policy: string; actions: { kind: string }[] }[];
}

test('plan --cloud sim --format json: the demo scenario at its start, and an hour in with --at', async (t) => {
  const start = await runMain(['plan', '--cloud', 'sim', '--format', 'json']);
  t.is(start.code, 0, start.stderr);
  const plan = JSON.parse(start.stdout) as PlanJson;
  t.is(plan.region, 'us-east-1');
  t.deepEqual(
    plan.groups.map((g) => [g.name, g.managed, g.policy]),
    [
      ['batch-asg', true, 'sim-demo-batch'],
      ['web-asg', true, 'sim-web'],
    ],
  );
  // Nothing has run yet: every member still lacks its membership tag, and the standby pool is empty.
  const web = plan.groups.find((g) => g.name === 'web-asg')!;
  t.true(web.actions.some((a) => a.kind === 'tag-instance'));
  t.is(web.actions.filter((a) => a.kind === 'launch-standby').length, 2);

  const later = JSON.parse(
    (await runMain(['plan', '--cloud', 'sim', '--format', 'json', '--at', '1h'])).stdout,
  );
  t.is(Date.parse(later.generatedAt) - Date.parse(plan.generatedAt), 3_600_000);
});

test('apply --cloud sim acts on the simulated region and reports what it did', async (t) => {
  const r = await runMain(['apply', '--cloud', 'sim', '--at', '10m']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^done {5}\S+: tag-instance /m);
  t.regex(r.stdout, /\d+ action\(s\) taken, 0 failed\./);
});

test('validate --cloud sim checks the scenario and that its groups find their policies', async (t) => {
  const ok = await runMain(['validate', '--cloud', 'sim', '--scenario', 'bench/scenarios/storm.yaml']);
  t.is(ok.code, 0, ok.stdout + ok.stderr);
  t.regex(ok.stdout, /ok: scenario "storm", \d+ group\(s\)/);

  // A folder without the policy the scenario's groups name: each group says so, exit 1.
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-validate-'));
  await writeFile(
    join(dir, 'other.yaml'),
    'apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata: { name: other }\nspec: {}\n',
  );
  const missing = await runMain([
    'validate',
    '--cloud',
    'sim',
    '--scenario',
    'bench/scenarios/calm.yaml',
    dir,
  ]);
  t.is(missing.code, 1);
  // Each problem names the scenario file and the line of the tag that names the policy.
  t.regex(missing.stdout, /calm\.yaml:21:27: group web-01: .*sim-web/);
  t.regex(missing.stdout, /calm\.yaml:27:27: group api: .*sim-web/);
  t.regex(missing.stdout, /\d+ problem\(s\) in scenario/);
});

test('a flag that belongs to the other cloud is refused with a message naming it', async (t) => {
  const cases: [string[], RegExp][] = [
    [['run', '--cloud', 'sim', '--region', 'eu-west-1'], /--region applies to --cloud aws only/],
    [['run', '--cloud', 'sim', '--queue-url', 'https://sqs/q'], /--queue-url applies to --cloud aws only/],
    [['run', '--cloud', 'aws', '--speed', '10'], /--speed applies to --cloud sim only/],
    [['run', '--cloud', 'aws', '--scenario', 'x.yaml'], /--scenario applies to --cloud sim only/],
    [['plan', '--cloud', 'aws', '--at', '1h'], /--at applies to --cloud sim only/],
    [['plan', '--cloud', 'sim', '--region', 'us-east-1'], /--region applies to --cloud aws only/],
    [['plan', '--cloud', 'sim', '--at', 'soon'], /--at: "soon" is not a duration/],
    [
      ['run', '--cloud', 'sim', '--interval', 'every minute'],
      /--interval "every minute" is not a valid cron/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await runMain(args);
    t.is(r.code, 1, args.join(' '));
    t.regex(r.stderr, message, args.join(' '));
  }
});

test('simulate refuses policies that do not fit the scenario: a named policy missing, a folder that does not load', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-simulate-'));
  await writeFile(
    join(dir, 'other.yaml'),
    'apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata: { name: other }\nspec: {}\n',
  );
  const out = await mkdtemp(join(tmpdir(), 'spotmax-simulate-out-'));
  const base = ['simulate', '--scenario', 'bench/scenarios/storm.yaml', '--out', out, '--duration', '5m'];
  const missing = await runMain([...base, '--policies', dir]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /group web-01: spotmax:policy=sim-web: no policy named "sim-web"/);
  const absent = await runMain([...base, '--policies', join(dir, 'nope')]);
  t.is(absent.code, 1);
  t.regex(absent.stderr, /nope:1:1: no such file or folder/);
});
