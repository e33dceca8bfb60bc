import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runMain } from '../helpers/cli.js';

// `plan` gates a pipeline like terraform's: --detailed-exitcode (0 no changes, 2 changes pending, 1
// problems or an error), --group to narrow it, a summary line first; `apply` counts a dry run apart and
// prints each action once. On a small simulated region: one group already adopted (nothing to do), one
// not yet (membership tags pending), one with a bad tag (a problem).

const SCENARIO = `name: gate
duration: 1h
seed: 1
policies: policies
prices:
  m5.large: { onDemand: 0.096, spot: 0.036 }
groups:
  - name: web-a
    instanceTypes: [m5.large]
    azs: [us-east-1a, us-east-1b]
    desired: 2
    adopted: true
    tags: { "spotmax:policy": quiet }
  - name: web-b
    instanceTypes: [m5.large]
    azs: [us-east-1a, us-east-1b]
    desired: 2
    tags: { "spotmax:policy": quiet }
  - name: batch
    instanceTypes: [m5.large]
    azs: [us-east-1a]
    desired: 1
    adopted: true
    tags: { "spotmax:policy": quiet, "spotmax:detaching_delay_seconds": "abc" }
market:
  hazardPerHour: 0
`;

let scenario: string;

test.before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'spotmax-gate-'));
  await mkdir(join(dir, 'policies'));
  await writeFile(
    join(dir, 'policies', 'quiet.yaml'),
    'apiVersion: spotmax/v1\nkind: GroupPolicy\nmetadata: { name: quiet }\nspec:\n  standby: { size: 0 }\n',
  );
  scenario = join(dir, 'scenario.yaml');
  await writeFile(scenario, SCENARIO);
});

const plan = (...args: string[]) => runMain(['plan', '--cloud', 'sim', '--scenario', scenario, ...args]);

test('--detailed-exitcode: 0 no changes, 2 changes pending, 1 problems; without it 0', async (t) => {
  const none = await plan('--detailed-exitcode', '--group', 'web-a');
  t.is(none.code, 0, none.stdout + none.stderr);
  t.regex(none.stdout, /^No changes\. 1 group\(s\) managed, 0 not managed; 0 problem\(s\)\.\n/);

  const pending = await plan('--detailed-exitcode', '--group', 'web-b');
  t.is(pending.code, 2, pending.stderr);
  t.regex(pending.stdout, /^Plan: 3 action\(s\) in 1 group\(s\)\. 1 group\(s\) managed/);

  const problems = await plan('--detailed-exitcode');
  t.is(problems.code, 1, 'a problem outranks pending changes');
  t.regex(
    problems.stdout,
    /^Plan: 3 action\(s\) in 1 group\(s\)\. 2 group\(s\) managed, 1 not managed; 1 problem\(s\)\./,
  );

  t.is((await plan()).code, 0, 'without the flag a plan that ran is exit 0');
});

test('--detailed-exitcode: an error is 1, never 2 (which would read as changes pending)', async (t) => {
  const r = await runMain([
    'plan',
    '--cloud',
    'sim',
    '--scenario',
    join(scenario, '..', 'missing.yaml'),
    '--detailed-exitcode',
  ]);
  t.is(r.code, 1);
  t.regex(r.stderr, /missing\.yaml/);
});

test('--group takes names and globs, is repeatable, and a glob matching nothing is an error', async (t) => {
  const names = (stdout: string) =>
    [...stdout.matchAll(/^(\S+)\s+(yes|no)\s/gm)].map((m) => m[1]).filter((n) => n !== 'GROUP');
  t.deepEqual(names((await plan('--group', 'web-*')).stdout), ['web-a', 'web-b']);
  t.deepEqual(names((await plan('--group', 'batch', '--group', 'web-a')).stdout), ['batch', 'web-a']);
  const json = JSON.parse((await plan('--group', 'web-b', '--format', 'json')).stdout) as {
    groups: { name: string }[];
  };
  t.deepEqual(
    json.groups.map((g) => g.name),
    ['web-b'],
  );
  const typo = await plan('--group', 'wbe-*');
  t.is(typo.code, 1);
  t.regex(typo.stderr, /--group wbe-\*: no opted-in group matches/);
});

test('markdown carries the summary line at the top, before the table', async (t) => {
  const md = (await plan('--format', 'markdown')).stdout;
  const summary = md.indexOf('**Plan: 3 action(s) in 1 group(s).');
  t.true(summary > 0, md.slice(0, 300));
  t.true(summary < md.indexOf('| group |'));
});

test('apply --dry-run: nothing counted as taken, and each action printed once', async (t) => {
  const r = await runMain(['apply', '--cloud', 'sim', '--scenario', scenario, '--dry-run']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^0 action\(s\) taken, 3 not taken \(dry run\), 0 failed\.$/m);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('dry-run '));
  t.is(lines.length, 3);
  for (const id of r.stdout.match(/i-[0-9a-f]+/g) ?? [])
    t.is((r.stdout + r.stderr).split(id).length - 1, 1, `${id} printed once across stdout and stderr`);

  const applied = await runMain(['apply', '--cloud', 'sim', '--scenario', scenario]);
  t.is(applied.code, 0, applied.stderr);
  t.regex(applied.stdout, /^3 action\(s\) taken, 0 failed\.$/m);
  t.is(applied.stderr, '', 'the result lines are the only copy');
});
