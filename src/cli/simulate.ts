import { accessSync, constants, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { formatIssue, loadPolicies } from '../config/load.js';
import { UserError } from '../domain/errors.js';
import { createSimulatedRegion } from '../sim/region.js';
import { loadScenario, parseDuration, type Scenario } from '../sim/scenario.js';
import { renderCapacitySvg } from '../simulate/chart.js';
import { scenarioPolicyProblems } from '../simulate/policy-check.js';
import { formatSeriesCsv, formatTable, headline } from '../simulate/report.js';
import { runScenario } from '../simulate/runner.js';
import type { CommandIO } from './io.js';

export interface SimulateOptions {
  scenario: string;
  policies?: string;
  out?: string;
  seed?: string | number;
  /** Replaces the scenario's duration (seconds or "2h"): tests keep runs short with it. */
  duration?: string | number;
  /** Also write the time series behind the chart as CSV rows here. */
  csv?: string;
  /** List policy problems and run anyway (the groups they touch run unmanaged, as spotmax would). */
  allowPolicyProblems?: boolean;
  /** The folder the default `simulation-out` is made in (the working directory; tests set another). */
  cwd?: string;
}

/** Makes `dir` (and its parents) and checks that it can be written to; the error's code when not. */
function writableDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // mkdir -p over a file says EEXIST, which reads as if all were well.
    return code === 'EEXIST' ? 'EEXIST: a file, not a folder' : (code ?? (err as Error).message);
  }
}

/**
 * Where report.json and capacity.svg go, decided before anything runs. An --out (or --csv) that cannot
 * be written is the user's to fix: refused, naming it. Without --out the default is `simulation-out` in
 * the working directory; when that cannot be written (the container image runs as uid 10001 in the
 * root-owned /app on a read-only root) it is a new folder under the temporary directory, said on stderr,
 * so `docker run IMAGE simulate --scenario ...` works without flags and prints where its files are.
 */
function outputDir(opts: SimulateOptions, io: CommandIO): string {
  if (opts.csv !== undefined) {
    const problem = writableDir(dirname(resolve(opts.csv)));
    if (problem) throw new UserError(`--csv ${opts.csv}: cannot write its folder (${problem})`);
  }
  if (opts.out !== undefined) {
    const problem = writableDir(opts.out);
    if (problem)
      throw new UserError(`--out ${opts.out}: cannot write to it (${problem}); choose another --out`);
    return opts.out;
  }
  const cwd = opts.cwd ?? process.cwd();
  const preferred = join(cwd, 'simulation-out');
  const problem = writableDir(preferred);
  if (!problem) return opts.cwd === undefined ? 'simulation-out' : preferred;
  let fallback: string;
  try {
    fallback = mkdtempSync(join(tmpdir(), 'spotmax-simulation-'));
  } catch (err) {
    throw new UserError(
      `cannot write simulation-out in ${cwd} (${problem}) nor a folder in ${tmpdir()} (${(err as NodeJS.ErrnoException).code}); give --out DIR`,
    );
  }
  io.stderr.write(
    `spotmax: cannot write simulation-out in the working directory ${cwd} (${problem}); writing to ${fallback} instead (--out DIR chooses, e.g. a mounted folder)\n`,
  );
  return fallback;
}

/**
 * Every problem that would make the spotmax strategy run on other policies than meant: invalid or
 * missing policy files (file:line:col) and groups of the scenario that do not resolve (a named policy
 * the folder lacks, a bad tag value). Checked before any strategy runs, so no minute is spent on a run
 * whose answer would be wrong.
 */
async function policyProblems(scenario: Scenario, policiesDir: string): Promise<string[]> {
  const set = await loadPolicies([policiesDir]);
  const groups = await scenarioPolicyProblems(createSimulatedRegion(scenario), set);
  return [...set.issues.map(formatIssue), ...groups];
}

/**
 * `spotmax simulate`: plays a scenario under each of its strategies with the same seed, prints a table,
 * writes report.json (the stable contract) and capacity.svg. Exit 0, or 1 for a bad scenario or flag
 * or an --out that cannot be written.
 */
export async function simulateCommand(opts: SimulateOptions, io: CommandIO): Promise<number> {
  const scenario = loadScenario(opts.scenario);
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    seed = Number(opts.seed);
    if (!Number.isInteger(seed)) throw new UserError(`--seed must be an integer, not "${opts.seed}"`);
  }
  let durationSeconds: number | undefined;
  if (opts.duration !== undefined) {
    try {
      durationSeconds = parseDuration(
        typeof opts.duration === 'number'
          ? opts.duration
          : /^\d+$/.test(opts.duration)
            ? Number(opts.duration)
            : opts.duration,
      );
    } catch (err) {
      throw new UserError(`--duration: ${(err as Error).message}`);
    }
  }
  const policiesDir =
    opts.policies ??
    (scenario.policies && scenario.dir ? resolve(scenario.dir, scenario.policies) : undefined);
  if (scenario.strategies.includes('spotmax') && !policiesDir) {
    io.stderr.write(
      'spotmax: no --policies and the scenario names none; the spotmax strategy runs with defaults only\n',
    );
  }
  const allowPolicyProblems = opts.allowPolicyProblems === true;
  if (scenario.strategies.includes('spotmax') && policiesDir) {
    const problems = await policyProblems(scenario, policiesDir);
    if (problems.length > 0 && !allowPolicyProblems)
      throw new UserError(
        `the scenario's groups do not fit the policies in ${policiesDir} (${problems.length} problem(s); --allow-policy-problems runs anyway):\n${problems.map((p) => `  ${p}`).join('\n')}`,
      );
    if (problems.length > 0)
      io.stderr.write(
        `spotmax: ${problems.length} policy problem(s), running anyway (--allow-policy-problems): the groups they touch run unmanaged\n${problems.map((p) => `  ${p}`).join('\n')}\n`,
      );
  }
  // The output folder before the run: a run whose files cannot be written is refused before its
  // minutes are spent.
  const outDir = outputDir(opts, io);
  const started = Date.now();
  const run = await runScenario(scenario, { seed, policiesDir, durationSeconds, allowPolicyProblems });
  const wall = ((Date.now() - started) / 1000).toFixed(1);
  const hours = (run.durationSeconds / 3600).toFixed(1);
  io.stdout.write(
    `scenario ${scenario.name} (seed ${run.report.seed}): ${hours} h simulated under ${scenario.strategies.length} strategies in ${wall} s\n\n`,
  );
  io.stdout.write(`${formatTable(run.runs)}\n\n`);
  io.stdout.write(
    'capacity gap: instance-seconds below the desired capacity (InService and running); replacement: warning to the next instance InService in the group; cost: instances billed against the desired capacity all On-Demand\n',
  );
  const reportPath = join(outDir, 'report.json');
  const svgPath = join(outDir, 'capacity.svg');
  writeFileSync(reportPath, `${JSON.stringify(run.report, null, 2)}\n`);
  writeFileSync(
    svgPath,
    renderCapacitySvg({
      title: `${scenario.name}: capacity InService by strategy (seed ${run.report.seed})`,
      durationSeconds: run.durationSeconds,
      series: run.runs.map((r) => ({
        name: r.report.name,
        values: r.timeline,
        desired: r.report.series.desired,
        headline: headline(r.report),
      })),
      marks: run.marks,
    }),
  );
  const written = [reportPath, svgPath];
  if (opts.csv) {
    writeFileSync(opts.csv, formatSeriesCsv(run.report));
    written.push(opts.csv);
  }
  io.stdout.write(`wrote ${written.join(', ')}\n`);
  return 0;
}
export type { CommandIO };
