import { ActionExecutor } from '../controllers/reconcile/executor.js';
import type { CommandIO } from '../main.js';
import { systemClock } from '../ports/clock.js';
import { createLogger } from '../observability/logger.js';
import { awsCloudFrom } from './cloud.js';
import { computePlan } from './compute-plan.js';
import { loadPoliciesOrFail } from './policies.js';
import { policyPaths } from './runtime.js';
import { simCloudForCommand } from './sim-cloud.js';
import { actionHandlers } from './handlers.js';

export interface ApplyOptions {
  cloud: 'aws' | 'sim';
  policies?: string;
  region?: string;
  dryRun: boolean;
}

/** `spotmax apply`: one reconcile pass that acts. Exit 0 when every action succeeded, 2 otherwise. */
export async function applyCommand(opts: ApplyOptions, io: CommandIO): Promise<number> {
  const logger = createLogger({ pretty: true, destination: io.stderr });
  const policies = await loadPoliciesOrFail(policyPaths(opts, io.env));
  const { cloud, clock } = opts.cloud === 'sim' ? await simCloudForCommand() : { cloud: awsCloudFrom(opts, io.env, logger), clock: systemClock };
  const { plans } = await computePlan(cloud, clock, policies);
  const executor = new ActionExecutor(actionHandlers(), { cloud, clock, logger });
  let failed = 0;
  let done = 0;
  for (const plan of plans) {
    const groupDryRun = opts.dryRun || plan.resolved.settings?.dryRun === true;
    const results = await executor.execute(plan.actions, { dryRun: groupDryRun });
    for (const r of results) {
      if (r.status === 'failed' || r.status === 'unsupported') failed++;
      else done++;
      io.stdout.write(`${r.status.padEnd(8)} ${plan.resolved.group.name}: ${r.action.kind} ${r.action.target} (${r.action.reason})${r.error ? `: ${r.error}` : ''}\n`);
    }
  }
  io.stdout.write(`${done} action(s) ${opts.dryRun ? 'would be taken' : 'taken'}, ${failed} failed.\n`);
  return failed > 0 ? 2 : 0;
}
