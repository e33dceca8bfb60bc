import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import test from 'ava';
import { simulateCommand } from '../../src/cli/simulate.js';
import { UserError } from '../../src/domain/errors.js';
import { loadScenario } from '../../src/sim/scenario.js';
import type { SimulationReport } from '../../src/simulate/report.js';
import { runScenario } from '../../src/simulate/runner.js';

const SCENARIOS = new URL('../../bench/scenarios/', import.meta.url).pathname;
const POLICIES = join(SCENARIOS, 'policies');

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => {
    out += d;
  });
  stderr.on('data', (d) => {
    err += d;
  });
  return { io: { env: {}, stdout, stderr }, out: () => out, err: () => err };
}

const readReport = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SimulationReport;

test('same seed, same report.json; the report keeps the contract shape; the chart is written', async (t) => {
  const a = mkdtempSync(join(tmpdir(), 'sim-a-'));
  const b = mkdtempSync(join(tmpdir(), 'sim-b-'));
  const scenario = join(SCENARIOS, 'storm.yaml');
  const first = io();
  t.is(await simulateCommand({ scenario, out: a, seed: 9, duration: '90m' }, first.io), 0);
  t.is(await simulateCommand({ scenario, out: b, seed: 9, duration: '90m' }, io().io), 0);
  t.is(readFileSync(join(a, 'report.json'), 'utf8'), readFileSync(join(b, 'report.json'), 'utf8'));
  const report = readReport(a);
  t.deepEqual(Object.keys(report), ['scenario', 'seed', 'strategies']);
  t.is(report.seed, 9);
  t.deepEqual(
    report.strategies.map((s) => s.name),
    ['asg-only', 'drain-only', 'spotmax'],
  );
  for (const s of report.strategies) {
    t.deepEqual(Object.keys(s), [
      'name',
      'interruptions',
      'handledBeforeDeadline',
      'capacityGapInstanceSeconds',
      'replacementSeconds',
      'apiCalls',
      'throttles',
      'costVsOnDemand',
      'actions',
      'series',
    ]);
    t.true(
      s.handledBeforeDeadline === null || (s.handledBeforeDeadline >= 0 && s.handledBeforeDeadline <= 1),
    );
    t.true(s.costVsOnDemand > 0 && s.costVsOnDemand <= 1);
  }
  const other = mkdtempSync(join(tmpdir(), 'sim-c-'));
  await simulateCommand({ scenario, out: other, seed: 10, duration: '90m' }, io().io);
  t.notDeepEqual(readReport(other).strategies, report.strategies, 'another seed, another market');
  const svg = readFileSync(join(a, 'capacity.svg'), 'utf8');
  t.regex(svg, /^<svg /);
  for (const label of [
    'asg-only',
    'drain-only',
    'spotmax',
    'm5.large storm',
    'time since the scenario start',
    'instances InService',
  ]) {
    t.true(svg.includes(label), `chart shows ${label}`);
  }
  t.regex(first.out(), /strategy\s+interruptions\s+handled<deadline/);
  t.regex(first.out(), /wrote .*report\.json/);
});

test('storm: spotmax leaves a smaller capacity gap than asg-only and drain-only, and handles every warning in time', async (t) => {
  const scenario = loadScenario(join(SCENARIOS, 'storm.yaml'));
  const { report } = await runScenario(scenario, { policiesDir: POLICIES, durationSeconds: 2 * 3600 });
  const by = Object.fromEntries(report.strategies.map((s) => [s.name, s]));
  const [asg, drain, spotmax] = [by['asg-only']!, by['drain-only']!, by.spotmax!];
  t.true(asg.interruptions >= 10, `the storm interrupted ${asg.interruptions}`);
  t.is(spotmax.interruptions, asg.interruptions, 'the same market for every strategy');
  const ratio =
    spotmax.capacityGapInstanceSeconds /
    Math.min(asg.capacityGapInstanceSeconds, drain.capacityGapInstanceSeconds);
  t.true(ratio < 0.85, `spotmax gap / best other gap = ${ratio.toFixed(2)}`);
  t.is(asg.handledBeforeDeadline, 0);
  t.is(drain.handledBeforeDeadline, 1);
  t.is(spotmax.handledBeforeDeadline, 1);
  t.true(spotmax.replacementSeconds.p50 < asg.replacementSeconds.p50);
  t.true((spotmax.actions.DetachInstances ?? 0) > 0);
});

test('throttling is reproduced and survived: a small Auto Scaling bucket throttles, spotmax still handles every warning', async (t) => {
  const scenario = loadScenario(join(SCENARIOS, 'storm.yaml'));
  scenario.api.autoscalingBucket = { capacity: 4, refillPerSecond: 1 };
  scenario.strategies = ['spotmax'];
  const { report } = await runScenario(scenario, { policiesDir: POLICIES, durationSeconds: 2 * 3600 });
  const s = report.strategies[0]!;
  t.true(s.throttles > 0, `throttles: ${s.throttles}`);
  t.true(s.interruptions > 0);
  t.is(s.handledBeforeDeadline, 1);
});

