import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import test from 'ava';
import { parse } from 'yaml';
import type { GroupReport, PlanReport } from '../../src/cli/plan-report.js';
import { renderMarkdown } from '../../src/cli/render/markdown.js';

// The workflows run on GitHub, so here their structure is checked against the CLI, and the comment
// builder they run (plan-comment.mjs) is run for real on plans rendered by spotmax's own renderer.

const WORKFLOW = 'deploy/github-actions/spotmax-policies.yml';
const RELEASE = 'deploy/github-actions/release.yml';
const COMMENT_SCRIPT = 'deploy/github-actions/plan-comment.mjs';
const GITHUB_COMMENT_LIMIT = 65_536;
const STEP_SUMMARY_LIMIT = 1024 * 1024;
const MARKER = '<!-- spotmax-plan -->';

type Step = {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string>;
};
const wf = parse(readFileSync(WORKFLOW, 'utf8'));
const steps = wf.jobs['validate-and-plan'].steps as Step[];
const runs = steps.map((s) => s.run ?? '').join('\n');
const step = (name: string) => {
  const s = steps.find((x) => x.name === name);
  if (!s) throw new Error(`${WORKFLOW} has no step "${name}"`);
  return s;
};

test('runs on pull requests that touch the policies, daily and on demand, with OIDC and comment permissions only', (t) => {
  t.deepEqual(wf.on.pull_request.paths, ['policies/**', '.github/workflows/spotmax-policies.yml']);
  t.is(wf.on.schedule.length, 1);
  t.regex(wf.on.schedule[0].cron, /^\d+ \d+ \* \* \*$/, 'a daily drift run');
  t.true('workflow_dispatch' in wf.on);
  t.deepEqual(wf.permissions, { contents: 'read', 'id-token': 'write', 'pull-requests': 'write' });
  // The role's trust policy admits both: pull requests and the default branch (the scheduled run).
  const trust = readFileSync('deploy/iam/github-oidc-trust-policy.json', 'utf8');
  t.regex(trust, /:pull_request"/);
  t.regex(trust, /:ref:refs\/heads\/main"/);
});

test('the workflow\u2019s setup pointer names a section deploy/README.md has, and that section sets up the plan role', (t) => {
  const header = readFileSync(WORKFLOW, 'utf8');
  const pointer = /Setup: deploy\/README\.md, section "([^"]+)"/.exec(header);
  t.truthy(pointer, 'the header points at a section of deploy/README.md');
  const guide = readFileSync('deploy/README.md', 'utf8');
  const sections = guide.split(/^## /m);
  const section = sections.find((s) => s.startsWith(`${pointer![1]}\n`));
  t.truthy(section, `deploy/README.md has no section "## ${pointer![1]}"`);
  t.regex(section ?? '', /spotmax-plan-readonly/);
  t.regex(section ?? '', /PLAN_ROLE_ARN/);
});

test('every action in the workflows is pinned by a full commit SHA, with its version in a comment', (t) => {
  for (const file of [WORKFLOW, RELEASE]) {
    const uses = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /^\s*(-\s+)?uses:/.test(l));
    t.true(uses.length >= 3, `${file}: found only ${uses.length} uses:`);
    for (const line of uses)
      t.regex(line, /uses:\s+[\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*\s*$/, `${file}: ${line.trim()}`);
  }
});

test('plans the pull request head commit, not the merge commit', (t) => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
  t.is(wf.env.PLAN_SHA, '${{ github.event.pull_request.head.sha || github.sha }}');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
  t.is(step('Check out the policies').with?.ref, '${{ env.PLAN_SHA }}');
  t.false(runs.includes('GITHUB_SHA'), 'the merge commit GitHub makes is never what is reported');
  t.regex(runs, /--sha "\$PLAN_SHA"/);
});

