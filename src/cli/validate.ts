import { formatIssue, loadPolicies } from '../config/load.js';
import type { CommandIO } from './io.js';

// `spotmax validate [PATH…]`: every problem of every policy file at once, as file:line:col: message
// (the shape editors and CI annotations understand) on stdout, then one summary line. Exit 1 on any
// error.

export const DEFAULT_POLICY_PATH = 'policies/';

export async function validateCommand(paths: string[], io: CommandIO): Promise<number> {
  const targets = paths.length > 0 ? paths : [DEFAULT_POLICY_PATH];
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
