import { formatIssue, loadPolicies, type PolicySet } from '../config/load.js';
import { UserError } from '../domain/errors.js';

/** Loads the policy folder for a command that acts on it; any error stops the command (exit 1). */
export async function loadPoliciesOrFail(paths: string[]): Promise<PolicySet> {
  const set = await loadPolicies(paths);
  if (set.issues.length > 0) {
    const lines = set.issues.map(formatIssue).join('\n');
    throw new UserError(
      `the policies have ${set.issues.length} error(s); fix them (spotmax validate shows the same list):\n${lines}`,
    );
  }
  return set;
}
