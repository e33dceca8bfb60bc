import { resolve } from 'node:path';
import { formatIssue, loadPolicies } from '../config/load.js';
import type { CommandIO } from './io.js';

// `spotmax validate [PATH…]`: every problem of every policy file at once, as file:line:col: message
// (the shape editors and CI annotations understand) on stdout, then one summary line. Exit 1 on any
// error. With --cloud sim it also checks a scenario: the file itself, and every group of its region
// resolved against the policies (a named policy that does not exist, a bad tag value), so a simulation
// never runs on policies that do not fit it.

export const DEFAULT_POLICY_PATH = 'policies/';

/** SPOTMAX_POLICIES when set (the folder `run`, `plan` and `apply` read), so validate checks that one. */
function envPolicyPaths(io: CommandIO): string[] | undefined {
  const paths = (io.env.SPOTMAX_POLICIES ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return paths.length > 0 ? paths : undefined;
}

export interface ValidateOptions {
  cloud: 'aws' | 'sim';
  scenario?: string;
}

export async function validateCommand(
  paths: string[],
  io: CommandIO,
  opts: ValidateOptions = { cloud: 'aws' },
): Promise<number> {
  if (opts.cloud === 'sim') return validateScenario(paths, io, opts.scenario);
  if (opts.scenario !== undefined) {
    io.stderr.write('--scenario applies to --cloud sim only; remove it\n');
    return 1;
  }
  return validatePolicies(paths.length > 0 ? paths : (envPolicyPaths(io) ?? [DEFAULT_POLICY_PATH]), io);
}

async function validatePolicies(targets: string[], io: CommandIO): Promise<number> {
  const set = await loadPolicies(targets);
  for (const issue of set.issues) io.stdout.write(`${formatIssue(issue)}\n`);
  const read = set.files ?? [];
  const files = `${read.length} file${read.length === 1 ? '' : 's'}`;
  const policies = `${set.policies.length} polic${set.policies.length === 1 ? 'y' : 'ies'}`;
  if (set.issues.length > 0) {
    const errors = `${set.issues.length} error${set.issues.length === 1 ? '' : 's'}`;
    io.stdout.write(`${errors} in ${files}; ${policies} valid\n`);
    return 1;
  }
  if (read.length === 0) {
    // Validating nothing is almost always a wrong path; saying "ok" would hide it.
    io.stderr.write(`no policy files (*.yaml, *.yml) found in ${targets.join(', ')}\n`);
    return 1;
  }
  io.stdout.write(`ok: ${policies} in ${files}\n`);
  return 0;
}

async function validateScenario(paths: string[], io: CommandIO, scenarioFile?: string): Promise<number> {
  const [{ createSimulatedRegion }, { loadScenario }, { defaultDemoScenario }, { scenarioPolicyProblems }] =
    await Promise.all([
      import('../sim/region.js'),
      import('../sim/scenario.js'),
      import('../simulate/demo.js'),
      import('../simulate/policy-check.js'),
    ]);
  const file = scenarioFile ?? defaultDemoScenario();
  const scenario = loadScenario(file);
  const targets =
    paths.length > 0
      ? paths
      : (envPolicyPaths(io) ??
        (scenario.policies && scenario.dir ? [resolve(scenario.dir, scenario.policies)] : []));
  if (targets.length > 0 && (await validatePolicies(targets, io)) !== 0) return 1;
  const set = await loadPolicies(targets);
  const region = createSimulatedRegion(scenario);
  const problems = await scenarioPolicyProblems(region, set);
  for (const p of problems) io.stdout.write(`${p}\n`);
  if (problems.length > 0) {
    io.stdout.write(`${problems.length} problem(s) in scenario ${file}\n`);
    return 1;
  }
  io.stdout.write(`ok: scenario "${scenario.name}", ${region.targets.size} group(s)\n`);
  return 0;
}