test('validates, then plans as markdown with --detailed-exitcode and the read-only role, then comments, then fails on problems', (t) => {
  t.regex(runs, /spotmax\.js validate "\$POLICY_DIR"/);
  t.regex(
    runs,
    /spotmax\.js plan --cloud aws --region "\$AWS_REGION" --policies "\$POLICY_DIR" \\\s*\n\s*--format markdown --detailed-exitcode/,
  );
  const creds = steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
  t.is(creds?.with?.['role-to-assume'], '${{ env.PLAN_ROLE_ARN }}');
  const order = [
    'spotmax validate',
    'AWS credentials (read-only plan role)',
    'spotmax plan',
    'Post the plan on the pull request',
    'Fail the check on problems (or drift, on the scheduled run)',
  ];
  t.deepEqual(
    steps.map((s) => s.name).filter((n) => order.includes(n ?? '')),
    order,
  );
  const fail = step('Fail the check on problems (or drift, on the scheduled run)');
  t.regex(fail.if ?? '', /steps\.plan\.outputs\.pass != 'true'/);
  t.regex(fail.run ?? '', /exit 1/);
  t.regex(step('spotmax plan').run ?? '', /echo "pass=.*>> "\$GITHUB_OUTPUT"/);
});

test('the comment is updated in place: the bot\u2019s comment that starts with the marker is edited, else one is created', (t) => {
  const post = step('Post the plan on the pull request').run ?? '';
  t.true(post.includes(`startswith("${MARKER}")`));
  t.true(post.includes('.user.login == "github-actions[bot]"'));
  t.regex(post, /--paginate/);
  t.regex(
    post,
    /gh api --method PATCH "repos\/\$GITHUB_REPOSITORY\/issues\/comments\/\$id" -F body=@comment\.md/,
  );
  t.regex(
    post,
    /gh api --method POST "repos\/\$GITHUB_REPOSITORY\/issues\/\$PR\/comments" -F body=@comment\.md/,
  );
  t.false(post.includes('--edit-last'), 'edit-last edits whichever comment the token wrote last');
});

test('the flags the workflow passes exist in the CLI', (t) => {
  const main = readFileSync('src/main.ts', 'utf8');
  t.regex(main, /\.command\('validate'\)/);
  const plan = main.slice(main.indexOf(".command('plan')"), main.indexOf(".command('apply')"));
  for (const flag of ['--format', '--policies', '--region', '--detailed-exitcode'])
    t.true(plan.includes(flag), flag);
  t.regex(plan, /'markdown'/);
  t.regex(plan, /cloudOption\(\)/);
});

// ---- plan-comment.mjs, run as the workflow runs it ------------------------------------------------

function group(i: number, actions: number, problems: string[] = []): GroupReport {
  return {
    name: `web-${String(i).padStart(4, '0')}`,
    managed: true,
    reason: null,
    policy: 'web',
    problems,
    config: {},
    observed: {
      desired: 4,
      min: 1,
      max: 8,
      inService: 4,
      spot: 3,
      onDemand: 1,
      standby: 0,
      volumes: 0,
      suspendedProcesses: [],
    },
    actions: Array.from({ length: actions }, (_, k) => ({
      kind: 'launch-standby',
      target: `web-${i}`,
      reason: `standby pool below its size (${k} of 2) | a reason long enough to fill a comment quickly`,
    })),
  } as GroupReport;
}

const report = (groups: GroupReport[]): PlanReport =>
  ({ region: 'eu-west-1', generatedAt: '2026-12-02T00:00:00.000Z', groups, orphans: [] }) as PlanReport;

function runScript(planMd: string, exit: number, mode: 'pr' | 'drift', err = '') {
  const dir = mkdtempSync(join(tmpdir(), 'spotmax-comment-'));
  writeFileSync(join(dir, 'plan.md'), planMd);
  writeFileSync(join(dir, 'plan.err'), err);
  const out = join(dir, 'comment.md');
  const r = spawnSync(
    process.execPath,
    [
      COMMENT_SCRIPT,
      ...['--plan', join(dir, 'plan.md'), '--err', join(dir, 'plan.err'), '--exit', String(exit)],
      ...['--mode', mode, '--sha', '0123456789abcdef0123456789abcdef01234567', '--region', 'eu-west-1'],
      ...['--out', out, '--summary', join(dir, 'summary.md')],
    ],
    { encoding: 'utf8' },
  );
  return {
    status: r.status,
    stderr: r.stderr,
    comment: readFileSync(out, 'utf8'),
    summary: readFileSync(join(dir, 'summary.md'), 'utf8'),
  };
}

test('the check fails on problems or a failed plan; pending changes pass a pull request and fail the drift run', (t) => {
  const clean = renderMarkdown(report([group(1, 0)]));
  const pending = renderMarkdown(report([group(1, 2)]));
  const problem = renderMarkdown(report([group(1, 0, ['policy "web" does not exist'])]));
  t.is(runScript(clean, 0, 'pr').status, 0);
  t.is(runScript(pending, 2, 'pr').status, 0);
  t.is(runScript(problem, 1, 'pr').status, 1);
  t.is(runScript(clean, 0, 'drift').status, 0);
  t.is(runScript(pending, 2, 'drift').status, 1);
  t.is(runScript(problem, 1, 'drift').status, 1);
  const crashed = runScript('', 3, 'pr', 'AccessDenied: not authorized to perform ec2:DescribeInstances');
  t.is(crashed.status, 1);
  t.true(crashed.comment.includes('AccessDenied: not authorized to perform ec2:DescribeInstances'));
});

test('a plan that fails (exit 1, nothing on stdout) fails the check as a failure with its stderr, not as problems', async (t) => {
  // The real CLI: --detailed-exitcode maps an error to 1, as terraform does, and prints no plan.
  const { runMain } = await import('../helpers/cli.js');
  const plan = await runMain([
    ...['plan', '--cloud', 'sim', '--group', 'no-such-group-*'],
    ...['--format', 'markdown', '--detailed-exitcode'],
  ]);
  t.is(plan.code, 1);
  t.is(plan.stdout, '');
  t.regex(plan.stderr, /no opted-in group matches/);
  for (const mode of ['pr', 'drift'] as const) {
    const { status, comment } = runScript(plan.stdout, plan.code, mode, plan.stderr);
    t.is(status, 1, mode);
    const lines = comment.split('\n');
    t.is(lines[0], MARKER);
    t.regex(lines[3] ?? '', /^\*\*:x: spotmax plan failed \(exit 1, no plan printed\)/);
    t.false(comment.includes('problems'), 'not reported as problems');
    t.true(comment.includes(plan.stderr.trim()), 'the error is in the comment');
    t.false(comment.includes('<details>'), 'no empty folded plan');
  }
  // An exit 1 that printed a plan is problems, as before.
  const problem = renderMarkdown(report([group(1, 0, ['policy "web" does not exist'])]));
  const reported = runScript(problem, 1, 'pr', '');
  t.is(reported.status, 1);
  t.regex(reported.comment, /:x: problems: see the groups marked :warning:/);
  t.false(reported.comment.includes('plan failed'));
});

test('the comment starts with the marker, names the head commit and puts the verdict and summary before the folded plan', (t) => {
  const { comment, status } = runScript(renderMarkdown(report([group(1, 2), group(2, 0)])), 2, 'pr');
  t.is(status, 0);
  const lines = comment.split('\n');
  t.is(lines[0], MARKER);
  t.is(lines[1], '### spotmax plan for `0123456` in eu-west-1');
  t.regex(lines[3] ?? '', /^\*\*:memo: changes pending.*\*\* · Plan: 2 action\(s\) in 1 group\(s\)/);
  t.true(comment.indexOf('<details><summary>The whole plan</summary>') > comment.indexOf('Plan: 2 action'));
  t.true(comment.includes('| `launch-standby` | `web-1` |'));
});

test('a plan of 3,000 groups makes a comment within GitHub\u2019s 65,536 characters, cut at a line with its blocks closed', (t) => {
  const big = renderMarkdown(report(Array.from({ length: 3000 }, (_, i) => group(i, 3))));
  t.true(big.length > 5 * GITHUB_COMMENT_LIMIT, `the test plan is only ${big.length} characters`);
  const { comment, status } = runScript(big, 2, 'pr');
  t.is(status, 0);
  t.true(comment.length <= GITHUB_COMMENT_LIMIT, `${comment.length} characters`);
  t.true(comment.length > GITHUB_COMMENT_LIMIT - 2_000, 'the room is used, not thrown away');
  t.true(comment.startsWith(MARKER));
  t.regex(comment, /Plan: 9000 action\(s\) in 3000 group\(s\)/, 'the summary survives the cut');
  t.regex(comment, /more characters cut to fit GitHub's comment limit: the job summary has the whole plan/);
  const opened = (comment.match(/<details[\s>]/g) ?? []).length;
  t.is(opened, (comment.match(/<\/details>/g) ?? []).length, 'every <details> closed');
  t.true(comment.trimEnd().endsWith('</details>'));
  // Every kept table row is whole (cut at a line boundary).
  for (const row of comment.split('\n').filter((l) => l.startsWith('| `launch-standby`')))
    t.regex(row, /\|$/);
});

test('the job summary holds the whole plan, unfolded, where the comment is cut: the plan step run as the workflow runs it', (t) => {
  // The step's own script under bash -eo pipefail (as GitHub runs `run:`), in the workflow's layout:
  // repo/ (the working directory), spotmax/ with a stand-in bin/spotmax.js that prints the plan, and
  // the real plan-comment.mjs.
  // 1,200 groups: about 760 KB, ten times the comment's limit and within the summary's.
  const big = renderMarkdown(report(Array.from({ length: 1200 }, (_, i) => group(i, 3))));
  t.true(big.length > 10 * GITHUB_COMMENT_LIMIT && Buffer.byteLength(big) < STEP_SUMMARY_LIMIT - 10_000);
  const dir = mkdtempSync(join(tmpdir(), 'spotmax-step-'));
  for (const d of ['repo', 'spotmax/bin', 'spotmax/deploy']) mkdirSync(join(dir, d), { recursive: true });
  symlinkSync(resolve('deploy/github-actions'), join(dir, 'spotmax/deploy/github-actions'));
  writeFileSync(join(dir, 'fixture.md'), big);
  writeFileSync(
    join(dir, 'spotmax/bin/spotmax.js'),
    "process.stdout.write(require('fs').readFileSync(process.env.FIXTURE, 'utf8')); process.stderr.write('a warning\\n'); process.exitCode = 2;\n",
  );
  writeFileSync(join(dir, 'spotmax/package.json'), '{"type":"commonjs"}');
  const env = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
    FIXTURE: join(dir, 'fixture.md'),
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'step-summary.md'),
    AWS_REGION: 'eu-west-1',
    POLICY_DIR: 'policies',
    PLAN_MODE: 'pr',
    PLAN_SHA: '0123456789abcdef0123456789abcdef01234567',
  };
  const r = spawnSync(
    'bash',
    ['--noprofile', '--norc', '-eo', 'pipefail', '-c', step('spotmax plan').run ?? ''],
    {
      cwd: join(dir, 'repo'),
      env,
      encoding: 'utf8',
    },
  );
  t.is(r.status, 0, r.stderr);
  t.is(readFileSync(env.GITHUB_OUTPUT, 'utf8'), 'pass=true\n');
  const comment = readFileSync(join(dir, 'comment.md'), 'utf8');
  t.true(comment.length <= GITHUB_COMMENT_LIMIT);
  const summary = readFileSync(env.GITHUB_STEP_SUMMARY, 'utf8');
  t.true(summary.includes(big), 'the whole plan, not the comment’s cut');
  t.false(summary.includes('more characters cut'));
  t.regex(summary, /:memo: changes pending.* · Plan: 3600 action\(s\) in 1200 group\(s\)/);
  t.regex(summary, /<details><summary>stderr<\/summary>\n\n```\na warning\n```/);
  t.true(Buffer.byteLength(summary) <= STEP_SUMMARY_LIMIT);
});