test('every scenario in bench/scenarios validates and runs', async (t) => {
  const files = readdirSync(SCENARIOS).filter((f) => f.endsWith('.yaml'));
  t.true(files.length >= 6);
  for (const f of files) {
    const scenario = loadScenario(join(SCENARIOS, f));
    // The large ones run at a reduced size: the point here is that they load and play.
    for (const g of scenario.groups) g.count = Math.min(g.count, 3);
    const { report } = await runScenario(scenario, { policiesDir: POLICIES, durationSeconds: 1200 });
    t.is(report.strategies.length, scenario.strategies.length, f);
    for (const s of report.strategies)
      t.true(Number.isFinite(s.capacityGapInstanceSeconds), `${f} ${s.name}`);
  }
});

test('a broken scenario is a user error naming the file and line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-bad-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(
    file,
    [
      'name: bad',
      'duration: 1h',
      'prices: {}',
      'groups:',
      '  - name: web',
      '    instanceTypes: [m5.large]',
      '    azs: [us-east-1a]',
      '    desired: -1',
      '',
    ].join('\n'),
  );
  const err = await t.throwsAsync(simulateCommand({ scenario: file }, io().io));
  t.true(err instanceof UserError);
  t.regex(err!.message, /bad\.yaml:8:\d+: .*(groups\.0\.desired)/);
  t.regex(err!.message, /bad\.yaml:6:\d+: no price for m5\.large/);
  writeFileSync(file, 'name: [unclosed\n');
  await t.throwsAsync(simulateCommand({ scenario: file }, io().io), { message: /bad\.yaml:\d+:\d+:/ });
  await t.throwsAsync(simulateCommand({ scenario: join(dir, 'missing.yaml') }, io().io), {
    message: /cannot read scenario/,
  });
  await t.throwsAsync(simulateCommand({ scenario: join(SCENARIOS, 'calm.yaml'), seed: 'x' }, io().io), {
    message: /--seed/,
  });
});

test('spotmax simulate through the CLI: flags reach the command, files land in --out', async (t) => {
  const { main } = await import('../../src/main.js');
  const out = mkdtempSync(join(tmpdir(), 'sim-cli-'));
  const { io: cio, out: printed } = io();
  const code = await main(
    ['simulate', '--scenario', join(SCENARIOS, 'stateful.yaml'), '--out', out, '--seed', '4'],
    {},
    cio,
  );
  t.is(code, 0);
  t.is(readReport(out).seed, 4);
  t.regex(printed(), /scenario stateful \(seed 4\)/);
  t.is(
    await main(['simulate', '--scenario', join(out, 'nope.yaml')], {}, io().io),
    1,
    'a missing scenario is a user error',
  );
});

test('simulate without --out in a working directory it cannot write: the files go to a new folder under the temporary directory, said on stderr', async (t) => {
  // A working directory under a regular file cannot be written by anyone, root included (ENOTDIR): the
  // image's case is uid 10001 in the root-owned /app (EACCES), which npm run test:image plays.
  const blocked = join(mkdtempSync(join(tmpdir(), 'sim-cwd-')), 'a-file');
  writeFileSync(blocked, '');
  const c = io();
  const code = await simulateCommand(
    { scenario: join(SCENARIOS, 'calm.yaml'), seed: 3, duration: '10m', cwd: join(blocked, 'app') },
    c.io,
  );
  t.is(code, 0);
  const said = c
    .err()
    .match(
      /cannot write simulation-out in the working directory \S+ \(ENOTDIR\); writing to (\S+) instead \(--out DIR/,
    );
  t.truthy(said, c.err());
  const dir = said![1]!;
  t.true(dir.startsWith(join(tmpdir(), 'spotmax-simulation-')), dir);
  t.is(readReport(dir).seed, 3);
  t.regex(c.out(), new RegExp(`wrote ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/report\\.json`));
});

test('an --out or --csv that cannot be written: exit 1 naming it, before the scenario runs', async (t) => {
  const { runMain } = await import('../helpers/cli.js');
  const file = join(mkdtempSync(join(tmpdir(), 'sim-out-')), 'a-file');
  writeFileSync(file, '');
  const scenario = join(SCENARIOS, 'calm.yaml');
  const out = await runMain(['simulate', '--scenario', scenario, '--out', join(file, 'out')]);
  t.is(out.code, 1);
  t.regex(out.stderr, /spotmax: --out \S+a-file\/out: cannot write to it \(ENOTDIR\); choose another --out/);
  t.is(out.stdout, '', 'nothing ran');
  const csv = await runMain([
    'simulate',
    '--scenario',
    scenario,
    '--out',
    mkdtempSync(join(tmpdir(), 'sim-out-')),
    '--csv',
    join(file, 'series.csv'),
  ]);
  t.is(csv.code, 1);
  t.regex(
    csv.stderr,
    /spotmax: --csv \S+a-file\/series\.csv: cannot write its folder \(EEXIST: a file, not a folder\)/,
  );
  t.is(csv.stdout, '');
});
