import { readFileSync } from 'node:fs';
import test from 'ava';
import { parse } from 'yaml';

// The pull-request workflow for a policy repository: it must validate, plan read-only through OIDC,
// and post the markdown plan. It runs on GitHub, so here its structure is checked against the CLI.

const wf = parse(readFileSync('deploy/github-actions/spotmax-policies.yml', 'utf8'));
const steps = wf.jobs['validate-and-plan'].steps as {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}[];
const runs = steps.map((s) => s.run ?? '').join('\n');

test('runs on pull requests that touch the policies, with OIDC and comment permissions only', (t) => {
  t.deepEqual(wf.on.pull_request.paths, ['policies/**', '.github/workflows/spotmax-policies.yml']);
  t.deepEqual(wf.permissions, { contents: 'read', 'id-token': 'write', 'pull-requests': 'write' });
});

test('validates, then plans as markdown with the read-only role, then comments', (t) => {
  t.regex(runs, /spotmax\.js validate "\$POLICY_DIR"/);
  t.regex(
    runs,
    /spotmax\.js plan --cloud aws --region "\$AWS_REGION" --policies "\$POLICY_DIR" --format markdown/,
  );
  const creds = steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a JS template
  t.is(creds?.with?.['role-to-assume'], '${{ env.PLAN_ROLE_ARN }}');
  t.regex(runs, /gh pr comment "\$PR" .*--body-file comment\.md/);
  const order = [
    'spotmax validate',
    'AWS credentials (read-only plan role)',
    'spotmax plan',
    'Post the plan on the pull request',
  ];
  t.deepEqual(
    steps.map((s) => s.name).filter((n) => order.includes(n ?? '')),
    order,
  );
});

test('the flags the workflow passes exist in the CLI', (t) => {
  const main = readFileSync('src/main.ts', 'utf8');
  t.regex(main, /\.command\('validate'\)/);
  const plan = main.slice(main.indexOf(".command('plan')"), main.indexOf(".command('apply')"));
  for (const flag of ['--format', '--policies', '--region', '--cloud'])
    t.true(plan.includes(flag) || flag === '--cloud', flag);
  t.regex(plan, /'markdown'/);
  t.regex(plan, /cloudOption\(\)/);
});