test('a plan beyond the job summary’s 1 MiB is cut to 1 MiB in bytes (not characters) at a line, with a note', (t) => {
  // Two-byte characters, so a cut by characters alone would run over the limit in bytes.
  const row = (i: number) => `| \`grupo-${i}-é\` | ${'ñ'.repeat(60)} | 3 |`;
  const plan = [
    '### spotmax plan · eu-west-1',
    '',
    '**Plan: 3 action(s) in 40000 group(s).**',
    '',
    ...Array.from({ length: 40_000 }, (_, i) => row(i)),
    '',
  ].join('\n');
  t.true(Buffer.byteLength(plan) > 4 * STEP_SUMMARY_LIMIT);
  const { summary, status } = runScript(plan, 2, 'pr', 'a warning');
  t.is(status, 0);
  const size = Buffer.byteLength(summary);
  t.true(size <= STEP_SUMMARY_LIMIT, `${size} bytes`);
  t.true(size > STEP_SUMMARY_LIMIT - 4_096, `the room is used: ${size} bytes`);
  t.regex(summary, /more characters cut to fit the job summary's 1 MiB limit/);
  t.regex(summary, /Plan: 3 action\(s\) in 40000 group\(s\)/);
  t.true(summary.includes('a warning'), 'stderr kept after the cut plan');
  for (const line of summary.split('\n').filter((l) => l.startsWith('| `grupo-'))) t.regex(line, /\| 3 \|$/);
});

// ---- release.yml ------------------------------------------------------------------------------------

const release = parse(readFileSync(RELEASE, 'utf8'));

test('the release runs on a version tag: tests first, then a multi-arch image and the npm package', (t) => {
  t.deepEqual(release.on.push.tags, ['v[0-9]+.[0-9]+.[0-9]+']);
  t.deepEqual(release.permissions, { contents: 'read' }, 'write access only in the jobs that publish');
  t.is(release.jobs.image.needs, 'test');
  t.is(release.jobs.npm.needs, 'test');
  const testRuns = (release.jobs.test.steps as Step[]).map((s) => s.run ?? '').join('\n');
  t.regex(testRuns, /npm test/);
  t.regex(testRuns, /moto\[server\]/, 'the tests need moto');
  t.regex(testRuns, /GITHUB_REF_NAME/, 'the tag must be the package version');
  const build = (release.jobs.image.steps as Step[]).find((s) =>
    s.uses?.startsWith('docker/build-push-action@'),
  );
  t.is(build?.with?.platforms, 'linux/amd64,linux/arm64');
  // The labels come from docker/metadata-action, not from build arguments, as the Dockerfile says.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
  t.is(build?.with?.labels, '${{ steps.meta.outputs.labels }}');
  t.is(build?.with?.['build-args'], undefined);
  t.regex(
    readFileSync('Dockerfile', 'utf8'),
    /release workflow \(deploy\/github-actions\/release\.yml\) passes no build\n# arguments: docker\/metadata-action's labels/,
  );
  t.true(String(build?.with?.push) === 'true');
  t.true((release.jobs.image.steps as Step[]).some((s) => s.uses?.startsWith('docker/setup-qemu-action@')));
  t.is(release.jobs.image.permissions.packages, 'write');
  const npmRuns = (release.jobs.npm.steps as Step[]).map((s) => s.run ?? '').join('\n');
  t.regex(npmRuns, /npm run build/);
  t.regex(npmRuns, /npm publish --provenance --access public/);
  t.is(release.jobs.npm.permissions['id-token'], 'write');
  // What is published is what package.json ships: the build output and the CLI entry.
  const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
  t.true(pkg.files.includes('dist') && pkg.files.includes('bin'));
  t.is(pkg.scripts.build.startsWith('tsc'), true);
});
